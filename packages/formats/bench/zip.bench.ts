/**
 * Streaming .npz writer throughput and memory: writes a 1 GiB stored float32 array through
 * NpzWriter.beginArray in 4 MiB chunks (one reused buffer), then smaller deflated ones,
 * reporting MB/s and resident memory, which must stay flat however large the entry.
 * Every file is verified (our reader's CRC check, and Python's zipfile.testzip where
 * python3 is available) and deleted.
 *
 *   cd packages/formats && npx tsx bench/zip.bench.ts
 *   --size-mb N         stored array size (default 1024; above 4096 exercises automatic ZIP64)
 *   --compressed-mb N   deflated array size per level (default 128; 0 skips)
 *   --dir PATH          where to write (default: the OS temp folder)
 *
 * Throughput includes the page cache: it is what the writer sustains, not the disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { xorshift32 } from '@mmmi/test-utils';
import { NpzWriter, readZip } from '../src/index.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const MB = 1 << 20;
const sizeMb = Number(option('--size-mb', '1024'));
const compressedMb = Number(option('--compressed-mb', '128'));
const dir = mkdtempSync(join(option('--dir', tmpdir()), 'mmmi-zip-bench-'));
const CHUNK = 4 * MB;

const rssMb = () => process.memoryUsage().rss / MB;

interface Run {
  label: string;
  seconds: number;
  inputMb: number;
  fileMb: number;
  rssBefore: number;
  rssPeak: number;
  /** RSS when 10% / 50% / 100% of the data had been written: flat means no growth with size. */
  rssAt: number[];
}

async function writeOne(label: string, path: string, mb: number, level: number | undefined): Promise<Run> {
  const chunk = new Float32Array(CHUNK / 4);
  // pixel-like values: 8-bit levels / 255 as float32, pseudo-random (xorshift32)
  const next = xorshift32(2463534242);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (next() & 0xff) / 255;
  const count = (mb * MB) / 4;
  const chunks = count / chunk.length;
  global.gc?.();
  const rssBefore = rssMb();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb())), 20);
  const rssAt: number[] = [];
  const t0 = performance.now();
  const w = await NpzWriter.create(path, { compress: level !== undefined, level });
  await w.addArray('MI_labels', { shape: [2], data: ['I(X_1; θ)', 'I(X_2; θ)'] });
  const s = await w.beginArray('images', { dtype: '<f4', shape: [chunks, chunk.length] });
  for (let k = 0; k < chunks; k++) {
    chunk[0] = k; // every chunk differs
    await s.write(chunk);
    if ([Math.floor(chunks / 10), Math.floor(chunks / 2), chunks - 1].includes(k)) rssAt.push(rssMb());
  }
  await s.end();
  await w.addArray('alpha', { shape: [], data: Float64Array.of(1.2) }); // past 4 GiB with --size-mb > 4096
  await w.close();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssMb());
  return { label, seconds, inputMb: mb, fileMb: statSync(path).size / MB, rssBefore, rssPeak, rssAt };
}

const PY_CHECK = `
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
zip64 = [i.filename for i in z.infolist() if i.file_size >= 0xFFFFFFFF or i.header_offset >= 0xFFFFFFFF]
print('zipfile.testzip() =', bad, '; entries beyond 4 GiB:', zip64 or 'none')
`;

function verify(path: string): string {
  let ours = 'too large for readFile (2 GiB), not read back here';
  if (statSync(path).size < 2 ** 31) {
    const z = readZip(readFileSync(path), path);
    for (const e of z.entries) z.read(e.name); // CRC-checked
    ours = 'readZip CRC ok';
  }
  const py = spawnSync('python3', ['-c', PY_CHECK, path], { encoding: 'utf8' });
  return `${ours}; ${py.status === 0 ? py.stdout.trim() : `python3: ${py.stderr.trim() || 'unavailable'}`}`;
}

function report(r: Run): void {
  const f = (v: number) => v.toFixed(0);
  console.log(
    `${r.label.padEnd(28)} ${f(r.inputMb)} MB in ${r.seconds.toFixed(2)} s = ${f(r.inputMb / r.seconds)} MB/s; file ${f(r.fileMb)} MB; ` +
      `RSS ${f(r.rssBefore)} MB before, ${r.rssAt.map(f).join(' / ')} MB at 10/50/100%, peak ${f(r.rssPeak)} MB (+${f(r.rssPeak - r.rssBefore)})`,
  );
}

try {
  console.log(`node ${process.version}, writing under ${dir}`);
  const written: string[] = [];
  const stored = join(dir, 'stored.npz');
  report(await writeOne('stored (np.savez)', stored, sizeMb, undefined));
  written.push(stored);
  if (compressedMb > 0) {
    for (const level of [1, 6]) {
      const p = join(dir, `deflate-${level}.npz`);
      report(await writeOne(`deflate level ${level}`, p, compressedMb, level));
      written.push(p);
    }
  }
  // verified only now, so that reading a file back does not inflate the memory figures above
  for (const p of written) console.log(`verify ${p}: ${verify(p)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
