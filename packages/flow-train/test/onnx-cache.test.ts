/**
 * The ONNX graph cache never stops a run and never keeps a graph ONNX Runtime refuses: a cache
 * folder that cannot be written (a file in its path: ENOTDIR, for root too) falls back to a
 * temporary folder, said once, and sampling goes on; with no writable temporary folder either,
 * `auto` takes the tfjs engine with the reason; a cached graph cut short but re-summed (its
 * checksum holds) is refused by ONNX Runtime, rebuilt, rewritten and used.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/checkpoint.js';
import { cachedGraphPath, cachedOnnxGraph, openEngine, type EngineRequest, type ModelSource } from '../src/engine/index.js';
import { FlowModel } from '../src/flow-model.js';
import { exportUNetOnnx } from '../src/onnx/export-unet.js';
import { integrateFlowRows, noiseBatch } from '../src/sample.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { unetConfig } from '../src/unet/config.js';
import { initialParamValues } from '../src/unet/params.js';
import { relErr } from './helpers/compare.js';

const tmp = tempDir('mmmi-onnx-cache-');
const tiny = unetConfig('tiny');
const arch = buildArchitecture(tiny);
const settings = { odeMethod: 'heun2', odeOptions: { nfe: 3 }, cfgScale: 0.4, edmSchedule: true };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A tiny model whose weights are all perturbed (zero-initialised layers would hide a wrong graph). */
function source(seed: number, checkpointSha256: string): ModelSource {
  const values = initialParamValues(arch, seed);
  const rng = new SeededRandom(seed);
  for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.05 * rng.normal();
  return { arch, values, checkpointSha256, weights: 'live' };
}

/** Opens the engine with `request`, integrates two rows with it and with tfjs, and returns the relative difference (undefined: tfjs was chosen). */
async function sampleBoth(s: ModelSource, request: EngineRequest): Promise<number | undefined> {
  const engine = await openEngine(s, { threads: 1, ...request });
  if (!engine) return undefined;
  const model = new FlowModel(tiny, s.values);
  try {
    const labels = Int32Array.of(1, 4);
    const noise = noiseBatch(model, 2, 7);
    const viaOrt = await integrateFlowRows(model, model.params, noise, labels, settings, { engine });
    const viaTfjs = await integrateFlowRows(model, model.params, noise, labels, settings);
    return relErr(viaOrt, viaTfjs);
  } finally {
    await engine.close();
    model.dispose();
  }
}

describe('an unwritable cache', () => {
  it('a cache folder under a file: the graph goes to a temporary folder (removed once loaded), said once, and sampling goes on', async () => {
    const file = join(tmp, 'not-a-folder');
    writeFileSync(file, 'x');
    const cacheDir = join(file, 'onnx');
    const messages: string[] = [];
    const s = source(1, 'e'.repeat(64));
    for (let run = 0; run < 2; run++) {
      const diff = await sampleBoth(s, { engine: 'onnx', cacheDir, log: (m) => messages.push(m) });
      expect(diff).toBeLessThan(1e-4);
    }
    const said = messages.filter((m) => m.startsWith('ONNX graph cache:'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`${cacheDir}: a part of the path is a file, not a folder (ENOTDIR)`);
    expect(said[0]).toMatch(/; set MMMI_CACHE_DIR to a writable folder to keep the graph; until then each run exports it again, to a temporary folder$/);
    const exported = messages.filter((m) => m.startsWith('ONNX graph exported: ')).map((m) => m.slice('ONNX graph exported: '.length));
    expect(exported).toHaveLength(2);
    for (const path of exported) {
      expect(path.startsWith(cacheDir)).toBe(false);
      expect(existsSync(path)).toBe(false);
    }
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('no writable temporary folder either: auto takes the tfjs engine and says why; onnx fails with the same one line', async () => {
    const file = join(tmp, 'blocker');
    writeFileSync(file, 'x');
    const messages: string[] = [];
    const s = source(2, 'f'.repeat(64));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(file, 'tmp');
    try {
      expect(await sampleBoth(s, { engine: 'auto', cacheDir: join(file, 'onnx'), log: (m) => messages.push(m) })).toBeUndefined();
      await expect(openEngine(s, { engine: 'onnx', threads: 1, cacheDir: join(file, 'onnx'), log: () => {} })).rejects.toThrow(
        /^the ONNX graph cannot be written: .*blocker\/tmp.*: a part of the path is a file, not a folder \(ENOTDIR\)/,
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(messages.join('\n')).toMatch(/engine: tfjs, because the ONNX graph cannot be written: .*\(ENOTDIR\)/);
  });
});

describe('a cached graph ONNX Runtime refuses', () => {
  it('a truncated graph whose checksum file was written for it: refused, rebuilt, rewritten and used', async () => {
    const cacheDir = join(tmp, 'truncated');
    const s = source(3, '1'.repeat(64));
    const fresh = exportUNetOnnx(arch, s.values, { checkpoint_sha256: s.checkpointSha256, weights: s.weights });
    const path = cachedGraphPath(s, cacheDir);
    expect(cachedOnnxGraph(s, cacheDir).built).toBe(true);
    // cut the graph in half and record the checksum of what is left: the checksum alone cannot tell
    const cut = readFileSync(path).subarray(0, fresh.length >> 1);
    writeFileSync(path, cut);
    writeFileSync(`${path}.sha256`, `${sha256Hex(cut)}\n`);
    expect(cachedOnnxGraph(s, cacheDir)).toMatchObject({ built: false });

    const messages: string[] = [];
    const diff = await sampleBoth(s, { engine: 'onnx', cacheDir, log: (m) => messages.push(m) });
    expect(diff).toBeLessThan(1e-4);
    expect(messages.join('\n')).toMatch(/ONNX graph rebuilt \(the cached one was refused: ONNX Runtime refused it: ONNX Runtime could not open .*\): /);
    expect(Buffer.compare(readFileSync(path), Buffer.from(fresh))).toBe(0);
    expect(readFileSync(`${path}.sha256`, 'utf8').trim()).toBe(sha256Hex(fresh));
    // the next run uses the rebuilt graph as it is
    const again: string[] = [];
    expect(await sampleBoth(s, { engine: 'onnx', cacheDir, log: (m) => again.push(m) })).toBeLessThan(1e-4);
    expect(again.filter((m) => m.startsWith('ONNX graph'))).toEqual([]);
  });

  it('refused although the export gives the same bytes: nothing is rewritten, the refusal stands (auto: tfjs with the reason)', async () => {
    const cacheDir = join(tmp, 'same-bytes');
    const s = source(4, '2'.repeat(64));
    const first = cachedOnnxGraph(s, cacheDir);
    const again = cachedOnnxGraph(s, cacheDir, { refused: 'a provider that is not there' });
    expect(again).toMatchObject({ built: false, path: first.path, graphSha256: first.graphSha256 });
    const messages: string[] = [];
    expect(await sampleBoth(s, { engine: 'auto', ep: 'tensorrt', cacheDir, log: (m) => messages.push(m) })).toBeUndefined();
    expect(messages.filter((m) => m.startsWith('ONNX graph'))).toEqual([]);
    expect(messages.join('\n')).toMatch(/engine: tfjs, because execution provider tensorrt is not installed/);
  });
});
