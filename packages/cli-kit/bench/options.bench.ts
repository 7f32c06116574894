/**
 * Parsing speed: a large argument file (the worst a job array meets: thousands of flags)
 * through parseOptions, against Node's util.parseArgs on the same tokens in the same run.
 *
 *   npx tsx bench/options.bench.ts [--flags 5000] [--repeats 20]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseOptions, type OptionTable } from '../src/options.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  flags: { kind: 'int', min: 1, default: 5000, help: 'flags in the argument file' },
  repeats: { kind: 'int', min: 1, default: 20, help: 'timed repeats' },
});

const table: Record<string, OptionTable[string]> = {};
for (let i = 0; i < 50; i++) table[`flag_${i}`] = { kind: i % 2 ? 'float' : 'int', help: '' };
const tokens: string[] = [];
for (let i = 0; i < o.flags; i++) tokens.push(`--flag_${i % 50}`, String(i));
const dir = mkdtempSync(join(tmpdir(), 'cli-kit-bench-'));
const file = join(dir, 'args.txt');
writeFileSync(
  file,
  tokens.reduce((s, t, i) => s + t + (i % 2 ? '\n' : ' '), ''),
);

function time(f: () => unknown): number {
  f();
  const t0 = performance.now();
  for (let r = 0; r < o.repeats; r++) f();
  return (performance.now() - t0) / o.repeats;
}

const nodeOptions = Object.fromEntries(Object.keys(table).map((k) => [k, { type: 'string' as const, multiple: false }]));
const baseline = time(() => parseArgs({ args: tokens, options: nodeOptions, strict: true }));
const ours = time(() => parseOptions(tokens, table));
const withFile = time(() => parseOptions([`@${file}`], table));
rmSync(dir, { recursive: true, force: true });
console.log(`${o.flags} flags, mean of ${o.repeats}:`);
console.log(`  util.parseArgs (strings only)   ${baseline.toFixed(2)} ms   1.00`);
console.log(`  parseOptions (typed, checked)   ${ours.toFixed(2)} ms   ${(ours / baseline).toFixed(2)}`);
console.log(`  parseOptions from an @file      ${withFile.toFixed(2)} ms   ${(withFile / baseline).toFixed(2)}`);
