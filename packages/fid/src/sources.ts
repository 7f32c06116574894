/**
 * Image sources for FID: batches of RGB images as float32 NHWC in [0, 1].
 *
 *   - a folder of PNG/JPEG files (recursive, sorted by relative path; format detected from
 *     the bytes, files picked by extension .png/.jpg/.jpeg); a batch never mixes sizes,
 *     so a folder of mixed sizes gives shorter batches where the size changes;
 *   - an `.npz` holding an image array:
 *       our dataset shards: `X`, float (n, N_mod, 3, H, W) in [0, 1] → n·N_mod images;
 *       (n, H, W, 3) uint8 (divided by 255: exact, see preprocess.ts) or float;
 *       (n, 3, H, W) float; also (n, N_mod, H, W, 3).
 *     The array is chosen by `key`, else `X`, else `images`, else the only 4-d/5-d array.
 *     A stored (np.savez), C-order array is streamed batch by batch from the file
 *     (NpzFile.readElements), so shards of any size work; a compressed or Fortran-order one
 *     is read whole (that array only).
 *
 * uint8 → [0, 1] uses v/255 in float32, which torchmetrics' (x·255).byte() maps back to v
 * for every v, so 8-bit images reach the network exactly.
 */
import { InputError } from '@mmmi/cli-kit';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { FormatError, NpzFile, readImageRgb, type NpyAnyArray } from '@mmmi/formats';

export interface ImageBatch {
  /** NHWC RGB, float32 in [0, 1]. */
  data: Float32Array;
  /** The same images as uint8 (HWC RGB), when the source has them: fed to the network exactly. */
  bytes?: Uint8Array;
  n: number;
  height: number;
  width: number;
}

export interface ImageSource {
  /** For messages: "folder data/real (5000 images)". */
  readonly description: string;
  /** Number of images. */
  readonly count: number;
  /** Batches of at most `batchSize` images (fewer at the end, or where the image size changes). */
  batches(batchSize: number): AsyncGenerator<ImageBatch>;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Image files under `dir`, recursively, sorted by path relative to `dir` (code-unit order). */
export async function listImageFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const s = await stat(p).catch(() => undefined);
        isDir = Boolean(s?.isDirectory());
        isFile = Boolean(s?.isFile());
      }
      if (isDir) await walk(p);
      else if (isFile && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(p);
    }
  };
  await walk(dir);
  const rel = new Map(found.map((p) => [p, relative(dir, p).split('\\').join('/')]));
  return found.sort((a, b) => (rel.get(a)! < rel.get(b)! ? -1 : rel.get(a)! > rel.get(b)! ? 1 : 0));
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
}

export async function folderImageSource(dir: string): Promise<ImageSource> {
  const files = await listImageFiles(dir);
  if (files.length === 0) throw new Error(`${dir}: no .png/.jpg/.jpeg images in this folder or below`);
  return {
    description: `folder ${dir} (${files.length} images)`,
    count: files.length,
    async *batches(batchSize: number) {
      checkBatchSize(batchSize);
      let pending: { data: Uint8Array; height: number; width: number }[] = [];
      const flush = (): ImageBatch => {
        const { height, width } = pending[0];
        const per = height * width * 3;
        const data = new Float32Array(pending.length * per);
        pending.forEach((img, i) => {
          for (let j = 0; j < per; j++) data[i * per + j] = img.data[j] / 255;
        });
        const batch = { data, n: pending.length, height, width };
        pending = [];
        return batch;
      };
      // read a batch's worth of files at a time (concurrently), emit runs of equal size
      for (let start = 0; start < files.length; start += batchSize) {
        const chunk = files.slice(start, start + batchSize);
        const images = await Promise.all(chunk.map((f) => readImageRgb(f)));
        for (const img of images) {
          if (pending.length > 0 && (img.height !== pending[0].height || img.width !== pending[0].width || pending.length >= batchSize)) {
            yield flush();
          }
          pending.push(img);
        }
        if (pending.length >= batchSize) yield flush();
      }
      if (pending.length > 0) yield flush();
    },
  };
}

type Layout = 'HWC' | 'CHW';

interface ArrayImages {
  key: string;
  count: number;
  height: number;
  width: number;
  layout: Layout;
  scale: number; // 1/255 for uint8
}

/** What choosing and describing an image array needs: dtype and shape (an NpyAnyArray or an NpzArrayInfo). */
interface ArrayShape {
  dtype: string;
  shape: number[];
}

function pickArray<A extends ArrayShape>(arrays: Map<string, A>, file: string, key?: string): [string, A] {
  if (key !== undefined) {
    const a = arrays.get(key);
    if (!a) throw new Error(`${file}: no array '${key}' (arrays: ${[...arrays.keys()].join(', ') || 'none'})`);
    return [key, a];
  }
  for (const k of ['X', 'images']) {
    const a = arrays.get(k);
    if (a) return [k, a];
  }
  const candidates = [...arrays].filter(([, a]) => a.shape.length === 4 || a.shape.length === 5);
  if (candidates.length === 1) return candidates[0];
  throw new Error(
    `${file}: cannot tell which array holds the images (arrays: ${[...arrays].map(([k, a]) => `${k} ${a.dtype} (${a.shape.join(', ')})`).join('; ') || 'none'}); ` +
      `expected 'X' or 'images', or exactly one 4-d/5-d array`,
  );
}

function describeArray(arrays: Map<string, ArrayShape>, file: string, key?: string): ArrayImages {
  const [k, a] = pickArray(arrays, file, key);
  const shape = a.shape;
  const what = `${file}: array '${k}' ${a.dtype} (${shape.join(', ')})`;
  let scale: number;
  if (a.dtype === '|u1') scale = 1 / 255;
  else if (a.dtype === '<f4' || a.dtype === '<f8') scale = 1;
  else throw new Error(`${what}: expected uint8, float32 or float64 images`);
  if (shape.length !== 4 && shape.length !== 5) throw new Error(`${what}: expected (n, H, W, 3), (n, 3, H, W) or (n, N_mod, 3, H, W)`);
  const last = shape[shape.length - 1];
  const third = shape[shape.length - 3];
  let layout: Layout;
  if (last === 3 && third !== 3) layout = 'HWC';
  else if (third === 3 && last !== 3) layout = 'CHW';
  else if (last === 3 && third === 3) layout = a.dtype === '|u1' ? 'HWC' : 'CHW';
  else throw new Error(`${what}: no axis of 3 colour channels (expected channels last or third from last)`);
  const height = layout === 'HWC' ? shape[shape.length - 3] : shape[shape.length - 2];
  const width = layout === 'HWC' ? shape[shape.length - 2] : shape[shape.length - 1];
  const count = shape.slice(0, shape.length - 3).reduce((p, d) => p * d, 1);
  if (count === 0) throw new Error(`${what}: no images`);
  return { key: k, count, height, width, layout, scale };
}

/** Per batches() call: `fetch(start, n)` gives the C-order elements of images [start, start + n) and the index where image `start` begins. */
interface ImageReader {
  fetch(start: number, n: number): Promise<{ data: ArrayLike<number>; offset: number }>;
  close?(): Promise<void>;
}

function arrayImageSource(img: ArrayImages, file: string, openReader: () => Promise<ImageReader>): ImageSource {
  const { count, height, width, layout, scale } = img;
  const per = height * width * 3;
  const plane = height * width;
  return {
    description: `${file}[${img.key}] (${count} images of ${height}×${width})`,
    count,
    async *batches(batchSize: number) {
      checkBatchSize(batchSize);
      const reader = await openReader();
      try {
        for (let start = 0; start < count; start += batchSize) {
          const n = Math.min(batchSize, count - start);
          const { data, offset } = await reader.fetch(start, n);
          const out = new Float32Array(n * per);
          for (let i = 0; i < n; i++) {
            const src = offset + i * per;
            const dst = i * per;
            if (layout === 'HWC') {
              for (let j = 0; j < per; j++) out[dst + j] = data[src + j] * scale;
            } else {
              for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) out[dst + p * 3 + c] = data[src + c * plane + p] * scale;
            }
          }
          yield { data: out, n, height, width };
        }
      } finally {
        await reader.close?.();
      }
    },
  };
}

/** An image source over arrays already read from an `.npz` (see the module comment). */
export function npzImageSource(arrays: Map<string, NpyAnyArray>, file: string, key?: string): ImageSource {
  const img = describeArray(arrays, file, key);
  const data = arrays.get(img.key)!.data as ArrayLike<number>;
  const per = img.height * img.width * 3;
  return arrayImageSource(img, file, async () => ({ fetch: async (start) => ({ data, offset: start * per }) }));
}

/**
 * An image source over an `.npz` file, read lazily: a stored C-order array batch by batch
 * from the file (each batches() call opens the file and closes it when done); any other
 * array whole, now.
 */
async function npzFileImageSource(path: string, key?: string): Promise<ImageSource> {
  const npz = await openNpz(path);
  try {
    if (key === undefined && npz.arrays.has('mu') && npz.arrays.has('sigma')) {
      throw new Error(`${path} holds statistics (mu, sigma), not images`);
    }
    const img = describeArray(npz.arrays, path, key);
    const info = npz.arrays.get(img.key)!;
    if (!info.stored || (info.fortranOrder && info.shape.length > 1)) {
      return npzImageSource(new Map([[img.key, await npz.read(img.key)]]), path, img.key);
    }
    const per = img.height * img.width * 3;
    return arrayImageSource(img, path, async () => {
      const file = await openNpz(path);
      return {
        fetch: async (start, n) => ({ data: (await file.readElements(img.key, start * per, n * per)) as ArrayLike<number>, offset: 0 }),
        close: () => file.close(),
      };
    });
  } finally {
    await npz.close();
  }
}

/** NpzFile.open, with FormatErrors explained as "not a .npz" (as before NpzFile existed). */
async function openNpz(path: string): Promise<NpzFile> {
  return NpzFile.open(path).catch((e: unknown) => {
    throw notNpz(path, e);
  });
}

function notNpz(path: string, e: unknown): unknown {
  return e instanceof FormatError ? new InputError(`${path}: not a .npz file that can be read: ${e.reason}`, { cause: e }) : e;
}

/** Names of the arrays in an `.npz` (np.load's keys), read from the ZIP central directory only. */
export async function listNpzKeys(path: string): Promise<string[]> {
  return NpzFile.keys(path).catch((e: unknown) => {
    throw notNpz(path, e);
  });
}

/** True when `path` is a statistics `.npz` (arrays `mu` and `sigma`), judged from its directory. */
export async function isStatsFile(path: string): Promise<boolean> {
  if (extname(path).toLowerCase() !== '.npz') return false;
  const keys = new Set(await listNpzKeys(path));
  return keys.has('mu') && keys.has('sigma');
}

export interface OpenSourceOptions {
  /** Array name inside an `.npz`. */
  key?: string;
}

/** A folder of images or an `.npz` image array. */
export async function openImageSource(path: string, options: OpenSourceOptions = {}): Promise<ImageSource> {
  const s = await stat(path);
  if (s.isDirectory()) return folderImageSource(path);
  if (extname(path).toLowerCase() === '.npz') {
    return npzFileImageSource(path, options.key);
  }
  throw new Error(`${path}: expected a folder of PNG/JPEG images or an .npz file`);
}
