/**
 * Test-only builders for hand-made (often hostile) pickles and torch archives: raw opcode
 * assembly, a small protocol-2 writer for nested values, and a minimal stored-only zip
 * writer with its own CRC-32, so these tests share no code with what they test.
 */

/** Concatenate opcode bytes: numbers are bytes, strings latin-1, arrays/Uint8Arrays raw. */
export function ops(...parts: (number | string | Uint8Array | readonly number[])[]): Uint8Array {
  const chunks: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') chunks.push(p);
    else if (typeof p === 'string') for (const c of Buffer.from(p, 'latin1')) chunks.push(c);
    else chunks.push(...p);
  }
  return new Uint8Array(chunks);
}

export function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function u64le(n: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
}

/** BINUNICODE opcode for a string. */
export function str(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  return ops(0x58, u32le(b.length), b);
}

/** GLOBAL opcode (protocol 0 text form). */
export function glob(qualified: string): Uint8Array {
  const i = qualified.lastIndexOf('.');
  return ops('c', `${qualified.slice(0, i)}\n${qualified.slice(i + 1)}\n`);
}

/** Values for `pickle2`: a tiny model of the Python objects torch writes. */
export type Py =
  | null
  | boolean
  | number
  | bigint
  | string
  | Py[]
  | { tuple: Py[] }
  | { dict: [Py, Py][] }
  | { global: string }
  | { call: string; args: Py[] }
  | { persid: Py }
  | { raw: Uint8Array };

/** Serialise with protocol 2 opcodes (no memo): enough to imitate torch's data.pkl. */
export function pickle2(value: Py): Uint8Array {
  const out: (number | Uint8Array | readonly number[])[] = [0x80, 2];
  const emit = (v: Py): void => {
    if (v === null) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'bigint') {
      const bytes: number[] = [];
      let x = BigInt.asUintN(128, v);
      for (let i = 0; i < 16; i++, x >>= 8n) bytes.push(Number(x & 0xffn));
      out.push(0x8a, 16, bytes);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) out.push(0x4a, u32le(v));
      else if (Number.isInteger(v)) emit(BigInt(v));
      else {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v);
        out.push(0x47, b);
      }
    } else if (typeof v === 'string') out.push(str(v));
    else if (Array.isArray(v)) {
      out.push(0x5d, 0x28);
      v.forEach(emit);
      out.push(0x65);
    } else if ('tuple' in v) {
      out.push(0x28);
      v.tuple.forEach(emit);
      out.push(0x74);
    } else if ('dict' in v) {
      out.push(0x7d, 0x28);
      for (const [k, x] of v.dict) {
        emit(k);
        emit(x);
      }
      out.push(0x75);
    } else if ('global' in v) out.push(glob(v.global));
    else if ('call' in v) {
      out.push(glob(v.call));
      emit({ tuple: v.args });
      out.push(0x52);
    } else if ('persid' in v) {
      emit(v.persid);
      out.push(0x51);
    } else out.push(v.raw);
  };
  emit(value);
  out.push(0x2e);
  return ops(...out);
}

/** torch's persistent id for a storage in the zip layout. */
export function storagePid(type: string, key: string, numel: number | bigint): Py {
  return { persid: { tuple: ['storage', { global: `torch.${type}` }, key, 'cpu', numel] } };
}

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
export function rebuild(storage: Py, offset: number, size: number[], stride: number[]): Py {
  return {
    call: 'torch._utils._rebuild_tensor_v2',
    args: [storage, offset, { tuple: size }, { tuple: stride }, false, { call: 'collections.OrderedDict', args: [] }],
  };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) zip archive of the given entries, in order. */
export function makeZip(entries: readonly [string, Uint8Array][]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, Buffer.from(data));
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(dir.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, dir, eocd]));
}

/** A torch zip checkpoint: archive/data.pkl, archive/data/<key> storages, archive/version. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, extra: [string, Uint8Array][] = []): Uint8Array {
  return makeZip([
    ['archive/data.pkl', pkl],
    ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]),
    ['archive/version', new Uint8Array(Buffer.from('3\n'))],
    ...extra,
  ]);
}

/** Little-endian bytes of float32 values. */
export function f32(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
