/**
 * An inverse design (mmmi-latents design) written as an argument file gives, through
 * mmmi-generate, shards whose manifest records the MI the design achieved.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { designCoefficients, designedArgumentFile, parseArgs, parseTarget, parseVary, prepareDesignBase } from '@mmmi/latents';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/generate.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };

describe('designed argument files', () => {
  it('generate (model-free, small) records the MI table the design achieved', async () => {
    const dir = tempDir('mmmi-gen-design-');
    const source = `@${repo}generation_arguments/multimodal_decay_DAG.txt`;
    const base = await prepareDesignBase(parseArgs([source]), parseVary('rho_theta_arg,alpha'));
    const targets = [parseTarget('I(X_1;θ)=2.5', 10), parseTarget('I(X_1;X_2)=300', 10)];
    const result = await designCoefficients(base, targets);
    expect(result.met).toBe(true);
    const file = join(dir, 'designed.txt');
    writeFileSync(file, designedArgumentFile(base, result, source));
    const shard = await generate(
      [`@${file}`, '--transform', 'identity', '--dataset_loc', dir, '--dataset_size', '4', '--batch_size', '20', '--preview', '0'],
      quiet,
    );
    const manifest = JSON.parse(readFileSync(shard.manifestPath, 'utf8'));
    for (const [k, t] of targets.entries()) {
      const recorded = manifest.mi.values[manifest.mi.labels.indexOf(t.label)];
      expect(recorded).toBe(result.achieved[k]);
      expect(Math.abs(recorded - t.value)).toBeLessThan(1e-9);
    }
  });
});
