"""Read an mmmi dataset (its shards, through the index `mmmi-generate index` writes) with NumPy.

    from mmmi_dataset import MmmiDataset
    data = MmmiDataset("out/simple_fig1_DAG.index.json")
    len(data)                   # draws in all shards
    x, theta, labels = data[i]  # x: (N_mod, 3, 32, 32) float32, theta: float, labels: (N_mod,) int32
    data.mi                     # {"I(X_1; θ)": 0.73, ...}, the exact MI table

    from mmmi_dataset import torch_dataset
    ds = torch_dataset("out/simple_fig1_DAG.index.json")   # a torch.utils.data.Dataset (needs torch)

Pure NumPy: each shard's X, Y and labels arrays are stored uncompressed in the .npz (np.savez),
so they are memory-mapped from their offsets inside the ZIP file and draw i is read without
loading a shard. `check=True` (the default) verifies each shard file's sha256 against the
index before first use. No code from the rest of the repository is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from typing import Any

import numpy as np

INDEX_FORMAT = "mmmi-dataset-index/1"
__all__ = ["MmmiDataset", "torch_dataset", "INDEX_FORMAT"]


def _member_array(path: str, name: str) -> np.ndarray:
    """Memory-map the stored (uncompressed) .npy member `name` of the .npz at `path`."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{path}: {name}.npy is compressed; mmmi shards store their arrays (np.savez)")
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"{path}: no local header for {name}.npy")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            f.seek(start)
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            data_start = f.tell()
    if fortran and len(shape) > 1:
        raise ValueError(f"{path}: {name}.npy is in Fortran order")
    return np.memmap(path, dtype=dtype, mode="r", offset=data_start, shape=shape)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class MmmiDataset:
    """The draws of every shard of an index, by global index (see the module docstring)."""

    def __init__(self, index_path: str, check: bool = True) -> None:
        with open(index_path, encoding="utf-8") as f:
            self.index: dict[str, Any] = json.load(f)
        if self.index.get("format") != INDEX_FORMAT:
            raise ValueError(f"{index_path}: format {self.index.get('format')!r}, expected {INDEX_FORMAT}")
        self.folder = os.path.dirname(os.path.abspath(index_path))
        self.check = check
        self.shards = self.index["shards"]
        self.offsets = np.array([s["offset"] for s in self.shards], dtype=np.int64)
        self._arrays: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        mi = self.index.get("mi")
        self.mi = dict(zip(mi["labels"], mi["values"])) if mi else {}

    def __len__(self) -> int:
        return int(self.index["count"])

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if k not in self._arrays:
            entry = self.shards[k]
            path = os.path.join(self.folder, entry["file"])
            if self.check:
                digest = _sha256(path)
                if digest != entry["sha256"]:
                    raise ValueError(f"{path}: sha256 {digest}, the index records {entry['sha256']}: the shard is corrupt or was replaced")
            arrays = (_member_array(path, "X"), _member_array(path, "Y"), _member_array(path, "labels"))
            if arrays[0].shape[0] != entry["count"]:
                raise ValueError(f"{path}: {arrays[0].shape[0]} draws, the index records {entry['count']}")
            self._arrays[k] = arrays
        return self._arrays[k]

    def locate(self, i: int) -> tuple[int, int]:
        """(shard, index inside it) of global draw i."""
        if not 0 <= i < len(self):
            raise IndexError(f"draw {i} is not in [0, {len(self)})")
        k = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return k, i - int(self.offsets[k])

    def __getitem__(self, i: int) -> tuple[np.ndarray, float, np.ndarray]:
        k, local = self.locate(int(i))
        x, y, labels = self._shard(k)
        return np.array(x[local]), float(y[local]), np.array(labels[local])


def torch_dataset(index_path: str, check: bool = True):
    """MmmiDataset as a torch.utils.data.Dataset of (x, theta, labels) tensors (needs torch)."""
    import torch  # optional: only this wrapper needs it

    class _TorchMmmi(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.data = MmmiDataset(index_path, check)

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, i: int):
            x, theta, labels = self.data[i]
            return torch.from_numpy(x), torch.tensor(theta, dtype=torch.float32), torch.from_numpy(labels)

    return _TorchMmmi()
