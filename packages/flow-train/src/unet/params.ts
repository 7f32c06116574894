/**
 * Parameter tensors of a UNet, keyed by their PyTorch state_dict names: PyTorch's default
 * initialisation (what guided-diffusion's model gets at construction), and the conversions
 * between our layouts and PyTorch's.
 *
 * PyTorch defaults: Conv/Linear weights kaiming_uniform(a=√5) = U(−1/√fan_in, 1/√fan_in),
 * biases the same bound; Embedding N(0, 1) with the padding ("no label") row zero; GroupNorm
 * weight 1, bias 0; zero_module layers all zero.
 */
import { InputError } from '@mmmi/cli-kit';
import { Rng } from '@mmmi/latents';
import type { ParamSpec, UNetArchitecture } from './architecture.js';

export type ParamValues = Map<string, Float32Array>;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Initial values, reproducible from `seed` (each tensor its own stream, in state_dict order). */
export function initialParamValues(arch: UNetArchitecture, seed: number): ParamValues {
  const values: ParamValues = new Map();
  arch.params.forEach((p, index) => {
    const data = new Float32Array(size(p.shape));
    const rng = new Rng(seed, 1000 + index);
    if (p.zeroInit || p.kind === 'norm-bias') {
      // zeros
    } else if (p.kind === 'norm-weight') {
      data.fill(1);
    } else if (p.kind === 'embedding') {
      rng.fillNormal(data);
      const width = p.shape[1];
      data.fill(0, arch.config.numClasses * width); // padding_idx row
    } else {
      const bound = 1 / Math.sqrt(p.fanIn);
      for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
    }
    values.set(p.name, data);
  });
  return values;
}

/** Our layout → PyTorch's (OIHW for conv2d; [out, in, 1] for conv1d is the same bytes). */
export function toTorchLayout(p: ParamSpec, data: Float32Array): Float32Array {
  if (p.kind !== 'conv2d') return data;
  const [kh, kw, cin, cout] = p.shape;
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = data[src + o];
      }
    }
  }
  return out;
}

/** PyTorch's layout → ours. */
export function fromTorchLayout(p: ParamSpec, data: Float32Array): Float32Array {
  if (p.kind !== 'conv2d') return data;
  const [kh, kw, cin, cout] = p.shape;
  const out = new Float32Array(data.length);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * cin + i) * cout + o] = data[((o * cin + i) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/** Checks that `values` has exactly the architecture's tensors with the right sizes. */
export function checkParamValues(arch: UNetArchitecture, values: ReadonlyMap<string, Float32Array>, source: string): void {
  const missing = arch.params.filter((p) => !values.has(p.name)).map((p) => p.name);
  const expected = new Set(arch.params.map((p) => p.name));
  const unexpected = [...values.keys()].filter((k) => !expected.has(k));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.length} tensor(s) (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  if (unexpected.length) problems.push(`unexpected ${unexpected.length} tensor(s) (${unexpected.slice(0, 3).join(', ')}${unexpected.length > 3 ? ', …' : ''})`);
  for (const p of arch.params) {
    const v = values.get(p.name);
    if (v && v.length !== size(p.shape)) problems.push(`${p.name} has ${v.length} values, expected ${size(p.shape)} (shape [${p.torchShape.join(', ')}])`);
  }
  if (problems.length) {
    throw new InputError(`${source} does not fit model configuration '${arch.config.name}': ${problems.join('; ')}`);
  }
}
