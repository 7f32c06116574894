/**
 * `mmmi-fid realism` end to end on tiny inputs built from the shipped golden images: a
 * dataset shard written with NpzWriter, an image folder, and bad inputs (exit 2, one line).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpzWriter, readNpy, writeNpz, writePngSync } from '@mmmi/formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { defaultRealismModelDir, REALISM_FILES } from '../../src/realism/classifier.js';
import { readRealismReference } from '../../src/realism/reference.js';
import { REALISM_CLASSES } from '../../src/realism/score.js';

const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fid-realism-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['realism', ...argv], { out: (s) => out.push(s), err: (s) => err.push(s), env: {} });
  return { code, out: out.join('\n'), err: err.filter((l) => !l.startsWith('fid realism: tfjs backend')).join('\n') };
}

let golden: Float32Array;
let labels: Int32Array; // of golden images 0–7
let predicted: Int32Array;
let shard: string;

/** A shard (4 draws × 2 modalities): image (r, m) is golden image 2r + m, with its true label. */
async function writeShard(path: string, x: Float32Array, shape: number[], lab: Int32Array, labShape: number[]) {
  const w = await NpzWriter.create(path);
  const a = await w.beginArray('X', { dtype: '<f4', shape });
  await a.write(x);
  await a.end();
  const b = await w.beginArray('labels', { dtype: '<i4', shape: labShape });
  await b.write(lab);
  await b.end();
  await w.close();
}

beforeAll(async () => {
  const dir = defaultRealismModelDir();
  golden = (await readNpy(join(dir, REALISM_FILES.goldenImages))).data as Float32Array;
  const ref = await readRealismReference(dir);
  labels = ref.labels.slice(0, 8);
  predicted = ref.predicted.slice(0, 8);
  shard = join(tmp(), 'tiny_0.npz');
  await writeShard(shard, golden, [4, 2, 3, 32, 32], labels, [4, 2]);
});

const consistencyOf = (idx: number[]) => idx.filter((i) => predicted[i] === labels[i]).length / idx.length;

describe('mmmi-fid realism on a dataset shard', () => {
  it('scores all modalities together and each, as JSON', async () => {
    const r = await cli(['--data', shard, '--json', '--draws', '3']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.modalities).toBe(2);
    expect(j.all.n).toBe(8);
    expect(j.all.consistency).toBeCloseTo(consistencyOf([0, 1, 2, 3, 4, 5, 6, 7]), 12);
    expect(j.per_modality.map((m: { modality: number }) => m.modality)).toEqual([1, 2]);
    expect(j.per_modality[1].score.consistency).toBeCloseTo(consistencyOf([1, 3, 5, 7]), 12);
    expect(j.all.floor.draws).toBe(3);
    expect(j.all.fdCls).toBeGreaterThan(0);
    expect(j.all.floor.fdCls.mean).toBeGreaterThan(0);
  });

  it('--modality picks one; the same seed gives the same floor', async () => {
    const a = JSON.parse((await cli(['--data', shard, '--json', '--modality', '1', '--seed', '3'])).out);
    const b = JSON.parse((await cli(['--data', shard, '--json', '--modality', '1', '--seed', '3'])).out);
    expect(a.all.n).toBe(4);
    expect(a.per_modality).toEqual([]);
    expect(a.all.consistency).toBeCloseTo(consistencyOf([0, 2, 4, 6]), 12);
    expect(b.all.floor).toEqual(a.all.floor);
  });

  it('a folder of shards; a readable table', async () => {
    const d = tmp();
    await writeShard(join(d, 'a_0.npz'), golden, [4, 2, 3, 32, 32], labels, [4, 2]);
    await writeShard(join(d, 'a_1.npz'), golden.subarray(0, 2 * 3072), [1, 2, 3, 32, 32], labels.subarray(0, 2), [1, 2]);
    const r = await cli(['--data', d]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 shards/);
    expect(r.out).toMatch(/consistency/);
    expect(r.out).toMatch(/class-matched FD/);
    expect(r.out).toMatch(/^all\s+10\s/m);
    expect(r.out).toMatch(/^modality 2\s+5\s/m);
  });

  it('clamps values outside [0, 1] and says so', async () => {
    const p = join(tmp(), 'over.npz');
    await writeShard(
      p,
      golden.map((v) => v * 1.02 - 0.01),
      [4, 2, 3, 32, 32],
      labels,
      [4, 2],
    );
    const r = await cli(['--data', p]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/values outside \[0, 1\] were clamped/);
  });
});

describe('mmmi-fid realism on an image folder', () => {
  it('reads <class name or index>/*.png like the same images in a shard', async () => {
    const d = tmp();
    for (let i = 0; i < 8; i++) {
      const folder = join(d, i % 2 === 0 ? REALISM_CLASSES[labels[i]] : String(labels[i]));
      mkdirSync(folder, { recursive: true });
      const data = new Uint8Array(3072);
      for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(golden[i * 3072 + c * 1024 + p] * 255);
      writePngSync(join(folder, `img${i}.png`), { width: 32, height: 32, data });
    }
    const folder = JSON.parse((await cli(['--data', d, '--json'])).out);
    const npz = JSON.parse((await cli(['--data', shard, '--json'])).out);
    expect(folder.modalities).toBe(1);
    expect(folder.all.n).toBe(8);
    // the golden images are 8-bit already: the PNGs hold the same pixels
    expect(folder.all.consistency).toBe(npz.all.consistency);
    expect(folder.all.fdCls).toBeCloseTo(npz.all.fdCls, 6);
  });
});

describe('mmmi-fid realism refuses bad input with one line and exit 2', () => {
  const refused = async (argv: string[], pattern: RegExp) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  };

  it('a missing path, no --data, a stray argument', async () => {
    await refused(['--data', join(tmpdir(), 'no-such-realism-shard.npz')], /no such file or folder/);
    await refused([], /needs --data/);
    await refused(['x.npz'], /no positional arguments/);
    await refused(['--data', shard, '--modality', '0'], /modality/);
  });

  it('labels out of range, wrong shapes, missing arrays, a modality the shard lacks', async () => {
    const d = tmp();
    const bad = Int32Array.from(labels);
    bad[5] = 10;
    await writeShard(join(d, 'l.npz'), golden, [4, 2, 3, 32, 32], bad, [4, 2]);
    await refused(['--data', join(d, 'l.npz')], /labels\[2, 1\]: label 10 is outside 0–9/);
    await writeShard(join(d, 's.npz'), golden, [8, 2, 3, 16, 32], labels, [4, 2]);
    await refused(['--data', join(d, 's.npz')], /X has shape \(8, 2, 3, 16, 32\), expected \(n, N, 3, 32, 32\)/);
    await writeShard(join(d, 'm.npz'), golden, [4, 2, 3, 32, 32], labels, [2, 4]);
    await refused(['--data', join(d, 'm.npz')], /labels has shape \(2, 4\), expected \(4, 2\)/);
    await writeNpz(join(d, 'x.npz'), { X: { dtype: '<f4', shape: [8, 1, 3, 32, 32], data: golden } });
    await refused(['--data', join(d, 'x.npz')], /no array 'labels'/);
    await refused(['--data', shard, '--modality', '3'], /--modality 3: .* has 2 modalities/);
    writeFileSync(join(d, 'junk.npz'), 'not a zip');
    await refused(['--data', join(d, 'junk.npz')], /not a .npz file/);
  });

  it('an unknown class folder, an image of the wrong size, a folder with nothing to score', async () => {
    const d = tmp();
    mkdirSync(join(d, 'spaceship'));
    await refused(['--data', d], /class folder must be named/);
    const e = tmp();
    mkdirSync(join(e, 'cat'));
    writePngSync(join(e, 'cat', 'big.png'), { width: 33, height: 32, data: new Uint8Array(33 * 32 * 3) });
    await refused(['--data', e], /33×32 pixels, expected 32×32/);
    await refused(['--data', tmp()], /no dataset shards/);
  });
});
