/**
 * Training images held in memory as uint8 HWC (CIFAR-10's 50 000 images are 150 MB), with
 * their labels. Sources: CIFAR-10 (official binary release, or the JPEG layout) found in or
 * downloaded to `--data_path`, or an image folder with one sub-folder of PNG/JPEG files per
 * class (classes in sorted folder-name order).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { CIFAR10_CLASSES, readCifar10, readImageRgb } from '@mmmi/formats';
import { ensureCifar10Data, type DownloadProgress } from '@mmmi/fid';

export interface ImageDataset {
  /** n × size × size × 3 RGB bytes. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  size: number;
  classes: string[];
  /** Where the images came from, for checkpoints' provenance. */
  source: string;
  description: string;
}

export interface LoadOptions {
  log?: (message: string) => void;
  onDownloadProgress?: (p: DownloadProgress) => void;
  /** Keep only the first `limit` images (test runs). */
  limit?: number;
}

/** CIFAR-10's training split from `dataPath` (downloaded there when missing). */
export async function loadCifar10Train(dataPath: string | undefined, options: LoadOptions = {}): Promise<ImageDataset> {
  const data = await ensureCifar10Data({ dataPath, log: options.log, onProgress: options.onDownloadProgress });
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  const limit = options.limit ?? Infinity;
  for await (const batch of readCifar10(data.path, 'train', { batchSize: 5000 })) {
    const take = Math.min(batch.n, limit - labels.length);
    chunks.push(batch.images.subarray(0, take * 3072));
    for (let i = 0; i < take; i++) labels.push(batch.labels[i]);
    if (labels.length >= limit) break;
  }
  const images = new Uint8Array(labels.length * 3072);
  let offset = 0;
  for (const c of chunks) {
    images.set(c, offset);
    offset += c.length;
  }
  const kind =
    data.layout === 'binary'
      ? data.official
        ? 'official binary release'
        : 'binary release (MD5 differs from the official one)'
      : 'JPEG layout (pixels differ slightly from the official release)';
  return {
    images,
    labels: Uint8Array.from(labels),
    n: labels.length,
    size: 32,
    classes: [...CIFAR10_CLASSES],
    source: data.path,
    description: `CIFAR-10 train, ${kind}`,
  };
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** An image folder: `<root>/<class>/*.png|jpg`, all images `size`×`size`. */
export async function loadImageFolder(root: string, options: LoadOptions = {}): Promise<ImageDataset> {
  const dir = resolve(root);
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new InputError(`--data_path ${root}: no such folder (an image-folder dataset is <root>/<class>/*.png|jpg)`);
  const classes = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (classes.length === 0) throw new InputError(`--data_path ${root}: no class sub-folders (expected <root>/<class>/*.png|jpg)`);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  let size = 0;
  const limit = options.limit ?? Infinity;
  for (const [label, cls] of classes.entries()) {
    const files = (await readdir(join(dir, cls))).filter((f) => IMAGE_FILE.test(f)).sort();
    for (const f of files) {
      if (labels.length >= limit) break;
      const img = await readImageRgb(join(dir, cls, f));
      if (img.width !== img.height) throw new InputError(`${join(dir, cls, f)}: images must be square, got ${img.width}×${img.height}`);
      if (size === 0) size = img.width;
      if (img.width !== size) throw new InputError(`${join(dir, cls, f)}: ${img.width}×${img.height}, but the first image is ${size}×${size}`);
      images.push(img.data);
      labels.push(label);
    }
  }
  if (labels.length === 0) throw new InputError(`--data_path ${root}: no PNG or JPEG images in the class folders`);
  const all = new Uint8Array(labels.length * size * size * 3);
  images.forEach((img, i) => all.set(img, i * img.length));
  return { images: all, labels: Uint8Array.from(labels), n: labels.length, size, classes, source: dir, description: `image folder ${dir}` };
}
