import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statfsSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readNpz } from '@mmmi/formats';
import { denseSigma, latentModelFromTokens, miTable, sampleBatch } from '@mmmi/latents';
import { hasNumpy, runPython, spawnPython } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { generate, prepareJob } from '../src/generate.js';
import { main } from '../src/cli.js';
import { verifyFolder } from '../src/verify.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const configs = readdirSync(join(repo, 'generation_arguments')).filter((f) => f.endsWith('.txt'));
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-gen-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const small = (dir: string, ...extra: string[]) => [
  `@${repo}generation_arguments/simple_fig1_DAG.txt`,
  '--transform',
  'identity',
  '--dataset_loc',
  dir,
  '--dataset_size',
  '10',
  ...extra,
];

describe('arguments', () => {
  it('every file in generation_arguments/ parses and validates; the MI table equals mmmi-latents', async () => {
    expect(configs.length).toBeGreaterThanOrEqual(5);
    for (const f of configs) {
      // default.txt names the registry's default flow model (flow-train's built-in one)
      const tokens = [`@${repo}generation_arguments/${f}`, ...(f === 'default.txt' ? [] : ['--transform', 'identity'])];
      const job = await prepareJob(tokens);
      const { structure } = await latentModelFromTokens([`@${repo}generation_arguments/${f}`]);
      expect(job.mi!.values).toEqual(miTable(structure).values);
    }
  });

  it('a model whose exact description does not fit a shard is refused before any sampling, with its size and the fix', async () => {
    const { structureText, MAX_STRUCTURE_CHARS } = await import('../src/contents.js');
    const model = await latentModelFromTokens([`@${repo}generation_arguments/multimodal_decay_DAG.txt`]);
    const text = structureText(model);
    expect(text.length).toBeLessThan(MAX_STRUCTURE_CHARS);
    expect(() => structureText(model, 100)).toThrow(
      new RegExp(
        `the exact description of this latent model \\(N_mod = 10, 10 local proto-latents\\) is ${text.length} characters, more than the 100 characters a shard stores beside its images: use fewer modalities or sparser DAGs`,
      ),
    );
  });

  it('bad inputs fail before any file is written, naming the cause', async () => {
    const dir = join(tmp(), 'out');
    await expect(
      generate([`@${repo}generation_arguments/simple_fig1_DAG.txt`, '--dataset_loc', dir, '--checkpoint_path', '/nonexistent/flow.safetensors'], quiet),
    ).rejects.toThrow(/--checkpoint_path \/nonexistent\/flow.safetensors: checkpoint .* does not exist: train one/);
    await expect(
      generate([`@${repo}generation_arguments/simple_fig1_DAG.txt`, '--dataset_loc', dir, '--checkpoint_path', 'no-such-model'], quiet),
    ).rejects.toThrow(/'no-such-model' is neither a checkpoint file nor a registry name \(known: .*cifar10-small/);
    await expect(generate([...small(dir), '--checkpoint_path', 'x.pth'], quiet)).rejects.toThrow(/choose one map/);
    await expect(
      generate(
        [
          ...small(dir),
          '--N_mod',
          '3',
          '--N_u',
          '3',
          '--rho_arg',
          '[1,1,1]',
          '--DAG_ul',
          '[[1,0,0],[0,1,0],[0,0,1]]',
          '--DAG_theta',
          '[[1],[1],[1]]',
          '--labels',
          '[1,2]',
        ],
        quiet,
      ),
    ).rejects.toThrow(/--labels .*N_mod = 3/);
    await expect(generate([...small(dir), '--scaling', 'log'], quiet)).rejects.toThrow(/--scaling log .*expected one of affine, float, minmax-batch, clamp/);
    await expect(generate([...small(dir), '--dataset_size', '0'], quiet)).rejects.toThrow(/--dataset_size 0 .*≥ 1/);
    // the argument reader that mmmi-latents shares: a forgotten @, stray tokens, an empty file
    const lines: string[] = [];
    const file = `${repo}generation_arguments/simple_fig1_DAG.txt`;
    expect(await main([file, '--dataset_loc', dir], { out: () => {}, err: (s) => lines.push(s) })).toBe(2);
    expect(lines.join()).toMatch(new RegExp(`unexpected argument '${file}' \\(command line\\); to read the argument file, write @${file}`));
    await expect(generate([...small(dir), 'stray'], quiet)).rejects.toThrow(/unexpected argument 'stray' \(command line\)/);
    const empty = join(tmp(), 'empty.txt');
    writeFileSync(empty, '# nothing\n');
    await expect(generate([`@${empty}`, '--dataset_loc', dir], quiet)).rejects.toThrow(/argument file @.*empty\.txt has no flags/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('shards', () => {
  it.skipIf(!hasNumpy())('numpy.load reads the reference keys, dtypes and shapes, and the values we wrote', async () => {
    const dir = tmp();
    const r = await generate(small(dir, '--dataset_size', '5', '--batch_size', '4', '--scaling', 'minmax-batch'), quiet);
    const out = runPython(`
import numpy as np, json
f = np.load(${JSON.stringify(r.npzPath)})
print(json.dumps({k: [str(f[k].dtype), list(f[k].shape)] for k in f.files}))
print(json.dumps({"X": float(f["X"].astype(np.float64).sum()), "Y": [float(v) for v in f["Y"]], "MI": [float(v) for v in f["MI_results"]], "labels": f["labels"].tolist(), "paradigm": str(f["generation_paradigm"]), "lo": float(f["X"].min()), "hi": float(f["X"].max())}))
`)
      .trim()
      .split('\n');
    const shapes = JSON.parse(out[0]);
    expect(shapes).toMatchObject({
      X: ['float32', [5, 2, 3, 32, 32]],
      Noise: ['float32', [5, 2, 3, 32, 32]],
      Y: ['float32', [5]],
      labels: ['int32', [5, 2]],
      Mu: ['float32', [6145]],
      eta: ['float32', [1]],
      rho_theta: ['float32', [1]],
      rho: ['float32', [2]],
      alpha: ['float64', []],
      beta: ['float64', []],
      N_u_theta: ['int64', []],
      N_mod: ['int64', []],
      mod_dim: ['int64', []],
      generation_paradigm: ['<U12', []],
      MI_results: ['float64', [8]],
      MI_labels: ['<U15', [8]],
    });
    const values = JSON.parse(out[1]);
    const ours = await readNpz(r.npzPath);
    const x = ours.get('X')!.data as Float32Array;
    expect(values.X).toBeCloseTo(
      x.reduce((s, v) => s + v, 0),
      6,
    );
    expect(values.Y).toEqual(Array.from(ours.get('Y')!.data as Float32Array));
    expect(values.MI).toEqual(r.mi!.values);
    expect(values.labels).toEqual([
      [1, 6],
      [1, 6],
      [1, 6],
      [1, 6],
      [1, 6],
    ]);
    expect(values.paradigm).toBe('constructive');
    expect(values.lo).toBe(0);
    expect(values.hi).toBeLessThanOrEqual(1);
    // 8-bit levels
    for (const v of x.subarray(0, 100)) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
  });

  it('identity + float: the images are the latents, whose sample covariance matches Σ', async () => {
    const dir = tmp();
    const tokens = [
      '--mod_dim',
      '3',
      '--N_u_theta',
      '1',
      '--rho_arg',
      '[0.5,0.7]',
      '--DAG_ul',
      '[[1,0],[1,1]]',
      '--rho_theta_arg',
      '[0.8]',
      '--labels',
      '[0,1]',
    ];
    const r = await generate(
      [
        '--transform',
        'identity',
        '--scaling',
        'float',
        '--dataset_loc',
        dir,
        '--dataset_size',
        '20000',
        '--batch_size',
        '2000',
        '--sigma_max_mb',
        '1',
        ...tokens,
      ],
      quiet,
    );
    const f = await readNpz(r.npzPath);
    const x = f.get('X')!.data as Float32Array;
    expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from((f.get('Noise')!.data as Float32Array).buffer))).toBe(true);
    const y = f.get('Y')!.data as Float32Array;
    const { structure } = await latentModelFromTokens(tokens);
    const sigma = denseSigma(structure, 'constructive');
    expect(Array.from(f.get('Sigma')!.data as Float64Array)).toEqual(Array.from(sigma));
    const n = 7;
    const row = (c: number, a: number) => (a === 0 ? y[c] : x[c * 6 + a - 1]);
    let worst = 0;
    for (let a = 0; a < n; a++)
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let c = 0; c < 20000; c++) s += row(c, a) * row(c, b);
        const want = sigma[a * n + b];
        const se = Math.sqrt((sigma[a * n + a] * sigma[b * n + b] + want * want) / 20000);
        worst = Math.max(worst, Math.abs(s / 20000 - want) / se);
      }
    expect(worst).toBeLessThan(5);
  });

  it('the sampling paradigm works for N_mod = 2 and 3', async () => {
    for (const extra of [
      [],
      ['--N_mod', '3', '--cov_images', '[[1,0.2,0.1],[0.2,1,0.3],[0.1,0.3,1]]', '--cov_theta', '[0.1,0.1,0.1]', '--theta_var', '200', '--labels', '[0,1,2]'],
    ]) {
      const dir = tmp();
      const r = await generate(
        ['--generation_paradigm', 'sampling', '--transform', 'tanh', '--dataset_loc', dir, '--dataset_size', '6', '--calculate_MI', ...extra],
        quiet,
      );
      const f = await readNpz(r.npzPath);
      expect(f.get('X')!.shape[1]).toBe(extra.length ? 3 : 2);
      expect(r.mi!.values.every(Number.isFinite)).toBe(true);
    }
  });

  it('two runs with one seed give identical bytes; a rerun skips the complete shard; verify checks it', async () => {
    const a = tmp();
    const b = tmp();
    const ra = await generate(small(a, '--dataset_size', '7', '--batch_size', '4'), quiet);
    const rb = await generate(small(b, '--dataset_size', '7', '--batch_size', '4'), quiet);
    expect(readFileSync(ra.npzPath).equals(readFileSync(rb.npzPath))).toBe(true);
    expect((await generate(small(a, '--dataset_size', '7', '--batch_size', '4'), quiet)).skipped).toBe(true);
    // another job into the same name: refused, the shard untouched; replaced only with --overwrite
    const before = readFileSync(rb.npzPath);
    await expect(generate(small(b, '--dataset_size', '7', '--batch_size', '4', '--sample_seed', '5'), quiet)).rejects.toThrow(
      /simple_fig1_DAG_0\.npz exists and it was made with other arguments \(manifest fingerprint [0-9a-f]{12}…, this job's [0-9a-f]{12}…\): pass --overwrite to replace it/,
    );
    expect(readFileSync(rb.npzPath).equals(before)).toBe(true);
    const other = await generate(small(b, '--dataset_size', '7', '--batch_size', '4', '--sample_seed', '5', '--overwrite'), quiet);
    expect(other.skipped).toBe(false);
    expect(readFileSync(other.npzPath).equals(readFileSync(ra.npzPath))).toBe(false);
    expect((await verifyFolder(a)).shards.every((s) => s.ok)).toBe(true);
    const bytes = readFileSync(ra.npzPath);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(ra.npzPath, bytes);
    const v = await verifyFolder(a);
    expect(v.shards[0].ok).toBe(false);
    expect(v.shards[0].problems.join()).toMatch(/sha256 does not match/);
    const lines: string[] = [];
    expect(await main(['verify', a], { out: (s) => lines.push(s) })).toBe(1);
    expect(lines.join('\n')).toMatch(/FAILED .*simple_fig1_DAG_0\.npz/);
  });

  it('the shards of a job array are independent: one sample seed, each job id its own stream; verify flags shared streams', async () => {
    const dir = tmp();
    const job = (id: number, ...extra: string[]) =>
      generate(small(dir, '--sample_seed', '42', '--batch_size', '4', '--dataset_size', '6', '--job_id', String(id), ...extra), quiet);
    const noise = async (path: string) => (await readNpz(path)).get('Noise')!.data as Float32Array;
    const [r0, r1, r2] = [await job(0), await job(1), await job(2)];
    const [n0, n1, n2] = [await noise(r0.npzPath), await noise(r1.npzPath), await noise(r2.npzPath)];
    // independent draws: no draw (a row of N_mod latents) of one shard appears in another
    const draws = (x: Float32Array) => Array.from({ length: 6 }, (_, d) => Array.from(x.subarray((d * x.length) / 6, ((d + 1) * x.length) / 6)).join());
    const all = [...draws(n0), ...draws(n1), ...draws(n2)];
    expect(new Set(all).size).toBe(18);
    // job 0 draws the stream every job drew before: batch b of stream 1024 + b
    const model = await prepareJob(small(dir, '--sample_seed', '42', '--batch_size', '4', '--dataset_size', '6'));
    const first = sampleBatch(model.model.structure, 42, 0, 2);
    expect(n0.subarray(0, first.x.length)).toEqual(Float32Array.from(first.x));
    const manifest = (r: { manifestPath: string }) => JSON.parse(readFileSync(r.manifestPath, 'utf8'));
    expect(manifest(r1).seeds).toEqual({ sample_seed: 42, cov_seed: 0, job_id: 1, first_stream: 1024 + 2 ** 32, stream_per_job: true });
    expect((await verifyFolder(dir)).shards.every((s) => s.ok)).toBe(true);

    // the reference's behaviour only when asked: then the shards repeat one another, and verify says so
    const shared = tmp();
    const sharedJob = (id: number) =>
      generate(small(shared, '--sample_seed', '42', '--batch_size', '4', '--dataset_size', '6', '--job_id', String(id), '--shared_sample_stream'), quiet);
    const [s0, s1] = [await sharedJob(0), await sharedJob(1)];
    expect(await noise(s1.npzPath)).toEqual(await noise(s0.npzPath));
    expect(manifest(s1).seeds).toMatchObject({ first_stream: 1024, stream_per_job: false });
    const report = await verifyFolder(shared);
    expect(report.shards.map((s) => s.ok)).toEqual([false, false]);
    expect(report.shards[0].problems.join()).toMatch(
      /draws the same latents as simple_fig1_DAG_1\.npz \(sample seed 42, stream 1024\): the shards repeat one another; drop --shared_sample_stream/,
    );
    const lines: string[] = [];
    expect(await main(['verify', shared], { out: (s) => lines.push(s) })).toBe(1);
    // a job id beyond the per-job streams is refused before any work
    await expect(prepareJob(small(tmp(), '--job_id', String(2 ** 20)))).rejects.toThrow(
      /--job_id 1048576: each job id draws its own stream of the sample seed, for job ids below 1048576/,
    );
  });

  it('the manifest validates against the published JSON Schema', async () => {
    const dir = tmp();
    const r = await generate(small(dir), quiet);
    const schema = JSON.parse(readFileSync(new URL('../schema/manifest.schema.json', import.meta.url), 'utf8'));
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const manifest = JSON.parse(readFileSync(r.manifestPath, 'utf8'));
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest.mi.labels[0]).toBe('I(X_1; θ)');
    // a transform's default scaling (float) keeps the MI exact; the reference's min–max does not, and the log says so
    expect(manifest.scaling).toBe('float');
    expect(manifest.mi_exact_in_images).toBe(true);
    expect(existsSync(join(dir, 'dataset_gen_args.json'))).toBe(true);
    expect(readFileSync(join(dir, 'simple_fig1_DAG_0.log'), 'utf8')).toMatch(/MI \(numerical, nats\)/);
    const reference = await generate(small(dir, '--scaling', 'minmax-batch', '--dataset_name', 'minmax'), quiet);
    const approximate = JSON.parse(readFileSync(reference.manifestPath, 'utf8'));
    expect(validate(approximate), JSON.stringify(validate.errors)).toBe(true);
    expect(approximate.mi_exact_in_images).toBe(false);
    expect(readFileSync(join(dir, 'minmax_0.log'), 'utf8')).toMatch(/not invertible: the images keep the MI only approximately/);
  });
});

const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));

describe.skipIf(!built)('kill and rerun', () => {
  it('a killed job leaves no complete-looking file; the rerun resumes to the same bytes as an uninterrupted run', async () => {
    const dir = tmp();
    const args = [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      '--transform',
      'identity',
      '--mod_dim',
      '16',
      '--dataset_size',
      '400',
      '--batch_size',
      '2',
      '--dataset_loc',
      dir,
      '--calculate_MI',
    ];
    const child = spawn('node', [join(repo, 'packages/dataset-generation/bin/mmmi-generate.js'), ...args], {
      stdio: 'ignore',
      env: { ...process.env, MMMI_KILL_AFTER_BATCHES: '150' },
    });
    const signal = await new Promise((r) => child.on('exit', (_code, sig) => r(sig)));
    expect(signal).toBe('SIGKILL');
    const progress = join(dir, '.simple_fig1_DAG_0.partial', 'progress.json');
    const done = JSON.parse(readFileSync(progress, 'utf8')).drawsDone;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(400);
    expect(existsSync(join(dir, 'simple_fig1_DAG_0.npz'))).toBe(false);
    expect((await verifyFolder(dir)).partial).toEqual(['.simple_fig1_DAG_0.partial']);
    const resumed = await generate(args, quiet);
    expect(existsSync(join(dir, '.simple_fig1_DAG_0.partial'))).toBe(false);
    const fresh = await generate([...args.slice(0, -3), '--dataset_loc', tmp(), '--calculate_MI'], quiet);
    expect(readFileSync(resumed.npzPath).equals(readFileSync(fresh.npzPath))).toBe(true);
  });
});

describe('nothing overwritten, nothing raced', () => {
  const lockPath = (dir: string) => join(dir, '.simple_fig1_DAG_0.lock');
  const writeLock = (dir: string, pid: number, host = hostname()) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(lockPath(dir), JSON.stringify({ pid, host, started: '2026-01-01T00:00:00.000Z' }));
  };
  const sleeper = () => spawn('sleep', ['60'], { stdio: 'ignore' });

  it('a lock of a live run stops a second run with a clear message and nothing written; stale locks are taken over', async () => {
    const dir = tmp();
    const live = sleeper();
    try {
      writeLock(dir, live.pid!);
      await expect(generate(small(dir), quiet)).rejects.toThrow(
        new RegExp(
          `simple_fig1_DAG_0\\.npz is being generated by another run \\(process ${live.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z\\); wait for it to finish, or remove .*\\.simple_fig1_DAG_0\\.lock if that run is gone`,
        ),
      );
      expect(readdirSync(dir).sort()).toEqual(['.simple_fig1_DAG_0.lock']);
      const report = await verifyFolder(dir);
      expect(report.locks).toEqual([`.simple_fig1_DAG_0.lock: held by process ${live.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z`]);
      // a live owner on another host holds it while it is refreshed; untouched for 20 minutes it is stale
      writeLock(dir, live.pid!, 'node-elsewhere');
      await expect(generate(small(dir), quiet)).rejects.toThrow(/being generated by another run \(process \d+ on node-elsewhere/);
      const old = new Date(Date.now() - 20 * 60_000);
      utimesSync(lockPath(dir), old, old);
      const logs: string[] = [];
      const stream = { write: (s: string) => (logs.push(s), true), isTTY: false } as unknown as NodeJS.WriteStream;
      const r = await generate(small(dir), { stream });
      expect(r.skipped).toBe(false);
      expect(readFileSync(join(dir, 'simple_fig1_DAG_0.log'), 'utf8')).toMatch(
        /taking over the stale lock .*: it has not been refreshed for 20 minutes \(owner: process \d+ on node-elsewhere\)/,
      );
      expect(existsSync(lockPath(dir))).toBe(false);
    } finally {
      live.kill();
    }
    // the owner on this host has ended
    const dead = spawnSync('true').pid!;
    const again = tmp();
    writeLock(again, dead);
    expect((await generate(small(again), quiet)).skipped).toBe(false);
    expect(readFileSync(join(again, 'simple_fig1_DAG_0.log'), 'utf8')).toMatch(new RegExp(`its owner, process ${dead} on this host, has ended`));
  });

  it('a rerun removes the temp files a killed run left; verify lists orphans and fails an .npz without a manifest', async () => {
    const dir = tmp();
    mkdirSync(dir, { recursive: true });
    const orphan = join(dir, '.simple_fig1_DAG_0.npz.4242.0123456789ab.tmp');
    writeFileSync(orphan, Buffer.alloc(1000));
    const stranger = join(dir, 'simple_fig1_DAG_1.npz');
    writeFileSync(stranger, Buffer.alloc(10));
    const report = await verifyFolder(dir);
    expect(report.orphans).toEqual([{ name: '.simple_fig1_DAG_0.npz.4242.0123456789ab.tmp', bytes: 1000 }]);
    expect(report.shards).toEqual([
      { manifest: '', file: 'simple_fig1_DAG_1.npz', ok: false, problems: [expect.stringMatching(/no manifest names this file/)] },
    ]);
    const lines: string[] = [];
    expect(await main(['verify', dir], { out: (s) => lines.push(s) })).toBe(1);
    expect(lines.join('\n')).toMatch(/orphan {2}\.simple_fig1_DAG_0\.npz\.4242\.0123456789ab\.tmp \(1000 bytes/);
    await generate(small(dir), quiet);
    expect(existsSync(orphan)).toBe(false);
    expect(readFileSync(join(dir, 'simple_fig1_DAG_0.log'), 'utf8')).toMatch(
      /removed .*\.simple_fig1_DAG_0\.npz\.4242\.0123456789ab\.tmp, left by a killed run of this shard/,
    );
    // a file of that name that no manifest accounts for is not replaced without --overwrite
    await expect(generate(small(dir, '--job_id', '1'), quiet)).rejects.toThrow(
      /simple_fig1_DAG_1\.npz exists and it has no manifest \(not a shard this toolkit finished\): pass --overwrite/,
    );
    expect(readFileSync(stranger).length).toBe(10);
    expect((await generate(small(dir, '--job_id', '1', '--overwrite'), quiet)).skipped).toBe(false);
    expect((await verifyFolder(dir)).shards.every((s) => s.ok)).toBe(true);
  });

  it.skipIf(!built)('two processes started on one shard at once: one generates it, the other stops or finds it complete; the shard verifies', async () => {
    const dir = tmp();
    const args = [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      '--transform',
      'identity',
      '--mod_dim',
      '64',
      '--dataset_size',
      '3000',
      '--batch_size',
      '8',
      '--dataset_loc',
      dir,
    ];
    const run = () =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn('node', [join(repo, 'packages/dataset-generation/bin/mmmi-generate.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => resolve({ code, err }));
      });
    const results = await Promise.all([run(), run()]);
    const codes = results.map((r) => r.code).sort();
    expect(codes[0]).toBe(0);
    const loser = results.find((r) => r.code !== 0) ?? results[1];
    if (loser.code !== 0) {
      expect(loser.code).toBe(2);
      expect(loser.err).toMatch(/is being generated by another run \(process \d+ on /);
    } else {
      expect(results.map((r) => r.err).join()).toMatch(/already complete/);
    }
    const report = await verifyFolder(dir);
    expect(report.shards.map((s) => s.ok)).toEqual([true]);
    expect([report.partial, report.orphans, report.locks]).toEqual([[], [], []]);
  });
});

/** How Python prints a float32 value widened to a float (repr: the shortest round-tripping digits). */
const pyFloat = (v: number) => runPython(`print(float(${v}))`).trim();

describe('one dataset across shards', () => {
  it('index: the shards of a job array as one dataset by global index (TypeScript reader); --num_jobs writes it when the last shard completes', async () => {
    const { DatasetReader } = await import('../src/dataset-reader.js');
    const { buildIndex } = await import('../src/dataset-index.js');
    const dir = tmp();
    const job = (id: number, size: number, ...extra: string[]) =>
      generate(
        small(dir, '--sample_seed', '42', '--batch_size', '4', '--dataset_size', String(size), '--job_id', String(id), '--num_jobs', '3', ...extra),
        quiet,
      );
    await job(0, 5);
    await job(2, 3);
    expect(existsSync(join(dir, 'simple_fig1_DAG.index.json'))).toBe(false);
    expect(readFileSync(join(dir, 'simple_fig1_DAG_2.log'), 'utf8')).toMatch(
      /dataset index: 2 of 3 shards are complete; the job completing the last writes it/,
    );
    await job(1, 4);
    const index = JSON.parse(readFileSync(join(dir, 'simple_fig1_DAG.index.json'), 'utf8'));
    expect(index).toMatchObject({ format: 'mmmi-dataset-index/1', dataset: 'simple_fig1_DAG', count: 12, n_mod: 2, mod_dim: 3072, sample_seed: 42 });
    expect(index.shards.map((s: { job_id: number; offset: number; count: number }) => [s.job_id, s.offset, s.count])).toEqual([
      [0, 0, 5],
      [1, 5, 4],
      [2, 9, 3],
    ]);
    expect(index.mi.labels[0]).toBe('I(X_1; θ)');
    // the same index from the command line
    const lines: string[] = [];
    expect(await main(['index', dir], { out: (s) => lines.push(s) })).toBe(0);
    expect(lines.join()).toMatch(/simple_fig1_DAG\.index\.json: 12 draws of 'simple_fig1_DAG' in 3 shards \(job ids 0, 1, 2\)/);
    expect(JSON.parse(readFileSync(join(dir, 'simple_fig1_DAG.index.json'), 'utf8'))).toEqual(index);
    // global index → the right shard's row; streaming in global order
    const data = await DatasetReader.open(join(dir, 'simple_fig1_DAG.index.json'));
    const shardX = async (id: number) => (await readNpz(join(dir, `simple_fig1_DAG_${id}.npz`))).get('X')!.data as Float32Array;
    const all = Float32Array.from([...(await shardX(0)), ...(await shardX(1)), ...(await shardX(2))]);
    const per = 2 * 3072;
    for (const i of [0, 4, 5, 8, 9, 11]) expect((await data.get(i)).x).toEqual(all.subarray(i * per, (i + 1) * per));
    const streamed: number[] = [];
    const starts: number[] = [];
    for await (const b of data.batches(4)) {
      starts.push(b.start);
      streamed.push(...b.x);
    }
    expect(starts).toEqual([0, 4, 5, 9]);
    expect(Float32Array.from(streamed)).toEqual(all);
    await expect(data.get(12)).rejects.toThrow(/draw 12 is not in \[0, 12\)/);
    await data.close();
    // not one dataset: a shard made with other arguments, or one that fails verify
    const mixed = tmp();
    await generate(small(mixed, '--job_id', '0', '--sample_seed', '42'), quiet);
    await generate(small(mixed, '--job_id', '1', '--sample_seed', '42', '--rho_arg', '[0.5,0.5]'), quiet);
    await expect(buildIndex(mixed)).rejects.toThrow(
      /shards of 'simple_fig1_DAG' made with other arguments than simple_fig1_DAG_0\.npz: simple_fig1_DAG_1\.npz/,
    );
    const bytes = readFileSync(join(dir, 'simple_fig1_DAG_1.npz'));
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(join(dir, 'simple_fig1_DAG_1.npz'), bytes);
    await expect(buildIndex(dir)).rejects.toThrow(/shards that fail verify: simple_fig1_DAG_1\.npz \(sha256 does not match the manifest\)/);
  });

  it.skipIf(!hasNumpy())(
    'python/mmmi_dataset.py (NumPy alone) reads the dataset the index describes: the values of the TypeScript reader, the MI table, the checksums',
    async () => {
      const { DatasetReader } = await import('../src/dataset-reader.js');
      const dir = tmp();
      for (const id of [0, 1])
        await generate(
          small(dir, '--sample_seed', '7', '--batch_size', '4', '--dataset_size', String(3 + id), '--job_id', String(id), '--num_jobs', '2'),
          quiet,
        );
      const indexFile = join(dir, 'simple_fig1_DAG.index.json');
      const data = await DatasetReader.open(indexFile);
      const probe = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(repo, 'packages/dataset-generation/python'))})
from mmmi_dataset import MmmiDataset
d = MmmiDataset(sys.argv[1])
rows = []
for i in range(len(d)):
    x, theta, labels = d[i]
    rows.append({"shape": list(x.shape), "dtype": str(x.dtype), "x": [float(v) for v in x.reshape(-1)[[0, 1, 6143]]], "theta": theta, "labels": labels.tolist()})
print(json.dumps({"len": len(d), "mi": d.mi, "rows": rows}))
`;
      const out = JSON.parse(runPython(probe, [indexFile]));
      expect(out.len).toBe(7);
      expect(Object.keys(out.mi)[0]).toBe('I(X_1; θ)');
      for (let i = 0; i < 7; i++) {
        const ts = await data.get(i);
        expect(out.rows[i]).toEqual({
          shape: [2, 3, 32, 32],
          dtype: 'float32',
          x: [ts.x[0], ts.x[1], ts.x[6143]],
          theta: ts.theta,
          labels: Array.from(ts.labels),
        });
      }
      // the optional PyTorch wrapper, where torch is installed
      const torchProbe = `
import sys
sys.path.insert(0, ${JSON.stringify(join(repo, 'packages/dataset-generation/python'))})
try:
    import torch
except ImportError:
    print("no torch"); sys.exit(0)
from mmmi_dataset import torch_dataset
ds = torch_dataset(sys.argv[1])
x, theta, labels = ds[4]
print(len(ds), tuple(x.shape), str(x.dtype), float(x.reshape(-1)[0]), float(theta), labels.tolist())
`;
      const torchOut = runPython(torchProbe, [indexFile]).trim();
      if (torchOut === 'no torch') process.stderr.write('torch_dataset not checked: torch is not installed\n');
      else {
        const ts = await data.get(4);
        expect(torchOut).toBe(`7 (2, 3, 32, 32) torch.float32 ${pyFloat(ts.x[0])} ${pyFloat(ts.theta)} [${Array.from(ts.labels).join(', ')}]`);
      }
      await data.close();
      // a replaced shard fails the sha256 check before it is read
      writeFileSync(join(dir, 'simple_fig1_DAG_1.npz'), readFileSync(join(dir, 'simple_fig1_DAG_0.npz')));
      const r = spawnPython(`${probe.split('rows = []')[0]}d[5]`, [indexFile]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/simple_fig1_DAG_1\.npz: sha256 [0-9a-f]{64}, the index records [0-9a-f]{64}: the shard is corrupt or was replaced/);
    },
  );
});

/** Whether this process may mount a tmpfs (root on Linux; CI runs as root), for the full-disk tests. */
const tmpfsAvailable = (() => {
  const dir = tmp();
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) return false;
  spawnSync('umount', [dir]);
  return true;
})();
if (!tmpfsAvailable) process.stderr.write('full-disk tests skipped: cannot mount a tmpfs here (needs root)\n');

describe.skipIf(!tmpfsAvailable)('clear system errors', () => {
  const mount = (dir: string, options: string) => expect(spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status).toBe(0);

  it('a disk that fills while the job runs: one message with the folder and the fix, also in the log; after freeing space the rerun resumes to the same bytes', async () => {
    const dir = tmp();
    mount(dir, 'size=8m');
    const filler = join(dir, 'filler.bin');
    try {
      const args = small(dir, '--dataset_size', '60', '--batch_size', '2', '--scaling', 'float', '--preview', '0');
      // slow batches, so that the disk can be filled behind the job's back once it has checkpointed
      process.env.MMMI_BATCH_DELAY_MS = '60';
      const running = generate(args, quiet).then(
        () => undefined,
        (e: Error) => e,
      );
      const progress = join(dir, '.simple_fig1_DAG_0.partial', 'progress.json');
      for (let t = 0; t < 200 && !existsSync(progress); t++) await new Promise((r) => setTimeout(r, 50));
      const { bavail, bsize } = statfsSync(dir);
      writeFileSync(filler, Buffer.alloc(bavail * bsize));
      const e = await running;
      delete process.env.MMMI_BATCH_DELAY_MS;
      expect(e?.name).toBe('StorageError');
      const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(e!.message).toMatch(
        new RegExp(
          `^${escaped}\\S*: no space left on the device \\(ENOSPC\\); free some, or choose another --dataset_loc; the \\d+ samples done so far are kept in ${escaped}/\\.simple_fig1_DAG_0\\.partial, and rerunning the same command resumes after them$`,
        ),
      );
      const done = Number(/the (\d+) samples/.exec(e!.message)![1]);
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(60);
      unlinkSync(filler);
      expect(readFileSync(join(dir, 'simple_fig1_DAG_0.log'), 'utf8')).toContain(`error: ${e!.message}`);
      expect(readdirSync(dir).filter((n) => n.endsWith('.npz') || n.endsWith('.tmp'))).toEqual([]);
      const logs: string[] = [];
      const r = await generate(args, { stream: { write: (s: string) => (logs.push(s), true), isTTY: false } as unknown as NodeJS.WriteStream });
      expect(logs.join('')).toMatch(new RegExp(`resuming after ${done} samples`));
      const fresh = await generate(small(tmp(), '--dataset_size', '60', '--batch_size', '2', '--scaling', 'float', '--preview', '0'), quiet);
      expect(readFileSync(r.npzPath).equals(readFileSync(fresh.npzPath))).toBe(true);
    } finally {
      delete process.env.MMMI_BATCH_DELAY_MS;
      spawnSync('umount', [dir]);
    }
  });

  it('a shard larger than the free space is refused before any work, with the sizes and the fix; the CLI says so in one line', async () => {
    const dir = tmp();
    mount(dir, 'size=1m');
    try {
      const args = small(dir, '--dataset_size', '60', '--batch_size', '2', '--scaling', 'float', '--preview', '0');
      await expect(generate(args, quiet)).rejects.toThrow(
        /^the shard needs about 0\.006 GB \(workspace 0\.003 GB still to write, assembled shard 0\.003 GB\) and .* has 0\.001 GB free: free space, split the dataset into more jobs \(--dataset_size per --job_id\), or choose another --dataset_loc$/,
      );
      expect(readdirSync(dir).filter((n) => n.endsWith('.partial') || n.endsWith('.npz'))).toEqual([]);
      const lines: string[] = [];
      expect(await main(args, { out: () => {}, err: (s) => lines.push(s) })).toBe(2);
      expect(lines.join('\n')).toMatch(/^mmmi-generate: error: the shard needs about/);
      expect(lines.join('\n')).not.toMatch(/^\s+at /m);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  it('a read-only folder: one message naming it and the fix, nothing written', async () => {
    const dir = tmp();
    mount(dir, 'size=1m,ro');
    try {
      await expect(generate(small(join(dir, 'out')), quiet)).rejects.toThrow(
        new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/out: the file system is read-only \\(EROFS\\); choose a writable --dataset_loc$`),
      );
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});

describe.skipIf(!built)('command line', () => {
  it("default.txt maps the latents with the registry's default flow model (flow-train's built-in one)", () => {
    const dir = tmp();
    // a small slice of the default job (the full one is timed in bench/generate.bench.ts)
    const r = spawnSync(
      'node',
      ['packages/dataset-generation/bin/mmmi-generate.js', '@generation_arguments/default.txt', '--dataset_size', '2', '--dataset_loc', dir],
      {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, MMMI_REGISTRY: tmp() },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'default_0.manifest.json'), 'utf8'));
    expect(m.map).toMatchObject({ kind: 'flow', name: 'cifar10-small' });
    // the default --threads 0: one thread per core on wasm (the compiled worker entry of flow-train's ModelThreads)
    expect(m.map.flow).toMatchObject({
      configuration: 'small',
      weights: 'ema',
      threads: m.map.flow.backend === 'wasm' || m.map.flow.backend === 'cpu' ? availableParallelism() : 1,
    });
    expect(r.stderr).toMatch(/MI \(numerical, nats\)|wrote /);
    // onnxruntime-node is installed by npm ci, so the default engine is ONNX Runtime
    expect(m.map.flow.engine).toMatchObject({ engine: 'onnx', provider: 'cpu' });
  });

  it('nx run dataset-generation:generate passes the reference flags through intact', () => {
    const dir = tmp();
    const r = spawnSync(
      'npx',
      [
        'nx',
        'run',
        'dataset-generation:generate',
        '@generation_arguments/simple_fig1_DAG.txt',
        '--transform',
        'identity',
        '--batch_size',
        '8',
        '--dataset_size',
        '3',
        '--dataset_loc',
        dir,
        '--job_id',
        '2',
        '--sample_seed',
        '7',
        '--calculate_MI',
        'analytical',
        '--skip-nx-cache',
      ],
      { cwd: repo, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_ISOLATE_PLUGINS: 'false', NX_TUI: 'false' } },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'simple_fig1_DAG_2.manifest.json'), 'utf8'));
    expect(m.arguments).toMatchObject({ batch_size: 8, dataset_size: 3, job_id: 2, sample_seed: 7, calculate_MI: 'analytical', transform: 'identity' });
    expect(m.seeds).toEqual({ sample_seed: 7, cov_seed: 0, job_id: 2, first_stream: 1024 + 2 * 2 ** 32, stream_per_job: true });
  });
});

describe.skipIf(!built)('cluster wrapper (environments/run-shard.sh)', () => {
  it("turns each scheduler's task index into --job_id", () => {
    const dir = tmp();
    const env = (v: Record<string, string>) => {
      const e: Record<string, string | undefined> = { ...process.env, ...v };
      for (const k of ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'MMMI_PROCESS', 'MMMI_JOB_ID']) if (!(k in v)) delete e[k];
      return e;
    };
    const run = (v: Record<string, string>) =>
      spawnSync(
        'bash',
        [
          join(repo, 'environments/run-shard.sh'),
          '@generation_arguments/simple_fig1_DAG.txt',
          '--transform',
          'identity',
          '--dataset_size',
          '2',
          '--dataset_loc',
          dir,
        ],
        {
          encoding: 'utf8',
          env: env(v),
        },
      );
    for (const [v, k] of [
      [{ SLURM_ARRAY_TASK_ID: '3' }, 3],
      [{ JOB_COMPLETION_INDEX: '4' }, 4],
      [{ MMMI_PROCESS: '5' }, 5],
    ] as const) {
      const r = run(v);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(dir, `simple_fig1_DAG_${k}.npz`))).toBe(true);
    }
    const none = run({});
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no task index/);
  });
});

describe('shard loader', () => {
  it('streams the images, θ and labels that numpy-style reading sees, in batches', async () => {
    const { ShardReader } = await import('../src/loader.js');
    const dir = tmp();
    const r = await generate(small(dir, '--dataset_size', '9', '--batch_size', '4', '--mod_dim', '12'), quiet);
    const whole = await readNpz(r.npzPath);
    const shard = await ShardReader.open(r.npzPath);
    expect([shard.count, shard.nMod, shard.modDim]).toEqual([9, 2, 12]);
    const xs: number[] = [];
    const thetas: number[] = [];
    const labels: number[] = [];
    for await (const b of shard.batches(4)) {
      expect(b.count).toBe(Math.min(4, 9 - b.start));
      xs.push(...b.x);
      thetas.push(...b.theta);
      labels.push(...b.labels);
    }
    expect(xs).toEqual(Array.from(whole.get('X')!.data as Float32Array));
    expect(thetas).toEqual(Array.from(whole.get('Y')!.data as Float32Array));
    expect(labels).toEqual(Array.from(whole.get('labels')!.data as Int32Array));
    expect((await shard.miTable())!.values).toEqual(r.mi!.values);
    await shard.close();
    await expect(ShardReader.open(join(dir, 'simple_fig1_DAG_0.manifest.json'))).rejects.toThrow();
  });

  it('checks what it reads: a flipped byte fails the CRC-32 of its entry (stream) or the manifest sha256 (full), naming file and entry', async () => {
    const { ShardReader } = await import('../src/loader.js');
    const { NpzFile } = await import('@mmmi/formats');
    const dir = tmp();
    // affine scaling, so that X (Noise/2 + 1/2) and Noise hold no byte run in common
    const r = await generate(small(dir, '--dataset_size', '9', '--batch_size', '4', '--mod_dim', '12', '--scaling', 'affine'), quiet);
    const intact = readFileSync(r.npzPath);
    const drain = async (shard: Awaited<ReturnType<typeof ShardReader.open>>, from = 0) => {
      let draws = 0;
      for await (const b of shard.batches(4, from)) draws += b.count;
      return draws;
    };
    // an intact shard passes every check
    for (const check of ['stream', 'full', 'none'] as const) {
      const shard = await ShardReader.open(r.npzPath, { check });
      expect(await drain(shard)).toBe(9);
      await shard.close();
    }
    // the byte offset of array `key`'s element `i` in the file: where its 4 elements from i are
    const offsetOf = async (key: string, element: number) => {
      const f = await NpzFile.open(r.npzPath);
      const v = (await f.readElements(key, element, 4)) as Float32Array;
      await f.close();
      const needle = Buffer.from(v.buffer, v.byteOffset, 16);
      const at = intact.indexOf(needle);
      expect(at).toBeGreaterThan(0);
      expect(intact.indexOf(needle, at + 1)).toBe(-1);
      return at;
    };
    for (const [key, element] of [
      ['X', 7 * 2 * 12 + 3],
      ['Y', 1],
    ] as const) {
      const bytes = Buffer.from(intact);
      bytes[(await offsetOf(key, element)) + 1] ^= 0x10;
      writeFileSync(r.npzPath, bytes);
      // stream: the pass from draw 0 raises when the corrupt entry is complete, before its last batch
      const shard = await ShardReader.open(r.npzPath);
      const seen: number[] = [];
      await expect(
        (async () => {
          for await (const b of shard.batches(4)) seen.push(b.start);
        })(),
      ).rejects.toThrow(
        new RegExp(`npz file .*simple_fig1_DAG_0\\.npz/${key}\\.npy: corrupt: the CRC-32 of its bytes is 0x[0-9a-f]{8}, the archive declares 0x[0-9a-f]{8}`),
      );
      expect(seen).not.toContain(8);
      // a pass that does not start at draw 0 cannot check, and does not pretend to
      expect(await drain(shard, 4)).toBe(5);
      await shard.close();
      // full: before any batch, against the manifest's sha256; without a manifest, by the CRC-32s
      await expect(ShardReader.open(r.npzPath, { check: 'full' })).rejects.toThrow(
        /corrupt: its sha256 is [0-9a-f]{64}, the manifest .*simple_fig1_DAG_0\.manifest\.json records/,
      );
      const manifest = readFileSync(r.manifestPath);
      unlinkSync(r.manifestPath);
      await expect(ShardReader.open(r.npzPath, { check: 'full' })).rejects.toThrow(new RegExp(`${key}\\.npy: corrupt: the CRC-32`));
      writeFileSync(r.manifestPath, manifest);
      // none: the caller's choice
      const unchecked = await ShardReader.open(r.npzPath, { check: 'none' });
      expect(await drain(unchecked)).toBe(9);
      await unchecked.close();
    }
    writeFileSync(r.npzPath, intact);
  });
});
