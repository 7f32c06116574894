/** Decoding files written by PIL, compared with PIL's own `Image.open(p).convert("RGB")`. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng, readImageRgbSync } from '../src/index.js';
import { absDiff, hasPil, runPythonScript } from './helpers.js';

const ANCHORS = '/work/shared/anchors/templates/galaxy_rot_curve_DAG';

interface PilCase {
  file: string;
  rgb: string;
  width: number;
  height: number;
  mode: string;
  group: 'png' | 'jpeg_full' | 'jpeg_subsampled';
}

describe.skipIf(!hasPil())('PIL as reference', () => {
  const tmp = tempDir('mmmi-formats-pil-');
  let cases: Record<string, PilCase> = {};
  beforeAll(() => {
    cases = JSON.parse(runPythonScript('pil_cases.py', [tmp]));
  });

  const decode = (c: PilCase) => {
    const img = readImageRgbSync(c.file);
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    return absDiff(img.data, new Uint8Array(readFileSync(c.rgb)));
  };

  it('PNG: identical to PIL in every mode it writes', () => {
    const pngs = Object.entries(cases).filter(([, c]) => c.group === 'png');
    expect(pngs.length).toBeGreaterThanOrEqual(8);
    for (const [name, c] of pngs) expect({ name, ...decode(c) }).toEqual({ name, max: 0, mean: 0 });
  });

  it('JPEG without chroma subsampling (4:4:4, gray, progressive, CMYK): within 3 levels of PIL', () => {
    const jpegs = Object.entries(cases).filter(([, c]) => c.group === 'jpeg_full');
    expect(jpegs.length).toBe(5);
    for (const [name, c] of jpegs) {
      const { max, mean } = decode(c);
      expect(max, name).toBeLessThanOrEqual(3);
      expect(mean, name).toBeLessThan(1);
    }
  });

  it('JPEG with chroma subsampling: close on average only (jpeg-js has no fancy upsampling)', () => {
    const jpegs = Object.entries(cases).filter(([, c]) => c.group === 'jpeg_subsampled');
    expect(jpegs.length).toBe(2);
    for (const [name, c] of jpegs) {
      const { max, mean } = decode(c);
      expect(max, name).toBeLessThanOrEqual(48);
      expect(mean, name).toBeLessThan(8);
    }
  });

  it('PIL reads our PNG exactly', () => {
    const data = Uint8Array.from({ length: 19 * 11 * 3 }, (_, i) => (i * 37) % 256);
    const file = join(tmp, 'ours.png');
    const bytes = encodePng({ width: 19, height: 11, data });
    writeFileSync(file, bytes);
    const out = runPython('import sys; from PIL import Image; im = Image.open(sys.argv[1]); print(im.mode, im.size[0], im.size[1], im.tobytes().hex())', [
      file,
    ]).trim();
    expect(out).toBe(`RGB 19 11 ${Buffer.from(data).toString('hex')}`);
  });

  it.skipIf(!existsSync(ANCHORS))('anchor templates decode exactly as PIL decodes them', () => {
    const files = readdirSync(ANCHORS)
      .filter((f) => f.endsWith('.png'))
      .map((f) => join(ANCHORS, f));
    const out = JSON.parse(
      runPython('import json, sys; from PIL import Image; print(json.dumps({f: Image.open(f).convert("RGB").tobytes().hex() for f in sys.argv[1:]}))', files),
    ) as Record<string, string>;
    for (const f of files) expect(Buffer.from(readImageRgbSync(f).data).toString('hex'), f).toBe(out[f]);
  });
});
