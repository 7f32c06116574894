/**
 * The proof per shard that its map is invertible (src/inversion.ts, `verify --invert`, the
 * manifest's `inversion`): shards made by the real generator are mapped back — scaling,
 * map, whitening — and compared with their stored latents. An exact pipeline passes (a
 * model-free transform, and the built-in flow model on a grid it inverts on); an 8-bit
 * scaling fails with its figure; a solver that does not converge fails, naming the step.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { InversionReport } from '@mmmi/flow-train';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { generate } from '../src/generate.js';
import { GENERATION_INVERSION_DRAWS, generationInversionDraws, INVERSION_TOLERANCE, inversionCheck } from '../src/inversion.js';
import type { Manifest } from '../src/manifest.js';
import type { ModalityMap } from '../src/maps/modality-map.js';
import { transformMap } from '../src/maps/transforms.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-invert-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const schema = JSON.parse(readFileSync(new URL('../schema/manifest.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv2020({ strict: false }).compile(schema);

async function verifyInvert(dir: string, ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['verify', '--invert', ...flags, dir], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const manifestOf = (dir: string, name: string): Manifest => JSON.parse(readFileSync(join(dir, `${name}_0.manifest.json`), 'utf8')) as Manifest;

describe('inversion of model-free shards', () => {
  it('a whitened tanh shard with the affine scaling passes verify --invert; its manifest holds the passing inversion record', async () => {
    const dir = tmp();
    await generate(
      [
        `@${repo}generation_arguments/simple_fig1_DAG.txt`,
        ...['--transform', 'tanh', '--scaling', 'affine', '--whiten', 'on', '--dataset_loc', dir, '--dataset_size', '6', '--preview', '0'],
      ],
      quiet,
    );
    const m = manifestOf(dir, 'simple_fig1_DAG');
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.map.whitening).toBeDefined();
    expect(m.inversion).toMatchObject({ draws: 1, map: 'tanh', scaling: 'affine', scaling_invertible: true, ok: true, problems: [] });
    expect(m.inversion!.modalities).toHaveLength(2);
    for (const mod of m.inversion!.modalities) {
      expect(mod.ok).toBe(true);
      expect(mod.solver).toBeUndefined();
      // float32 storage of X and Noise only
      expect(mod.rms_error_rel as number).toBeLessThan(1e-6);
    }
    const { code, out } = await verifyInvert(dir, '--draws', '5');
    expect(code, out).toBe(0);
    expect(out).toMatch(/^ok +simple_fig1_DAG_0\.npz \(6 samples\)$/m);
    expect(out).toMatch(/inversion of the first 5 draws .*scaling affine; map tanh\): passed; tolerance: RMS error ≤ 0\.0001, max error ≤ 0\.001/);
    expect(out).toMatch(/^ +modality +label +max \|error\| +RMS error\/RMS\(Noise\) +result/m);
    expect(out).toMatch(/^ +1 +1 +\S+ +\S+ +ok +closed form/m);
  });

  it('a --scaling minmax-batch shard fails verify --invert with its (large) error, and its manifest says so', async () => {
    const dir = tmp();
    await generate(
      [
        `@${repo}generation_arguments/simple_fig1_DAG.txt`,
        ...['--transform', 'identity', '--scaling', 'minmax-batch', '--dataset_loc', dir, '--dataset_size', '4'],
      ],
      quiet,
    );
    const m = manifestOf(dir, 'simple_fig1_DAG');
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.inversion).toMatchObject({ ok: false, scaling: 'minmax-batch', scaling_invertible: false });
    expect(m.inversion!.modalities[0].rms_error_rel as number).toBeGreaterThan(100 * INVERSION_TOLERANCE.rms_rel);
    const { code, out } = await verifyInvert(dir);
    expect(code).toBe(1);
    expect(out).toMatch(
      /^FAILED +simple_fig1_DAG_0\.npz \(4 samples\): inversion: modality 1: recovered latents differ from Noise by \d\.\de-?\d+ of its RMS/m,
    );
    expect(out).toMatch(/the scaling minmax-batch is not invertible/);
    expect(out).toMatch(/inversion of the first 4 draws .*scaling minmax-batch, not invertible; map identity\): FAILED/);
    expect(out).toMatch(/^ +1 +1 +\S+ +\S+ +FAILED +closed form/m);
  });

  it('MMMI_INVERSION_DRAWS sets the draws a job checks; 0 leaves the check and the record out', async () => {
    expect(generationInversionDraws({})).toBe(GENERATION_INVERSION_DRAWS);
    expect(generationInversionDraws({ MMMI_INVERSION_DRAWS: 'x' })).toBe(GENERATION_INVERSION_DRAWS);
    for (const [draws, want] of [
      ['3', 3],
      ['0', undefined],
    ] as const) {
      const dir = tmp();
      process.env.MMMI_INVERSION_DRAWS = draws;
      try {
        await generate([`@${repo}generation_arguments/simple_fig1_DAG.txt`, ...['--transform', 'cubic', '--dataset_loc', dir, '--dataset_size', '5']], quiet);
      } finally {
        delete process.env.MMMI_INVERSION_DRAWS;
      }
      expect(manifestOf(dir, 'simple_fig1_DAG').inversion?.draws).toBe(want);
    }
  });

  it('--draws without --invert is a usage error', async () => {
    const err: string[] = [];
    expect(await main(['verify', '--draws', '3', tmp()], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
    expect(err.join('\n')).toMatch(/--draws counts the draws --invert checks/);
  });
});

describe('the inversion check', () => {
  const step = (n: number, converged: boolean) => ({
    step: n,
    t0: n / 2,
    t1: (n + 1) / 2,
    iterations: converged ? 6 : 50,
    converged,
    outcome: converged ? ('converged' as const) : ('iteration cap' as const),
    firstChange: 1e-2,
    lastChange: converged ? 1e-7 : 3e-2,
    threshold: 4e-6,
    contraction: converged ? 0.2 : 1.05,
  });

  it('fails a solver that did not converge, naming the step, even when the figures pass', async () => {
    const report: InversionReport = {
      method: 'heun2',
      tolerance: 1e-6,
      maxIterations: 50,
      steps: [step(0, true), step(1, false)],
      converged: false,
      nfe: 120,
      forwardResidual: { maxAbs: 1e-6, relRms: 1e-7 },
    };
    // an identity "flow" whose solver says it did not converge on its second step
    const map: ModalityMap = {
      ...transformMap('identity'),
      invert: async (y) => ({ x: Float64Array.from(y), converged: false, solver: [report] }),
    };
    const noise = Float32Array.from({ length: 2 * 8 }, (_, i) => Math.sin(i));
    const x = Float32Array.from(noise, (v) => v / 2 + 0.5);
    const r = await inversionCheck(map, 'affine', x, noise, 2, 1, [0]);
    expect(r.ok).toBe(false);
    expect(r.modalities[0]).toMatchObject({ ok: false, solver: { converged: false, iterations: [6, 50] } });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(
      /^modality 1: the heun2 inverse did not converge at step 2 \(t 0\.5000 → 1\.000: iteration cap after 50 iterations, last change 3\.0e-2 > 4\.0e-6, contraction 1\.1\)/,
    );
    expect(validate({ ...minimalManifest, inversion: r }), JSON.stringify(validate.errors)).toBe(true);
  });

  it('says so when a map has no inverse, or the scaling is unknown', async () => {
    const map: ModalityMap = { ...transformMap('identity'), invert: undefined };
    const one = Float32Array.of(0.5);
    expect((await inversionCheck(map, 'affine', one, one, 1, 1, [0])).problems).toEqual(['the map identity has no inverse to run']);
    expect((await inversionCheck(transformMap('identity'), 'gamma', one, one, 1, 1, [0])).problems[0]).toMatch(/unknown scaling 'gamma'/);
  });
});

/** A manifest valid but for what a test adds. */
const minimalManifest = {
  format: 'mmmi-dataset-manifest/1',
  toolkit: { name: 'mmmi', version: '0.1.0' },
  file: { name: 'a_0.npz', bytes: 1, sha256: '0'.repeat(64) },
  count: 1,
  arrays: {},
  arguments: {},
  seeds: { sample_seed: 0, cov_seed: 0, job_id: 0, first_stream: 1024, stream_per_job: true },
  map: { kind: 'transform', name: 'identity', formula: 'y = x' },
  scaling: 'affine',
  mi_exact_in_images: true,
  latent: { paradigm: 'constructive', n_mod: 1, mod_dim: 1, theta_var: 1, structure: {} },
  mi: null,
  fingerprint: '0'.repeat(64),
};

describe('inversion of the built-in flow model', { timeout: 900_000 }, () => {
  it('2 draws, whitened, affine, on a grid the model inverts on: verify --invert passes; a changed checkpoint is refused', async () => {
    const dir = tmp();
    // 18 EDM steps (the registry's recipe, named here so that the test holds whatever the registry says); 9 uniform steps do not invert (see the README)
    await generate(
      [`@${repo}generation_arguments/default.txt`, ...['--dataset_loc', dir, '--dataset_size', '2', '--preview', '0', '--ode_grid', 'edm', '--ode_nfe', '18']],
      quiet,
    );
    const m = manifestOf(dir, 'default');
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.map.whitening).toBeDefined();
    expect(m.inversion!.ok, JSON.stringify(m.inversion)).toBe(true);
    for (const mod of m.inversion!.modalities) {
      expect(mod.solver).toMatchObject({ method: 'heun2', converged: true, unconverged_steps: [] });
      expect(mod.solver!.iterations).toHaveLength(18);
    }
    const { code, out } = await verifyInvert(dir, '--draws', '2');
    expect(code, out).toBe(0);
    expect(out).toMatch(/inversion of the first 2 draws .*scaling affine; map cifar10-small\): passed/);
    expect(out).toMatch(/^ +2 +6 +\S+ +\S+ +ok +heun2 (\d+,){17}\d+ +\S+$/m);

    expect(m.mi_exact_in_images).toBe(true);
    // the recorded recipe's 9 uniform steps fold (see the README): the job still writes its shard, and its manifest says the MI is then approximate
    const coarse = tmp();
    await generate(
      [
        `@${repo}generation_arguments/default.txt`,
        ...['--dataset_loc', coarse, '--dataset_size', '1', '--preview', '0', '--ode_grid', 'uniform', '--ode_nfe', '9'],
      ],
      quiet,
    );
    const folded = manifestOf(coarse, 'default');
    expect(folded.inversion!.ok).toBe(false);
    expect(folded.mi_exact_in_images).toBe(false);
    expect(readFileSync(join(coarse, 'default_0.log'), 'utf8')).toMatch(/the inversion check failed: these images carry the MI table only approximately/);

    // the manifest names another checkpoint: refused before any inversion
    writeFileSync(join(dir, 'default_0.manifest.json'), JSON.stringify({ ...m, map: { ...m.map, checkpoint_sha256: 'f'.repeat(64) } }));
    const refused = await verifyInvert(dir);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(
      /inversion: refusing to invert with another checkpoint than the one that made the shard \(sha256 f{64}\): .* has sha256 [0-9a-f]{64}/,
    );
  });
});
