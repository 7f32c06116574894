import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from '../src/generate.js';
import { availableMemory, checkMemory, generationMemoryNeed } from '../src/memory-need.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-mem-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };

afterEach(() => {
  delete process.env.MMMI_MEMORY_LIMIT;
});

describe('memory need', () => {
  it("adds the batch arrays by their element sizes, and the flow map's weights and activations", () => {
    const batch = { drawsPerBatch: 10, nMod: 2, modDim: 3072 };
    const v = 10 * 2 * 3072;
    const free = generationMemoryNeed(batch, {});
    expect(free.total).toBe(8 * v + 8 * v + 8 * v);
    const flow = generationMemoryNeed(batch, { flow: { weightsBytes: 1000, perImageBytes: 7 } });
    expect(flow.total).toBe(8 * v + 4 * v + 8 * v + 1000 + 10 * 7);
    expect(flow.parts.map((p) => p.what)).toContain('flow activations (10 images a pass)');
  });

  it("available memory is at most the system's, and MMMI_MEMORY_LIMIT lowers it", () => {
    const a = availableMemory({});
    expect(a.bytes).toBeGreaterThan(0);
    expect(a.bytes).toBeLessThanOrEqual(freemem() * 1.05);
    expect(availableMemory({ MMMI_MEMORY_LIMIT: '1e6' })).toEqual({ bytes: 1e6, source: 'MMMI_MEMORY_LIMIT' });
    expect(() => availableMemory({ MMMI_MEMORY_LIMIT: '8GB' })).toThrow(/MMMI_MEMORY_LIMIT=8GB: expected a number of bytes/);
  });

  it('a batch that does not fit is refused, naming each part and the fix', () => {
    const need = generationMemoryNeed({ drawsPerBatch: 1000, nMod: 2, modDim: 3072 }, {});
    expect(() => checkMemory(need, { bytes: need.total, source: 'system' })).not.toThrow();
    let error: unknown;
    try {
      checkMemory(need, { bytes: 1e8, source: 'system' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      'a batch needs about 0.1 GB of memory (latents (float64) 0.049 GB, transformed latents (float64) 0.049 GB, noise and scaled images (float32) 0.049 GB) and this machine has 0.1 GB available: lower --batch_size to at most 1356 (draws per batch = batch_size / N_mod, 1000 now)',
    );
    // 678 draws of 2·3072 values at 24 bytes each fit in 1e8 bytes, 679 do not: the advised batch_size is the largest that fits
    expect(Math.floor(1e8 / (24 * 2 * 3072))).toBe(678);
    expect(() => checkMemory(generationMemoryNeed({ drawsPerBatch: 678, nMod: 2, modDim: 3072 }, {}), { bytes: 1e8, source: 'system' })).not.toThrow();
  });

  it('names the flag that can help: the size of a draw when one draw does not fit, the weight copies when the weights alone do not', () => {
    const oneDraw = generationMemoryNeed({ drawsPerBatch: 1, nMod: 4, modDim: 1e8 }, {});
    expect(() => checkMemory(oneDraw, { bytes: 1e9, source: 'MMMI_MEMORY_LIMIT' })).toThrow(
      /MMMI_MEMORY_LIMIT gives 1\.0 GB available: even one draw per batch needs 9\.6 GB \(--batch_size cannot help\): lower --mod_dim or --N_mod/,
    );
    const flowDraw = generationMemoryNeed({ drawsPerBatch: 4, nMod: 2, modDim: 3072 }, { flow: { weightsBytes: 1e8, perImageBytes: 1e9 } });
    expect(() => checkMemory(flowDraw, { bytes: 1e9, source: 'system' })).toThrow(
      /even one draw per batch needs 1\.0 GB \(--batch_size cannot help\): lower --N_mod,/,
    );
    const weights = generationMemoryNeed({ drawsPerBatch: 4, nMod: 2, modDim: 3072 }, { flow: { weightsBytes: 2e9, perImageBytes: 1e6 } });
    expect(() => checkMemory(weights, { bytes: 1e9, source: 'system' })).toThrow(/the flow weights alone need 2\.0 GB .*: with --engine tfjs lower --threads/);
  });
});

describe('generate checks memory before any work', () => {
  it('model-free: refused before the output folder gets anything', async () => {
    const dir = join(tmp(), 'out');
    process.env.MMMI_MEMORY_LIMIT = '1e6';
    const args = [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      '--transform',
      'identity',
      '--dataset_loc',
      dir,
      '--dataset_size',
      '100',
      '--batch_size',
      '100',
    ];
    await expect(generate(args, quiet)).rejects.toThrow(
      /^a batch needs about 0\.007 GB of memory .* and MMMI_MEMORY_LIMIT gives 0\.001 GB available: lower --batch_size/,
    );
    expect(existsSync(dir) ? readdirSync(dir).filter((n) => !n.endsWith('.log')) : []).toEqual([]);
    delete process.env.MMMI_MEMORY_LIMIT;
    // a batch larger than the dataset is never allocated: 10 draws need 10 draws' arrays
    process.env.MMMI_MEMORY_LIMIT = String(2 * 24 * 10 * 2 * 3072);
    expect((await generate([...args.slice(0, -4), '--dataset_size', '10', '--batch_size', '1000000'], quiet)).count).toBe(10);
  });

  it('flow map: refused once the model is known (its activations per image), before the workspace or the arguments file', async () => {
    const dir = join(tmp(), 'out');
    process.env.MMMI_MEMORY_LIMIT = '2e8';
    const args = [`@${repo}generation_arguments/default.txt`, '--dataset_loc', dir, '--dataset_size', '256', '--batch_size', '512'];
    await expect(generate(args, quiet)).rejects.toThrow(
      /^a batch needs about .* GB of memory \(.*flow weights .*flow activations \(256 images a pass\) .* and MMMI_MEMORY_LIMIT gives 0\.2 GB available/,
    );
    expect(readdirSync(dir).filter((n) => !n.endsWith('.log'))).toEqual([]);
  });
});
