/**
 * CIFAR-10 readers: batches of uint8 HWC images (n × 32 × 32 × 3) and their labels.
 *
 * Two layouts, each read straight from its .tar.gz (streamed) or from an extracted folder:
 *
 *   binary  the official release `cifar-10-binary.tar.gz`: `cifar-10-batches-bin/`
 *           data_batch_{1..5}.bin (train), test_batch.bin (test), batches.meta.txt.
 *           Each record: 1 label byte + 3072 pixel bytes, channel-first R, G, B planes of
 *           32 × 32 in row-major order.
 *   jpeg    `train/<class>/*.jpg`, `test/<class>/*.jpg` with class folders airplane,
 *           automobile, bird, cat, deer, dog, frog, horse, ship, truck (labels 0–9).
 *
 * Order: binary batches in file order (data_batch_1 … 5, records in file order); JPEG in
 * archive order (a tar) or sorted by label then file name (a folder).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError } from './errors.js';
import { decodeImageRgb } from './image.js';
import { readTarGz } from './tar.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR10_SIZE = 32;
/** Bytes of one binary record: label + 3 × 32 × 32. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_SIZE * CIFAR10_SIZE;
/** Images per split in the official release. */
export const CIFAR10_COUNTS = { train: 50_000, test: 10_000 } as const;
export const CIFAR10_BINARY_DIR = 'cifar-10-batches-bin';

export type Cifar10Split = 'train' | 'test';
export type Cifar10Layout = 'binary' | 'jpeg';

export interface Cifar10Batch {
  /** n × 32 × 32 × 3, RGB, HWC. */
  images: Uint8Array;
  /** n labels 0–9. */
  labels: Uint8Array;
  n: number;
}

export interface Cifar10Options {
  /** Images per yielded batch (default 1000). */
  batchSize?: number;
}

export interface Cifar10SourceInfo {
  layout: Cifar10Layout;
  container: 'tar' | 'folder';
  /** The archive, or the folder holding the batch files / the split folders. */
  path: string;
}

/** Binary batch file names of a split, in order. */
export function cifar10BatchFiles(split: Cifar10Split): string[] {
  return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
}

const HW = CIFAR10_SIZE * CIFAR10_SIZE;

/**
 * Convert binary records (each 1 label + R, G, B planes) into HWC images and labels.
 * `file` labels errors; the length must be a multiple of 3073 and labels must be 0–9.
 */
export function cifar10RecordsToHwc(records: Uint8Array, file?: string): Cifar10Batch {
  if (records.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new FormatError('CIFAR-10', file, `${records.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records`);
  }
  const n = records.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(n * HW * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * CIFAR10_RECORD_BYTES;
    const label = records[r];
    if (label > 9) throw new FormatError('CIFAR-10', file, `record ${i} has label ${label}, expected 0–9`);
    labels[i] = label;
    const o = i * HW * 3;
    for (let p = 0; p < HW; p++) {
      images[o + 3 * p] = records[r + 1 + p];
      images[o + 3 * p + 1] = records[r + 1 + HW + p];
      images[o + 3 * p + 2] = records[r + 1 + 2 * HW + p];
    }
  }
  return { images, labels, n };
}

const BINARY_RE = /(?:^|\/)cifar-10-batches-bin\/(data_batch_[1-5]|test_batch)\.bin$/;
const JPEG_RE = /(?:^|\/)(train|test)\/([^/]+)\/[^/]+\.(?:jpe?g|png)$/i;

const isTarPath = (p: string): boolean => /\.(tar\.gz|tgz|tar)$/i.test(p);

/**
 * Which layout `source` holds. A folder is recognised from its contents (a
 * `cifar-10-binary.tar.gz` or `cifar-10-batches-bin/` inside, the batch files themselves,
 * or `train/`/`test/` class folders); an archive from its first matching entry.
 */
export async function detectCifar10(source: string): Promise<Cifar10SourceInfo> {
  const s = await stat(source);
  if (s.isDirectory()) {
    if (existsSync(join(source, CIFAR10_BINARY_DIR))) return { layout: 'binary', container: 'folder', path: join(source, CIFAR10_BINARY_DIR) };
    if (['data_batch_1.bin', 'test_batch.bin'].some((f) => existsSync(join(source, f)))) return { layout: 'binary', container: 'folder', path: source };
    if (['train', 'test'].some((d) => CIFAR10_CLASSES.some((c) => existsSync(join(source, d, c))))) {
      return { layout: 'jpeg', container: 'folder', path: source };
    }
    const tar = join(source, 'cifar-10-binary.tar.gz');
    if (existsSync(tar)) return { layout: 'binary', container: 'tar', path: tar };
    throw new FormatError(
      'CIFAR-10',
      source,
      `no CIFAR-10 data in this folder (expected cifar-10-binary.tar.gz, ${CIFAR10_BINARY_DIR}/, data_batch_N.bin files, or train/<class>/ and test/<class>/ image folders)`,
    );
  }
  if (!isTarPath(source)) throw new FormatError('CIFAR-10', source, 'expected a .tar.gz/.tgz/.tar archive or a folder');
  let seen = 0;
  for await (const e of readTarGz(source)) {
    if (BINARY_RE.test(e.name)) return { layout: 'binary', container: 'tar', path: source };
    if (JPEG_RE.test(e.name)) return { layout: 'jpeg', container: 'tar', path: source };
    if (++seen >= 1000) break;
  }
  throw new FormatError(
    'CIFAR-10',
    source,
    `not a CIFAR-10 archive: no ${CIFAR10_BINARY_DIR}/data_batch_N.bin and no train|test/<class>/*.jpg entries${seen >= 1000 ? ' among the first 1000 files' : ''}`,
  );
}

function classLabel(folder: string, where: string, file: string): number {
  const label = (CIFAR10_CLASSES as readonly string[]).indexOf(folder);
  if (label < 0) throw new FormatError('CIFAR-10', file, `${where}: unknown class folder '${folder}' (expected ${CIFAR10_CLASSES.join(', ')})`);
  return label;
}

/** Collects images into batches of batchSize. */
class Batcher {
  private images: Uint8Array;
  private labels: Uint8Array;
  private n = 0;
  constructor(private readonly size: number) {
    this.images = new Uint8Array(size * HW * 3);
    this.labels = new Uint8Array(size);
  }
  /** Add images; returns the full batches this completed. */
  add(images: Uint8Array, labels: Uint8Array): Cifar10Batch[] {
    const out: Cifar10Batch[] = [];
    let i = 0;
    while (i < labels.length) {
      const k = Math.min(this.size - this.n, labels.length - i);
      this.images.set(images.subarray(i * HW * 3, (i + k) * HW * 3), this.n * HW * 3);
      this.labels.set(labels.subarray(i, i + k), this.n);
      this.n += k;
      i += k;
      if (this.n === this.size) out.push(this.flush()!);
    }
    return out;
  }
  flush(): Cifar10Batch | undefined {
    if (this.n === 0) return undefined;
    const b = { images: this.images.slice(0, this.n * HW * 3), labels: this.labels.slice(0, this.n), n: this.n };
    this.n = 0;
    return b;
  }
}

function checkImage(img: { width: number; height: number }, name: string, file: string): void {
  if (img.width !== CIFAR10_SIZE || img.height !== CIFAR10_SIZE) {
    throw new FormatError('CIFAR-10', file, `${name}: a ${img.width}×${img.height} image, CIFAR-10 images are 32×32`);
  }
}

async function* readBinary(info: Cifar10SourceInfo, split: Cifar10Split, batcher: Batcher): AsyncGenerator<Cifar10Batch> {
  const wanted = cifar10BatchFiles(split);
  if (info.container === 'folder') {
    const missing = wanted.filter((f) => !existsSync(join(info.path, f)));
    if (missing.length > 0) throw new FormatError('CIFAR-10', info.path, `missing batch files: ${missing.join(', ')}`);
    for (const f of wanted) {
      const p = join(info.path, f);
      const b = cifar10RecordsToHwc(await readFile(p), p);
      yield* batcher.add(b.images, b.labels);
    }
  } else {
    // yield in batch order; a batch that arrives early is held until its turn
    const early = new Map<string, Cifar10Batch>();
    let next = 0;
    for await (const e of readTarGz(info.path)) {
      const m = BINARY_RE.exec(e.name);
      if (!m || !wanted.includes(`${m[1]}.bin`)) continue;
      const base = `${m[1]}.bin`;
      if (early.has(base) || wanted.indexOf(base) < next) throw new FormatError('CIFAR-10', info.path, `${e.name} appears twice`);
      early.set(base, cifar10RecordsToHwc(await e.bytes(), `${info.path}:${e.name}`));
      while (next < wanted.length && early.has(wanted[next])) {
        const b = early.get(wanted[next])!;
        early.delete(wanted[next]);
        next++;
        yield* batcher.add(b.images, b.labels);
      }
    }
    if (next < wanted.length) {
      throw new FormatError(
        'CIFAR-10',
        info.path,
        `missing batch files: ${wanted
          .slice(next)
          .filter((f) => !early.has(f))
          .join(', ')}`,
      );
    }
  }
}

async function* readJpeg(info: Cifar10SourceInfo, split: Cifar10Split, batcher: Batcher): AsyncGenerator<Cifar10Batch> {
  let count = 0;
  if (info.container === 'folder') {
    const root = join(info.path, split);
    if (!existsSync(root)) throw new FormatError('CIFAR-10', info.path, `no ${split}/ folder`);
    const dirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    const labelled = dirs.map((d) => [d, classLabel(d, `${split}/${d}`, info.path)] as const).sort((a, b) => a[1] - b[1]);
    for (const [dir, label] of labelled) {
      const files = (await readdir(join(root, dir))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
      for (let i = 0; i < files.length; i += 64) {
        const chunk = files.slice(i, i + 64);
        const imgs = await Promise.all(
          chunk.map(async (f) => {
            const p = join(root, dir, f);
            const img = decodeImageRgb(await readFile(p), p);
            checkImage(img, `${split}/${dir}/${f}`, info.path);
            return img;
          }),
        );
        const images = new Uint8Array(imgs.length * HW * 3);
        imgs.forEach((img, k) => images.set(img.data, k * HW * 3));
        count += imgs.length;
        yield* batcher.add(images, new Uint8Array(imgs.length).fill(label));
      }
    }
  } else {
    for await (const e of readTarGz(info.path)) {
      const m = JPEG_RE.exec(e.name);
      if (!m || m[1] !== split) continue;
      const label = classLabel(m[2], e.name, info.path);
      const img = decodeImageRgb(await e.bytes(), `${info.path}:${e.name}`);
      checkImage(img, e.name, info.path);
      count++;
      yield* batcher.add(img.data, Uint8Array.of(label));
    }
  }
  if (count === 0) throw new FormatError('CIFAR-10', info.path, `no ${split}/<class>/ images`);
}

/**
 * Batches of the `split` of the CIFAR-10 data at `source` (an archive or a folder, either
 * layout, see detectCifar10). Corrupt or incomplete data gives a FormatError.
 */
export async function* readCifar10(source: string, split: Cifar10Split, options: Cifar10Options = {}): AsyncGenerator<Cifar10Batch> {
  if (split !== 'train' && split !== 'test') throw new TypeError(`split must be 'train' or 'test', got '${String(split)}'`);
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const info = await detectCifar10(source);
  const batcher = new Batcher(batchSize);
  yield* info.layout === 'binary' ? readBinary(info, split, batcher) : readJpeg(info, split, batcher);
  const last = batcher.flush();
  if (last) yield last;
}
