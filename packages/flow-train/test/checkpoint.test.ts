/**
 * Checkpoint and registry errors name their cause: a missing, truncated or foreign file, a
 * tensor of the wrong shape, a sha256 mismatch, a PyTorch checkpoint of an unknown dataset,
 * unknown registry names and a corrupted registry.json. Every registry here is a temp
 * folder passed explicitly, with an empty environment: the user's home is never touched.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, readZip, writeSafetensors, ZipWriter } from '@mmmi/formats';
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  readCheckpointFile,
  sha256Hex,
  writeCheckpoint,
  type CheckpointMeta,
} from '../src/checkpoint.js';
import { BUILTIN_REGISTRY_DIR, loadModel, readRegistry, registerModel, resolveModel, REGISTRY_FILE, type RegistryEntry } from '../src/registry.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { unetConfig } from '../src/unet/config.js';
import { initialParamValues, type ParamValues } from '../src/unet/params.js';

const TORCH_FIXTURE = fileURLToPath(new URL('./fixtures/torch-unet/tiny_checkpoint.pth', import.meta.url));

const tiny = unetConfig('tiny');
const arch = buildArchitecture(tiny);

function metaFor(note = ''): CheckpointMeta {
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: tiny,
    parameters: arch.parameterCount,
    weights: 'live',
    sampling: { odeMethod: 'heun2', odeOptions: { nfe: 10 }, cfgScale: 0.2, edmSchedule: true },
    trainArgs: { dataset: 'cifar10' },
    provenance: { source: 'checkpoint.test', note },
  };
}

const tmp = tempDir('mmmi-flow-checkpoint-');
let weights: ParamValues;
/** A valid tiny checkpoint, its bytes and sha256. */
let good: string;
let goodBytes: Buffer;

beforeAll(async () => {
  weights = initialParamValues(arch, 7);
  good = join(tmp, 'good.safetensors');
  await writeCheckpoint(good, { meta: metaFor(), weights });
  goodBytes = readFileSync(good);
});

/** The error `promise` rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('checkpoint files', () => {
  it('a valid checkpoint reads back (baseline for the cases below)', async () => {
    const ckpt = await readCheckpointFile(good, sha256Hex(goodBytes));
    expect(ckpt.kind).toBe('mmmi');
    expect(ckpt.meta.config.name).toBe('tiny');
    expect(ckpt.sha256).toBe(sha256Hex(goodBytes));
    expect(ckpt.weights.get('out.2.weight')).toEqual(weights.get('out.2.weight'));
  });

  it('a missing file: says it does not exist and how to get one', async () => {
    const missing = join(tmp, 'no-such-model.safetensors');
    const e = await failure(readCheckpointFile(missing));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(`checkpoint ${missing} does not exist`);
    expect(e.message).toMatch(/train one/);
  });

  it('a truncated file: names the truncation', async () => {
    const half = join(tmp, 'half.safetensors');
    writeFileSync(half, goodBytes.subarray(0, goodBytes.length >> 1));
    const e = await failure(readCheckpointFile(half));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/is not a readable checkpoint/);
    expect(e.message).toMatch(/truncated file\?/);

    const stub = join(tmp, 'stub.safetensors');
    writeFileSync(stub, goodBytes.subarray(0, 40));
    expect((await failure(readCheckpointFile(stub))).message).toMatch(/truncated header: header length is \d+ bytes, only 32 follow/);
  });

  it('a corrupt file (not safetensors at all): says it is not readable and why', async () => {
    const junk = join(tmp, 'junk.safetensors');
    writeFileSync(junk, 'these are not the bytes of a checkpoint, just some text\n');
    const e = await failure(readCheckpointFile(junk));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/junk\.safetensors is not a readable checkpoint \(.*header length \d+ exceeds the limit/);

    // a damaged header: valid length, bytes that are not JSON
    const bad = Buffer.from(goodBytes);
    bad.write('#', 9, 'latin1'); // the header's first quote
    const damaged = join(tmp, 'damaged.safetensors');
    writeFileSync(damaged, bad);
    expect((await failure(readCheckpointFile(damaged))).message).toMatch(/is not a readable checkpoint \(.*header is not valid JSON/);
  });

  it('a safetensors file without mmmi metadata: says so', async () => {
    const foreign = join(tmp, 'foreign.safetensors');
    await writeSafetensors(foreign, { 'layer.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } }, { format: 'pt' });
    const e = await failure(readCheckpointFile(foreign));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe(`${foreign}: a safetensors file without mmmi metadata (not a checkpoint written by mmmi-train)`);

    const other = join(tmp, 'other-format.safetensors');
    await writeSafetensors(
      other,
      { 'layer.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } },
      { mmmi: JSON.stringify({ format: 'something-else', version: 1 }) },
    );
    expect((await failure(readCheckpointFile(other))).message).toMatch(
      /metadata format something-else v1 is not a checkpoint this version reads \(mmmi-flow-checkpoint v1\)/,
    );
  });

  it('a tensor with the wrong shape for its configuration: names the tensor and both shapes', async () => {
    const st = await readSafetensors(good);
    const t = st.tensors.get('input_blocks.0.0.weight')!;
    expect(t.shape).toEqual([32, 3, 3, 3]);
    st.tensors.set('input_blocks.0.0.weight', { ...t, shape: [3, 32, 3, 3] } as typeof t); // same size, transposed
    const wrong = join(tmp, 'wrong-shape.safetensors');
    await writeSafetensors(wrong, st.tensors, st.metadata);
    const e = await failure(readCheckpointFile(wrong));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe(`${wrong}: tensor input_blocks.0.0.weight has shape [3,32,3,3], configuration 'tiny' expects [32,3,3,3]`);

    // and one missing
    st.tensors.delete('out.2.bias');
    st.tensors.set('input_blocks.0.0.weight', t);
    const missing = join(tmp, 'missing-tensor.safetensors');
    await writeSafetensors(missing, st.tensors, st.metadata);
    expect((await failure(readCheckpointFile(missing))).message).toBe(`${missing}: tensor out.2.bias is missing (model configuration 'tiny')`);
  });

  it('a sha256 mismatch: names both hashes', async () => {
    const expected = 'ab'.repeat(32);
    const e = await failure(readCheckpointFile(good, expected));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe(`checkpoint ${good} is corrupt or was replaced: sha256 ${sha256Hex(goodBytes)}, the registry expects ${expected}`);
  });

  it('a checkpoint whose header length looks like a pickle (first byte 0x80) is still read as ours', async () => {
    // safetensors begins with the header length; lengths ≡ 0x80 mod 256 (1 in 32 files,
    // headers being padded to 8 bytes) once sent every such checkpoint to the PyTorch reader
    const path = join(tmp, 'x80.safetensors');
    let found = false;
    for (let pad = 0; pad < 64 && !found; pad++) {
      await writeCheckpoint(path, { meta: metaFor('x'.repeat(8 * pad)), weights });
      found = readFileSync(path)[0] === 0x80;
    }
    expect(found).toBe(true);
    const ckpt = await readCheckpointFile(path);
    expect(ckpt.kind).toBe('mmmi');
    expect(ckpt.weights.get('out.2.weight')).toEqual(weights.get('out.2.weight'));
  });

  it('a PyTorch checkpoint with an unknown args.dataset: names it and the known ones', async () => {
    // the committed fixture with args.dataset 'cifar10' → 'imagenet' (a BINUNICODE string in data.pkl)
    const zip = readZip(readFileSync(TORCH_FIXTURE), TORCH_FIXTURE);
    const out = join(tmp, 'imagenet.pth');
    const writer = await ZipWriter.create(out);
    let patched = 0;
    for (const entry of zip.entries) {
      let data = zip.read(entry.name);
      if (entry.name.endsWith('/data.pkl')) {
        const from = Buffer.concat([Buffer.from([0x58, 7, 0, 0, 0]), Buffer.from('cifar10')]);
        const to = Buffer.concat([Buffer.from([0x58, 8, 0, 0, 0]), Buffer.from('imagenet')]);
        const buf = Buffer.from(data);
        const at = buf.indexOf(from);
        expect(at).toBeGreaterThan(0);
        data = Buffer.concat([buf.subarray(0, at), to, buf.subarray(at + from.length)]);
        patched++;
      }
      await writer.addEntry(entry.name, data);
    }
    await writer.close();
    expect(patched).toBe(1);

    const e = await failure(readCheckpointFile(out));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toBe(`${out}: args.dataset is 'imagenet'; give the model configuration explicitly (known: cifar10)`);
    // given the configuration, the same file reads
    const ckpt = await readCheckpointFile(out, undefined, tiny);
    expect(ckpt.meta.trainArgs.dataset).toBe('imagenet');
  });

  it('a PyTorch checkpoint that is not one: says so', async () => {
    const fake = join(tmp, 'fake.pth');
    writeFileSync(fake, Buffer.from('PK\u0003\u0004 truncated zip'));
    const e = await failure(readCheckpointFile(fake));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/fake\.pth is not a readable PyTorch checkpoint \(/);
  });
});

describe('registry', () => {
  let dir: string;
  let entry: RegistryEntry;
  const env = {};

  beforeAll(() => {
    dir = join(tmp, 'registry');
    entry = {
      file: 'good.safetensors',
      sha256: sha256Hex(goodBytes),
      bytes: goodBytes.length,
      config: 'tiny',
      parameters: arch.parameterCount,
      created: new Date(0).toISOString(),
      description: 'test model',
    };
  });

  it('registers models; resolves and loads them by name and by default', async () => {
    await registerModel(dir, 'tiny-a', { ...entry, file: good }); // absolute path
    writeFileSync(join(dir, 'b.safetensors'), goodBytes);
    await registerModel(dir, 'tiny-b', { ...entry, file: 'b.safetensors' }); // relative to the folder
    const reg = await readRegistry(dir);
    expect(Object.keys(reg.models)).toEqual(['tiny-a', 'tiny-b']);
    expect(reg.default).toBe('tiny-a'); // the first one registered

    expect(await resolveModel('tiny-a', { registry: dir, env })).toEqual({ name: 'tiny-a', path: good, entry: { ...entry, file: good }, registry: dir });
    expect((await resolveModel('tiny-b', { registry: dir, env })).path).toBe(join(dir, 'b.safetensors'));
    expect((await resolveModel(undefined, { registry: dir, env })).name).toBe('tiny-a');
    expect((await resolveModel('default', { registry: dir, env })).name).toBe('tiny-a');
    // $MMMI_REGISTRY, when no folder is given
    expect((await resolveModel('tiny-b', { env: { MMMI_REGISTRY: dir } })).registry).toBe(dir);

    await registerModel(dir, 'tiny-b', { ...entry, file: 'b.safetensors' }, true);
    expect((await readRegistry(dir)).default).toBe('tiny-b');
    const loaded = await loadModel(undefined, { registry: dir, env });
    expect(loaded.resolved.name).toBe('tiny-b');
    expect(loaded.sha256).toBe(entry.sha256);
    expect(loaded.meta.config.name).toBe('tiny');
    expect(loaded.weights.get('out.2.weight')).toEqual(weights.get('out.2.weight'));
    expect((await loadModel('tiny-a', { registry: dir, env })).file).toBe(good);
    // a path is a path
    expect(await resolveModel(good, { registry: dir, env })).toEqual({ path: good });
  });

  it('a registered file that changed fails the sha256 check', async () => {
    const changed = join(dir, 'changed.safetensors');
    writeFileSync(changed, goodBytes);
    await registerModel(dir, 'changed', { ...entry, file: 'changed.safetensors' });
    await writeCheckpoint(changed, { meta: metaFor('retrained'), weights });
    const e = await failure(loadModel('changed', { registry: dir, env }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/changed\.safetensors is corrupt or was replaced: sha256 [0-9a-f]{64}, the registry expects [0-9a-f]{64}$/);
  });

  it('an unknown name lists the known ones', async () => {
    const e = await failure(resolveModel('nope', { registry: dir, env }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/^'nope' is neither a checkpoint file nor a registry name \(known: tiny-a, tiny-b, changed[,)]/);
    expect((await failure(loadModel('nope', { registry: dir, env }))).message).toMatch(/known: tiny-a, tiny-b/);
    // a path that does not exist is reported as a missing file
    expect((await failure(resolveModel(join(tmp, 'gone', 'model.safetensors'), { registry: dir, env }))).message).toMatch(/model\.safetensors does not exist/);
  });

  it('a default without an entry, and no default at all', async () => {
    const broken = join(tmp, 'registry-dangling');
    await registerModel(broken, 'only', entry);
    const reg = JSON.parse(readFileSync(join(broken, REGISTRY_FILE), 'utf8'));
    reg.default = 'gone';
    writeFileSync(join(broken, REGISTRY_FILE), JSON.stringify(reg));
    expect((await failure(resolveModel(undefined, { registry: broken, env }))).message).toBe(`${join(broken, REGISTRY_FILE)}: the default 'gone' has no entry`);

    const builtinDefault = existsSync(join(BUILTIN_REGISTRY_DIR, REGISTRY_FILE)) ? (await readRegistry(BUILTIN_REGISTRY_DIR)).default : undefined;
    if (builtinDefault === undefined) {
      const empty = join(tmp, 'registry-empty');
      expect((await failure(resolveModel(undefined, { registry: empty, env }))).message).toMatch(
        /^no default model: neither .*registry-empty nor the built-in registry/,
      );
    }
  });

  it('a corrupted registry.json: names the file and the cause', async () => {
    const bad = join(tmp, 'registry-bad');
    await registerModel(bad, 'tiny-a', entry);
    const path = join(bad, REGISTRY_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 40));
    const e = await failure(resolveModel('tiny-a', { registry: bad, env }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON \\(`));
    // registering into it refuses too, rather than overwriting what is there
    await expect(registerModel(bad, 'tiny-c', entry)).rejects.toThrow(/is not valid JSON/);
    expect(readFileSync(path, 'utf8').length).toBe(40);

    writeFileSync(path, JSON.stringify({ format: 'something-else', models: {} }));
    expect((await failure(loadModel('tiny-a', { registry: bad, env }))).message).toBe(
      `${path} is not a model registry (format 'something-else', expected 'mmmi-model-registry'); it is left as it is: move it aside, or give --registry another folder`,
    );
  });

  it('a registry name must be a plain name', async () => {
    await expect(registerModel(dir, '../evil', entry)).rejects.toThrow(/registry name '\.\.\/evil' must be letters, digits/);
  });
});
