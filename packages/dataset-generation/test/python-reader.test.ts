/**
 * python/mmmi_dataset.py against NumPy's own reading of the shards (np.load), on tiny model-free
 * datasets made here by the TypeScript generator: what it opens (a folder, an index, a shard),
 * what it refuses (one MmmiDatasetError naming the file and the cause), its CLI, its pickling,
 * and its PyTorch dataset under a spawn-based DataLoader with 2 workers (needs torch: Debian's
 * python3-torch, which .ci/run installs).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasNumpy, hasTorch, pythonCommand, runPython } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/generate.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const pythonDir = join(repo, 'packages/dataset-generation/python');
const env = { PYTHONPATH: pythonDir, PYTHONDONTWRITEBYTECODE: '1' };
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-pyreader-'));
const small = (dir: string, ...extra: string[]) => [
  `@${repo}generation_arguments/simple_fig1_DAG.txt`,
  '--transform',
  'identity',
  '--dataset_loc',
  dir,
  '--preview',
  '0',
  '--sample_seed',
  '7',
  '--batch_size',
  '4',
  ...extra,
];

/** An interpreter with NumPy and PyTorch: the tests' own where it has torch, else Debian's (python3-torch installs into /usr/bin/python3). */
const torchPython = [pythonCommand(), '/usr/bin/python3'].find((p) => hasNumpy(p) && hasTorch(p));
if (hasNumpy() && !torchPython)
  process.stderr.write(
    'python-reader: the PyTorch DataLoader test is skipped: no python3 with torch here (apt-get install python3-torch; .ci/run installs it)\n',
  );

describe.skipIf(!hasNumpy())('python/mmmi_dataset.py', () => {
  /** `ds`: two shards (3 + 4 draws) and their index; `one`: one shard and its manifest. */
  let ds = '';
  let one = '';
  const shards = () => [0, 1].map((id) => join(ds, `simple_fig1_DAG_${id}.npz`));

  beforeAll(async () => {
    const base = tmp();
    ds = join(base, 'ds');
    one = join(base, 'one');
    for (const id of [0, 1]) await generate(small(ds, '--dataset_size', String(3 + id), '--job_id', String(id), '--num_jobs', '2'), quiet);
    await generate(small(one, '--dataset_size', '3'), quiet);
    expect(readdirSync(ds)).toContain('simple_fig1_DAG.index.json');
  });

  it('opens a folder, its index, and a shard with its manifest, as --data does: the values, dtypes and MI table NumPy reads', () => {
    // the folder of a one-shard dataset without an index, too
    const noIndex = join(tmp(), 'no-index');
    mkdirSync(noIndex);
    for (const f of readdirSync(one)) copyFileSync(join(one, f), join(noIndex, f));
    const script = `
import json, sys, numpy as np
from mmmi_dataset import MmmiDataset
def read(path, npzs):
    d = MmmiDataset(path)
    truth = [np.load(f) for f in npzs]
    X = np.concatenate([t["X"] for t in truth]); Y = np.concatenate([t["Y"] for t in truth]); L = np.concatenate([t["labels"] for t in truth])
    order = list(range(len(d) - 1, -1, -1))   # backwards: every draw, shard changes included
    same = all(np.array_equal(d[i][0], X[i]) and d[i][1] == float(Y[i]) and np.array_equal(d[i][2], L[i]) for i in order)
    x, theta, labels = d[-1]
    return {"kind": d.kind, "len": len(d), "same": bool(same), "x": [str(x.dtype), list(x.shape)], "theta": type(theta).__name__,
            "labels": [str(labels.dtype), list(labels.shape)], "mi": d.mi == dict(zip(truth[0]["MI_labels"].tolist(), truth[0]["MI_results"].tolist()))}
ds, one, no_index = sys.argv[1:4]
shards = [f"{ds}/simple_fig1_DAG_0.npz", f"{ds}/simple_fig1_DAG_1.npz"]
print(json.dumps({
    "folder": read(ds, shards), "index": read(f"{ds}/simple_fig1_DAG.index.json", shards),
    "shard": read(f"{one}/simple_fig1_DAG_0.npz", [f"{one}/simple_fig1_DAG_0.npz"]),
    "one_shard_folder": read(no_index, [f"{no_index}/simple_fig1_DAG_0.npz"]),
}))
`;
    const out = JSON.parse(runPython(script, [ds, one, noIndex], { env })) as Record<string, Record<string, unknown>>;
    const draw = { same: true, x: ['float32', [2, 3, 32, 32]], theta: 'float', labels: ['int32', [2]], mi: true };
    expect(out.folder).toEqual({ kind: 'index', len: 7, ...draw });
    expect(out.index).toEqual({ kind: 'index', len: 7, ...draw });
    expect(out.shard).toEqual({ kind: 'shard', len: 3, ...draw });
    expect(out.one_shard_folder).toEqual({ kind: 'shard', len: 3, ...draw });
  });

  it('refuses each bad input with one MmmiDatasetError (a ValueError) naming the file and the cause', () => {
    const script = `
import hashlib, json, os, shutil, sys, numpy as np
from mmmi_dataset import MmmiDataset, MmmiDatasetError
ds, one, work = sys.argv[1:4]
SHARD, MANIFEST, INDEX = "simple_fig1_DAG_0.npz", "simple_fig1_DAG_0.manifest.json", "simple_fig1_DAG.index.json"
results = {}

def copy(src, d):
    for f in os.listdir(src):
        if os.path.isfile(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), d)

def restamp(d, name=SHARD, manifest=MANIFEST):
    """The manifest records the shard as it now is (size and sha256): only the content is wrong."""
    m = json.load(open(os.path.join(d, manifest)))
    data = open(os.path.join(d, name), "rb").read()
    m["file"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    json.dump(m, open(os.path.join(d, manifest), "w"))

def rewrite(d, **change):
    """The shard of \`one\` rewritten by np.savez with some arrays changed (None: left out), restamped."""
    z = dict(np.load(os.path.join(one, SHARD)))
    z.update(change)
    np.savez(os.path.join(d, SHARD), **{k: v for k, v in z.items() if v is not None})
    restamp(d)

def edit_json(path, edit):
    value = json.load(open(path)); edit(value); json.dump(value, open(path, "w"))

def case(name, src, make, check=True):
    d = os.path.join(work, name)
    os.makedirs(d)
    if src:
        copy(src, d)
    try:
        path = make(d)   # the path to open where make returns one, else the case's folder
        MmmiDataset(path if isinstance(path, str) else d, check=check).verify()
        results[name] = ["no error", ""]
    except Exception as e:
        results[name] = [type(e).__name__ + (" (a ValueError)" if isinstance(e, ValueError) else ""), str(e)]

def flip(path, at=None):
    b = bytearray(open(path, "rb").read()); b[len(b) // 2 if at is None else at] ^= 0xFF; open(path, "wb").write(b)

X = np.load(os.path.join(one, SHARD))["X"]
L = np.load(os.path.join(one, SHARD))["labels"]
case("missing", None, lambda d: os.path.join(d, "nope.index.json"))
case("dangling link", None, lambda d: os.symlink(os.path.join(d, "gone"), os.path.join(d, "link.npz")) or os.path.join(d, "link.npz"))
case("other file", None, lambda d: open(os.path.join(d, "notes.txt"), "w").write("x") and os.path.join(d, "notes.txt"))
case("empty folder", None, lambda d: None)
case("manifest missing", one, lambda d: os.remove(os.path.join(d, MANIFEST)) or os.path.join(d, SHARD))
case("folder without manifests", one, lambda d: os.remove(os.path.join(d, MANIFEST)))
case("not a zip", one, lambda d: open(os.path.join(d, SHARD), "w").write("not a zip at all\\n" * 100) and restamp(d))
case("truncated", one, lambda d: os.truncate(os.path.join(d, SHARD), os.path.getsize(os.path.join(d, SHARD)) // 2))
case("truncated, restamped", one, lambda d: os.truncate(os.path.join(d, SHARD), os.path.getsize(os.path.join(d, SHARD)) // 2) or restamp(d))
case("corrupt shard", one, lambda d: flip(os.path.join(d, SHARD)))
case("X float64", one, lambda d: rewrite(d, X=X.astype(np.float64)))
case("X float64 in the manifest too", one, lambda d: rewrite(d, X=X.astype(np.float64)) or edit_json(os.path.join(d, MANIFEST), lambda m: m["arrays"]["X"].update(dtype="<f8")))
case("Y big-endian", one, lambda d: rewrite(d, Y=np.load(os.path.join(one, SHARD))["Y"].astype(">f4")))
case("labels int64", one, lambda d: rewrite(d, labels=L.astype(np.int64)))
case("labels shape", one, lambda d: rewrite(d, labels=np.concatenate([L, L[:, :1]], axis=1)))
case("X draws", one, lambda d: rewrite(d, X=X[:2]))
case("no labels", one, lambda d: rewrite(d, labels=None))
case("compressed", one, lambda d: np.savez_compressed(os.path.join(d, SHARD), **dict(np.load(os.path.join(one, SHARD)))) or restamp(d))
case("foreign manifest", one, lambda d: open(os.path.join(d, MANIFEST), "w").write('{"format": "something/2"}'))
case("manifest not JSON", one, lambda d: open(os.path.join(d, MANIFEST), "w").write('{"format": '))
case("index sha256", ds, lambda d: flip(os.path.join(d, "simple_fig1_DAG_1.npz")))
case("index size", ds, lambda d: open(os.path.join(d, "simple_fig1_DAG_1.npz"), "ab").write(b"\\0"))
case("index size, check=False", ds, lambda d: open(os.path.join(d, "simple_fig1_DAG_1.npz"), "ab").write(b"\\0"), check=False)
case("index shard missing", ds, lambda d: os.remove(os.path.join(d, "simple_fig1_DAG_1.npz")))
case("index not JSON", ds, lambda d: open(os.path.join(d, INDEX), "w").write("[1, 2"))
case("index format", ds, lambda d: edit_json(os.path.join(d, INDEX), lambda i: i.update(format="mmmi-dataset-index/0")))
case("index traversal", ds, lambda d: edit_json(os.path.join(d, INDEX), lambda i: i["shards"][1].update(file="../simple_fig1_DAG_1.npz")))
case("index without sha256", ds, lambda d: edit_json(os.path.join(d, INDEX), lambda i: i["shards"][1].pop("sha256")))
case("index offsets", ds, lambda d: edit_json(os.path.join(d, INDEX), lambda i: i["shards"][1].update(offset=2)))
case("index n_mod", ds, lambda d: edit_json(os.path.join(d, INDEX), lambda i: i.update(n_mod=3)))
case("two indexes", ds, lambda d: shutil.copy(os.path.join(d, INDEX), os.path.join(d, "other.index.json")) and None)
case("two shards, no index", ds, lambda d: os.remove(os.path.join(d, INDEX)))
print(json.dumps(results))
`;
    const work = tmp();
    const results = JSON.parse(runPython(script, [ds, one, work], { env })) as Record<string, [string, string]>;
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const index = JSON.parse(readFileSync(join(ds, 'simple_fig1_DAG.index.json'), 'utf8')) as { shards: { sha256: string; bytes: number }[] };
    const w = (name: string) => join(work, name).replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const expected: Record<string, RegExp> = {
      missing: new RegExp(`^${w('missing')}/nope\\.index\\.json: no such dataset folder, index or shard$`),
      'dangling link': new RegExp(`^${w('dangling link')}/link\\.npz: no target of this symbolic link \\(dangling or a loop\\)$`),
      'other file': /notes\.txt: expected a dataset folder, a <name>\.index\.json or a \.npz shard$/,
      'empty folder': new RegExp(`^${w('empty folder')}: no dataset shard \\(\\.npz with its \\.manifest\\.json\\) or index in this folder$`),
      'manifest missing': /simple_fig1_DAG_0\.npz: no manifest beside the shard \(simple_fig1_DAG_0\.manifest\.json\)/,
      'folder without manifests': /folder without manifests: no manifest beside simple_fig1_DAG_0\.npz/,
      'not a zip': /not a zip\/simple_fig1_DAG_0\.npz: not a complete \.npz \(ZIP\) file \(.*\): truncated, damaged or not a shard$/,
      truncated:
        /truncated\/simple_fig1_DAG_0\.npz: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}: the shard is corrupt or was replaced \(size \d+ bytes, its manifest records \d+\)$/,
      'truncated, restamped': /truncated, restamped\/simple_fig1_DAG_0\.npz: not a complete \.npz \(ZIP\) file/,
      'corrupt shard': /corrupt shard\/simple_fig1_DAG_0\.npz: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}: the shard is corrupt or was replaced$/,
      'X float64': /X float64\/simple_fig1_DAG_0\.npz: array 'X' is float64 \(<f8\), the manifest .*simple_fig1_DAG_0\.manifest\.json records float32 \(<f4\)$/,
      'X float64 in the manifest too':
        /X float64 in the manifest too\/simple_fig1_DAG_0\.npz: array 'X' is float64 \(<f8\), the documented dtype is float32 \(<f4\) \(SPEC §5\)$/,
      'Y big-endian': /Y big-endian\/simple_fig1_DAG_0\.npz: array 'Y' is float32 \(>f4\), the manifest .* records float32 \(<f4\)$/,
      'labels int64': /labels int64\/simple_fig1_DAG_0\.npz: array 'labels' is int64 \(<i8\), the manifest .* records int32 \(<i4\)$/,
      'labels shape': /labels shape\/simple_fig1_DAG_0\.npz: array 'labels' has shape \(3, 3\), the manifest describes \(3, 2\)$/,
      'X draws': /X draws\/simple_fig1_DAG_0\.npz: array 'X' has shape \(2, 2, 3, 32, 32\), the manifest describes \(3, 2, …\) with 3072 values per image$/,
      'no labels': /no labels\/simple_fig1_DAG_0\.npz: no 'labels' array — not an mmmi dataset shard$/,
      compressed: /compressed\/simple_fig1_DAG_0\.npz: array 'X' is compressed \(np\.savez_compressed\)/,
      'foreign manifest': /foreign manifest\/simple_fig1_DAG_0\.manifest\.json: format 'something\/2', expected 'mmmi-dataset-manifest\/1'/,
      'manifest not JSON': /manifest not JSON\/simple_fig1_DAG_0\.manifest\.json: not a readable shard manifest \(not UTF-8 JSON: /,
      'index sha256': new RegExp(
        `index sha256/simple_fig1_DAG_1\\.npz: sha256 ([0-9a-f]{64}), the index records ${index.shards[1].sha256}: the shard is corrupt or was replaced$`,
      ),
      'index size': new RegExp(
        `index size/simple_fig1_DAG_1\\.npz: sha256 [0-9a-f]{64}, the index records ${index.shards[1].sha256}: the shard is corrupt or was replaced \\(size ${index.shards[1].bytes + 1} bytes, the index records ${index.shards[1].bytes}\\)$`,
      ),
      'index size, check=False': new RegExp(
        `index size, check=False/simple_fig1_DAG_1\\.npz: size ${index.shards[1].bytes + 1} bytes, the index records ${index.shards[1].bytes}: the shard is truncated or was replaced$`,
      ),
      'index shard missing': /index shard missing\/simple_fig1_DAG_1\.npz: no such shard \(the index records it in .*simple_fig1_DAG\.index\.json\)$/,
      'index not JSON': /index not JSON\/simple_fig1_DAG\.index\.json: not a readable dataset index \(not UTF-8 JSON: /,
      'index format': /index format\/simple_fig1_DAG\.index\.json: format 'mmmi-dataset-index\/0', expected 'mmmi-dataset-index\/1'/,
      'index traversal': /index traversal\/simple_fig1_DAG\.index\.json: shard 1's file '\.\.\/simple_fig1_DAG_1\.npz' is not a file name in its folder/,
      'index without sha256':
        /index without sha256\/simple_fig1_DAG\.index\.json: shard 1 \(simple_fig1_DAG_1\.npz\): 'sha256' is None, not a 64-digit hex digest$/,
      'index offsets': /index offsets\/simple_fig1_DAG\.index\.json: shard 1 \(simple_fig1_DAG_1\.npz\): offset 2, the counts before it add up to 3$/,
      'index n_mod':
        /index n_mod\/simple_fig1_DAG_0\.npz: array 'X' has shape \(3, 2, 3, 32, 32\), the index describes \(3, 3, …\) with 3072 values per image$/,
      'two indexes': /two indexes holds several dataset indexes \(other\.index\.json, simple_fig1_DAG\.index\.json\): name one$/,
      'two shards, no index':
        /two shards, no index holds 2 shards and no index: run `mmmi-generate index .*two shards, no index` to read them as one dataset, or name one shard$/,
    };
    expect(Object.keys(results).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [kind, message]] of Object.entries(results)) {
      expect({ name, kind }).toEqual({ name, kind: 'MmmiDatasetError (a ValueError)' });
      expect(message, name).toMatch(expected[name]);
      expect(message.includes('\n'), name).toBe(false);
    }
    // both values: the index's and the file's own digest
    const digest = /sha256 ([0-9a-f]{64})/.exec(results['index sha256'][1])![1];
    expect(digest).toBe(sha(join(work, 'index sha256', 'simple_fig1_DAG_1.npz')));
    expect(digest).not.toBe(index.shards[1].sha256);
  });

  it('python3 -m mmmi_dataset info: a summary and exit 0, or exit 2 with one line naming the file and the cause', () => {
    const info = (...args: string[]) =>
      spawnSync(pythonCommand(), ['-m', 'mmmi_dataset', 'info', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const ok = info(ds);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^simple_fig1_DAG: 7 draws in 2 shards \(index .*simple_fig1_DAG\.index\.json\)\n/);
    expect(ok.stdout).toMatch(/draw: x \(2, 3, 32, 32\) float32, theta float32 \(a Python float\), labels \(2,\) int32/);
    expect(ok.stdout).toMatch(/simple_fig1_DAG_1\.npz: draws 3…6, \d+ bytes/);
    const bad = info(join(ds, 'nothing-here'));
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`mmmi_dataset: ${join(ds, 'nothing-here')}: no such dataset folder, index or shard\n`);
    const usage = spawnSync(pythonCommand(), ['-m', 'mmmi_dataset'], { encoding: 'utf8', env: { ...process.env, ...env } });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^mmmi_dataset: usage: python3 -m mmmi_dataset info /);
  });

  it('pickles as paths and the parsed index (no arrays); an unpickled copy skips the sha256 of an unchanged checked shard and re-checks a replaced one', () => {
    const work = tmp();
    for (const f of readdirSync(ds)) copyFileSync(join(ds, f), join(work, f));
    const script = `
import json, os, pickle, sys, numpy as np
import mmmi_dataset
from mmmi_dataset import MmmiDataset, MmmiDatasetError
work = sys.argv[1]
d = MmmiDataset(work)
d.verify()
blob = pickle.dumps(d)
out = {"bytes": len(blob), "open": len(pickle.loads(blob)._arrays)}
X = np.load(os.path.join(work, "simple_fig1_DAG_1.npz"))["X"]
hash_calls = []
real = mmmi_dataset._sha256
mmmi_dataset._sha256 = lambda path: hash_calls.append(path) or real(path)
copy = pickle.loads(blob)
out["same"] = bool(np.array_equal(copy[6][0], X[3]))
out["hashed_unchanged"] = len(hash_calls)
# replace shard 1 by a copy with one byte changed (same size, another inode)
path = os.path.join(work, "simple_fig1_DAG_1.npz")
b = bytearray(open(path, "rb").read()); b[len(b) // 2] ^= 1
open(path + ".new", "wb").write(b); os.replace(path + ".new", path)
try:
    pickle.loads(blob)[6]
    out["replaced"] = "read"
except MmmiDatasetError as e:
    out["replaced"] = str(e)
out["hashed_replaced"] = len(hash_calls)
print(json.dumps(out))
`;
    const out = JSON.parse(runPython(script, [work], { env })) as Record<string, unknown>;
    // 7 draws of 2 × 3072 float32 values are 172 kB: none of them travels
    expect(out.bytes).toBeLessThan(20_000);
    expect(out.open).toBe(0);
    expect(out.same).toBe(true);
    expect(out.hashed_unchanged).toBe(0);
    expect(out.replaced).toMatch(/simple_fig1_DAG_1\.npz: sha256 [0-9a-f]{64}, the index records [0-9a-f]{64}: the shard is corrupt or was replaced$/);
    expect(out.hashed_replaced).toBe(1);
  });

  it.skipIf(!torchPython)(
    'TorchDataset under DataLoader(num_workers=2, multiprocessing_context="spawn"): module-level, picklable, the values NumPy reads (needs python3-torch)',
    () => {
      const script = `
import json, pickle, sys, numpy as np, torch
from torch.utils.data import DataLoader
import mmmi_dataset
from mmmi_dataset import TorchDataset, torch_dataset

def main():
    ds_folder, shards = sys.argv[1], sys.argv[2:]
    ds = torch_dataset(ds_folder)
    truth = [np.load(s) for s in shards]
    X = np.concatenate([t["X"] for t in truth]); Y = np.concatenate([t["Y"] for t in truth]); L = np.concatenate([t["labels"] for t in truth])
    order = [6, 0, 3, 5, 1, 4, 2]     # random access across both shards
    loader = DataLoader(ds, batch_size=3, sampler=order, num_workers=2, multiprocessing_context="spawn")
    batches = list(loader)
    got = {k: [b[j] for b in batches] for j, k in enumerate("xyl")}
    x, y, l = (torch.cat(got[k]).numpy() for k in "xyl")
    print(json.dumps({
        "class": f"{type(ds).__module__}.{type(ds).__qualname__}",
        "is_module_attr": getattr(mmmi_dataset, "TorchDataset") is type(ds) is TorchDataset,
        "pickles": type(pickle.loads(pickle.dumps(ds))).__name__,
        "sizes": [len(b[0]) for b in batches],
        "dtypes": [str(t.dtype) for t in batches[0]],
        "shapes": [list(t.shape) for t in batches[0]],
        "x": bool(np.array_equal(x, X[order])), "theta": bool(np.array_equal(y, Y[order])), "labels": bool(np.array_equal(l, L[order])),
        "workers": loader.num_workers, "context": loader.multiprocessing_context.get_start_method(),
    }))

if __name__ == "__main__":
    main()
`;
      const out = JSON.parse(runPython(script, [ds, ...shards()], { env, python: torchPython })) as Record<string, unknown>;
      expect(out).toEqual({
        class: 'mmmi_dataset.TorchDataset',
        is_module_attr: true,
        pickles: 'TorchDataset',
        sizes: [3, 3, 1],
        dtypes: ['torch.float32', 'torch.float32', 'torch.int32'],
        shapes: [[3, 2, 3, 32, 32], [3], [3, 2]],
        x: true,
        theta: true,
        labels: true,
        workers: 2,
        context: 'spawn',
      });
    },
    180_000,
  );
});
