/**
 * Labelled 32×32 images for the realism score, read in chunks (CHW float32, with each
 * image's intended label and modality):
 *
 *   - a dataset shard `.npz` of this toolkit: `X` float (n, N, 3, 32, 32), `labels` int
 *     (n, N) (or (n,): one label per draw, for every modality); image (draw r, modality m)
 *     has label labels[r, m] and modality m. A stored C-order `X` is read chunk by chunk;
 *     a compressed one whole;
 *   - a folder of such shards (every `*.npz` directly inside, sorted by name; the same N);
 *   - a folder of images in class subfolders `<class name or index>/*.png|jpg|jpeg` (one
 *     modality; every image 32×32).
 *
 * Bad input (no such path, a missing array, a wrong shape or dtype, a label outside 0–9,
 * an unknown class folder, an image of another size) is an InputError naming the file.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InputError, unreachableReason } from '@mmmi/cli-kit';
import { FormatError, NpzFile, readImageRgb, type NpzArrayInfo } from '@mmmi/formats';
import { REALISM_CLASSES, REALISM_IMAGE_VALUES } from './score.js';

export interface LabelledChunk {
  /** n × 3 × 32 × 32, channel-first (values as stored: not yet clamped). */
  images: Float32Array;
  labels: Int32Array;
  /** 0-based modality of each image. */
  modality: Int32Array;
  n: number;
}

export interface LabelledImageSource {
  readonly description: string;
  /** Images in all (draws × modalities). */
  readonly count: number;
  readonly modalities: number;
  chunks(size: number): AsyncGenerator<LabelledChunk>;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

function checkLabel(v: number, where: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 9) throw new InputError(`${where}: label ${v} is outside 0–9 (CIFAR-10 classes)`);
  return v;
}

interface ShardInfo {
  path: string;
  draws: number;
  modalities: number;
  labels: Int32Array; // draws × modalities
  x: NpzArrayInfo;
}

async function openShard(path: string): Promise<ShardInfo> {
  let npz: NpzFile;
  try {
    npz = await NpzFile.open(path);
  } catch (e) {
    if (e instanceof FormatError) throw new InputError(`${path}: not a .npz file that can be read: ${e.reason}`, { cause: e });
    throw e;
  }
  try {
    const x = npz.arrays.get('X');
    const l = npz.arrays.get('labels');
    if (!x) throw new InputError(`${path}: no array 'X' (a dataset shard holds X (n, N, 3, 32, 32) and labels (n, N))`);
    if (!l) throw new InputError(`${path}: no array 'labels' (a dataset shard holds X (n, N, 3, 32, 32) and labels (n, N))`);
    if (x.dtype !== '<f4' && x.dtype !== '<f8') throw new InputError(`${path}: X has dtype ${x.dtype}, expected float32 (<f4) or float64`);
    const s = x.shape;
    if (s.length !== 5 || s[2] !== 3 || s[3] !== 32 || s[4] !== 32) {
      throw new InputError(`${path}: X has shape (${s.join(', ')}), expected (n, N, 3, 32, 32)`);
    }
    const [draws, modalities] = s;
    if (draws * modalities === 0) throw new InputError(`${path}: X holds no images (shape (${s.join(', ')}))`);
    const ls = l.shape;
    const full = ls.length === 2 && ls[0] === draws && ls[1] === modalities;
    const perDraw = ls.length === 1 && ls[0] === draws;
    if (!full && !perDraw) throw new InputError(`${path}: labels has shape (${ls.join(', ')}), expected (${draws}, ${modalities}) to match X`);
    if (!['<i4', '<i8', '<i2', '|i1', '|u1', '<u2', '<u4'].includes(l.dtype)) throw new InputError(`${path}: labels has dtype ${l.dtype}, expected integers`);
    const raw = (await npz.read('labels')).data as ArrayLike<number | bigint>;
    const labels = new Int32Array(draws * modalities);
    for (let r = 0; r < draws; r++)
      for (let m = 0; m < modalities; m++) {
        const v = Number(raw[full ? r * modalities + m : r]);
        labels[r * modalities + m] = checkLabel(v, `${path}: labels[${r}${full ? `, ${m}` : ''}]`);
      }
    return { path, draws, modalities, labels, x };
  } finally {
    await npz.close();
  }
}

function shardSource(shards: ShardInfo[], description: string): LabelledImageSource {
  const modalities = shards[0].modalities;
  for (const s of shards) {
    if (s.modalities !== modalities) throw new InputError(`${s.path}: ${s.modalities} modalities, ${shards[0].path} has ${modalities}`);
  }
  const count = shards.reduce((a, s) => a + s.draws * s.modalities, 0);
  return {
    description,
    count,
    modalities,
    async *chunks(size: number) {
      for (const shard of shards) {
        const total = shard.draws * shard.modalities;
        const npz = await NpzFile.open(shard.path);
        try {
          const whole = !shard.x.stored || shard.x.fortranOrder ? ((await npz.read('X')).data as Float32Array | Float64Array) : undefined;
          for (let start = 0; start < total; start += size) {
            const n = Math.min(size, total - start);
            const raw = whole
              ? whole.subarray(start * REALISM_IMAGE_VALUES, (start + n) * REALISM_IMAGE_VALUES)
              : ((await npz.readElements('X', start * REALISM_IMAGE_VALUES, n * REALISM_IMAGE_VALUES)) as Float32Array | Float64Array);
            const images = raw instanceof Float32Array ? raw : Float32Array.from(raw);
            const modality = new Int32Array(n);
            for (let i = 0; i < n; i++) modality[i] = (start + i) % shard.modalities;
            yield { images, labels: shard.labels.slice(start, start + n), modality, n };
          }
        } finally {
          await npz.close();
        }
      }
    },
  };
}

/** The label a class folder's name gives: a CIFAR-10 class name or an index 0–9. */
export function classFolderLabel(name: string): number | undefined {
  const byName = REALISM_CLASSES.indexOf(name.toLowerCase() as (typeof REALISM_CLASSES)[number]);
  if (byName >= 0) return byName;
  return /^[0-9]$/.test(name) ? Number(name) : undefined;
}

async function imageFolderSource(dir: string): Promise<LabelledImageSource> {
  const files: { path: string; label: number }[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const label = classFolderLabel(e.name);
    if (label === undefined) {
      throw new InputError(`${join(dir, e.name)}: a class folder must be named by a CIFAR-10 class (${REALISM_CLASSES.join(', ')}) or an index 0–9`);
    }
    const names = (await readdir(join(dir, e.name))).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
    for (const f of names) files.push({ path: join(dir, e.name, f), label });
  }
  if (files.length === 0) {
    throw new InputError(`${dir}: no dataset shards (*.npz) and no images in class subfolders (<class name or index>/*.png|jpg)`);
  }
  return {
    description: `image folder ${dir} (${files.length} images)`,
    count: files.length,
    modalities: 1,
    async *chunks(size: number) {
      for (let start = 0; start < files.length; start += size) {
        const part = files.slice(start, start + size);
        const n = part.length;
        const images = new Float32Array(n * REALISM_IMAGE_VALUES);
        for (let i = 0; i < n; i++) {
          let img;
          try {
            img = await readImageRgb(part[i].path);
          } catch (e) {
            if (e instanceof FormatError) throw new InputError(`${part[i].path}: not a readable image: ${e.reason}`, { cause: e });
            throw e;
          }
          if (img.width !== 32 || img.height !== 32) throw new InputError(`${part[i].path}: ${img.width}×${img.height} pixels, expected 32×32`);
          const o = i * REALISM_IMAGE_VALUES;
          for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) images[o + c * 1024 + p] = img.data[p * 3 + c] / 255;
        }
        yield { images, labels: Int32Array.from(part, (f) => f.label), modality: new Int32Array(n), n };
      }
    },
  };
}

/** Opens a shard `.npz`, a folder of shards, or a folder of class subfolders of images. */
export async function openLabelledImages(path: string): Promise<LabelledImageSource> {
  let s;
  try {
    s = await stat(path);
  } catch {
    throw new InputError(unreachableReason(path) ?? `${path}: no such file or folder`);
  }
  if (s.isFile()) {
    if (extname(path).toLowerCase() !== '.npz')
      throw new InputError(`${path}: expected a dataset shard .npz, a folder of shards, or a folder of class subfolders of images`);
    const shard = await openShard(path);
    return shardSource([shard], `shard ${basename(path)} (${shard.draws} draws × ${shard.modalities} modalities)`);
  }
  const npzs = (await readdir(path, { withFileTypes: true }))
    .filter((e) => e.isFile() && extname(e.name).toLowerCase() === '.npz')
    .map((e) => e.name)
    .sort();
  if (npzs.length > 0) {
    const shards = [];
    for (const f of npzs) shards.push(await openShard(join(path, f)));
    const draws = shards.reduce((a, x) => a + x.draws, 0);
    return shardSource(shards, `${npzs.length} shard${npzs.length > 1 ? 's' : ''} in ${path} (${draws} draws × ${shards[0].modalities} modalities)`);
  }
  return imageFolderSource(path);
}
