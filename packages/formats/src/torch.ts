/**
 * PyTorch checkpoints (torch.save files: .pt, .pth, .ckpt), read without Python and
 * without running anything. torch.load unpickles with the full Python importer, so a
 * checkpoint can execute arbitrary code; here the pickle may only name the globals listed
 * in this file (tensor rebuilders, storage types, OrderedDict, argparse.Namespace, NumPy
 * scalars, ...) and anything else is refused with its name.
 *
 * Two layouts are read:
 * - zip (torch ≥ 1.6, the default): `<folder>/data.pkl` is the pickle, each storage is
 *   the entry `<folder>/data/<key>`, and `<folder>/byteorder` (torch ≥ 2.1) says whether
 *   storages are 'little' (assumed when absent) or 'big' endian. The folder name varies
 *   (the file's stem in torch 1.x, 'archive' in 2.x), so it is found from data.pkl.
 * - legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`): a sequence of
 *   pickles (magic number, protocol 1001, sys_info, the object, the sorted storage keys)
 *   followed by each storage as an int64 element count and its raw bytes, always
 *   little-endian (torch's writer converts on big-endian hosts).
 * The pre-0.4 tar layout and TorchScript archives (torch.jit.save) are refused.
 *
 * The result is the unpickled object tree (see pickle.ts for how Python values map to JS:
 * dicts are Maps, tuples frozen arrays) in which every tensor is a TorchTensor whose
 * data is materialised in C order. Sizes are checked before anything is allocated: a
 * storage's entry must hold exactly its declared elements, a view may not reach past its
 * storage, and the total decoded tensor bytes are capped (see TorchLoadOptions.maxBytes).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { FormatError, hexPreview } from './errors.js';
import {
  describe,
  isPyTuple,
  PyGlobal,
  setPyAttributes,
  unpickleAt,
  type PickleContext,
  type PickleGlobal,
  type PickleGlobals,
  type UnpickleOptions,
} from './pickle.js';
import { NUMPY_GLOBALS, PYTHON_GLOBALS } from './pickle-globals.js';
import { materialise, TORCH_DECODED_SIZE, TORCH_ITEM_SIZE, TorchTensor, viewExtent, type TorchDataMap, type TorchDtype } from './torch-tensor.js';
import { readZip, type ZipArchive } from './zip.js';

export { TorchTensor, type TorchData, type TorchDataMap, type TorchDtype } from './torch-tensor.js';

const KIND = 'torch checkpoint';

export interface TorchLoadOptions {
  /**
   * Cap on the bytes of all decoded tensors together. Default: 4 × the file size, at least
   * 64 MiB. A legitimate file never needs more than about 2× (float16 widens to float32),
   * but views that overlap (expand(), many views of one storage) are materialised
   * separately and could otherwise make a tiny file allocate without bound.
   */
  maxBytes?: number;
  /**
   * More allowed globals, for a checkpoint that pickles some harmless class of your own
   * (e.g. `'datetime.datetime'`). They take precedence over the built-in entries.
   */
  extraGlobals?: PickleGlobals;
}

/** The storage classes torch pickles as the second item of a storage's persistent id. */
const STORAGE_DTYPES: Readonly<Record<string, TorchDtype>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  // A raw byte storage (torch ≥ 1.13 saves one for dtypes without a typed storage class);
  // its declared size is in bytes. _rebuild_tensor_v3 names the tensor's dtype.
  UntypedStorage: 'uint8',
};

/** torch dtype objects (pickled by name, e.g. `torch.float16`) that can type a tensor. */
const DTYPE_NAMES: Readonly<Record<string, TorchDtype>> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** Other torch names that may appear as plain values (in args, metadata): harmless markers. */
const TORCH_MARKERS = [
  'complex32',
  'complex64',
  'complex128',
  'cfloat',
  'cdouble',
  'chalf',
  'uint16',
  'uint32',
  'uint64',
  'qint8',
  'quint8',
  'qint32',
  'quint4x2',
  'float8_e4m3fn',
  'float8_e5m2',
  'strided',
  'sparse_coo',
  'sparse_csr',
  'contiguous_format',
  'channels_last',
  'channels_last_3d',
  'preserve_format',
  'Tensor',
];

const UNSUPPORTED_TENSORS = 'only dense tensors of real or bool dtype are supported';

/** Known torch globals refused with a specific reason rather than the generic one. */
const REFUSED: Readonly<Record<string, string>> = {
  'torch.storage._load_from_bytes':
    'it runs a nested torch.load on embedded bytes (a storage pickled outside torch.save); re-save the checkpoint with torch.save',
  'torch._utils._rebuild_qtensor': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
  'torch._utils._rebuild_sparse_tensor': `sparse tensors: ${UNSUPPORTED_TENSORS}`,
  'torch._utils._rebuild_sparse_csr_tensor': `sparse tensors: ${UNSUPPORTED_TENSORS}`,
  'torch._utils._rebuild_meta_tensor_no_storage': 'meta tensors have no data',
  'torch._utils._rebuild_wrapper_subclass': `tensor subclasses: ${UNSUPPORTED_TENSORS}`,
  'torch._utils._rebuild_nested_tensor': `nested tensors: ${UNSUPPORTED_TENSORS}`,
  'torch._utils._rebuild_device_tensor_from_numpy': 'device tensors rebuilt through NumPy are not supported',
  'torch._utils._rebuild_xla_tensor': 'XLA tensors are not supported',
  'torch._utils._rebuild_mlc_tensor': 'MLC tensors are not supported',
  'torch.ComplexFloatStorage': `complex tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.ComplexDoubleStorage': `complex tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.QInt8Storage': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.QUInt8Storage': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.QInt32Storage': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.QUInt4x2Storage': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
  'torch.QUInt2x4Storage': `quantized tensors: ${UNSUPPORTED_TENSORS}`,
};

/** A storage as the pickle refers to it; its bytes arrive now (zip) or after the pickle (legacy). */
class TorchStorage {
  bytes: Uint8Array | undefined;
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Declared length, in elements of dtype. */
    readonly numel: number,
    readonly bigEndian: boolean,
    /** Legacy storage views: a slice [offset, offset + numel) of another storage. */
    readonly base?: { storage: TorchStorage; offset: number },
  ) {}
  resolved(): Uint8Array {
    if (this.base) {
      const size = TORCH_ITEM_SIZE[this.dtype];
      const root = this.base.storage.resolved();
      return root.subarray(this.base.offset * size, (this.base.offset + this.numel) * size);
    }
    return this.bytes!;
  }
}

/** A tensor whose data is filled in once all storages have been read. */
interface Pending {
  targets: TorchTensor[];
  storage: TorchStorage;
  dtype: TorchDtype;
  offset: number;
  shape: number[];
  stride: number[];
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  // Python 2 pickles (legacy files) may carry these as bytes.
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  return undefined;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function counts(v: unknown, what: string, ctx: PickleContext): number[] {
  if (!Array.isArray(v) || !v.every(isCount)) ctx.fail(`tensor ${what} is not a tuple of non-negative integers`);
  return [...(v as number[])];
}

/** State of one load: the storages seen, the tensors to fill, the byte budget. */
class Loader {
  readonly pending: Pending[] = [];
  readonly pendingOf = new WeakMap<TorchTensor, Pending>();
  readonly storages = new Map<string, TorchStorage>();
  private budget: number;
  readonly globals: PickleGlobals;

  constructor(
    readonly file: string | undefined,
    inputLength: number,
    options: TorchLoadOptions,
  ) {
    this.budget = options.maxBytes ?? Math.max(4 * inputLength, 64 * 2 ** 20);
    this.globals = { ...this.makeGlobals(), ...options.extraGlobals };
  }

  fail(reason: string): never {
    throw new FormatError(KIND, this.file, reason);
  }

  storageDtype(type: unknown, ctx: PickleContext): TorchDtype {
    if (!(type instanceof PyGlobal) || type.module !== 'torch' || !Object.hasOwn(STORAGE_DTYPES, type.name)) {
      return ctx.fail(`storage type is a ${describe(type)}, not a torch storage class`);
    }
    return STORAGE_DTYPES[type.name];
  }

  /** A new or already-seen storage; the same key must always be declared alike. */
  storage(key: string, dtype: TorchDtype, numel: unknown, ctx: PickleContext, bigEndian: boolean, fetch: (s: TorchStorage) => void): TorchStorage {
    if (!isCount(numel)) ctx.fail(`storage '${key}' has size ${String(numel)}`);
    const seen = this.storages.get(key);
    if (seen) {
      if (seen.dtype !== dtype || seen.numel !== numel) {
        ctx.fail(`storage '${key}' is declared as ${dtype} × ${numel} after ${seen.dtype} × ${seen.numel}`);
      }
      return seen;
    }
    const s = new TorchStorage(key, dtype, numel, bigEndian);
    fetch(s);
    this.storages.set(key, s);
    return s;
  }

  /** _rebuild_tensor*: validate the view now, materialise it once storages are known. */
  rebuild(
    storage: unknown,
    offset: unknown,
    size: unknown,
    stride: unknown,
    requiresGrad: unknown,
    dtype: TorchDtype | undefined,
    ctx: PickleContext,
  ): TorchTensor {
    if (!(storage instanceof TorchStorage)) return ctx.fail(`tensor storage is a ${describe(storage)}, not a storage`);
    if (!isCount(offset)) ctx.fail(`tensor storage offset ${String(offset)} is not a non-negative integer`);
    const shape = counts(size, 'size', ctx);
    const strides = counts(stride, 'stride', ctx);
    if (strides.length !== shape.length) ctx.fail(`tensor has ${shape.length} dimensions but ${strides.length} strides`);
    const type = dtype ?? storage.dtype;
    // The storage's length in elements of the tensor's type (differs only for untyped storages).
    const storageBytes = storage.numel * TORCH_ITEM_SIZE[storage.dtype];
    const available = Math.floor(storageBytes / TORCH_ITEM_SIZE[type]);
    const extent = viewExtent(offset as number, shape, strides);
    if (extent > available) {
      ctx.fail(
        `tensor view (offset ${offset}, shape [${shape.join(', ')}], stride [${strides.join(', ')}]) reaches element ${extent - 1}` +
          ` of storage '${storage.key}', which has ${available} ${type} elements`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = count * TORCH_DECODED_SIZE[type];
    if (!Number.isSafeInteger(count) || bytes > this.budget) {
      ctx.fail(
        `tensor of shape [${shape.join(', ')}] (${type}) would exceed the remaining decode budget of ${this.budget} bytes` +
          ' (raise TorchLoadOptions.maxBytes if the file is trusted)',
      );
    }
    this.budget -= bytes;
    const tensor = new TorchTensor(type, shape, undefined as unknown as TorchDataMap[TorchDtype], requiresGrad === true);
    const p: Pending = { targets: [tensor], storage, dtype: type, offset: offset as number, shape, stride: strides };
    this.pending.push(p);
    this.pendingOf.set(tensor, p);
    return tensor;
  }

  /** A Parameter (or tensor subclass) sharing another tensor's data. */
  rewrap(data: unknown, requiresGrad: boolean, ctx: PickleContext): TorchTensor {
    if (!(data instanceof TorchTensor)) return ctx.fail(`parameter data is a ${describe(data)}, not a tensor`);
    const p = this.pendingOf.get(data);
    if (p === undefined) return ctx.fail('parameter data is not a tensor from this checkpoint');
    const t = new TorchTensor(data.dtype, [...data.shape], data.data, requiresGrad);
    p.targets.push(t);
    this.pendingOf.set(t, p);
    return t;
  }

  finish(): void {
    for (const p of this.pending) {
      const storage = p.storage.resolved();
      const data = materialise({ storage, bigEndian: p.storage.bigEndian, dtype: p.dtype, offset: p.offset, shape: p.shape, stride: p.stride });
      for (const t of p.targets) t.data = data;
    }
  }

  private makeGlobals(): PickleGlobals {
    const arity = (args: readonly unknown[], min: number, max: number, name: string, ctx: PickleContext): void => {
      if (args.length < min || args.length > max) ctx.fail(`${name} takes ${min}–${max} arguments, got ${args.length}`);
    };
    const rebuildV2: PickleGlobal = {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      call: (a, ctx) => (arity(a, 6, 7, '_rebuild_tensor_v2', ctx), this.rebuild(a[0], a[1], a[2], a[3], a[4], undefined, ctx)),
    };
    const table: Record<string, PickleGlobal> = {
      ...PYTHON_GLOBALS,
      ...NUMPY_GLOBALS,
      'torch._utils._rebuild_tensor_v2': rebuildV2,
      'torch._utils._rebuild_tensor': {
        call: (a, ctx) => (arity(a, 4, 4, '_rebuild_tensor', ctx), this.rebuild(a[0], a[1], a[2], a[3], false, undefined, ctx)),
      },
      'torch._utils._rebuild_tensor_v3': {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
        call: (a, ctx) => {
          arity(a, 7, 8, '_rebuild_tensor_v3', ctx);
          const d = a[6];
          if (!(d instanceof PyGlobal) || d.module !== 'torch' || !Object.hasOwn(DTYPE_NAMES, d.name)) {
            return ctx.fail(`tensor dtype ${String(d)}: ${UNSUPPORTED_TENSORS}`);
          }
          return this.rebuild(a[0], a[1], a[2], a[3], a[4], DTYPE_NAMES[d.name], ctx);
        },
      },
      'torch._utils._rebuild_parameter': {
        // (data, requires_grad, backward_hooks)
        call: (a, ctx) => (arity(a, 3, 3, '_rebuild_parameter', ctx), this.rewrap(a[0], a[1] === true, ctx)),
      },
      'torch._utils._rebuild_parameter_with_state': {
        // (data, requires_grad, backward_hooks, state): state holds Python attributes
        call: (a, ctx) => {
          arity(a, 4, 4, '_rebuild_parameter_with_state', ctx);
          const t = this.rewrap(a[0], a[1] === true, ctx);
          attachState(t, a[3], ctx);
          return t;
        },
      },
      'torch._tensor._rebuild_from_type_v2': {
        // (func, new_type, args, state): a tensor subclass or a tensor with Python attributes
        call: (a, ctx) => {
          arity(a, 4, 4, '_rebuild_from_type_v2', ctx);
          const [func, type, args, state] = a;
          const typeName = String(type);
          if (typeName !== 'torch.Tensor' && typeName !== 'torch.nn.parameter.Parameter') {
            ctx.fail(`tensor subclass '${typeName}': ${UNSUPPORTED_TENSORS}`);
          }
          if (!Array.isArray(args)) return ctx.fail(`_rebuild_from_type_v2 arguments are a ${describe(args)}`);
          const t = ctx.call(func, args);
          if (!(t instanceof TorchTensor)) return ctx.fail(`_rebuild_from_type_v2 rebuilt a ${describe(t)}, not a tensor`);
          attachState(t, state, ctx);
          return t;
        },
      },
      'torch.Size': {
        call: (a, ctx) => {
          arity(a, 0, 1, 'torch.Size', ctx);
          return Object.freeze(counts(a[0] ?? [], 'Size', ctx));
        },
      },
      'torch.device': {
        // torch.device('cuda', 0) → 'cuda:0'; a string is all a device is to a reader
        call: (a, ctx) => {
          arity(a, 1, 2, 'torch.device', ctx);
          if (typeof a[0] !== 'string' || (a.length === 2 && a[1] !== null && !isCount(a[1]))) ctx.fail('torch.device expects (str[, int])');
          return a.length === 2 && a[1] !== null ? `${a[0]}:${a[1]}` : a[0];
        },
      },
      'torch.nn.parameter.Parameter': {},
    };
    for (const name of Object.keys(STORAGE_DTYPES)) table[`torch.${name}`] = {};
    for (const name of [...Object.keys(DTYPE_NAMES), ...TORCH_MARKERS]) table[`torch.${name}`] = {};
    for (const [name, refuse] of Object.entries(REFUSED)) table[name] = { refuse };
    return table;
  }
}

function attachState(t: TorchTensor, state: unknown, ctx: PickleContext): void {
  if (state === null || state === undefined) return;
  // Tensor.__setstate__ / _set_obj_state: a dict of attributes, or (dict, slots dict).
  const parts = isPyTuple(state) ? state : [state];
  for (const part of parts) {
    if (part === null) continue;
    if (!(part instanceof Map)) return ctx.fail(`tensor state is a ${describe(part)}, expected a dict`);
    setPyAttributes(t, part, ctx);
  }
}

// ---- the zip layout ----

function loadZip(bytes: Uint8Array, file: string | undefined, loader: Loader): unknown {
  const zip: ZipArchive = readZip(bytes, file);
  const pkls = zip.entries.map((e) => e.name).filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  const names = [...new Set(pkls)];
  if (names.length === 0) {
    const shown = zip.entries
      .slice(0, 5)
      .map((e) => `'${e.name}'`)
      .join(', ');
    loader.fail(`no '<folder>/data.pkl' entry: not a torch.save zip archive (entries: ${shown || 'none'}${zip.entries.length > 5 ? ', …' : ''})`);
  }
  if (names.length > 1) loader.fail(`several data.pkl entries (${names.join(', ')}): ambiguous archive`);
  const prefix = names[0].slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || zip.has(`${prefix}code/`)) {
    loader.fail('this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save its state_dict() with torch.save instead');
  }
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const order = Buffer.from(zip.read(`${prefix}byteorder`))
      .toString('latin1')
      .trim();
    if (order !== 'little' && order !== 'big') loader.fail(`unknown byte order '${order.slice(0, 20)}' in ${prefix}byteorder`);
    bigEndian = order === 'big';
  }
  const persistentLoad = (pid: unknown, ctx: PickleContext): unknown => {
    if (!isPyTuple(pid) || pid.length !== 5 || asText(pid[0]) !== 'storage') {
      return ctx.fail(`unexpected persistent id ${describePid(pid)} (expected ('storage', type, key, location, size))`);
    }
    const dtype = loader.storageDtype(pid[1], ctx);
    const key = asText(pid[2]);
    if (key === undefined) return ctx.fail(`storage key is a ${describe(pid[2])}`);
    return loader.storage(key, dtype, pid[4], ctx, bigEndian, (s) => {
      const name = `${prefix}data/${key}`;
      if (!zip.has(name)) ctx.fail(`storage '${key}' is missing: no entry '${name}'`);
      const data = zip.read(name);
      const expected = s.numel * TORCH_ITEM_SIZE[dtype];
      if (data.length !== expected) {
        ctx.fail(`storage '${key}' declares ${s.numel} ${dtype} elements (${expected} bytes) but entry '${name}' has ${data.length} bytes`);
      }
      s.bytes = data;
    });
  };
  const pkl = zip.read(names[0]);
  const { value } = unpickleAt(pkl, 0, { globals: loader.globals, persistentLoad, file, kind: KIND });
  loader.finish();
  return value;
}

function describePid(pid: unknown): string {
  if (Array.isArray(pid))
    return `(${pid
      .slice(0, 6)
      .map((x) => (typeof x === 'string' ? `'${x.slice(0, 30)}'` : describe(x)))
      .join(', ')})`;
  return `of type ${describe(pid)}`;
}

// ---- the legacy layout ----

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function loadLegacy(bytes: Uint8Array, file: string | undefined, loader: Loader): unknown {
  const plain: UnpickleOptions = { file, kind: KIND, globals: loader.globals };
  let pos = 0;
  const next = (what: string, options = plain): unknown => {
    if (pos >= bytes.length) loader.fail(`truncated: the file ends before the ${what}`);
    const r = unpickleAt(bytes, pos, options);
    pos = r.end;
    return r.value;
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC) {
    loader.fail("not a torch checkpoint: a pickle, but without torch's magic number (a plain pickle is not read here)");
  }
  const protocol = next('protocol version');
  if (protocol !== LEGACY_PROTOCOL) loader.fail(`unsupported legacy protocol version ${String(protocol)} (expected ${LEGACY_PROTOCOL})`);
  next('sys_info'); // byte order and C type sizes of the writer; storages are little-endian regardless

  const views = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown, ctx: PickleContext): unknown => {
    const typename = isPyTuple(pid) ? asText(pid[0]) : undefined;
    if (typename === 'module') ctx.fail('the checkpoint pickles a whole nn.Module (torch.save(model)); only state_dicts and plain containers can be read');
    if (!isPyTuple(pid) || pid.length !== 6 || typename !== 'storage') {
      return ctx.fail(`unexpected persistent id ${describePid(pid)} (expected ('storage', type, key, location, size, view))`);
    }
    const dtype = loader.storageDtype(pid[1], ctx);
    const key = asText(pid[2]);
    if (key === undefined) return ctx.fail(`storage key is a ${describe(pid[2])}`);
    const root = loader.storage(key, dtype, pid[4], ctx, false, () => undefined);
    const viewMeta = pid[5];
    if (viewMeta === null) return root;
    // Storage views (torch < 0.4): (view_key, offset, size) within the root storage.
    if (!isPyTuple(viewMeta) || viewMeta.length !== 3) return ctx.fail('storage view metadata is not (key, offset, size)');
    const [viewKey, offset, size] = [asText(viewMeta[0]), viewMeta[1], viewMeta[2]];
    if (viewKey === undefined || !isCount(offset) || !isCount(size)) return ctx.fail('storage view metadata is not (key, offset, size)');
    if (offset + size > root.numel) ctx.fail(`storage view '${viewKey}' [${offset}, ${offset + size}) exceeds storage '${key}' of ${root.numel} elements`);
    const existing = views.get(viewKey);
    if (existing) return existing;
    const view = new TorchStorage(viewKey, dtype, size, false, { storage: root, offset });
    views.set(viewKey, view);
    return view;
  };
  const value = next('checkpoint object', { ...plain, persistentLoad });
  const keys = next('storage key list');
  if (!Array.isArray(keys)) loader.fail(`the storage key list is a ${describe(keys)}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const done = new Set<string>();
  for (const k of keys as unknown[]) {
    const key = asText(k);
    const storage = key === undefined ? undefined : loader.storages.get(key);
    if (key === undefined || storage === undefined) loader.fail(`storage key ${String(k).slice(0, 40)} is listed but not used by the object`);
    if (done.has(key)) loader.fail(`storage key '${key}' is listed twice`);
    done.add(key);
    if (bytes.length - pos < 8) loader.fail(`truncated: storage '${key}' has no size field`);
    const count = view.getBigInt64(pos, true);
    pos += 8;
    if (count !== BigInt(storage.numel)) loader.fail(`storage '${key}' declares ${storage.numel} elements in the pickle but ${count} in the data section`);
    const size = storage.numel * TORCH_ITEM_SIZE[storage.dtype];
    if (bytes.length - pos < size) loader.fail(`truncated: storage '${key}' needs ${size} bytes, ${bytes.length - pos} left`);
    storage.bytes = bytes.subarray(pos, pos + size);
    pos += size;
  }
  for (const [key, s] of loader.storages) {
    if (s.bytes === undefined) loader.fail(`storage '${key}' is used but not in the storage key list`);
  }
  loader.finish();
  return value;
}

// ---- public API ----

/**
 * Read a torch.save file from memory. Returns the saved object with every tensor a
 * TorchTensor. `file` only labels error messages.
 */
export function loadTorchCheckpoint(bytes: Uint8Array, file?: string, options: TorchLoadOptions = {}): unknown {
  const loader = new Loader(file, bytes.length, options);
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return loadZip(bytes, file, loader);
  if (bytes[0] === 0x80) return loadLegacy(bytes, file, loader);
  if (bytes.length > 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    loader.fail('the tar-based format of torch < 0.4 is not supported; re-save the checkpoint with a newer torch');
  }
  return loader.fail(`not a torch checkpoint: starts with [${hexPreview(bytes)}], expected a zip archive (PK) or a pickle (80)`);
}

export async function readTorchCheckpoint(path: string, options?: TorchLoadOptions): Promise<unknown> {
  return loadTorchCheckpoint(await readFile(path), path, options);
}

export function readTorchCheckpointSync(path: string, options?: TorchLoadOptions): unknown {
  return loadTorchCheckpoint(readFileSync(path), path, options);
}

/** Narrow a tensor to one dtype, or throw naming the dtypes (and `name`, if given). */
export function requireTorchDtype<D extends TorchDtype>(tensor: TorchTensor, dtype: D, name?: string): TorchTensor<D> {
  if (tensor.dtype !== dtype) {
    throw new Error(`${name === undefined ? 'tensor' : `tensor '${name}'`}: expected dtype ${dtype}, found ${tensor.dtype}`);
  }
  return tensor as TorchTensor<D>;
}

const MAX_DEPTH = 1000;
/** Containers expanded; shared sub-dicts are walked once per path, so a hostile DAG could explode. */
const MAX_VISITS = 1_000_000;

/**
 * Every tensor in a checkpoint tree, keyed by its dotted path as PyTorch names state_dict
 * entries: nested dicts (Maps), lists/tuples (by index) and Namespace objects are walked,
 * so `{model: {conv: {weight: t}}}` gives 'model.conv.weight' and an EMA's
 * `shadow_params` list gives 'shadow_params.0', .... Non-tensor leaves are skipped.
 * Throws if a dict key is not a str/int or two paths flatten to the same key.
 */
export function stateDictTensors(obj: unknown): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  const path = new Set<object>();
  let visits = 0;
  const walk = (value: unknown, key: string, depth: number): void => {
    if (value instanceof TorchTensor) {
      if (out.has(key)) throw new Error(`stateDictTensors: two tensors flatten to the key '${key}'`);
      out.set(key, value);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    let children: Iterable<[unknown, unknown]>;
    if (value instanceof Map) children = value;
    else if (Array.isArray(value)) children = value.entries();
    else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) children = Object.entries(value);
    else return;
    if (path.has(value)) return; // a cycle: already being walked above us
    if (++visits > MAX_VISITS) throw new Error(`stateDictTensors: more than ${MAX_VISITS} containers (shared containers?)`);
    if (depth >= MAX_DEPTH) throw new Error(`stateDictTensors: nested deeper than ${MAX_DEPTH} levels`);
    path.add(value);
    for (const [k, v] of children) {
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') {
        throw new Error(`stateDictTensors: key of type ${describe(k)} under '${key}' cannot be part of a dotted name`);
      }
      walk(v, key === '' ? String(k) : `${key}.${String(k)}`, depth + 1);
    }
    path.delete(value);
  };
  walk(obj, '', 0);
  return out;
}
