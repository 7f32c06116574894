/**
 * What a bad-input case is, and the helpers its files share. A case runs one built CLI in its
 * own process, in a scratch folder `DIR` that holds a finished model-free shard (`DIR/done`),
 * a corrupted copy (`DIR/corrupt`) and two datasets in one folder (`DIR/mixed`). Outcomes:
 *
 *   clear    stopped with a one-line reason (exit ≠ 0, no stack trace), or, for `expectOk`,
 *            finished with exit 0 and every check passed
 *   stack    a stack trace (or a raw errno / TypeError) reached the user
 *   silent   exit 0 where the input should have been refused, or a check found a wrong result
 *   lost     a file the case keeps (by default the finished shard) was changed or removed
 *   hang     the command ran past the case's time limit
 *   leak     the command left behind what it should have removed (a lock, temporary files)
 */
import { crc32, deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
export const bin = {
  generate: join(repo, 'packages/dataset-generation/bin/mmmi-generate.js'),
  latents: join(repo, 'packages/latents/bin/mmmi-latents.js'),
  train: join(repo, 'packages/flow-train/bin/mmmi-train.js'),
  fid: join(repo, 'packages/fid/bin/mmmi-fid.js'),
  bench: join(repo, 'packages/mi-bench/bin/mmmi-bench.js'),
  python: 'python3',
};
export type Cli = keyof typeof bin;
export const fig1 = join(repo, 'generation_arguments/simple_fig1_DAG.txt');

export type Outcome = 'clear' | 'stack' | 'silent' | 'lost' | 'hang' | 'leak';

export interface CaseResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Case {
  name: string;
  cli: Cli;
  /** Arguments; `DIR` is replaced by the case's scratch folder (for `python`, the arguments of python3). */
  args: string[];
  /** Files to write into the scratch folder first (`DIR` in a string is replaced). */
  files?: Record<string, string | Buffer>;
  env?: Record<string, string>;
  /** Runs after `files` are written, before the command (e.g. make a folder read-only, a symlink loop). */
  setup?: (dir: string) => void;
  /** Files (relative to DIR) whose bytes must be unchanged afterwards, beside `done/simple_fig1_DAG_0.npz`. */
  keep?: string[];
  /** Exit 0 is the right answer (the case checks what a valid command did, with `check`). */
  expectOk?: boolean;
  /** Looks at the result: an outcome other than 'clear' with the reason, or undefined when all is well. */
  check?: (dir: string, result: CaseResult) => { outcome: Exclude<Outcome, 'clear'>; why: string } | undefined;
  /** Milliseconds before the case counts as a hang (default 300 000). */
  timeoutMs?: number;
  /** Sent to the command after this many ms (a signal case); the command is expected to stop cleanly. */
  signal?: { name: 'SIGINT' | 'SIGTERM'; afterMs: number };
}

export const free = ['--transform', 'identity', '--dataset_size', '4', '--preview', '0'];
/** A model-free generation into DIR/out, with extra flags. */
export const gen = (...extra: string[]) => [`@${fig1}`, ...free, '--dataset_loc', 'DIR/out', ...extra];

/** A valid 32×32 8-bit grey PNG of one value. */
export function greyPng(value: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(32, 0);
  ihdr.writeUInt32BE(32, 4);
  ihdr[8] = 8;
  const row = Buffer.alloc(33, value);
  row[0] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: 32 }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first 40 bytes of a PNG of the given colour type and bit depth (the rest missing). */
export const pngHeader = (colorType: number, depth: number) => {
  const b = Buffer.alloc(40);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b[24] = depth;
  b[25] = colorType;
  return b;
};
