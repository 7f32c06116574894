/**
 * The opcodes the unpickler understands, in pickle.py's groups, and the loop that runs
 * them. Each opcode is one small function of the machine (pickle-machine.ts); one table
 * indexed by the opcode byte gives its handler and its name (for error messages), so an
 * opcode can be neither handled without a name nor named without a handler.
 */
import type { PickleMachine } from './pickle-machine.js';
import { describe, tuple } from './pickle-values.js';

/** What STOP hands back: the finished value. */
interface Stop {
  value: unknown;
}

interface Opcode {
  name: string;
  run(m: PickleMachine): Stop | void;
}

type OpcodeGroup = Record<number, Opcode>;

const op = (name: string, run: Opcode['run']): Opcode => ({ name, run });

/**
 * Python 3's int(str) refuses more than 4300 digits by default (sys.int_info); so do we,
 * because BigInt parsing of decimal text is quadratic.
 */
const MAX_INT_DIGITS = 4300;

const utf8 = new TextDecoder('utf-8');
const text = (raw: Uint8Array): string => utf8.decode(raw);

const bigToValue = (b: bigint): number | bigint => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);

/**
 * Two's-complement little-endian integer (LONG1/LONG4): for bytes b₀…b_{k−1},
 * v = Σ bᵢ·256ⁱ − (b_{k−1} ≥ 0x80 ? 256ᵏ : 0).
 */
function longFromBytes(raw: Uint8Array): number | bigint {
  if (raw.length === 0) return 0;
  let hex = '';
  for (let i = raw.length - 1; i >= 0; i--) hex += raw[i].toString(16).padStart(2, '0');
  let b = BigInt(`0x${hex}`);
  if (raw[raw.length - 1] & 0x80) b -= 1n << BigInt(raw.length * 8);
  return bigToValue(b);
}

function parseDecimal(m: PickleMachine, t: string, what: string): number | bigint {
  const digits = t.replace(/^[+-]/, '');
  if (!/^\d+$/.test(digits)) m.raise(`${what} '${t.slice(0, 40)}' is not an integer`);
  if (digits.length > MAX_INT_DIGITS) m.raise(`${what} has ${digits.length} digits (limit ${MAX_INT_DIGITS})`);
  return bigToValue(BigInt(t));
}

/** Protocol 0 FLOAT: Python's repr, including nan and inf. */
function parseFloatText(m: PickleMachine, t: string): number {
  const v = /^[+-]?(nan|inf)$/i.test(t) ? Number(t.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')) : Number(t);
  if (t === '' || (Number.isNaN(v) && !/nan/i.test(t))) m.raise(`FLOAT '${t.slice(0, 40)}' is not a number`);
  return v;
}

/** A signed 4-byte length that must not be negative (LONG4, BINSTRING). */
function length32(m: PickleMachine, what: string): number {
  const len = m.i32();
  if (len < 0) m.raise(`negative ${what} length ${len}`);
  return len;
}

/** Protocol headers, framing and the end. */
const FRAMING: OpcodeGroup = {
  0x80: op('PROTO', (m) => {
    const proto = m.u8();
    if (proto > 5) m.raise(`unsupported pickle protocol ${proto}`);
  }),
  // a length prefix for buffering; nothing to do but check it
  0x95: op('FRAME', (m) => {
    const len = m.u64();
    if (len > m.n - m.pos) m.raise(`truncated: frame of ${len} bytes, ${m.n - m.pos} left`);
  }),
  0x2e: op('STOP', (m) => {
    if (m.metastack.length > 0) m.raise('STOP inside an unclosed MARK');
    return { value: m.pop() };
  }),
};

const STACK_AND_MEMO: OpcodeGroup = {
  0x28: op('MARK', (m) => m.mark()),
  0x30: op('POP', (m) => {
    if (m.stack.length > 0) m.stack.pop();
    else m.popMark(); // pickle.py: POP of an empty stack discards the mark
  }),
  0x31: op('POP_MARK', (m) => void m.popMark()),
  0x32: op('DUP', (m) => m.push(m.top())),
  0x70: op('PUT', (m) => m.memoPut(m.memoKey(m.line('PUT')))),
  0x71: op('BINPUT', (m) => m.memoPut(m.u8())),
  0x72: op('LONG_BINPUT', (m) => m.memoPut(m.u32())),
  0x94: op('MEMOIZE', (m) => m.memoPut(m.memo.size)),
  0x67: op('GET', (m) => m.push(m.memoGet(m.memoKey(m.line('GET'))))),
  0x68: op('BINGET', (m) => m.push(m.memoGet(m.u8()))),
  0x6a: op('LONG_BINGET', (m) => m.push(m.memoGet(m.u32()))),
};

const CONSTANTS: OpcodeGroup = {
  0x4e: op('NONE', (m) => m.push(null)),
  0x88: op('NEWTRUE', (m) => m.push(true)),
  0x89: op('NEWFALSE', (m) => m.push(false)),
  0x4a: op('BININT', (m) => m.push(m.i32())),
  0x4b: op('BININT1', (m) => m.push(m.u8())),
  0x4d: op('BININT2', (m) => m.push(m.u16())),
  // protocol 0 text; I01/I00 are True/False
  0x49: op('INT', (m) => {
    const t = m.line('INT');
    if (t === '01') m.push(true);
    else if (t === '00') m.push(false);
    else m.push(parseDecimal(m, t, 'INT'));
  }),
  // protocol 0 text, optional trailing L
  0x4c: op('LONG', (m) => {
    const t = m.line('LONG');
    m.push(parseDecimal(m, t.endsWith('L') ? t.slice(0, -1) : t, 'LONG'));
  }),
  0x8a: op('LONG1', (m) => m.push(longFromBytes(m.take(m.u8(), 'LONG1')))),
  0x8b: op('LONG4', (m) => m.push(longFromBytes(m.take(length32(m, 'LONG4'), 'LONG4')))),
  0x47: op('BINFLOAT', (m) => m.push(m.f64('BINFLOAT'))),
  0x46: op('FLOAT', (m) => m.push(parseFloatText(m, m.line('FLOAT').trim()))),
  0x58: op('BINUNICODE', (m) => m.push(text(m.take(m.u32(), 'BINUNICODE')))),
  0x8c: op('SHORT_BINUNICODE', (m) => m.push(text(m.take(m.u8(), 'SHORT_BINUNICODE')))),
  0x8d: op('BINUNICODE8', (m) => m.push(text(m.take(m.u64(), 'BINUNICODE8')))),
  0x56: op('UNICODE', (m) => m.push(rawUnicodeEscape(m.line('UNICODE')))),
  // Python 2 str: torch.load decodes these as utf-8 (its default encoding).
  0x54: op('BINSTRING', (m) => m.push(text(m.take(length32(m, 'BINSTRING'), 'BINSTRING')))),
  0x55: op('SHORT_BINSTRING', (m) => m.push(text(m.take(m.u8(), 'SHORT_BINSTRING')))),
  // protocol 0 repr of a Python 2 str
  0x53: op('STRING', (m) => {
    const decoded = stringRepr(m.line('STRING'));
    if (decoded === undefined) m.raise('STRING argument is not a quoted string');
    m.push(decoded);
  }),
  // fresh copies: a view would alias the caller's buffer and keep all of it alive
  0x42: op('BINBYTES', (m) => m.push(new Uint8Array(m.take(m.u32(), 'BINBYTES')))),
  0x43: op('SHORT_BINBYTES', (m) => m.push(new Uint8Array(m.take(m.u8(), 'SHORT_BINBYTES')))),
  0x8e: op('BINBYTES8', (m) => m.push(new Uint8Array(m.take(m.u64(), 'BINBYTES8')))),
  0x96: op('BYTEARRAY8', (m) => m.push(new Uint8Array(m.take(m.u64(), 'BYTEARRAY8')))),
  0x97: op('NEXT_BUFFER', outOfBandBuffer),
  0x98: op('READONLY_BUFFER', outOfBandBuffer),
};

function outOfBandBuffer(m: PickleMachine): never {
  m.raise('out-of-band buffers (pickle protocol 5 buffer_callback) are not supported');
}

const CONTAINERS: OpcodeGroup = {
  0x7d: op('EMPTY_DICT', (m) => m.push(new Map())),
  0x64: op('DICT', (m) => {
    const d = new Map();
    m.setItems(d, m.popMark());
    m.push(d);
  }),
  0x73: op('SETITEM', (m) => {
    const v = m.pop();
    const k = m.pop();
    m.setItems(m.top(), [k, v]);
  }),
  0x75: op('SETITEMS', (m) => {
    const items = m.popMark();
    m.setItems(m.top(), items);
  }),
  0x5d: op('EMPTY_LIST', (m) => m.push([])),
  0x6c: op('LIST', (m) => m.push(m.popMark())),
  0x61: op('APPEND', (m) => {
    const v = m.pop();
    m.appendItems(m.top(), [v]);
  }),
  0x65: op('APPENDS', (m) => {
    const items = m.popMark();
    m.appendItems(m.top(), items);
  }),
  0x29: op('EMPTY_TUPLE', (m) => m.push(tuple([]))),
  0x74: op('TUPLE', (m) => m.push(tuple(m.popMark()))),
  0x85: op('TUPLE1', (m) => m.push(tuple([m.pop()]))),
  0x86: op('TUPLE2', (m) => {
    const b = m.pop();
    m.push(tuple([m.pop(), b]));
  }),
  0x87: op('TUPLE3', (m) => {
    const c = m.pop();
    const b = m.pop();
    m.push(tuple([m.pop(), b, c]));
  }),
  0x8f: op('EMPTY_SET', (m) => m.push(new Set())),
  0x90: op('ADDITEMS', (m: PickleMachine) => {
    const items = m.popMark();
    const s = m.top();
    if (!(s instanceof Set)) m.raise(`ADDITEMS on a ${describe(s)}, not a set`);
    for (const item of items) s.add(item);
  }),
  0x91: op('FROZENSET', (m) => m.push(new Set(m.popMark()))),
};

/** Globals and what makes objects from them: never code, only the caller's table. */
const OBJECTS: OpcodeGroup = {
  0x63: op('GLOBAL', (m) => {
    const module = m.line('GLOBAL module');
    const name = m.line('GLOBAL name');
    m.push(m.resolveGlobal(module, name));
  }),
  0x93: op('STACK_GLOBAL', (m: PickleMachine) => {
    const name = m.pop();
    const module = m.pop();
    if (typeof module !== 'string' || typeof name !== 'string') m.raise('STACK_GLOBAL needs two strings');
    m.push(m.resolveGlobal(module, name));
  }),
  0x82: op('EXT1', extensionRegistry),
  0x83: op('EXT2', extensionRegistry),
  0x84: op('EXT4', extensionRegistry),
  0x52: op('REDUCE', (m) => {
    const args = m.pop();
    const callee = m.pop();
    m.push(m.callGlobal(callee, args));
  }),
  0x81: op('NEWOBJ', (m) => {
    const args = m.pop();
    const cls = m.pop();
    m.push(m.newObject(cls, args, new Map()));
  }),
  0x92: op('NEWOBJ_EX', (m) => {
    const kwargs = m.pop();
    const args = m.pop();
    const cls = m.pop();
    m.push(m.newObject(cls, args, kwargs));
  }),
  0x69: op('INST', (m) => {
    const cls = m.resolveGlobal(m.line('INST module'), m.line('INST name'));
    m.push(m.instantiate(cls, m.popMark()));
  }),
  0x6f: op('OBJ', (m) => {
    const items = m.popMark();
    if (items.length === 0) m.raise('OBJ without a class');
    m.push(m.instantiate(items[0], items.slice(1)));
  }),
  0x62: op('BUILD', (m) => {
    const state = m.pop();
    m.build(m.top(), state);
  }),
};

function extensionRegistry(m: PickleMachine): never {
  m.raise('extension-registry globals (copyreg.add_extension) are not supported');
}

/** How torch refers to tensor storages: the caller's persistentLoad resolves the id. */
const PERSISTENT_IDS: OpcodeGroup = {
  0x50: op('PERSID', (m) => persistentLoad(m, m.line('PERSID'))),
  0x51: op('BINPERSID', (m) => persistentLoad(m, m.pop())),
};

function persistentLoad(m: PickleMachine, pid: unknown): void {
  const load = m.options.persistentLoad;
  if (!load) m.raise('persistent id found, but no persistent_load was given');
  m.push(load(pid, m.ctx));
}

const OPCODES: readonly (Opcode | undefined)[] = (() => {
  const table: (Opcode | undefined)[] = new Array(256).fill(undefined);
  for (const group of [FRAMING, STACK_AND_MEMO, CONSTANTS, CONTAINERS, OBJECTS, PERSISTENT_IDS]) {
    for (const [code, opcode] of Object.entries(group)) table[Number(code)] = opcode;
  }
  return table;
})();

/** Runs opcodes until STOP; returns the value STOP pops (the machine's `pos` is then just past it). */
export function runOpcodes(m: PickleMachine): unknown {
  const bytes = m.bytes;
  for (;;) {
    m.opStart = m.pos;
    m.opName = '';
    if (m.pos >= m.n) m.raise('truncated: the pickle ends before its STOP opcode');
    const code = bytes[m.pos++];
    const opcode = OPCODES[code];
    if (opcode === undefined) m.raise(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
    m.opName = opcode.name;
    const stop = opcode.run(m);
    if (stop !== undefined) return stop.value;
  }
}

/** Python's raw-unicode-escape (protocol 0 UNICODE): latin-1 text with \uXXXX / \UXXXXXXXX. */
function rawUnicodeEscape(latin1: string): string {
  return latin1.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (whole, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
};

/** The repr of a Python 2 str, as protocol 0 STRING writes it; undefined if malformed. */
function stringRepr(t: string): string | undefined {
  if (t.length < 2 || (t[0] !== "'" && t[0] !== '"') || t[t.length - 1] !== t[0]) return undefined;
  const body = t.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i] ?? '';
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(oct, 8) & 0xff);
      i += oct.length - 1;
    } else out += `\\${e}`;
  }
  // Python 2 str is bytes; torch.load decodes them as utf-8.
  return Buffer.from(out, 'latin1').toString('utf8');
}
