/** Bad inputs of issue #23: names, numbers and argument files in other encodings or line ends. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gen, greyPng, type Case } from './case.js';

const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const argsText = '--N_mod 2\r\n--transform identity\r\n--dataset_size 3\r\n--preview 0\r\n';

/** The shard a valid run was to write, with its draw count as the manifest records it. */
const wrote = (folder: string, draws: number) => (dir: string) => {
  const manifest = join(dir, folder, 'dataset_test_0.manifest.json');
  if (!existsSync(manifest)) return { outcome: 'silent' as const, why: `no manifest in ${folder}: ${readdirSync(join(dir, folder)).join(', ')}` };
  const text = readFileSync(manifest, 'utf8');
  return text.includes(`"dataset_size": ${draws}`) ? undefined : { outcome: 'silent' as const, why: `the manifest does not record dataset_size ${draws}` };
};

export const cases: Case[] = [
  { name: 'parsing: dataset name with a path separator', cli: 'generate', args: gen('--dataset_name', '../escape') },
  { name: 'parsing: empty dataset name', cli: 'generate', args: gen('--dataset_name', '') },
  { name: 'parsing: dataset name that is a hidden file', cli: 'generate', args: gen('--dataset_name', '.x') },
  { name: 'parsing: dataset name too long for a file name', cli: 'generate', args: gen('--dataset_name', 'n'.repeat(300)) },
  { name: 'parsing: index --dataset_name with a separator', cli: 'generate', args: ['index', 'DIR/mixed', '--dataset_name', 'a/b'] },
  { name: 'parsing: train --name with a separator', cli: 'train', args: ['train', '--name', '../../x', '--output_dir', 'DIR/run'] },
  { name: 'parsing: label beyond int32', cli: 'generate', args: gen('--labels', '[1,4294967297]') },
  { name: 'parsing: integer beyond 2^53', cli: 'generate', args: gen('--sample_seed', '99999999999999999999') },
  { name: 'parsing: hexadecimal float', cli: 'generate', args: gen('--alpha', '0x10') },
  { name: 'parsing: Infinity as a float', cli: 'generate', args: gen('--beta', 'Infinity') },
  { name: 'parsing: job id beyond the array', cli: 'generate', args: gen('--job_id', '2', '--num_jobs', '2') },
  { name: 'parsing: fid batch size in hexadecimal', cli: 'fid', args: ['--batch_size', '0x20', 'DIR/s1.npz', 'DIR/s1.npz'] },
  {
    name: 'parsing: UTF-16 argument file (Windows editor) is read',
    cli: 'generate',
    args: ['@DIR/args16.txt', '--dataset_loc', 'DIR/out16'],
    files: { 'args16.txt': utf16le(argsText) },
    expectOk: true,
    check: wrote('out16', 3),
  },
  {
    name: 'parsing: CR-only argument file is read line by line',
    cli: 'generate',
    args: ['@DIR/argscr.txt', '--dataset_loc', 'DIR/outcr'],
    files: { 'argscr.txt': argsText.replaceAll('\r\n', '\r') },
    expectOk: true,
    check: wrote('outcr', 3),
  },
  {
    name: 'parsing: UTF-16 argument file without a byte-order mark',
    cli: 'generate',
    args: ['@DIR/nobom.txt'],
    files: { 'nobom.txt': Buffer.from(argsText, 'utf16le') },
  },
  {
    name: 'parsing: a gzip file given as argument file',
    cli: 'generate',
    args: ['@DIR/a.gz'],
    files: { 'a.gz': Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]) },
  },
  {
    name: 'parsing: truncated PNG template is called truncated',
    cli: 'generate',
    args: gen('--mod_dim', '3072', '--T_vectors_method', 'DIR/tpl', '--convert_templates'),
    files: { 'tpl/a.png': greyPng(100).subarray(0, 60), 'tpl/b.png': greyPng(200) },
    check: (_dir, r) => (/truncated/.test(r.stderr) ? undefined : { outcome: 'silent', why: 'the message does not say the file is truncated' }),
  },
];
