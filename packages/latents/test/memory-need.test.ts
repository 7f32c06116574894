import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { reducedImageCovariance } from '../src/construct.js';
import { checkLatentMemory, exactAlignmentSize, latentMemoryNeed } from '../src/memory-need.js';
import { buildLatentModel } from '../src/model.js';
import { BUILT_IN_DEFAULT_TOKENS, specFromArgs, type ConstructiveSpec } from '../src/spec.js';
import { describeStructure } from '../src/structure.js';
import { loadTemplates } from '../src/templates.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const spec = (...tokens: string[]) => specFromArgs(parseArgs([...BUILT_IN_DEFAULT_TOKENS, ...tokens]));
/** The reference's defaults (all-ones masks and weights) under the given flags. */
const bare = (...tokens: string[]) => specFromArgs(parseArgs(tokens));
const part = (need: ReturnType<typeof latentMemoryNeed>, start: string) => need.parts.find((p) => p.what.startsWith(start))!;
const system = (bytes: number) => ({ bytes, source: 'system' });

describe('memory need of a latents command', () => {
  it('matches a hand count on a small spec', () => {
    // N = 2, N_u = 2, N_u_theta = 1, d = 10, random: templates 2·10 values; K 4, loadings 4,
    // two pair matrices of 2·(1·2) each, Gram 2² — all float64
    const need = latentMemoryNeed(spec('--T_vectors_method', 'random', '--mod_dim', '10'), 'mi');
    expect(need.parts.map((p) => p.bytes)).toEqual([8 * 20, 8 * (4 + 4 + 8 + 4)]);
    expect(need.total).toBe(320);
    expect(latentMemoryNeed(spec('--mod_dim', '10'), 'mi').total).toBe(8 * (4 + 4 + 8 + 1)); // ones: no template arrays, one vector
  });

  it('counts the template bytes loadTemplates allocates, and the reduced eigenproblem align.ts builds', async () => {
    const s = bare(
      '--T_vectors_method',
      'random',
      '--mod_dim',
      '1000',
      '--N_mod',
      '3',
      '--N_u_theta',
      '2',
      '--DAG_theta',
      '[[1,0],[1,1],[0,1]]',
    ) as ConstructiveSpec;
    const t = await loadTemplates(s.templates, s.nUTheta, s.nMod, s.modDim);
    const allocated = t.vectors.reduce((sum, v) => sum + (v.kind === 'dense' ? v.data.byteLength : 0), 0);
    expect(part(latentMemoryNeed(s, 'mi'), 'random templates').bytes).toBe(allocated);
    const model = await buildLatentModel(s);
    expect(exactAlignmentSize(s)).toBe(reducedImageCovariance(model.structure).n); // 3 modalities × 4 used templates
    expect(exactAlignmentSize(s)).toBe(12);
  });

  it("counts describe's JSON text within the base64 bound", async () => {
    const s = spec('--T_vectors_method', 'random', '--mod_dim', '3000');
    const text = JSON.stringify(describeStructure((await buildLatentModel(s)).structure));
    const counted = part(latentMemoryNeed(s, 'describe'), 'the JSON description').bytes / 2; // the part counts the text twice
    expect(text.length).toBeLessThan(counted + 2000);
    expect(text.length).toBeGreaterThan(0.95 * counted);
  });

  it('refuses a huge --mod_dim with random templates, naming the flags, their values and the estimate', () => {
    const s = spec('--T_vectors_method', 'random', '--mod_dim', '1000000000000');
    const need = latentMemoryNeed(s, 'mi');
    expect(need.total).toBeGreaterThan(1.6e13);
    expect(() => checkLatentMemory(need, system(8e9), s)).toThrow(InputError);
    expect(() => checkLatentMemory(need, system(8e9), s)).toThrow(
      /^this model needs about 16000\.0 GB of memory \(random templates .* 16000\.0 GB\) and this machine has 8\.0 GB available: lower --mod_dim \(now 1000000000000\), --N_mod \(now 2\) or --N_u_theta \(now 1\) \(or --T_vectors_method ones\)$/,
    );
  });

  it('names sampled alignment and the sampling paradigm by their own flags; says a large need that fits; is silent otherwise', () => {
    const sampled = spec('--mod_dim', '100000000', '--percentile_to_align', '0.9', '--align_method', 'sampled');
    expect(() => checkLatentMemory(latentMemoryNeed(sampled, 'mi'), system(1e9), sampled)).toThrow(
      /sampled alignment's draws .* lower --mod_dim \(now 100000000\) or --N_mod \(now 2\)$/,
    );
    const sampling = specFromArgs(parseArgs(['--generation_paradigm', 'sampling', '--mod_dim', '1000000000']));
    expect(() => checkLatentMemory(latentMemoryNeed(sampling, 'mi'), system(1e9), sampling)).toThrow(
      /random σ vectors .* lower --mod_dim \(now 1000000000\) or --N_mod/,
    );
    expect(checkLatentMemory(latentMemoryNeed(sampling, 'mi'), system(1e12), sampling)).toMatch(/^about 16\.0 GB of memory \(random σ vectors/);
    const small = spec('--T_vectors_method', 'random');
    expect(checkLatentMemory(latentMemoryNeed(small, 'mi'), system(1e9), small)).toBeNull();
  });

  it('refuses exact alignment of random templates beyond its size limit before the templates are drawn', () => {
    const s = bare('--T_vectors_method', 'random', '--N_mod', '30', '--N_u_theta', '30', '--percentile_to_align', '0.9');
    expect(exactAlignmentSize(s)).toBe(30 * 900);
    expect(() => checkLatentMemory(latentMemoryNeed(s, 'mi'), system(1e15), s)).toThrow(
      /size N_mod·min\(templates, mod_dim\) = 27000 \(at most 600\).*use --align_method sampled$/,
    );
  });
});

describe.skipIf(!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url))))('the CLI refuses before allocating', () => {
  it.each([['mi'], ['describe'], ['design', '--target', 'I(X_1;θ)=1']])('mmmi-latents %s with a huge --mod_dim exits 2 with one line', (...command) => {
    // 48 GB of templates against a limit of 8 GB: were the check missing, the child would start drawing them (and fail or be slow), never exit 2 with this line
    const r = spawnSync('node', ['packages/latents/bin/mmmi-latents.js', ...command, '--T_vectors_method', 'random', '--mod_dim', '3000000000'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, MMMI_MEMORY_LIMIT: '8e9' },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^mmmi-latents: error: this model needs about \d+\.\d GB of memory .* MMMI_MEMORY_LIMIT gives 8\.0 GB available: lower --mod_dim \(now 3000000000\), --N_mod \(now 2\) or --N_u_theta \(now 1\)/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
