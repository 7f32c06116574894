/**
 * A restricted Python unpickler (protocols 0–5, the opcodes that torch.save, state_dicts
 * and plain containers produce). Unlike pickle.load it never runs anything: a GLOBAL is
 * only a name, looked up in a table the caller supplies (`globals`), and every name not
 * in that table is refused before any further byte is read. Persistent ids (how torch
 * refers to tensor storages) go to a caller-supplied `persistentLoad`.
 *
 * Python values become plain JS values:
 *
 * | Python                         | JS                                                   |
 * | ------------------------------ | ---------------------------------------------------- |
 * | None, bool, float, str         | null, boolean, number, string                        |
 * | int                            | number when a safe integer, else bigint              |
 * | bytes, bytearray               | Uint8Array (a fresh copy)                            |
 * | list                           | Array                                                |
 * | tuple                          | frozen Array (`isPyTuple` tells it from a list)      |
 * | dict (and OrderedDict)         | Map, in insertion order, keys of any type            |
 * | set, frozenset                 | Set                                                  |
 * | a global that was not called   | PyGlobal (module + name), e.g. `torch.float16`       |
 * | anything a global builds       | whatever the table's function returns                |
 *
 * Dicts are always Maps (never objects) because checkpoints have non-string keys (an
 * optimizer's `state` is keyed by int) and because a Map cannot be prototype-polluted by
 * a hostile key such as `__proto__`. Map keys compare like JS `===` (strings, numbers and
 * bigints by value; tuples by identity), which differs from Python's hashing only in
 * corner cases (`1`, `1.0` and `True` are one Python key). Attributes that BUILD sets on
 * something that is not a plain object (torch's `_metadata` on a state_dict) are kept
 * aside and returned by `pyAttributes(value)`.
 *
 * Hostile input: every read is bounds-checked; lengths are compared with the bytes left
 * before anything is allocated, so memory and time stay linear in the input (each stack
 * or memo slot costs at least one input byte); unknown opcodes fail with their offset.
 */
import { FormatError } from './errors.js';

/** A Python global (`module.name`) that appeared as a value rather than being called. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {
    Object.freeze(this);
  }
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
  toString(): string {
    return this.qualifiedName;
  }
}

/** Handed to the caller's functions so their errors carry the file and opcode offset. */
export interface PickleContext {
  /** Throw a FormatError for the current opcode (the message gets its byte offset). */
  fail(reason: string): never;
  /** Call an allowed global as REDUCE would (for globals that wrap another, like copyreg._reconstructor). */
  call(callee: unknown, args: readonly unknown[]): unknown;
  /** Instantiate an allowed class as NEWOBJ would. */
  newObject(cls: unknown, args: readonly unknown[]): unknown;
}

/**
 * What an allowed global may do. An entry with no functions may only appear as a value
 * (e.g. `torch.FloatStorage` inside a persistent id); calling it is an error.
 */
export interface PickleGlobal {
  /** REDUCE `f(*args)` (and protocol 0/1 INST/OBJ with arguments). */
  call?(args: readonly unknown[], ctx: PickleContext): unknown;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. */
  newObject?(args: readonly unknown[], kwargs: ReadonlyMap<unknown, unknown>, ctx: PickleContext): unknown;
  /** BUILD on an object this global made (`obj.__setstate__(state)`). */
  setState?(obj: object, state: unknown, ctx: PickleContext): void;
  /** Refuse this known global with this explanation instead of the generic message. */
  refuse?: string;
}

export type PickleGlobals = Readonly<Record<string, PickleGlobal>>;

export interface UnpickleOptions {
  /** Allowed globals by qualified name (`'collections.OrderedDict'`); nothing else is. */
  globals?: PickleGlobals;
  /** Resolves PERSID/BINPERSID ids; without it a persistent id is an error. */
  persistentLoad?: (pid: unknown, ctx: PickleContext) => unknown;
  /** Labels error messages. */
  file?: string;
  /** First word of error messages (FormatError kind); default 'pickle'. */
  kind?: string;
}

/** Python tuples are frozen arrays; lists are ordinary (extensible) arrays. */
export function isPyTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

const ATTRIBUTES = new WeakMap<object, Map<string, unknown>>();

/** Attributes BUILD set on a non-plain object (e.g. a state_dict's `_metadata`), if any. */
export function pyAttributes(value: object): ReadonlyMap<string, unknown> | undefined {
  return ATTRIBUTES.get(value);
}

/** Record Python attributes for a value (used by globals whose state carries some). */
export function setPyAttributes(value: object, attributes: ReadonlyMap<unknown, unknown>, ctx: PickleContext): void {
  let attrs = ATTRIBUTES.get(value);
  for (const [k, v] of attributes) {
    if (typeof k !== 'string') ctx.fail(`attribute name is a ${describe(k)}, expected str`);
    if (!attrs) ATTRIBUTES.set(value, (attrs = new Map()));
    attrs.set(k, v);
  }
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/**
 * Python 3's int(str) refuses more than 4300 digits by default (sys.int_info); so do we,
 * because BigInt parsing of decimal text is quadratic.
 */
const MAX_INT_DIGITS = 4300;

/** 2to3 module renames that Python applies when reading protocol 0–2 pickles. */
const MODULE_RENAMES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own-property definition, so a key such as `__proto__` cannot change the prototype. */
export function setOwn(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A short description of a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return isPyTuple(v) ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyGlobal) return `global '${v.qualifiedName}'`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
}

/** Read one pickle starting at `offset`; returns the value and the offset after STOP. */
export function unpickleAt(bytes: Uint8Array, offset: number, options: UnpickleOptions = {}): { value: unknown; end: number } {
  const kind = options.kind ?? 'pickle';
  const prefix = kind === 'pickle' ? '' : 'pickle: ';
  const table = options.globals ?? {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;

  let pos = offset;
  let opStart = offset;
  let opName = '';
  // Declared with an explicit type so TypeScript narrows after `if (...) raise(...)`.
  const raise: (reason: string) => never = (reason) => {
    const where = opName ? ` [${opName} at byte ${opStart}]` : ` [at byte ${opStart}]`;
    throw new FormatError(kind, options.file, `${prefix}${reason}${where}`);
  };

  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  /** Which allowed global made an object, for BUILD's setState. */
  const makers = new WeakMap<object, PickleGlobal>();

  const need = (count: number, what: string): void => {
    if (count > n - pos) raise(`truncated: ${what} needs ${count} bytes, ${n - pos} left`);
  };
  const u8 = (): number => {
    need(1, 'a 1-byte argument');
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2, 'a 2-byte argument');
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'a 4-byte argument');
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4, 'a 4-byte argument');
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  /** 8-byte length: anything past 2^53 is certainly longer than the input. */
  const u64 = (): number => {
    need(8, 'an 8-byte length');
    const lo = view.getUint32(pos, true);
    const hi = view.getUint32(pos + 4, true);
    pos += 8;
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + lo;
  };
  const take = (count: number, what: string): Uint8Array => {
    need(count, what);
    const out = bytes.subarray(pos, pos + count);
    pos += count;
    return out;
  };
  /** Protocol 0 text argument, up to (and consuming) the next newline. */
  const line = (what: string): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) raise(`truncated: ${what} has no terminating newline`);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return text;
  };

  const push = (v: unknown): void => {
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) raise('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) raise('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) raise('no MARK on the stack');
    stack = prev as unknown[];
    return items;
  };
  const bigToValue = (b: bigint): number | bigint =>
    b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  /** Two's-complement little-endian integer (LONG1/LONG4). */
  const longFromBytes = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let hex = '';
    for (let i = raw.length - 1; i >= 0; i--) hex += raw[i].toString(16).padStart(2, '0');
    let b = BigInt(`0x${hex}`);
    if (raw[raw.length - 1] & 0x80) b -= 1n << BigInt(raw.length * 8);
    return bigToValue(b);
  };
  const parseDecimal = (text: string, what: string): number | bigint => {
    const digits = text.replace(/^[+-]/, '');
    if (!/^\d+$/.test(digits)) raise(`${what} '${text.slice(0, 40)}' is not an integer`);
    if (digits.length > MAX_INT_DIGITS) raise(`${what} has ${digits.length} digits (limit ${MAX_INT_DIGITS})`);
    return bigToValue(BigInt(text));
  };
  const memoKey = (text: string): number => {
    if (!/^\d{1,15}$/.test(text)) raise(`bad memo index '${text.slice(0, 40)}'`);
    return Number(text);
  };
  const memoGet = (key: number): unknown => {
    if (!memo.has(key)) raise(`memo key ${key} is not defined`);
    return memo.get(key);
  };
  const memoPut = (key: number): void => {
    memo.set(key, top());
  };

  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const mod = MODULE_RENAMES[module] ?? module;
    const qualified = `${mod}.${name}`;
    const entry = Object.hasOwn(table, qualified) ? table[qualified] : undefined;
    if (entry === undefined) raise(`global '${qualified}' is not allowed (reading never executes code)`);
    if (entry.refuse !== undefined) raise(`global '${qualified}' is not supported: ${entry.refuse}`);
    return new PyGlobal(mod, name);
  };
  const entryOf = (callee: unknown, what: string): [PyGlobal, PickleGlobal] => {
    if (!(callee instanceof PyGlobal)) raise(`${what} applied to a ${describe(callee)}, not a global`);
    const entry = Object.hasOwn(table, callee.qualifiedName) ? table[callee.qualifiedName] : undefined;
    if (entry === undefined) raise(`global '${callee.qualifiedName}' is not allowed (reading never executes code)`);
    return [callee, entry];
  };
  const made = (entry: PickleGlobal, value: unknown): unknown => {
    if (typeof value === 'object' && value !== null) makers.set(value, entry);
    return value;
  };
  const callGlobal = (callee: unknown, args: unknown): unknown => {
    const [g, entry] = entryOf(callee, 'call');
    if (!Array.isArray(args)) raise(`arguments to '${g.qualifiedName}' are a ${describe(args)}, not a tuple`);
    if (!entry.call) raise(`global '${g.qualifiedName}' cannot be called`);
    return made(entry, entry.call(args, ctx));
  };
  const newObject = (cls: unknown, args: unknown, kwargs: unknown): unknown => {
    const [g, entry] = entryOf(cls, 'NEWOBJ');
    if (!Array.isArray(args)) raise(`arguments to '${g.qualifiedName}' are a ${describe(args)}, not a tuple`);
    if (!(kwargs instanceof Map)) raise(`keyword arguments to '${g.qualifiedName}' are a ${describe(kwargs)}, not a dict`);
    if (!entry.newObject) raise(`global '${g.qualifiedName}' cannot be instantiated`);
    return made(entry, entry.newObject(args, kwargs, ctx));
  };
  /** INST / OBJ (protocols 0/1): Python calls the class when there are arguments. */
  const instantiate = (cls: unknown, args: unknown[]): unknown => {
    const [, entry] = entryOf(cls, 'INST/OBJ');
    return args.length > 0 || !entry.newObject ? callGlobal(cls, args) : newObject(cls, tuple([]), new Map());
  };
  const build = (inst: unknown, state: unknown): void => {
    if (typeof inst !== 'object' || inst === null) raise(`BUILD on a ${describe(inst)}`);
    const entry = makers.get(inst as object);
    if (entry?.setState) {
      entry.setState(inst as object, state, ctx);
      return;
    }
    // Python's default: state is a dict for __dict__, or (dict or None, slots dict or None).
    let parts: unknown[] = [state];
    if (isPyTuple(state) && state.length === 2) parts = [...state];
    for (const part of parts) {
      if (part === null) continue;
      if (!(part instanceof Map)) raise(`BUILD state is a ${describe(part)}, expected a dict`);
      if (!isPlainObject(inst)) {
        setPyAttributes(inst as object, part, ctx);
        continue;
      }
      for (const [k, v] of part) {
        if (typeof k !== 'string') raise(`BUILD state has a ${describe(k)} key, expected str`);
        setOwn(inst, k, v);
      }
    }
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) raise(`SETITEM(S) on a ${describe(target)}, not a dict`);
    if (items.length % 2 !== 0) raise('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) raise(`APPEND(S) on a ${describe(target)}, not a list`);
    for (const item of items) target.push(item);
  };
  const text = (raw: Uint8Array): string => utf8.decode(raw);
  const ctx: PickleContext = {
    fail: raise,
    call: (callee, args) => callGlobal(callee, args),
    newObject: (cls, args) => newObject(cls, args, new Map()),
  };

  for (;;) {
    opStart = pos;
    opName = '';
    if (pos >= n) raise('truncated: the pickle ends before its STOP opcode');
    const op = bytes[pos++];
    opName = OPCODE_NAMES[op] ?? '';
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) raise(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: { // FRAME: a length prefix for buffering; nothing to do but check it
        const len = u64();
        if (len > n - pos) raise(`truncated: frame of ${len} bytes, ${n - pos} left`);
        break;
      }
      case 0x2e: // STOP
        if (metastack.length > 0) raise('STOP inside an unclosed MARK');
        return { value: pop(), end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark(); // pickle.py: POP of an empty stack discards the mark
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x49: { // INT (protocol 0 text; I01/I00 are True/False)
        const t = line('INT');
        if (t === '01') push(true);
        else if (t === '00') push(false);
        else push(parseDecimal(t, 'INT'));
        break;
      }
      case 0x4c: { // LONG (protocol 0 text, optional trailing L)
        const t = line('LONG');
        push(parseDecimal(t.endsWith('L') ? t.slice(0, -1) : t, 'LONG'));
        break;
      }
      case 0x8a: push(longFromBytes(take(u8(), 'LONG1'))); break;
      case 0x8b: { // LONG4
        const len = i32();
        if (len < 0) raise(`negative LONG4 length ${len}`);
        push(longFromBytes(take(len, 'LONG4')));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8, 'BINFLOAT');
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: { // FLOAT (protocol 0 text repr)
        const t = line('FLOAT').trim();
        const v = /^[+-]?(nan|inf)$/i.test(t) ? Number(t.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')) : Number(t);
        if (t === '' || (Number.isNaN(v) && !/nan/i.test(t))) raise(`FLOAT '${t.slice(0, 40)}' is not a number`);
        push(v);
        break;
      }
      case 0x58: push(text(take(u32(), 'BINUNICODE'))); break;
      case 0x8c: push(text(take(u8(), 'SHORT_BINUNICODE'))); break;
      case 0x8d: push(text(take(u64(), 'BINUNICODE8'))); break;
      case 0x56: push(rawUnicodeEscape(line('UNICODE'))); break;
      // Python 2 str: torch.load decodes these as utf-8 (its default encoding).
      case 0x54: { // BINSTRING
        const len = i32();
        if (len < 0) raise(`negative BINSTRING length ${len}`);
        push(text(take(len, 'BINSTRING')));
        break;
      }
      case 0x55: push(text(take(u8(), 'SHORT_BINSTRING'))); break;
      case 0x53: { // STRING (protocol 0 repr of a Python 2 str)
        const decoded = stringRepr(line('STRING'));
        if (decoded === undefined) raise('STRING argument is not a quoted string');
        push(decoded);
        break;
      }
      case 0x42: push(new Uint8Array(take(u32(), 'BINBYTES'))); break;
      case 0x43: push(new Uint8Array(take(u8(), 'SHORT_BINBYTES'))); break;
      case 0x8e: push(new Uint8Array(take(u64(), 'BINBYTES8'))); break;
      case 0x96: push(new Uint8Array(take(u64(), 'BYTEARRAY8'))); break;
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        raise('out-of-band buffers (pickle protocol 5 buffer_callback) are not supported');
        break;
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) raise(`ADDITEMS on a ${describe(s)}, not a set`);
        for (const item of items) s.add(item);
        break;
      }
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x63: { // GLOBAL
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') raise('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x82: case 0x83: case 0x84: // EXT1/2/4
        raise('extension-registry globals (copyreg.add_extension) are not supported');
        break;
      case 0x52: { // REDUCE
        const args = pop();
        const callee = pop();
        push(callGlobal(callee, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        push(newObject(cls, args, new Map()));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        push(newObject(cls, args, kwargs));
        break;
      }
      case 0x69: { // INST
        const cls = resolveGlobal(line('INST module'), line('INST name'));
        push(instantiate(cls, popMark()));
        break;
      }
      case 0x6f: { // OBJ
        const items = popMark();
        if (items.length === 0) raise('OBJ without a class');
        push(instantiate(items[0], items.slice(1)));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x70: memoPut(memoKey(line('PUT'))); break;
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x67: push(memoGet(memoKey(line('GET')))); break;
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x50: // PERSID
      case 0x51: { // BINPERSID
        const pid = op === 0x50 ? line('PERSID') : pop();
        if (!options.persistentLoad) raise('persistent id found, but no persistent_load was given');
        push(options.persistentLoad(pid, ctx));
        break;
      }
      default:
        raise(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** Read the pickle at the start of `bytes` (bytes after its STOP are ignored, as pickle.loads does). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleAt(bytes, 0, options).value;
}

/** Python's raw-unicode-escape (protocol 0 UNICODE): latin-1 text with \uXXXX / \UXXXXXXXX. */
function rawUnicodeEscape(latin1: string): string {
  return latin1.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (whole, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '',
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
