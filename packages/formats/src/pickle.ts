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
 *
 * The interpreter's state is pickle-machine.ts, its opcodes pickle-opcodes.ts (one small
 * function each, in pickle.py's groups), the values and hooks pickle-values.ts.
 */
import { PickleMachine } from './pickle-machine.js';
import { runOpcodes } from './pickle-opcodes.js';
import type { UnpickleOptions } from './pickle-values.js';

export {
  describe,
  isPyTuple,
  pyAttributes,
  PyGlobal,
  setOwn,
  setPyAttributes,
  type PickleContext,
  type PickleGlobal,
  type PickleGlobals,
  type UnpickleOptions,
} from './pickle-values.js';

/** Read one pickle starting at `offset`; returns the value and the offset after STOP. */
export function unpickleAt(bytes: Uint8Array, offset: number, options: UnpickleOptions = {}): { value: unknown; end: number } {
  const machine = new PickleMachine(bytes, offset, options);
  const value = runOpcodes(machine);
  return { value, end: machine.pos };
}

/** Read the pickle at the start of `bytes` (bytes after its STOP are ignored, as pickle.loads does). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleAt(bytes, 0, options).value;
}
