/**
 * String functions: strcat, join, substr, strcmp, stricmp, toUpper,
 * toLower, split, splitUserName, splitSlotName.
 *
 * Arguments that are not strings are converted as string() does (numbers
 * and lists unparsed, times in their text form). Following HTCondor's
 * implementation, an UNDEFINED argument makes strcat, strcmp, stricmp,
 * toUpper, toLower and substr UNDEFINED (the manual says ERROR); join skips
 * UNDEFINED arguments. Case mapping and case-insensitive comparison are
 * ASCII-only, as in the C locale. Lengths and offsets count UTF-16 code
 * units (HTCondor counts bytes; the two agree for ASCII text).
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, ListValue, UNDEFINED, type Value } from '../value.ts';
import { asciiLower, asciiUpper, cCompare, isCSpace, toCInt, toStringValue, type Entry } from './support.ts';

/** strcat and join share one loop, as in HTCondor. */
function concatenate(values: readonly Value[], isJoin: boolean): Value {
  let buf = '';
  let sep = '';
  let sawUndefined = false;
  let sawDefined = false;
  for (let i = 0; i < values.length; i++) {
    const s = toStringValue(values[i]!);
    if (s === UNDEFINED) {
      sawUndefined = true;
      if (isJoin) continue;
      sawDefined = false;
      break;
    }
    if (typeof s !== 'string') return ERROR;
    if (isJoin) {
      if (i === 0) {
        sep = s;
        continue;
      }
      if (buf !== '') buf += sep;
    }
    sawDefined = true;
    buf += s;
  }
  if (sawUndefined && !sawDefined) return UNDEFINED;
  return buf;
}

const strcat: Builtin = (args, env) => {
  const values: Value[] = [];
  for (const a of args) {
    const v = a(env);
    values.push(v);
    if (v === UNDEFINED || v === ERROR) break; // later arguments are not evaluated
  }
  return concatenate(values, false);
};

const join: Builtin = (args, env) => {
  const n = args.length;
  if (n === 1 || n === 2) {
    const last = args[n - 1]!(env);
    if (last instanceof ListValue) {
      const sep: Value = n === 2 ? args[0]!(env) : '';
      return concatenate([sep, ...last.items], true);
    }
    const values: Value[] = n === 2 ? [args[0]!(env), last] : [last];
    return concatenate(values, true);
  }
  const values: Value[] = [];
  for (const a of args) {
    const v = a(env);
    values.push(v);
    if (v === ERROR) break;
  }
  return concatenate(values, true);
};

const substr: Builtin = (args, env) => {
  if (args.length < 2 || args.length > 3) return ERROR;
  const s = args[0]!(env);
  const off = args[1]!(env);
  const len = args.length > 2 ? args[2]!(env) : 0;
  if (s === UNDEFINED || off === UNDEFINED || len === UNDEFINED) return UNDEFINED;
  if (typeof s !== 'string') return ERROR;
  if (typeof off !== 'number' && typeof off !== 'bigint') return ERROR;
  if (typeof len !== 'number' && typeof len !== 'bigint') return ERROR;
  const alen = s.length;
  let offset = toCInt(off);
  let length = toCInt(len);
  if (offset < 0) offset = Math.max(alen + offset, 0);
  else if (offset >= alen) offset = alen;
  if (length <= 0) {
    // An explicit length of 0 yields the empty string.
    length = args.length === 3 && length === 0 ? 0 : Math.max(alen - offset + length, 0);
  } else if (length > alen - offset) {
    length = alen - offset;
  }
  return s.substr(offset, length);
};

function compareStrings(ignoreCase: boolean): Builtin {
  return (args, env) => {
    if (args.length !== 2) return ERROR;
    const a = args[0]!(env);
    const b = args[1]!(env);
    if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
    const x = toStringValue(a);
    const y = toStringValue(b);
    if (typeof x !== 'string' || typeof y !== 'string') return ERROR;
    return cCompare(x, y, ignoreCase);
  };
}

function changeCase(map: (s: string) => string): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const s = toStringValue(args[0]!(env));
    return typeof s === 'string' ? map(s) : s;
  };
}

/**
 * split(s [, seps]): pieces between separator characters (default comma and
 * white space). Empty pieces are dropped, except that a separator repeated
 * (non-space, e.g. "a,,b") yields an empty piece between its copies.
 */
const split: Builtin = (args, env) => {
  if (args.length !== 1 && args.length !== 2) return ERROR;
  const s = args[0]!(env);
  let seps = ', \t';
  if (args.length === 2) {
    const v = args[1]!(env);
    if (typeof s !== 'string' || typeof v !== 'string') return ERROR;
    seps = v;
  }
  if (typeof s !== 'string') return ERROR;
  const out: string[] = [];
  let last = 0;
  if (seps.length > 0) {
    let prev: string | undefined; // the last non-space separator seen
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (!seps.includes(c)) continue;
      if (i > last) out.push(s.slice(last, i));
      else if (prev !== undefined && !isCSpace(prev) && prev === c) out.push('');
      if (!isCSpace(c)) prev = c;
      last = i + 1;
    }
  }
  if (s.length > last) out.push(s.slice(last));
  return new ListValue(out);
};

function splitAt(slotFirst: boolean): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const s = args[0]!(env);
    if (typeof s !== 'string') return ERROR;
    const at = s.indexOf('@');
    if (at < 0) return new ListValue(slotFirst ? ['', s] : [s, '']);
    return new ListValue([s.slice(0, at), s.slice(at + 1)]);
  };
}

export const STRING_FUNCTIONS: readonly Entry[] = [
  ['strcat', strcat],
  ['join', join],
  ['substr', substr],
  ['strcmp', compareStrings(false)],
  ['stricmp', compareStrings(true)],
  ['toupper', changeCase(asciiUpper)],
  ['tolower', changeCase(asciiLower)],
  ['split', split],
  ['splitusername', splitAt(false)],
  ['splitslotname', splitAt(true)],
];
