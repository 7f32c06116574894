/**
 * The state of one unpickling (pickle.py's Unpickler): the input with its bounds-checked
 * readers, the stack with its MARK metastack, the memo, and the allowed globals. The
 * opcodes (pickle-opcodes.ts) are small functions of this state.
 */
import { FormatError } from './errors.js';
import {
  describe,
  isPlainObject,
  isPyTuple,
  PyGlobal,
  setOwn,
  setPyAttributes,
  tuple,
  type PickleContext,
  type PickleGlobal,
  type PickleGlobals,
  type UnpickleOptions,
} from './pickle-values.js';

/** 2to3 module renames that Python applies when reading protocol 0–2 pickles. */
const MODULE_RENAMES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

export class PickleMachine {
  readonly view: DataView;
  readonly n: number;
  pos: number;
  /** Where the current opcode starts and its name ('' before it is known), for messages. */
  opStart: number;
  opName = '';
  stack: unknown[] = [];
  readonly metastack: unknown[][] = [];
  readonly memo = new Map<number, unknown>();
  readonly ctx: PickleContext;
  private readonly kind: string;
  private readonly prefix: string;
  private readonly table: PickleGlobals;
  /** Which allowed global made an object, for BUILD's setState. */
  private readonly makers = new WeakMap<object, PickleGlobal>();

  constructor(
    readonly bytes: Uint8Array,
    offset: number,
    readonly options: UnpickleOptions,
  ) {
    this.kind = options.kind ?? 'pickle';
    this.prefix = this.kind === 'pickle' ? '' : 'pickle: ';
    this.table = options.globals ?? {};
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.n = bytes.length;
    this.pos = offset;
    this.opStart = offset;
    this.ctx = {
      fail: (reason) => this.raise(reason),
      call: (callee, args) => this.callGlobal(callee, args),
      newObject: (cls, args) => this.newObject(cls, args, new Map()),
    };
  }

  raise(reason: string): never {
    const where = this.opName ? ` [${this.opName} at byte ${this.opStart}]` : ` [at byte ${this.opStart}]`;
    throw new FormatError(this.kind, this.options.file, `${this.prefix}${reason}${where}`);
  }

  // --- reading the input

  /** Claims the next `count` bytes; returns where they start. */
  private advance(count: number, what: string): number {
    if (count > this.n - this.pos) this.raise(`truncated: ${what} needs ${count} bytes, ${this.n - this.pos} left`);
    const at = this.pos;
    this.pos += count;
    return at;
  }

  u8(): number {
    return this.bytes[this.advance(1, 'a 1-byte argument')];
  }

  u16(): number {
    return this.view.getUint16(this.advance(2, 'a 2-byte argument'), true);
  }

  u32(): number {
    return this.view.getUint32(this.advance(4, 'a 4-byte argument'), true);
  }

  i32(): number {
    return this.view.getInt32(this.advance(4, 'a 4-byte argument'), true);
  }

  /** 8-byte length: anything past 2^53 is certainly longer than the input. */
  u64(): number {
    const at = this.advance(8, 'an 8-byte length');
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + lo;
  }

  /** Big-endian double (BINFLOAT). */
  f64(what: string): number {
    return this.view.getFloat64(this.advance(8, what), false);
  }

  take(count: number, what: string): Uint8Array {
    const at = this.advance(count, what);
    return this.bytes.subarray(at, at + count);
  }

  /** Protocol 0 text argument, up to (and consuming) the next newline. */
  line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.raise(`truncated: ${what} has no terminating newline`);
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, end - this.pos).toString('latin1');
    this.pos = end + 1;
    return text;
  }

  // --- the stack and the memo

  push(v: unknown): void {
    this.stack.push(v);
  }

  pop(): unknown {
    if (this.stack.length === 0) this.raise('stack underflow');
    return this.stack.pop();
  }

  top(): unknown {
    if (this.stack.length === 0) this.raise('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  mark(): void {
    this.metastack.push(this.stack);
    this.stack = [];
  }

  /** The items pushed since the last MARK, which is removed. */
  popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) this.raise('no MARK on the stack');
    this.stack = prev;
    return items;
  }

  memoKey(text: string): number {
    if (!/^\d{1,15}$/.test(text)) this.raise(`bad memo index '${text.slice(0, 40)}'`);
    return Number(text);
  }

  memoGet(key: number): unknown {
    if (!this.memo.has(key)) this.raise(`memo key ${key} is not defined`);
    return this.memo.get(key);
  }

  memoPut(key: number): void {
    this.memo.set(key, this.top());
  }

  // --- containers

  setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.raise(`SETITEM(S) on a ${describe(target)}, not a dict`);
    if (items.length % 2 !== 0) this.raise('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  appendItems(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.raise(`APPEND(S) on a ${describe(target)}, not a list`);
    for (const item of items) target.push(item);
  }

  // --- globals: looked up in the caller's table, never imported

  resolveGlobal(module: string, name: string): PyGlobal {
    const mod = MODULE_RENAMES[module] ?? module;
    const qualified = `${mod}.${name}`;
    const entry = Object.hasOwn(this.table, qualified) ? this.table[qualified] : undefined;
    if (entry === undefined) this.raise(`global '${qualified}' is not allowed (reading never executes code)`);
    if (entry.refuse !== undefined) this.raise(`global '${qualified}' is not supported: ${entry.refuse}`);
    return new PyGlobal(mod, name);
  }

  private entryOf(callee: unknown, what: string): [PyGlobal, PickleGlobal] {
    if (!(callee instanceof PyGlobal)) this.raise(`${what} applied to a ${describe(callee)}, not a global`);
    const entry = Object.hasOwn(this.table, callee.qualifiedName) ? this.table[callee.qualifiedName] : undefined;
    if (entry === undefined) this.raise(`global '${callee.qualifiedName}' is not allowed (reading never executes code)`);
    return [callee, entry];
  }

  private made(entry: PickleGlobal, value: unknown): unknown {
    if (typeof value === 'object' && value !== null) this.makers.set(value, entry);
    return value;
  }

  callGlobal(callee: unknown, args: unknown): unknown {
    const [g, entry] = this.entryOf(callee, 'call');
    if (!Array.isArray(args)) this.raise(`arguments to '${g.qualifiedName}' are a ${describe(args)}, not a tuple`);
    if (!entry.call) this.raise(`global '${g.qualifiedName}' cannot be called`);
    return this.made(entry, entry.call(args, this.ctx));
  }

  newObject(cls: unknown, args: unknown, kwargs: unknown): unknown {
    const [g, entry] = this.entryOf(cls, 'NEWOBJ');
    if (!Array.isArray(args)) this.raise(`arguments to '${g.qualifiedName}' are a ${describe(args)}, not a tuple`);
    if (!(kwargs instanceof Map)) this.raise(`keyword arguments to '${g.qualifiedName}' are a ${describe(kwargs)}, not a dict`);
    if (!entry.newObject) this.raise(`global '${g.qualifiedName}' cannot be instantiated`);
    return this.made(entry, entry.newObject(args, kwargs, this.ctx));
  }

  /** INST / OBJ (protocols 0/1): Python calls the class when there are arguments. */
  instantiate(cls: unknown, args: unknown[]): unknown {
    const [, entry] = this.entryOf(cls, 'INST/OBJ');
    return args.length > 0 || !entry.newObject ? this.callGlobal(cls, args) : this.newObject(cls, tuple([]), new Map());
  }

  build(inst: unknown, state: unknown): void {
    if (typeof inst !== 'object' || inst === null) this.raise(`BUILD on a ${describe(inst)}`);
    const entry = this.makers.get(inst);
    if (entry?.setState) {
      entry.setState(inst, state, this.ctx);
      return;
    }
    // Python's default: state is a dict for __dict__, or (dict or None, slots dict or None).
    let parts: unknown[] = [state];
    if (isPyTuple(state) && state.length === 2) parts = [...state];
    for (const part of parts) {
      if (part === null) continue;
      if (!(part instanceof Map)) this.raise(`BUILD state is a ${describe(part)}, expected a dict`);
      if (!isPlainObject(inst)) {
        setPyAttributes(inst, part, this.ctx);
        continue;
      }
      for (const [k, v] of part) {
        if (typeof k !== 'string') this.raise(`BUILD state has a ${describe(k)} key, expected str`);
        setOwn(inst, k, v);
      }
    }
  }
}
