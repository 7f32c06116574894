"""Read an mmmi dataset (a folder, its index `mmmi-generate index` writes, or one shard) with NumPy.

    from mmmi_dataset import MmmiDataset, MmmiDatasetError
    data = MmmiDataset("out/simple_fig1_DAG.index.json")   # or "out/" or "out/simple_fig1_DAG_0.npz"
    len(data)                   # draws in all shards
    x, theta, labels = data[i]  # x: (N_mod, 3, 32, 32) float32, theta: float (the stored float32), labels: (N_mod,) int32
    data.mi                     # {"I(X_1; θ)": 0.73, ...}, the exact MI table

    from mmmi_dataset import TorchDataset   # a map-style dataset for torch.utils.data.DataLoader (needs torch)
    loader = DataLoader(TorchDataset("out/"), batch_size=64, num_workers=4)

    python3 -m mmmi_dataset info <folder | index | shard>   # checks every shard, prints a summary

What it opens, as the TypeScript `--data` does: a `<name>.index.json`; a shard `.npz` with its
`<name>.manifest.json` beside it; a folder holding one index (used), or no index and one shard
with its manifest. A folder with several indexes, or several shards and no index, is refused
with the fix (name one; `mmmi-generate index <folder>`).

Checks, each refusal one `MmmiDatasetError` (a ValueError) whose message names the file and
the cause: the index or manifest is readable and well formed; each shard exists, is the size
the index (or manifest) records and, with `check=True` (the default), has its sha256 (both
values given when not); it is a complete ZIP holding uncompressed X, Y and labels; their dtypes
are the documented ones (float32, float32, int32; SPEC §5) and those the manifest records, and
their shapes agree with the index. Shards are opened lazily, on the first draw read from them.

Pure NumPy: the arrays are stored uncompressed in the .npz (np.savez), so they are
memory-mapped from their offsets inside the ZIP file and draw i is read without loading a
shard. A dataset pickles as its paths and parsed index, never its open arrays, so DataLoader
workers (fork or spawn) each open the shards themselves; a shard the parent had already
checked is not hashed again in a worker while its file is unchanged (device, inode, size,
mtime). No code from the rest of the repository is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import zipfile
from typing import Any

import numpy as np

INDEX_FORMAT = "mmmi-dataset-index/1"
MANIFEST_FORMAT = "mmmi-dataset-manifest/1"
#: The dtypes SPEC §5 documents for the arrays a draw is read from (little-endian, as np.savez writes them).
DTYPES = {"X": "<f4", "Y": "<f4", "labels": "<i4"}
__all__ = ["MmmiDataset", "MmmiDatasetError", "TorchDataset", "torch_dataset", "resolve_source", "INDEX_FORMAT", "DTYPES"]


class MmmiDatasetError(ValueError):
    """A dataset that cannot be read as documented; the message names the file and the cause."""


def _dtype_text(dtype: np.dtype | str) -> str:
    d = np.dtype(dtype)
    return f"{d.name} ({d.str})"


def _os_error(path: str, e: OSError, what: str) -> MmmiDatasetError:
    cause = e.strerror or str(e)
    return MmmiDatasetError(f"{path}: cannot read the {what}: {cause}")


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise MmmiDatasetError(f"{path}: no such {what}") from None
    except OSError as e:
        raise _os_error(path, e, what) from None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MmmiDatasetError(f"{path}: not a readable {what} (not UTF-8 JSON: {e})") from None
    if not isinstance(value, dict):
        raise MmmiDatasetError(f"{path}: not a readable {what} (a JSON {type(value).__name__}, not an object)")
    return value


def _file_name(value: Any, where: str, what: str) -> str:
    """A file name in the index's (or manifest's) folder: no separators, no traversal."""
    if not isinstance(value, str) or not value or value in (".", "..") or "/" in value or "\\" in value or "\0" in value:
        raise MmmiDatasetError(f"{where}: {what} {value!r} is not a file name in its folder (no path separators or '..')")
    return value


def _count(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MmmiDatasetError(f"{where}: {what} is {value!r}, not a non-negative integer")
    return value


def resolve_source(path: str) -> tuple[str, str]:
    """('index' | 'shard', file) for a folder, an index or a shard, as the TypeScript `--data` resolves it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        kind = "target of this symbolic link (dangling or a loop)" if os.path.islink(path) else "such dataset folder, index or shard"
        raise MmmiDatasetError(f"{path}: no {kind}")
    if not os.path.isdir(path):
        if path.endswith(".index.json"):
            return "index", path
        if path.endswith(".npz"):
            return "shard", path
        raise MmmiDatasetError(f"{path}: expected a dataset folder, a <name>.index.json or a .npz shard")
    try:
        files = sorted(os.listdir(path))
    except OSError as e:
        raise _os_error(path, e, "dataset folder") from None
    indexes = [f for f in files if f.endswith(".index.json")]
    if len(indexes) == 1:
        return "index", os.path.join(path, indexes[0])
    if len(indexes) > 1:
        raise MmmiDatasetError(f"{path} holds several dataset indexes ({', '.join(indexes)}): name one")
    npz = [f for f in files if f.endswith(".npz")]
    shards = [f for f in npz if f[: -len(".npz")] + ".manifest.json" in files]
    if len(shards) == 1:
        return "shard", os.path.join(path, shards[0])
    if len(shards) > 1:
        raise MmmiDatasetError(
            f"{path} holds {len(shards)} shards and no index: run `mmmi-generate index {path}` to read them as one dataset, or name one shard"
        )
    if npz:
        raise MmmiDatasetError(f"{path}: no manifest beside {', '.join(npz)} (<name>.manifest.json, written with each shard); name a shard that has one")
    raise MmmiDatasetError(f"{path}: no dataset shard (.npz with its .manifest.json) or index in this folder")


def _member_array(path: str, z: zipfile.ZipFile, size: int, name: str) -> np.ndarray:
    """Memory-map the stored (uncompressed) .npy member `name` of the .npz at `path`, checking its header."""
    try:
        info = z.getinfo(f"{name}.npy")
    except KeyError:
        raise MmmiDatasetError(f"{path}: no '{name}' array — not an mmmi dataset shard") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise MmmiDatasetError(f"{path}: array '{name}' is compressed (np.savez_compressed); mmmi shards store their arrays uncompressed (np.savez)")
    try:
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise MmmiDatasetError(f"{path}: array '{name}': no ZIP entry header at offset {info.header_offset} (a damaged file)")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            entry_start = info.header_offset + 30 + name_len + extra_len
            f.seek(entry_start)
            try:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(f)
            except ValueError as e:
                raise MmmiDatasetError(f"{path}: array '{name}' has no readable .npy header ({e})") from None
            data_start = f.tell()
    except OSError as e:
        raise _os_error(path, e, "shard") from None
    if fortran and len(shape) > 1:
        raise MmmiDatasetError(f"{path}: array '{name}' is in Fortran order; mmmi shards store C order")
    if dtype.hasobject:
        raise MmmiDatasetError(f"{path}: array '{name}' holds Python objects (dtype {dtype}), not numbers")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    entry_end = entry_start + info.file_size
    if data_start + nbytes > entry_end or entry_end > size:
        raise MmmiDatasetError(
            f"{path}: array '{name}' needs {nbytes} bytes from offset {data_start}, the file holds {max(0, min(entry_end, size) - data_start)}: a truncated or damaged shard"
        )
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=data_start, shape=shape)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise _os_error(path, e, "shard") from None
    return h.hexdigest()


def _stamp(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class MmmiDataset:
    """The draws of a dataset (every shard of an index, or one shard) by global index; see the module docstring."""

    def __init__(self, path: str, check: bool = True) -> None:
        self.source = os.fspath(path)
        self.check = bool(check)
        self.kind, self.file = resolve_source(self.source)
        self.folder = os.path.dirname(os.path.abspath(self.file))
        self.index: dict[str, Any] = self._read_index(self.file) if self.kind == "index" else self._index_of_shard(self.file)
        self.shards: list[dict[str, Any]] = self.index["shards"]
        self.offsets = np.array([s["offset"] for s in self.shards], dtype=np.int64)
        mi = self.index.get("mi")
        self.mi: dict[str, float] = dict(zip(mi["labels"], mi["values"])) if isinstance(mi, dict) and "labels" in mi and "values" in mi else {}
        self.name: str = str(self.index.get("dataset", ""))
        self._arrays: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        # shard → its file's stamp when it passed every check (carried to DataLoader workers)
        self._verified: dict[int, tuple[int, int, int, int, int]] = {}

    # -- what the dataset is -------------------------------------------------------------

    @staticmethod
    def _read_index(path: str) -> dict[str, Any]:
        index = _read_json(path, "dataset index")
        if index.get("format") != INDEX_FORMAT:
            raise MmmiDatasetError(f"{path}: format {index.get('format')!r}, expected {INDEX_FORMAT!r} — not a dataset index (make one with `mmmi-generate index <folder>`)")
        shards = index.get("shards")
        if not isinstance(shards, list) or not shards:
            raise MmmiDatasetError(f"{path}: the index lists no shards")
        for key in ("n_mod", "mod_dim", "count"):
            _count(index.get(key), path, f"'{key}'")
        offset = 0
        for k, s in enumerate(shards):
            where = f"{path}: shard {k}"
            if not isinstance(s, dict):
                raise MmmiDatasetError(f"{where} is not an object")
            _file_name(s.get("file"), path, f"shard {k}'s file")
            if s.get("manifest") is not None:
                _file_name(s.get("manifest"), path, f"shard {k}'s manifest")
            _count(s.get("count"), path, f"shard {k}'s 'count'")
            _count(s.get("bytes"), path, f"shard {k}'s 'bytes'")
            sha = s.get("sha256")
            if not isinstance(sha, str) or len(sha) != 64:
                raise MmmiDatasetError(f"{where} ({s['file']}): 'sha256' is {sha!r}, not a 64-digit hex digest")
            if s.get("offset") != offset:
                raise MmmiDatasetError(f"{where} ({s['file']}): offset {s.get('offset')!r}, the counts before it add up to {offset}")
            offset += s["count"]
        if offset != index["count"]:
            raise MmmiDatasetError(f"{path}: 'count' is {index['count']}, its shards hold {offset}")
        return index

    @staticmethod
    def _index_of_shard(path: str) -> dict[str, Any]:
        """A one-shard index from the manifest beside the shard."""
        manifest_path = path[: -len(".npz")] + ".manifest.json"
        if not os.path.exists(manifest_path):
            raise MmmiDatasetError(
                f"{path}: no manifest beside the shard ({os.path.basename(manifest_path)}); it records the shard's sha256, dtypes and MI table (regenerate the shard with mmmi-generate)"
            )
        m = _read_json(manifest_path, "shard manifest")
        if m.get("format") != MANIFEST_FORMAT:
            raise MmmiDatasetError(f"{manifest_path}: format {m.get('format')!r}, expected {MANIFEST_FORMAT!r} — not an mmmi shard manifest")
        f = m.get("file")
        latent = m.get("latent")
        if not isinstance(f, dict) or not isinstance(latent, dict):
            raise MmmiDatasetError(f"{manifest_path}: a manifest without its 'file' or 'latent' record")
        sha = f.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise MmmiDatasetError(f"{manifest_path}: 'file.sha256' is {sha!r}, not a 64-digit hex digest")
        count = _count(m.get("count"), manifest_path, "'count'")
        args = m.get("arguments") if isinstance(m.get("arguments"), dict) else {}
        return {
            "format": INDEX_FORMAT,
            "dataset": str(args.get("dataset_name", os.path.basename(path)[: -len(".npz")])),
            "count": count,
            "n_mod": _count(latent.get("n_mod"), manifest_path, "'latent.n_mod'"),
            "mod_dim": _count(latent.get("mod_dim"), manifest_path, "'latent.mod_dim'"),
            "shards": [
                {
                    "file": os.path.basename(path),
                    "manifest": os.path.basename(manifest_path),
                    "count": count,
                    "offset": 0,
                    "sha256": sha,
                    "bytes": _count(f.get("bytes"), manifest_path, "'file.bytes'"),
                }
            ],
            "mi": m.get("mi"),
        }

    def __len__(self) -> int:
        return int(self.index["count"])

    def __repr__(self) -> str:
        return f"MmmiDataset({self.file!r}: {len(self)} draws of {self.name!r} in {len(self.shards)} shard(s))"

    # -- pickling: paths and the parsed index, never open arrays ---------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- shards --------------------------------------------------------------------------

    def _manifest_dtypes(self, k: int) -> tuple[str | None, dict[str, str]]:
        """The shard's manifest path and the dtypes it records for X, Y and labels (where it has one)."""
        name = self.shards[k].get("manifest")
        if not name:
            return None, {}
        path = os.path.join(self.folder, name)
        if self.kind == "index" and not os.path.exists(path):
            return None, {}  # the index carries the sha256; its manifests are optional here
        m = _read_json(path, "shard manifest")
        arrays = m.get("arrays") if isinstance(m.get("arrays"), dict) else {}
        out: dict[str, str] = {}
        for key in DTYPES:
            dtype = arrays.get(key, {}).get("dtype") if isinstance(arrays.get(key), dict) else None
            if dtype is not None:
                try:
                    out[key] = np.dtype(dtype).str
                except TypeError:
                    raise MmmiDatasetError(f"{path}: array '{key}' has the unknown dtype {dtype!r}") from None
        return path, out

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arrays = self._arrays.get(k)
        if arrays is None:
            arrays = self._arrays[k] = self._open_shard(k)
        return arrays

    def _open_shard(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        entry = self.shards[k]
        path = os.path.join(self.folder, entry["file"])
        records = "the index records" if self.kind == "index" else "its manifest records"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise MmmiDatasetError(f"{path}: no such shard ({records} it{f' in {self.file}' if self.kind == 'index' else ''})") from None
        except OSError as e:
            raise _os_error(path, e, "shard") from None
        if not os.path.isfile(path):
            raise MmmiDatasetError(f"{path}: not a file")
        size = "" if st.st_size == entry["bytes"] else f"size {st.st_size} bytes, {records} {entry['bytes']}"
        if self.check and (size or self._verified.get(k) != _stamp(st)):
            digest = _sha256(path)
            if digest != entry["sha256"] or size:
                raise MmmiDatasetError(
                    f"{path}: sha256 {digest}, {records} {entry['sha256']}: the shard is corrupt or was replaced{f' ({size})' if size else ''}"
                )
        if size:
            raise MmmiDatasetError(f"{path}: {size}: the shard is truncated or was replaced")
        manifest_path, documented = self._manifest_dtypes(k)
        try:
            with zipfile.ZipFile(path) as z:
                x, y, labels = (_member_array(path, z, st.st_size, key) for key in ("X", "Y", "labels"))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
            raise MmmiDatasetError(f"{path}: not a complete .npz (ZIP) file ({e}): truncated, damaged or not a shard") from None
        except OSError as e:
            raise _os_error(path, e, "shard") from None
        for key, a in (("X", x), ("Y", y), ("labels", labels)):
            if manifest_path and key in documented and a.dtype.str != documented[key]:
                raise MmmiDatasetError(f"{path}: array '{key}' is {_dtype_text(a.dtype)}, the manifest {manifest_path} records {_dtype_text(documented[key])}")
            if a.dtype.str != DTYPES[key]:
                raise MmmiDatasetError(f"{path}: array '{key}' is {_dtype_text(a.dtype)}, the documented dtype is {_dtype_text(DTYPES[key])} (SPEC §5)")
        n, n_mod, mod_dim = entry["count"], self.index["n_mod"], self.index["mod_dim"]
        described = "the index" if self.kind == "index" else "the manifest"
        expect = {
            "X": f"({n}, {n_mod}, …) with {mod_dim} values per image",
            "Y": f"({n},)",
            "labels": f"({n}, {n_mod})",
        }
        ok = {
            "X": x.ndim >= 2 and x.shape[:2] == (n, n_mod) and int(np.prod(x.shape[2:], dtype=np.int64)) == mod_dim,
            "Y": y.shape == (n,),
            "labels": labels.shape == (n, n_mod),
        }
        for key, a in (("X", x), ("Y", y), ("labels", labels)):
            if not ok[key]:
                raise MmmiDatasetError(f"{path}: array '{key}' has shape {tuple(a.shape)}, {described} describes {expect[key]}")
        self._verified[k] = _stamp(st)
        return x, y, labels

    def verify(self) -> None:
        """Opens (and, with check=True, hashes) every shard now: each check of the module docstring, for all of them."""
        for k in range(len(self.shards)):
            self._shard(k)

    def locate(self, i: int) -> tuple[int, int]:
        """(shard, index inside it) of global draw i (negative i counts from the end)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"draw {i} is not in [0, {n})")
        if i < 0:
            i += n
        k = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return k, i - int(self.offsets[k])

    def __getitem__(self, i: int) -> tuple[np.ndarray, float, np.ndarray]:
        k, local = self.locate(int(i))
        x, y, labels = self._shard(k)
        return np.array(x[local]), float(y[local]), np.array(labels[local])


class TorchDataset(MmmiDataset):
    """MmmiDataset as a map-style PyTorch dataset of (x float32, θ float32, labels int32) tensors.

    Module-level and picklable (paths and the parsed index; each DataLoader worker opens the
    shards itself), so it works with any start method, spawn included. It implements the
    map-style protocol (`__len__`, `__getitem__`) that DataLoader, Subset and random_split use;
    torch is imported when it is made, not with this module."""

    def __init__(self, path: str, check: bool = True) -> None:
        try:
            import torch  # noqa: F401  (optional: only this class needs it)
        except ImportError as e:
            raise ImportError(f"TorchDataset needs PyTorch ({e}): pip install torch, or apt-get install python3-torch") from None
        super().__init__(path, check)

    def __getitem__(self, i: int):  # type: ignore[override]
        import torch

        x, theta, labels = super().__getitem__(i)
        return torch.from_numpy(x), torch.tensor(theta, dtype=torch.float32), torch.from_numpy(labels)


def torch_dataset(path: str, check: bool = True) -> TorchDataset:
    """TorchDataset(path, check): a folder, an index or a shard as a PyTorch dataset (needs torch)."""
    return TorchDataset(path, check)


USAGE = "usage: python3 -m mmmi_dataset info <dataset folder | <name>.index.json | shard .npz> [--no-check]"


def _info(data: MmmiDataset) -> str:
    x, y, labels = data._shard(0)
    lines = [
        f"{data.name}: {len(data)} draws in {len(data.shards)} shard{'s' if len(data.shards) != 1 else ''} ({data.kind} {data.file})",
        f"draw: x {tuple(x.shape[1:])} {x.dtype.name}, theta {y.dtype.name} (a Python float), labels {tuple(labels.shape[1:])} {labels.dtype.name}",
        f"checked: {'size and sha256' if data.check else 'size (not the sha256: --no-check)'}, arrays, dtypes and shapes of every shard",
    ]
    for s in data.shards:
        lines.append(f"  {s['file']}: draws {s['offset']}…{s['offset'] + s['count'] - 1}, {s['bytes']} bytes")
    if data.mi:
        lines.append("MI (nats): " + ", ".join(f"{k} = {v:.4f}" for k, v in data.mi.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    check = "--no-check" not in args
    rest = [a for a in args if a != "--no-check"]
    if len(rest) != 2 or rest[0] != "info":
        print(f"mmmi_dataset: {USAGE}", file=sys.stderr)
        return 2
    try:
        data = MmmiDataset(rest[1], check=check)
        data.verify()
        print(_info(data))
    except MmmiDatasetError as e:
        print(f"mmmi_dataset: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
