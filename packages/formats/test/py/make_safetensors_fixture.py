"""Writes the safetensors fixtures of test/fixtures/safetensors/ by hand, following the
format's specification (https://github.com/huggingface/safetensors, "Format"), with only
numpy, json and struct: the `safetensors` package is deliberately not used, so this is
an independent implementation for the TypeScript reader to be checked against.

  golden.safetensors   every dtype the reader supports, odd shapes, a 0-d scalar, empty
                       tensors, a non-ASCII and an integer-like name, __metadata__, header
                       padded with spaces to a multiple of 8 as the official writer does
  expected.json        per tensor: dtype, shape, the raw little-endian bytes as hex, and
                       for F16/BF16 the values widened to float32 by numpy (hex); the
                       metadata; the tensor order in the file
  f16_rounding.safetensors
                       'input' (F32) and 'numpy' (F16): numpy's astype(np.float16) of a
                       few thousand awkward float32 values (ties, subnormals, overflow,
                       random bit patterns), the golden for float32ToFloat16

Usage: python3 make_safetensors_fixture.py OUT_DIR
Layout as the official writer: tensors sorted by descending dtype alignment (the order of
its Dtype enum) then by name; compact JSON, __metadata__ first; header padded to 8 bytes.
"""
import json
import os
import struct
import sys

import numpy as np

# The official Dtype enum order ("increasing alignment"); the writer sorts descending.
DTYPE_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16',
               'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
NUMPY = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': '<u2', 'I64': '<i8', 'I32': '<i4',
         'I16': '<i2', 'I8': 'i1', 'U8': 'u1', 'BOOL': '?'}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype, numpy array whose bytes are the C-order little-endian data)."""
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(kv[1][0]), kv[0].encode('utf-8')))
    parts = []
    if metadata is not None:
        meta = {k: metadata[k] for k in sorted(metadata, key=lambda k: k.encode('utf-8'))}
        parts.append((json.dumps('__metadata__'), json.dumps(meta, separators=(',', ':'), ensure_ascii=False)))
    offset = 0
    blobs = []
    for name, (dtype, a) in items:
        raw = np.ascontiguousarray(a, dtype=np.dtype(NUMPY[dtype])).tobytes()
        info = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
        parts.append((json.dumps(name, ensure_ascii=False), json.dumps(info, separators=(',', ':'))))
        offset += len(raw)
        blobs.append(raw)
    # joined by hand so the key order is exactly ours
    header = ('{' + ','.join(f'{k}:{v}' for k, v in parts) + '}').encode('utf-8')
    header += b' ' * (-len(header) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(header)))
        f.write(header)
        for raw in blobs:
            f.write(raw)
    return [name for name, _ in items]


def to_bf16(a):
    """float32 -> bfloat16 bit patterns, round to nearest even (NaN kept quiet)."""
    u = np.asarray(a, dtype='<f4').view('<u4').astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype='<f4'))
    r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def golden(out_dir, rng):
    f16_special = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 6.103515625e-05,  # smallest normal
                            5.960464477539063e-08, 3.0e-07, np.inf, -np.inf, np.nan], dtype='<f2')
    bf16_src = np.array([1.0, -3.140625, 1e-40, 3.0e38, -0.0, np.inf, np.nan], dtype='<f4')
    tensors = {
        'model.weight': ('F32', (rng.standard_normal((3, 5)) * 10).astype('<f4')),
        'model.bias': ('F32', np.array([1.5, -2.25, 3.0e-39, np.float32(np.finfo(np.float32).max), np.nan], dtype='<f4')),
        'scalar': ('F32', np.array(np.float32(-7.25))),
        'empty': ('F32', np.zeros((0, 3), dtype='<f4')),
        'f64.special': ('F64', np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max,
                                         np.pi, 1 / 3, 0.1 + 0.2], dtype='<f8').reshape(3, 3)),
        'θ.non_ascii': ('F64', np.array([2.718281828459045], dtype='<f8')),
        'half': ('F16', f16_special.reshape(2, 3, 2)),
        'half.random': ('F16', rng.standard_normal(7).astype('<f2')),
        'bf16': ('BF16', to_bf16(bf16_src)),
        'steps': ('I64', np.array([-2**63, -1, 0, 2**53 + 1, 2**63 - 1], dtype='<i8')),
        'labels': ('I32', rng.integers(-2**31, 2**31, (2, 1, 3), dtype='<i4')),
        'i16': ('I16', np.array([-32768, -1, 0, 32767, 1234], dtype='<i2')),
        'i8.empty': ('I8', np.zeros((2, 0), dtype='i1')),
        '0': ('I8', np.array([-128, -1, 0, 127], dtype='i1')),
        'pixels': ('U8', np.arange(24, dtype='u1').reshape(2, 3, 4) * 10),
        'mask': ('BOOL', rng.random((2, 5)) > 0.5),
        'mask.scalar': ('BOOL', np.array(True)),
    }
    metadata = {'format': 'pt', 'note': 'written by make_safetensors_fixture.py', 'ünïcode': '✓ "quoted"'}
    order = write_safetensors(os.path.join(out_dir, 'golden.safetensors'), tensors, metadata)
    expected = {'metadata': metadata, 'order': order, 'tensors': {}}
    for name, (dtype, a) in tensors.items():
        e = {'dtype': dtype, 'shape': list(a.shape), 'hex': np.ascontiguousarray(a, dtype=NUMPY[dtype]).tobytes().hex()}
        if dtype == 'F16':
            e['f32hex'] = a.astype('<f4').tobytes().hex()
        if dtype == 'BF16':
            e['f32hex'] = (a.astype('<u4') << 16).astype('<u4').tobytes().hex()
        expected['tensors'][name] = e
    with open(os.path.join(out_dir, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write('\n')


def f16_rounding(out_dir, rng):
    n = 1024
    # every finite half and its successor: the midpoints are exact ties in float32
    h = rng.integers(0, 0x7BFF, n, dtype=np.uint16)
    lo = h.view('<f2').astype(np.float64)
    hi = (h + 1).view('<f2').astype(np.float64)
    ties = ((lo + hi) / 2).astype('<f4')
    near = np.concatenate([np.nextafter(ties[: n // 2], np.float32(np.inf)),
                           np.nextafter(ties[n // 2:], np.float32(0))]).astype('<f4')
    logu = (2.0 ** rng.uniform(-27, 17, n) * rng.choice([-1, 1], n)).astype('<f4')
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype('<u4').view('<f4')
    special = np.array([0.0, -0.0, 65504.0, 65519.996, 65520.0, -65520.0, 65536.0, 1e10, 2.0 ** -24, 2.0 ** -25,
                        -(2.0 ** -25), 2.0 ** -25 * 1.0000001, 3 * 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25,
                        1.401298464324817e-45, np.inf, -np.inf, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11], dtype='<f4')
    inputs = np.concatenate([special, ties, near, logu, -ties[:100], bits]).astype('<f4')
    sign = np.where(rng.random(len(inputs)) < 0.5, -1, 1).astype('<f4')
    inputs[len(special):len(special) + 2 * n] *= sign[len(special):len(special) + 2 * n]
    with np.errstate(all='ignore'):
        out = inputs.astype('<f2')
    write_safetensors(os.path.join(out_dir, 'f16_rounding.safetensors'),
                      {'input': ('F32', inputs), 'numpy': ('F16', out)}, {'numpy': np.__version__})


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    golden(out_dir, rng)
    f16_rounding(out_dir, rng)


if __name__ == '__main__':
    main()
