"""Fixtures for the Inception-v3 FID feature network (test/inception.test.ts).

A PyTorch reimplementation of pytorch-fid's FID Inception (torchvision's Inception3 with
the FIDInceptionA / FIDInceptionC / FIDInceptionE_1 / FIDInceptionE_2 blocks, 1008 classes,
no aux logits), written here so that torchvision and pytorch-fid are not needed. Module
attribute names are torchvision's, so ``state_dict()`` has exactly the keys and shapes of
pytorch-fid's published ``pt_inception-2015-12-05-6726825d.pth``.

The network gets deterministic pseudo-weights from a formula that the TypeScript test
computes too (see ``formula_tensor``), runs in float32 on two deterministic 299x299 inputs,
and the pool3 features (2 x 2048) are written with the state-dict names and shapes:

    /usr/bin/python3 scripts/make_inception_fixtures.py

writes
    test/fixtures/inception/state_dict_shapes.json   [[name, [shape...]], ...] (state_dict order)
    test/fixtures/inception/features.npy             float32 (2, 2048)
    test/fixtures/inception/meta.json                parameter counts, torch version, checks
    src/inception/state-dict-shapes.ts               the same list as a TypeScript constant
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
FIX = os.path.join(PKG, 'test', 'fixtures', 'inception')


# ---------------------------------------------------------------- architecture (torchvision names)

class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class FIDInceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        # FID: TF's average pooling does not count the padding
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    def __init__(self, cin, channels_7x7):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class FIDInceptionE(nn.Module):
    """pool='avg': FIDInceptionE_1 (avg pool, count_include_pad=False); pool='max': FIDInceptionE_2."""

    def __init__(self, cin, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == 'avg':
            p = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        else:
            # FIDInceptionE_2: the TF graph has a max pool here (a bug in the TF model)
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(p)
        return torch.cat([b1, b3, bd, bp], 1)


class FIDInception3(nn.Module):
    """Attribute order as torchvision's Inception3 (aux_logits=False), so state_dict order matches."""

    def __init__(self, num_classes=1008):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, 'avg')
        self.Mixed_7c = FIDInceptionE(2048, 'max')
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout()
        self.fc = nn.Linear(2048, num_classes)

    def pool3(self, x):
        """pytorch-fid's InceptionV3 blocks 0-3 (output_blocks=[3]) on input already in [-1, 1]."""
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = self.maxpool1(x)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = self.maxpool2(x)
        for name in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e',
                     'Mixed_7a', 'Mixed_7b', 'Mixed_7c'):
            x = getattr(self, name)(x)
        return self.avgpool(x).flatten(1)


# ---------------------------------------------------------------- formula weights and inputs

def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def formula_tensor(name, shape):
    """The pseudo-weight formula (mirrored in test/inception.test.ts), in float64 then float32.

    h = (fnv1a32(name) mod 10007) / 1000, j = flat C-order index, s = sin(0.7 j + h):
      *.conv.weight       s * sqrt(2 / fan_in)       fan_in = in * kh * kw  (keeps activations O(1))
      *.bn.weight         1 + 0.2 s
      *.bn.bias           0.1 s + 0.05
      *.bn.running_mean   0.1 s
      *.bn.running_var    1 + 0.5 s^2               (> 0)
      anything else       0.01 s                    (fc.weight, fc.bias)
    """
    n = int(np.prod(shape)) if len(shape) else 1
    h = (fnv1a(name) % 10007) / 1000.0
    j = np.arange(n, dtype=np.float64)
    s = np.sin(0.7 * j + h)
    if name.endswith('.conv.weight'):
        fan_in = int(np.prod(shape[1:]))
        v = s * math.sqrt(2.0 / fan_in)
    elif name.endswith('.bn.weight'):
        v = 1 + 0.2 * s
    elif name.endswith('.bn.bias'):
        v = 0.1 * s + 0.05
    elif name.endswith('.bn.running_mean'):
        v = 0.1 * s
    elif name.endswith('.bn.running_var'):
        v = 1 + 0.5 * s * s
    else:
        v = 0.01 * s
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def formula_input(n):
    """Images in [-1, 1], NCHW float32 (mirrored in the test, which builds NHWC):
    x[b, c, y, x] = 0.95 * sin(0.031 (x + 1) (c + 1) + 0.047 y + 1.3 b + 0.5 c) * cos(0.013 (x - y) + 0.7 b)."""
    b, c, y, x = np.meshgrid(np.arange(n), np.arange(3), np.arange(299), np.arange(299), indexing='ij')
    v = 0.95 * np.sin(0.031 * (x + 1) * (c + 1) + 0.047 * y + 1.3 * b + 0.5 * c) * np.cos(0.013 * (x - y) + 0.7 * b)
    return torch.from_numpy(v.astype(np.float32))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = FIDInception3().eval()
    sd = model.state_dict()
    shapes = [[k, list(v.shape)] for k, v in sd.items() if not k.endswith('num_batches_tracked')]
    new_sd = {k: formula_tensor(k, list(v.shape)) if not k.endswith('num_batches_tracked') else v for k, v in sd.items()}
    model.load_state_dict(new_sd)

    feature_params = sum(p.numel() for k, p in model.named_parameters() if not k.startswith('fc.'))
    all_params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for k, b in model.named_buffers() if not k.endswith('num_batches_tracked'))

    x = formula_input(2)
    with torch.no_grad():
        feats = model.pool3(x).numpy().astype(np.float32)
        # the same in float64, to show the float32 rounding level of the reference itself
        feats64 = model.double().pool3(x.double()).numpy()
    rel32 = float(np.abs(feats - feats64).max() / np.abs(feats64).max())
    assert feats.shape == (2, 2048)

    os.makedirs(FIX, exist_ok=True)
    np.save(os.path.join(FIX, 'features.npy'), feats)
    with open(os.path.join(FIX, 'state_dict_shapes.json'), 'w') as f:
        f.write('[\n' + ',\n'.join(json.dumps(s) for s in shapes) + '\n]\n')
    meta = {
        'torch': torch.__version__,
        'feature_parameters': feature_params,
        'all_parameters_with_fc': all_params,
        'bn_buffers_running_stats': buffers,
        'state_dict_tensors': len(shapes),
        'features_max_abs': float(np.abs(feats).max()),
        'features_mean': float(feats.mean()),
        'features_fraction_zero': float((feats == 0).mean()),
        'float32_vs_float64_rel_err': rel32,
    }
    with open(os.path.join(FIX, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')

    lines = [
        '// Generated by scripts/make_inception_fixtures.py from a PyTorch module tree named as',
        "// torchvision's Inception3 with pytorch-fid's FID blocks (1008 classes, no aux logits):",
        "// the tensors of pytorch-fid's pt_inception-2015-12-05-6726825d.pth, in state_dict order",
        '// (num_batches_tracked omitted; ignored if present). Do not edit by hand.',
        f'// Feature part (all but fc): {feature_params} parameters (conv weights + BN weight/bias).',
        '',
        f'export const INCEPTION_FEATURE_PARAMETER_COUNT = {feature_params};',
        '',
        'export const INCEPTION_STATE_DICT_SHAPES: ReadonlyArray<readonly [name: string, shape: readonly number[]]> = [',
    ]
    for k, s in shapes:
        lines.append(f"  ['{k}', [{', '.join(str(d) for d in s)}]],")
    lines.append('];')
    with open(os.path.join(PKG, 'src', 'inception', 'state-dict-shapes.ts'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(json.dumps(meta, indent=2))


if __name__ == '__main__':
    main()
