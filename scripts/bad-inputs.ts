/**
 * A demanding user's bad inputs, run against the built CLIs (mmmi-generate, mmmi-latents,
 * mmmi-train, mmmi-fid, mmmi-bench) and the Python reader, each in its own process, and
 * classified (see bad-inputs/case.ts): clear, stack, silent, lost, hang, leak.
 *
 *   npm run build && npx tsx scripts/bad-inputs.ts [--list] [--only <text in the name>]
 *
 * Prints one line per case and the counts (target: everything clear). The cases live in
 * `bad-inputs/`, a file per round or area; each runs in a scratch folder holding a finished
 * model-free shard, whose bytes (and those of the case's `keep` files) are compared after it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, fig1, free, repo, type Case, type CaseResult, type Outcome } from './bad-inputs/case.js';
import { cases as firstRound } from './bad-inputs/first-round.js';
import { cases as signalsAndLocks } from './bad-inputs/signals-and-locks.js';
import { cases as overwrite } from './bad-inputs/overwrite.js';
import { cases as indexAndSeeds } from './bad-inputs/index-and-seeds.js';
import { cases as pythonReader } from './bad-inputs/python-reader.js';
import { cases as external } from './bad-inputs/external.js';
import { cases as latentsMemory } from './bad-inputs/latents-memory.js';
import { cases as fsAndCache } from './bad-inputs/fs-and-cache.js';
import { cases as parsing } from './bad-inputs/parsing.js';
import { cases as studies } from './bad-inputs/studies.js';

const CASES: Case[] = [
  ...firstRound,
  ...signalsAndLocks,
  ...overwrite,
  ...indexAndSeeds,
  ...pythonReader,
  ...external,
  ...latentsMemory,
  ...fsAndCache,
  ...parsing,
  ...studies,
];

/** A finished shard (the 'done' folder), a corrupted copy, and two datasets in one folder. */
function prepare(dir: string): void {
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin.generate, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`preparing: ${r.stderr}`);
  };
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'done')]);
  mkdirSync(join(dir, 'corrupt'));
  for (const f of readdirSync(join(dir, 'done'))) copyFileSync(join(dir, 'done', f), join(dir, 'corrupt', f));
  const npz = join(dir, 'corrupt', 'simple_fig1_DAG_0.npz');
  const bytes = readFileSync(npz);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(npz, bytes);
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'mixed'), '--dataset_name', 'a']);
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'mixed'), '--dataset_name', 'b']);
  // fid statistics with a non-symmetric sigma (NumPy's np.savez layout via our writer)
  const stats = (sigma: number[]) =>
    spawnSync(process.execPath, [
      '--input-type=module',
      '-e',
      `const { writeNpz } = await import(${JSON.stringify(join(repo, 'packages/formats/dist/index.js'))}); await writeNpz(process.argv[1], { mu: { dtype: '<f8', shape: [2], data: Float64Array.of(0, 0) }, sigma: { dtype: '<f8', shape: [2, 2], data: Float64Array.from(${JSON.stringify(sigma)}) } });`,
      join(dir, sigma[1] === sigma[2] ? 's1.npz' : 's2.npz'),
    ]);
  stats([1, 0, 0, 1]);
  stats([1, 0.5, 0.1, 1]);
}

/** Runs the command; kills it (a hang) past `timeoutMs`, or sends the case's signal. */
function runCase(c: Case, args: string[], env: NodeJS.ProcessEnv): Promise<CaseResult & { timedOut: boolean }> {
  const command = c.cli === 'python' ? bin.python : process.execPath;
  const argv = c.cli === 'python' ? args : [bin[c.cli], ...args];
  return new Promise((done) => {
    const child = spawn(command, argv, { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, c.timeoutMs ?? 300_000);
    const signal = c.signal ? setTimeout(() => child.kill(c.signal!.name), c.signal.afterMs) : undefined;
    child.on('close', (status, sig) => {
      clearTimeout(limit);
      if (signal) clearTimeout(signal);
      done({ status, signal: sig, stdout, stderr, timedOut });
    });
  });
}

/** A stack trace, a Python traceback, or a raw errno / JavaScript error class in the user's view. */
function rawError(err: string): boolean {
  return (
    /^\s+at /m.test(err) ||
    /Traceback \(most recent call last\)/.test(err) ||
    /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/.test(err) ||
    /\bE(NOENT|ACCES|ROFS|NOSPC|LOOP|NAMETOOLONG|ISDIR|NOTDIR|EXIST|PERM|BUSY|XDEV|NOTEMPTY|MFILE):/.test(err)
  );
}

const list = process.argv.includes('--list');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const chosen = only ? CASES.filter((c) => c.name.includes(only)) : CASES;
const base = mkdtempSync(join(tmpdir(), 'mmmi-bad-inputs-'));
const counts: Record<Outcome, number> = { clear: 0, stack: 0, silent: 0, lost: 0, hang: 0, leak: 0 };
const exits: Record<string, number> = {};
// the scratch contents are made once and copied for each case (three generation runs per case would dominate the time)
const prepared = join(base, 'prepared');
mkdirSync(prepared);
prepare(prepared);
try {
  for (const c of chosen) {
    const dir = join(base, String(CASES.indexOf(c)));
    cpSync(prepared, dir, { recursive: true });
    for (const [name, content] of Object.entries(c.files ?? {})) {
      const path = join(dir, name.replace('DIR/', ''));
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, typeof content === 'string' ? content.replaceAll('DIR', dir) : content);
    }
    c.setup?.(dir);
    const kept = ['done/simple_fig1_DAG_0.npz', ...(c.keep ?? [])].map((f) => ({
      f,
      bytes: existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined,
    }));
    const sub = (s: string) => s.replaceAll('DIR', dir);
    const env = {
      ...process.env,
      PYTHONPATH: join(repo, 'packages/dataset-generation/python'),
      ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, sub(v)])),
    };
    const r = await runCase(c, c.args.map(sub), env);
    const err = r.stderr;
    const lostFile = kept.find(({ f, bytes }) => {
      try {
        return !bytes || !readFileSync(join(dir, f)).equals(bytes);
      } catch {
        return true;
      }
    });
    let kind: Outcome;
    let why = '';
    if (r.timedOut) [kind, why] = ['hang', `still running after ${(c.timeoutMs ?? 300_000) / 1000} s`];
    else if (lostFile) [kind, why] = ['lost', `${lostFile.f} changed or removed`];
    else if (rawError(err)) kind = 'stack';
    else if (c.signal && r.status !== (c.signal.name === 'SIGINT' ? 130 : 143) && r.signal === null && r.status !== 2)
      [kind, why] = ['leak', `exit ${r.status} after ${c.signal.name} (expected ${c.signal.name === 'SIGINT' ? 130 : 143})`];
    else if (!c.expectOk && !c.signal && r.status === 0) kind = 'silent';
    else if (c.expectOk && r.status !== 0) [kind, why] = ['silent', `exit ${r.status} where the command is valid`];
    else {
      const found = c.check?.(dir, r);
      [kind, why] = found ? [found.outcome, found.why] : ['clear', ''];
    }
    counts[kind]++;
    exits[String(r.status)] = (exits[String(r.status)] ?? 0) + 1;
    const lines = err
      .trim()
      .split('\n')
      .filter((l) => !/^\s+at /.test(l));
    const line = lines.find((l) => /\berror:/.test(l)) ?? lines.pop() ?? '';
    const detail = why ? `${why}; ${line}` : line;
    process.stdout.write(`${kind.padEnd(6)} ${c.cli.padEnd(8)} ${c.name}: exit ${r.status}${list || kind !== 'clear' ? ` — ${detail.slice(0, 240)}` : ''}\n`);
    chmodSync(base, 0o755);
    spawnSync('chmod', ['-R', 'u+rwX', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
const tally = (Object.entries(counts) as [Outcome, number][]).map(([k, n]) => `${n} ${k}`).join(', ');
process.stdout.write(
  `\n${chosen.length} cases: ${tally}; exit codes ${Object.entries(exits)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ')} (2 the input is wrong, 1 the run failed, 130/143 stopped by a signal)\n`,
);
