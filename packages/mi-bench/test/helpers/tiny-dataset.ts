/**
 * Tiny datasets made by the real generator (dataset-generation's `generate`), so the harness
 * is tested on exactly what users feed it: shards with manifests, the exact latents in
 * `Noise`, the MI table. Small d keeps them fast; the latent model is the paper's Fig. 1a.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@mmmi/dataset-generation';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const argsFile = (name: string) => join(REPO, 'generation_arguments', name);

/** Generates `size` draws of simple_fig1_DAG at `modDim` values per modality under `transform`, float scaling; returns the folder. */
export async function tinyDataset(folder: string, options: { size: number; modDim?: number; transform?: string; extra?: string[] }): Promise<string> {
  await generate(
    [
      `@${argsFile('simple_fig1_DAG.txt')}`,
      '--mod_dim',
      String(options.modDim ?? 16),
      '--transform',
      options.transform ?? 'identity',
      '--scaling',
      'float',
      '--dataset_loc',
      folder,
      '--dataset_size',
      String(options.size),
      '--batch_size',
      '500',
      '--preview',
      '0',
      ...(options.extra ?? []),
    ],
    { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream },
  );
  return folder;
}
