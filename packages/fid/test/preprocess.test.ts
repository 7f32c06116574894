import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readNpz, requireDtype, type NpyAnyArray } from '@mmmi/formats';
import { describe, expect, it } from 'vitest';
import { INCEPTION_SIZE, normalizeInceptionInPlace, preprocessForInception, preprocessUint8ForInception, quantizeUnitToUint8 } from '../src/preprocess.js';
import { resizeBilinearTF1, tf1AxisWeights } from '../src/resize.js';

// Made by scripts/make_preprocess_fixtures.py: NumPy (TF1 formula as interpolation matrices,
// float64) and torch 1.13 (torch-fidelity's slow resize re-implemented, after torchmetrics'
// `(x * 255).byte()`), see the script's docstring.
const fixtures = await readNpz(fileURLToPath(new URL('./fixtures/preprocess.npz', import.meta.url)));
const cases = requireDtype(fixtures.get('cases')!, '<U').data.map((c) => {
  const [name, kind, oh, ow] = c.split(':');
  return { name, kind, outH: Number(oh), outW: Number(ow) };
});
const f32 = (a: NpyAnyArray | undefined) => requireDtype(a!, '<f4');

function run(kind: string, input: { shape: number[]; data: Float32Array }, outH: number, outW: number): Float32Array {
  const [n, height, width, channels] = input.shape;
  if (kind === 'resize') return resizeBilinearTF1(input.data, { n, height, width, channels }, outH, outW);
  if (outH === INCEPTION_SIZE && outW === INCEPTION_SIZE) return preprocessForInception(input.data, { n, height, width });
  // the same three steps at another output size (small fixtures)
  return normalizeInceptionInPlace(resizeBilinearTF1(quantizeUnitToUint8(input.data), { n, height, width, channels: 3 }, outH, outW));
}

describe('TF1 bilinear resize and the Inception input path, against NumPy and torch fixtures', () => {
  it('has the cases the script writes', () => {
    expect(cases.map((c) => c.name)).toContain('pre_random_32_to_299');
    expect(cases.map((c) => c.name)).toContain('up_4x5_to_7x3');
  });

  for (const { name, kind, outH, outW } of cases) {
    it(`${name} (${kind} → ${outH}×${outW}) matches NumPy's TF1 formula to 1e-6 in network units`, () => {
      const input = f32(fixtures.get(`${name}.input`));
      const want = f32(fixtures.get(`${name}.numpy`));
      const got = run(kind, input, outH, outW);
      expect(got.length).toBe(want.data.length);
      expect([input.shape[0], outH, outW, 3]).toEqual(want.shape);
      // Resize outputs are pixel levels; the network sees them divided by 128, so the
      // tolerance is 1e-6 there (float32 arithmetic on levels ≤ 255 is ~2e-5 levels).
      const unit = kind === 'resize' ? 128 : 1;
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]) / unit);
      expect(worst).toBeLessThan(1e-6);
    });

    it(`${name} is bit-identical to torch-fidelity's float32 computation`, () => {
      const input = f32(fixtures.get(`${name}.input`));
      const got = run(kind, input, outH, outW);
      const full = fixtures.get(`${name}.torch`);
      if (full) {
        expect(Array.from(got)).toEqual(Array.from(f32(full).data));
      } else {
        const sha = requireDtype(fixtures.get(`${name}.torch_sha256`)!, '<U').data[0];
        const bytes = new Uint8Array(got.buffer, got.byteOffset, got.byteLength); // little-endian hosts
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
      }
    });
  }
});

describe('resize details', () => {
  it('uses source = dst·in/out with no half-pixel offset, clamping at the last pixel', () => {
    const { lo, hi, t } = tf1AxisWeights(4, 8);
    expect(Array.from(lo)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from(hi)).toEqual([1, 1, 2, 2, 3, 3, 3, 3]);
    expect(Array.from(t)).toEqual([0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5]);
    // 1-D ramp 0, 10, 20, 30 → 0, 5, 10, 15, 20, 25, 30, 30 (the last pixel repeats: TF1's shift)
    const out = resizeBilinearTF1(Float32Array.from([0, 10, 20, 30]), { n: 1, height: 1, width: 4, channels: 1 }, 1, 8);
    expect(Array.from(out)).toEqual([0, 5, 10, 15, 20, 25, 30, 30]);
  });

  it('is the identity at the same size and keeps channels and images apart', () => {
    const src = Float32Array.from({ length: 2 * 5 * 6 * 3 }, (_, i) => (i * 37) % 251);
    expect(Array.from(resizeBilinearTF1(src, { n: 2, height: 5, width: 6, channels: 3 }, 5, 6))).toEqual(Array.from(src));
    // a constant image stays constant, per channel and per image
    const c = new Float32Array(2 * 3 * 4 * 3);
    for (let i = 0; i < c.length; i++) c[i] = (i % 3) * 10 + Math.floor(i / 36) * 100;
    const r = resizeBilinearTF1(c, { n: 2, height: 3, width: 4, channels: 3 }, 7, 5);
    for (let i = 0; i < r.length; i++) expect(r[i]).toBe((i % 3) * 10 + Math.floor(i / (7 * 5 * 3)) * 100);
  });

  it('rejects mismatched buffers', () => {
    expect(() => resizeBilinearTF1(new Float32Array(5), { n: 1, height: 2, width: 2, channels: 1 }, 3, 3)).toThrow(/needs 4/);
    expect(() => resizeBilinearTF1(new Float32Array(4), { n: 1, height: 2, width: 2, channels: 1 }, 3, 3, new Float32Array(8))).toThrow(/needs 9/);
    expect(() => tf1AxisWeights(0, 3)).toThrow(RangeError);
  });
});

describe('quantization and normalization', () => {
  it("truncates the float32 product x·255, as torch's (x * 255).byte()", () => {
    const x = Float32Array.from([0, 1, 0.2, 0.999999, 1e-9, 0.00392156, 0.00392157, 0.5]);
    // 0.2f·255 = 51 after float32 rounding (50.99999… in double); 0.00392157f·255 rounds to 1.0000004
    expect(Array.from(quantizeUnitToUint8(x))).toEqual([0, 255, 51, 254, 0, 0, 1, 127]);
  });

  it('gives back every uint8 level from level/255 (so uint8 sources lose nothing)', () => {
    const levels = Float32Array.from({ length: 256 }, (_, v) => v / 255);
    expect(Array.from(quantizeUnitToUint8(levels))).toEqual(Array.from({ length: 256 }, (_, v) => v));
    const bytes = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 53) % 256);
    const a = preprocessUint8ForInception(bytes, { n: 1, height: 4, width: 4 });
    const b = preprocessForInception(
      Float32Array.from(bytes, (v) => v / 255),
      { n: 1, height: 4, width: 4 },
    );
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('clamps out-of-range values and rejects NaN', () => {
    expect(Array.from(quantizeUnitToUint8(Float32Array.from([-0.5, 1.5, Infinity, -Infinity])))).toEqual([0, 255, 255, 0]);
    expect(() => quantizeUnitToUint8(Float32Array.from([0.1, NaN]))).toThrow(/value 1 is NaN/);
  });

  it('maps 0 → −1, 128 → 0, 255 → 127/128 and outputs n×299×299×3', () => {
    expect(Array.from(normalizeInceptionInPlace(Float32Array.from([0, 128, 255])))).toEqual([-1, 0, 127 / 128]);
    const out = preprocessForInception(new Float32Array(2 * 3 * 3 * 3).fill(1), { n: 2, height: 3, width: 3 });
    expect(out.length).toBe(2 * 299 * 299 * 3);
    expect(out.every((v) => v === 127 / 128)).toBe(true);
    expect(() => preprocessForInception(new Float32Array(10), { n: 1, height: 2, width: 2 })).toThrow(/do not make 1 RGB images/);
  });
});
