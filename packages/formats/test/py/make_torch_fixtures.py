"""Writes the torch checkpoint fixtures of test/fixtures/torch/ with real PyTorch, plus
expected.json: for every tensor in every file, its dotted key (as stateDictTensors names
it), dtype, shape, requires_grad and the hex of its elements in C order as our reader
returns them (float16/bfloat16 widened to float32 LE, bool as 0/1 bytes, others LE).

Usage: python3 make_torch_fixtures.py OUT_DIR
Needs torch (tested with Debian's python3-torch 1.13.1: run /usr/bin/python3) and numpy.
The committed fixtures let CI run without PyTorch; rerun this to regenerate them.

Every file is read back with torch.load before its expectations are recorded, so the
hand-built ones (a legacy storage view, a big-endian archive) are checked against torch
too (except big-endian, which torch 1.13 cannot read: it predates the byteorder record).
"""
import argparse
import collections
import io
import json
import os
import pickle
import sys
import zipfile

import numpy as np
import torch

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(20240611)
expected = {}


def elem_hex(t):
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    elif t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes().hex()


def flatten(obj, prefix, out):
    """Dotted keys as stateDictTensors builds them: dicts by key, lists/tuples by index."""
    if isinstance(obj, torch.Tensor):
        out[prefix] = dict(dtype=str(obj.dtype).replace('torch.', ''), shape=list(obj.shape),
                           requires_grad=obj.requires_grad, hex=elem_hex(obj))
        return
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif isinstance(obj, argparse.Namespace):
        items = vars(obj).items()
    else:
        return
    for k, v in items:
        flatten(v, f'{prefix}.{k}' if prefix else str(k), out)


def record(name, loaded_obj):
    tensors = {}
    flatten(loaded_obj, '', tensors)
    expected[name] = dict(tensors=tensors)


def save(name, obj, **kwargs):
    path = os.path.join(out_dir, name)
    torch.save(obj, path, **kwargs)
    record(name, torch.load(path))
    return path


# ---- every dtype, specials, 0-d and empty (zip format) ----
f16_specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 6.1e-5, float('inf'), float('-inf'), float('nan'), 0.1],
                            dtype=torch.float16)
bf16_specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.0e38, 1e-40, float('inf'), float('-inf'), float('nan'), 0.1],
                             dtype=torch.bfloat16)
save('dtypes.pth', {
    'f32': torch.randn(2, 3),
    'f64': torch.randn(3, 2, dtype=torch.float64) * 1e100,
    'f16': f16_specials,
    'bf16': bf16_specials,
    'f16_2d': torch.randn(3, 4).half(),
    'i64': torch.tensor([-2**63, -1, 0, 1, 2**53 + 1, 2**63 - 1], dtype=torch.int64),
    'i32': torch.tensor([[-2**31, 2**31 - 1], [0, 7]], dtype=torch.int32),
    'i16': torch.tensor([-32768, 32767, 5], dtype=torch.int16),
    'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
    'u8': torch.arange(0, 256, 51, dtype=torch.uint8),
    'bool': torch.tensor([[True, False], [False, True]]),
    'scalar_f32': torch.tensor(3.25),
    'scalar_i64': torch.tensor(-42),
    'empty_1d': torch.zeros(0),
    'empty_2d': torch.zeros(0, 3, dtype=torch.float64),
})

# ---- views: transposes, slices with offsets, steps, expand, shared storages ----
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
x = torch.arange(20, dtype=torch.float64)
ints = torch.arange(12, dtype=torch.int64).reshape(3, 4) - 6
half = torch.randn(4, 5).half()
views = {
    'base': base,
    't': base.t(),
    'slice': base[1:3, 2:5],
    'row': base[2],
    'step': base[:, ::2],
    'col': base[:, 4],
    'elem': base[3, 5],
    'permute': torch.arange(24, dtype=torch.float32).reshape(2, 3, 4).permute(2, 0, 1),
    'expand': torch.arange(3, dtype=torch.float32).expand(4, 3),
    'shared_a': x[:10],
    'shared_b': x[5:],
    'ints_t': ints.t(),
    'half_slice': half[1:, ::2].t(),
    'tied_a': base,  # the very same tensor object twice (weight tying)
}
views['tied_b'] = views['tied_a']
save('views.pth', views)

# ---- a module state_dict (OrderedDict with _metadata; BatchNorm's int64 counter) ----
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3, padding=1),
    torch.nn.BatchNorm2d(4),
    torch.nn.ReLU(),
    torch.nn.Flatten(),
    torch.nn.Linear(4 * 2 * 2, 3),
)
net.train()
net(torch.randn(2, 3, 2, 2))  # moves running stats and num_batches_tracked
save('state_dict.pth', net.state_dict())


# ---- a trainer-like checkpoint: EMA model, AdamW, Namespace args, NumPy values ----
class EMA(torch.nn.Module):
    """The shape of an EMA wrapper: the model as a submodule plus shadow copies."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        for i, p in enumerate(model.parameters()):
            self.register_buffer(f'shadow_{i}', p.detach().clone() * 0.5)


model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.SiLU(), torch.nn.Linear(4, 2))
opt = torch.optim.AdamW(model.parameters(), lr=2e-4, betas=(0.9, 0.95), weight_decay=0.01)
for _ in range(2):
    opt.zero_grad()
    model(torch.randn(5, 3)).pow(2).sum().backward()
    opt.step()
ema = EMA(model)
tagged = torch.ones(2)
tagged.note = 'python attribute'  # pickled through torch._tensor._rebuild_from_type_v2
trainer = {
    'model': ema.state_dict(),
    'optimizer': opt.state_dict(),
    'epoch': 7,
    'global_step': 2**40 + 3,
    'args': argparse.Namespace(dataset='cifar10', lr=2e-4, batch_size=64, use_ema=True, ode_method='midpoint',
                               ode_options={'step_size': None}, cfg_scale=0.3, class_drop_prob=0.2,
                               labels=[1, 6], betas=(0.9, 0.95), resume=None),
    'ema': {'decay': 0.9999, 'num_updates': 10,
            'shadow_params': [p.detach().clone() for p in model.parameters()], 'collected_params': None},
    'scaler': {'scale': 65536.0, 'growth_factor': 2.0, '_growth_tracker': 0},
    'metrics': {'loss': np.float64(0.25), 'step': np.int64(1000), 'fid': np.float32(3.5), 'best': np.bool_(True),
                'curve': np.array([[1.5, 2.5], [3.5, 4.5]])},
    'np_rng': np.random.RandomState(0).get_state(),
    'torch_rng': torch.get_rng_state()[:64].clone(),
    'param': torch.nn.Parameter(torch.full((2, 2), 0.5)),
    'grad_tensor': torch.zeros(3, requires_grad=True),
    'tagged': tagged,
    'device': torch.device('cuda', 0),
    'dtype': torch.float16,
    'size': torch.Size([2, 3]),
    'set': {1, 2, 3},
    'bytes': b'\x00\xffabc',
}
save('trainer.pth', trainer)

# pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, EMPTY_SET, ...)
save('protocol4.pth', {'w': torch.randn(2, 2), 'fs': frozenset([1]), 'set': {'a'}, 'big': 2**70, 'neg': -2**70,
                       'nested': [(1, 2.5, 'x'), {'k': None}]}, pickle_protocol=4)

# ---- the legacy (torch < 1.6) format ----
lbase = torch.arange(12, dtype=torch.float32).reshape(3, 4)
save('legacy.pth', {
    'state_dict': net.state_dict(),
    'f16': f16_specials,
    'i64': torch.tensor([-2**63, 5, 2**63 - 1]),
    'bool': torch.tensor([True, False, True]),
    'scalar': torch.tensor(1.5, dtype=torch.float64),
    'empty': torch.zeros(0, 2),
    'base': lbase,
    't': lbase.t(),
    'slice': lbase[1:, 1:3],
    'args': argparse.Namespace(lr=0.1, name='legacy'),
    'epoch': 3,
}, _use_new_zipfile_serialization=False)


# A legacy file whose pickle refers to storage *views* (view_metadata, torch < 0.4),
# built by hand with the real torch globals and checked with torch.load.
class _Storage:
    def __init__(self, pid):
        self.pid = pid


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None


def legacy_bytes(obj, storages):
    """torch's _legacy_save layout around `obj`; storages: key -> float32 numpy array."""
    f = io.BytesIO()
    for header in (0x1950a86a20f9469cfc6c, 1001,
                   dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))):
        pickle.dump(header, f, protocol=2)
    _LegacyPickler(f, protocol=2).dump(obj)
    keys = sorted(storages)
    pickle.dump(keys, f, protocol=2)
    for k in keys:
        a = storages[k].astype('<f4')
        f.write(np.int64(a.size).astype('<i8').tobytes())
        f.write(a.tobytes())
    return f.getvalue()


root = np.arange(10, dtype=np.float32) * 1.5
view_a = _Storage(('storage', torch.FloatStorage, 'root', 'cpu', 10, ('va', 2, 5)))
view_b = _Storage(('storage', torch.FloatStorage, 'root', 'cpu', 10, ('vb', 6, 4)))
whole = _Storage(('storage', torch.FloatStorage, 'root', 'cpu', 10, None))
path = os.path.join(out_dir, 'legacy_storage_views.pth')
with open(path, 'wb') as fh:
    fh.write(legacy_bytes({'a': _Tensor(view_a, 1, (2, 2), (1, 2)), 'b': _Tensor(view_b, 0, (4,), (1,)),
                           'whole': _Tensor(whole, 0, (10,), (1,))}, {'root': root}))
record('legacy_storage_views.pth', torch.load(path))


# A zip checkpoint as a big-endian machine writes it with torch >= 2.1: a 'byteorder'
# record saying 'big' and every storage byte-swapped. Derived from dtypes.pth.
def big_endian_copy(src_name, dst_name):
    src = zipfile.ZipFile(os.path.join(out_dir, src_name))
    # element size per storage key, from the pickle's persistent ids
    data_pkl = [n for n in src.namelist() if n.endswith('/data.pkl')][0]
    prefix = data_pkl[:-len('data.pkl')]
    elem = {}

    class _U(pickle.Unpickler):
        def persistent_load(self, pid):
            elem[pid[2]] = pid[1]().element_size()
            return None

        def find_class(self, module, name):
            if module == 'torch._utils':
                return lambda *a: None
            return super().find_class(module, name)

    _U(io.BytesIO(src.read(data_pkl))).load()
    dst_path = os.path.join(out_dir, dst_name)
    with zipfile.ZipFile(dst_path, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith(prefix + 'data/'):
                size = elem[info.filename[len(prefix + 'data/'):]]
                data = np.frombuffer(data, dtype=np.uint8).reshape(-1, size)[:, ::-1].tobytes() if data else data
            dst.writestr(info.filename.replace(prefix, 'archive/', 1), data)
        dst.writestr('archive/byteorder', 'big')
    expected[dst_name] = expected[src_name]


big_endian_copy('dtypes.pth', 'big_endian.pth')

with open(os.path.join(out_dir, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=1)  # insertion order = the order keys are read
    f.write('\n')
print(json.dumps({name: len(v['tensors']) for name, v in expected.items()}))
