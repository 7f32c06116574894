/**
 * The tensors a torch checkpoint reader returns, and how one is cut out of its storage.
 *
 * PyTorch saves a storage (a flat buffer) once and each tensor as a view of it: storage
 * offset, shape and strides, in elements. We materialise every view into its own fresh
 * C-contiguous typed array, so two tensors sharing one storage (or a transposed or
 * sliced view) come back as independent arrays, each with the values torch would show.
 *
 * Element types follow the .npy reader: 64-bit integers stay exact in a BigInt64Array;
 * bool is a Uint8Array of 0/1. JS has no 16-bit float array (Float16Array is not in
 * Node 20), so float16 and bfloat16 are widened to Float32Array, which is exact: every
 * half and bfloat16 value (NaN payloads included) is a float32 value.
 */

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface TorchDataMap {
  float32: Float32Array;
  float64: Float64Array;
  /** Widened exactly to float32. */
  float16: Float32Array;
  /** Widened exactly to float32. */
  bfloat16: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  /** One byte per element, 0 or 1. */
  bool: Uint8Array;
}

export type TorchData = TorchDataMap[TorchDtype];

/** Bytes per element as stored in the file. */
export const TORCH_ITEM_SIZE: Readonly<Record<TorchDtype, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Bytes per element once decoded (float16/bfloat16 grow to 4). */
export const TORCH_DECODED_SIZE: Readonly<Record<TorchDtype, number>> = { ...TORCH_ITEM_SIZE, float16: 4, bfloat16: 4 };

/** A dense tensor from a checkpoint. `data` holds its elements in C (row-major) order. */
export class TorchTensor<D extends TorchDtype = TorchDtype> {
  constructor(
    readonly dtype: D,
    /** Dimensions; [] for a 0-d (scalar) tensor, whose data has one element. */
    readonly shape: number[],
    public data: TorchDataMap[D],
    /** requires_grad as saved (true for nn.Parameters saved as such, false in a state_dict). */
    public requiresGrad: boolean,
  ) {}

  /** Number of elements (the product of the shape; 1 for a 0-d tensor). */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** Where a tensor's elements live: a storage's bytes and a strided view into them. */
export interface TensorView {
  /** The storage's bytes exactly as in the file (little- or big-endian). */
  storage: Uint8Array;
  bigEndian: boolean;
  dtype: TorchDtype;
  /** In elements, like shape and stride. */
  offset: number;
  shape: readonly number[];
  stride: readonly number[];
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Copy the view's elements into a fresh C-ordered byte buffer. Elements are moved as
 * whole 1/2/4-byte words (8-byte items as two words) so float bit patterns survive.
 */
function gather(view: TensorView, count: number): Uint8Array {
  const size = TORCH_ITEM_SIZE[view.dtype];
  const out = new Uint8Array(count * size);
  if (count === 0) return out;
  const { shape, stride } = view;
  if (isContiguous(shape, stride)) {
    out.set(view.storage.subarray(view.offset * size, (view.offset + count) * size));
    return out;
  }
  let src = view.storage;
  const wordSize = Math.min(size, 4);
  if (src.byteOffset % wordSize !== 0) src = new Uint8Array(src); // align by copying
  const W = wordSize === 1 ? Uint8Array : wordSize === 2 ? Uint16Array : Uint32Array;
  const words = size / wordSize;
  const from = new W(src.buffer as ArrayBuffer, src.byteOffset, src.byteLength / wordSize);
  const to = new W(out.buffer);
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  const last = n - 1;
  const innerLen = shape[last];
  const innerStep = stride[last] * words;
  let base = view.offset * words; // word offset of the current row's first element
  for (let o = 0; o < count * words;) {
    for (let j = 0, s = base; j < innerLen; j++, s += innerStep) {
      for (let w = 0; w < words; w++) to[o++] = from[s + w];
    }
    // advance the odometer over all but the last axis
    for (let ax = last - 1; ax >= 0; ax--) {
      base += stride[ax] * words;
      if (++idx[ax] < shape[ax]) break;
      base -= stride[ax] * words * shape[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

function byteswapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** IEEE half → float32 bit pattern, exactly (subnormals normalised, NaN payload kept). */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return sign | 0x7f800000 | (mant << 13);
  if (exp !== 0) return sign | ((exp + 112) << 23) | (mant << 13);
  if (mant === 0) return sign;
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return sign | (e << 23) | ((mant & 0x3ff) << 13);
}

function decode(dtype: TorchDtype, raw: Uint8Array): TorchData {
  switch (dtype) {
    case 'float16':
    case 'bfloat16': {
      const halves = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
      const bits = new Uint32Array(halves.length);
      if (dtype === 'bfloat16') for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
      else for (let i = 0; i < halves.length; i++) bits[i] = halfToFloatBits(halves[i]);
      return new Float32Array(bits.buffer);
    }
    case 'bool':
      for (let i = 0; i < raw.length; i++) raw[i] = raw[i] === 0 ? 0 : 1;
      return raw;
    case 'float32':
      return new Float32Array(raw.buffer);
    case 'float64':
      return new Float64Array(raw.buffer);
    case 'int64':
      return new BigInt64Array(raw.buffer);
    case 'int32':
      return new Int32Array(raw.buffer);
    case 'int16':
      return new Int16Array(raw.buffer);
    case 'int8':
      return new Int8Array(raw.buffer);
    case 'uint8':
      return raw;
  }
}

/**
 * The view's elements as a fresh typed array. The caller has checked that the view lies
 * within the storage (see viewExtent) and that the output size is acceptable.
 */
export function materialise(view: TensorView): TorchData {
  const count = view.shape.reduce((a, b) => a * b, 1);
  const raw = gather(view, count);
  if (view.bigEndian) byteswapInPlace(raw, TORCH_ITEM_SIZE[view.dtype]);
  return decode(view.dtype, raw);
}

/**
 * Elements of storage a view touches: 1 + offset + Σ (shape_i − 1)·stride_i, or 0 for an
 * empty view (which reads nothing). May exceed 2^53 for absurd inputs; callers compare.
 */
export function viewExtent(offset: number, shape: readonly number[], stride: readonly number[]): number {
  if (shape.some((d) => d === 0)) return 0;
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  return last + 1;
}
