/**
 * The values the unpickler makes and the hooks its callers supply (see pickle.ts for the
 * Python → JS mapping). Apart from the interpreter so that the opcode handlers and the
 * public module both import them without an import cycle.
 */

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

export function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
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
