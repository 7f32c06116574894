/**
 * Parser for the tiny subset of Python literal syntax that appears in .npy headers
 * (what NumPy reads back with ast.literal_eval): dicts, tuples, lists, str, int,
 * True/False/None. Written by hand rather than regex-munged into JSON so that odd but
 * valid headers (double quotes, Python 2 `3L` longs, extra whitespace) parse, and
 * garbage fails with a position.
 */

export type PyValue = string | number | boolean | null | PyValue[] | PyTuple | PyDict;
/** Tuples are kept distinct from lists because the header's shape must be a tuple. */
export interface PyTuple {
  tuple: PyValue[];
}
export interface PyDict {
  dict: Map<string, PyValue>;
}

export function isTuple(v: PyValue): v is PyTuple {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'tuple' in v;
}
export function isDict(v: PyValue): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dict' in v;
}

export class PyLiteralError extends Error {}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

export function parsePyLiteral(text: string): PyValue {
  let pos = 0;

  const fail = (what: string): never => {
    const near = JSON.stringify(text.slice(pos, pos + 20));
    throw new PyLiteralError(`${what} at character ${pos} (near ${near})`);
  };
  const skipWs = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const peek = (): string => {
    skipWs();
    return text[pos] ?? '';
  };
  const expect = (ch: string): void => {
    if (peek() !== ch) fail(`expected '${ch}'`);
    pos++;
  };

  // Comma-separated items up to `close`; a trailing comma is allowed, as in Python.
  const items = (close: string, item: () => void): number => {
    let n = 0;
    for (;;) {
      if (peek() === close) break;
      item();
      n++;
      const c = peek();
      if (c === ',') {
        pos++;
        continue;
      }
      if (c !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
    return n;
  };

  const parseString = (): string => {
    const quote = text[pos++];
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos++];
      if (c === quote) return out;
      if (c === '\n') fail('newline inside string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++] ?? '';
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = text.slice(pos, pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail('bad escape in string');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += len;
      } else fail('unsupported escape in string');
    }
  };

  const parseValue = (): PyValue => {
    const c = peek();
    if (c === '{') {
      pos++;
      const dict = new Map<string, PyValue>();
      items('}', () => {
        const k = parseValue();
        if (typeof k !== 'string') fail('dict key is not a string');
        expect(':');
        if (dict.has(k as string)) fail(`duplicate key '${k as string}'`);
        dict.set(k as string, parseValue());
      });
      return { dict };
    }
    if (c === '(') {
      pos++;
      const tuple: PyValue[] = [];
      const start = pos;
      const n = items(')', () => tuple.push(parseValue()));
      // `(3)` is just 3 in Python; only `(3,)` is a 1-tuple.
      if (n === 1 && !/,\s*\)$/.test(text.slice(start, pos))) return tuple[0];
      return { tuple };
    }
    if (c === '[') {
      pos++;
      const list: PyValue[] = [];
      items(']', () => list.push(parseValue()));
      return list;
    }
    if (c === "'" || c === '"') return parseString();
    const m = /^(-?\d+)L?(?![\w.])|^(True|False|None)(?!\w)/.exec(text.slice(pos));
    if (!m) return fail('unexpected token');
    pos += m[0].length;
    if (m[2] === 'True') return true;
    if (m[2] === 'False') return false;
    if (m[2] === 'None') return null;
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) fail(`integer ${m[1]} too large`);
    return n;
  };

  const value = parseValue();
  if (peek() !== '') fail('trailing characters');
  return value;
}
