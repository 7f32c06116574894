"""Fixtures for the FID input path (quantize, TF1 bilinear resize, normalize).

Two references, computed independently of the TypeScript code:

  numpy  -- the TensorFlow 1.x resize_bilinear formula (align_corners=False, no half-pixel
            offset: source = dst * in/out, lo = floor, hi = min(lo + 1, in - 1)) written as
            interpolation MATRICES in float64: out = Wy @ image @ Wx^T per channel.
  torch  -- (when torch imports) torchmetrics' `(imgs * 255).byte()` followed by our own
            re-implementation of torch-fidelity's `interpolate_bilinear_2d_like_tensorflow1x`
            (method='slow', the one FeatureExtractorInceptionV3 uses) and `(x - 128) / 128`,
            in float32 on CPU, NCHW as torch-fidelity runs it.

Writes test/fixtures/preprocess.npz (compressed). Each case `<name>` has arrays
  <name>.input        float32 NHWC network-side input (values in [0,1] for 'preprocess'
                      cases, arbitrary floats for 'resize' cases)
  <name>.numpy        float64 reference (resize output, or normalized preprocess output)
  <name>.torch        float32 reference (same), absent without torch; for outputs over
                      100 000 values only its sha256 (<name>.torch_sha256, of the
                      little-endian float32 bytes), since it is expected bit-exact
and `cases` (unicode) lists "name:kind:outH:outW".

    /usr/bin/python3 scripts/make_preprocess_fixtures.py   (Debian's python3-torch 1.13)
"""
import hashlib
import os
import sys

import numpy as np

try:
    import torch
except Exception:  # noqa: BLE001
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'preprocess.npz')


# ---- NumPy: TF1 formula as interpolation matrices, float64 -------------------------
def tf1_matrix(in_size, out_size):
    # Sampling positions in float32, as the TF1 kernel computes them
    # (image_resizer_state.h: float scale = in / out; resize_bilinear_op.cc: float in = i * scale).
    w = np.zeros((out_size, in_size), dtype=np.float64)
    scale = np.float32(in_size) / np.float32(out_size)
    for i in range(out_size):
        src = np.float32(i) * scale
        lo = int(np.floor(src))
        hi = min(lo + 1, in_size - 1)
        t = float(src) - lo
        w[i, lo] += 1.0 - t
        w[i, hi] += t
    return w


def resize_numpy(img_nhwc, oh, ow):
    n, h, w, c = img_nhwc.shape
    wy = tf1_matrix(h, oh)
    wx = tf1_matrix(w, ow)
    x = img_nhwc.astype(np.float64)
    # out[b, i, j, k] = sum_{p,q} wy[i,p] x[b,p,q,k] wx[j,q]
    return np.einsum('ip,bpqk,jq->bijk', wy, x, wx)


def quantize_numpy(x01):
    # (x * 255) in float32, then truncation toward zero (torch .byte() on [0, 255])
    return np.trunc((x01.astype(np.float32) * np.float32(255)).astype(np.float32)).clip(0, 255)


def preprocess_numpy(x01, oh, ow):
    return (resize_numpy(quantize_numpy(x01), oh, ow) - 128.0) / 128.0


# ---- torch: torch-fidelity's slow path, re-implemented, float32 NCHW ----------------
def resize_torch(x_nchw, oh, ow):
    h, w = x_nchw.shape[2], x_nchw.shape[3]

    def axis(in_size, out_size):
        scale = in_size / out_size
        g = torch.arange(0, out_size, 1, dtype=x_nchw.dtype) * torch.tensor(scale, dtype=torch.float32)
        lo = g.long()
        hi = (lo + 1).clamp_max(in_size - 1)
        return lo, hi, g - lo.float()

    xlo, xhi, dx = axis(w, ow)
    ylo, yhi, dy = axis(h, oh)
    in_00 = x_nchw[:, :, ylo, :][:, :, :, xlo]
    in_01 = x_nchw[:, :, ylo, :][:, :, :, xhi]
    in_10 = x_nchw[:, :, yhi, :][:, :, :, xlo]
    in_11 = x_nchw[:, :, yhi, :][:, :, :, xhi]
    in_0 = in_00 + (in_01 - in_00) * dx.view(1, 1, 1, ow)
    in_1 = in_10 + (in_11 - in_10) * dx.view(1, 1, 1, ow)
    return in_0 + (in_1 - in_0) * dy.view(1, 1, oh, 1)


def nhwc_to_nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def nchw_to_nhwc(t):
    return np.ascontiguousarray(t.numpy().transpose(0, 2, 3, 1))


def resize_torch_nhwc(img_nhwc, oh, ow):
    return nchw_to_nhwc(resize_torch(nhwc_to_nchw(img_nhwc.astype(np.float32)), oh, ow))


def preprocess_torch_nhwc(x01, oh, ow):
    imgs = nhwc_to_nchw(x01.astype(np.float32))
    imgs = (imgs * 255).byte()                 # torchmetrics, normalize=True
    x = imgs.to(torch.float32)                 # torch-fidelity: x.to(internal dtype)
    x = resize_torch(x, oh, ow)
    x = (x - 128) / 128
    return nchw_to_nhwc(x)


def main():
    rng = np.random.default_rng(20151205)
    arrays = {}
    cases = []
    checks = []

    def add(name, kind, x, oh, ow):
        cases.append(f'{name}:{kind}:{oh}:{ow}')
        arrays[f'{name}.input'] = x.astype(np.float32)
        if kind == 'resize':
            ref = resize_numpy(x.astype(np.float32), oh, ow)
            tref = resize_torch_nhwc(x, oh, ow) if torch is not None else None
        else:
            ref = preprocess_numpy(x, oh, ow)
            tref = preprocess_torch_nhwc(x, oh, ow) if torch is not None else None
        # stored as float32 (to keep the fixture small): storage error <= 2^-24 relative
        arrays[f'{name}.numpy'] = ref.astype(np.float32)
        if tref is not None:
            if tref.size > 100_000:  # large outputs: bit-exact check by hash, plus the max deviation
                arrays[f'{name}.torch_sha256'] = np.array(hashlib.sha256(tref.astype('<f4').tobytes()).hexdigest())
            else:
                arrays[f'{name}.torch'] = tref
            checks.append((name, np.abs(tref - ref).max(), np.abs(tref - ref).max() / max(1.0, np.abs(ref).max())))

    # resize only, arbitrary float values (not just uint8 levels)
    add('up_4x5_to_7x3', 'resize', rng.uniform(0, 255, (2, 4, 5, 3)), 7, 3)
    add('down_10x7_to_3x4', 'resize', rng.uniform(-5, 260, (1, 10, 7, 3)), 3, 4)
    add('one_pixel_to_5x5', 'resize', rng.uniform(0, 255, (1, 1, 1, 3)), 5, 5)
    add('levels_17x23_to_41x29', 'resize', rng.integers(0, 256, (2, 17, 23, 3)).astype(np.float32), 41, 29)
    # the whole input path from floats in [0, 1]
    add('pre_random_32_to_299', 'preprocess', rng.random((1, 32, 32, 3), dtype=np.float32), 299, 299)
    levels = (np.arange(2 * 8 * 8 * 3) % 256).astype(np.float32).reshape(2, 8, 8, 3)
    add('pre_levels_div255_8_to_13', 'preprocess', (levels / np.float32(255)).astype(np.float32), 13, 13)
    tricky = np.array([0.0, 1.0, 0.2, 0.1, 0.7, 1 / 3, 2 / 3, 0.5, 0.999999, 1e-9, 0.00392156, 0.00392157],
                      dtype=np.float32)
    add('pre_tricky_2x2_to_3x3', 'preprocess', tricky.reshape(1, 2, 2, 3), 3, 3)

    # the two references must agree up to float32 arithmetic
    for name, d, rel in checks:
        print(f'{name}: max |torch - numpy| = {d:.3g} (relative to max(1, |ref|): {rel:.3g})', file=sys.stderr)
        assert rel < 1e-6, name
    arrays['cases'] = np.array(cases)
    np.savez_compressed(OUT, **arrays)
    print(f'wrote {OUT} ({"with" if torch is not None else "WITHOUT"} torch)', file=sys.stderr)


if __name__ == '__main__':
    main()
