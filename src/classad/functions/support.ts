/**
 * Shared helpers for the built-in functions: the value conversions that
 * HTCondor's functions apply to their arguments (its convertValueTo*Value),
 * C-library number parsing (strtod / sscanf prefixes), and small caches.
 *
 * Invariants: nothing here throws; a conversion that cannot be made yields
 * UNDEFINED or ERROR exactly as HTCondor's conversion does (UNDEFINED stays
 * UNDEFINED, everything unconvertible is ERROR).
 */
import { ClassAd } from '../classad.ts';
import type { Builtin } from '../evaluate.ts';
import { printValue } from '../printer.ts';
import { formatAbsTime, formatRelTime } from '../time.ts';
import {
  AbsTime, ERROR, ListValue, Real, RelTime, UNDEFINED,
  intFromNumber, type Int, type Value,
} from '../value.ts';

export type Entry = readonly [string, Builtin];

/** The size-suffix factors HTCondor's string-to-number conversions honour (B, K, M, G, T). */
const FACTORS: ReadonlyMap<string, number> = new Map([['B', 1], ['K', 1024], ['M', 1024 ** 2], ['G', 1024 ** 3], ['T', 1024 ** 4]]);

/** `isspace` in the C locale. */
export function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

const STRTOD_DEC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const STRTOD_HEX = /^([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?\d+))?/;
const STRTOD_SPECIAL = /^([+-]?)(inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)/i;

/**
 * C `strtod`: the longest numeric prefix after leading white space (decimal,
 * hex with optional binary exponent, inf/infinity, nan). Returns the value
 * and the index just past what was read; `end === 0` means nothing was read.
 */
export function strtod(s: string): { value: number; end: number } {
  let i = 0;
  while (isCSpace(s[i])) i++;
  const rest = s.slice(i);
  let m = STRTOD_HEX.exec(rest);
  if (m !== null && /[0-9a-fA-F]/.test(m[2]!)) {
    const [intPart, fracPart = ''] = m[2]!.split('.') as [string, string | undefined];
    let v = 0;
    for (const ch of intPart) v = v * 16 + parseInt(ch, 16);
    let scale = 1 / 16;
    for (const ch of fracPart) {
      v += parseInt(ch, 16) * scale;
      scale /= 16;
    }
    if (m[3] !== undefined) v *= 2 ** Number(m[3]);
    return { value: m[1] === '-' ? -v : v, end: i + m[0].length };
  }
  m = STRTOD_SPECIAL.exec(rest);
  if (m !== null) {
    const word = m[2]!.toLowerCase();
    const v = word.startsWith('inf') ? Infinity : NaN;
    return { value: m[1] === '-' ? -v : v, end: i + m[0].length };
  }
  m = STRTOD_DEC.exec(rest);
  if (m !== null) return { value: Number(m[0]), end: i + m[0].length };
  return { value: 0, end: 0 };
}

/** HTCondor's convertValueToStringValue: strings as is, times in their text form, other values unparsed. */
export function toStringValue(v: Value): string | typeof UNDEFINED | typeof ERROR {
  if (typeof v === 'string') return v;
  if (v === UNDEFINED) return UNDEFINED;
  if (v === ERROR) return ERROR;
  if (v instanceof AbsTime) return formatAbsTime(v);
  if (v instanceof RelTime) return formatRelTime(new RelTime(Math.trunc(v.seconds))); // converted through time_t
  return printValue(v);
}

/** HTCondor's convertValueToIntegerValue. */
export function toIntegerValue(v: Value): Int | typeof UNDEFINED | typeof ERROR {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Real) return intFromNumber(Math.trunc(v.v));
  if (v instanceof AbsTime) return intFromNumber(v.seconds);
  if (v instanceof RelTime) return intFromNumber(Math.trunc(v.seconds));
  if (typeof v === 'string') {
    const { value, end } = strtod(v);
    const truncated = intFromNumber(Math.trunc(value));
    if (end === 0 && truncated === 0) return ERROR;
    const factor = FACTORS.get((v[end] ?? '').toUpperCase()) ?? 1;
    return factor === 1 ? truncated : intFromNumber(Math.trunc(Number(truncated) * factor));
  }
  if (v === UNDEFINED) return UNDEFINED;
  return ERROR; // error, list, classad
}

/** HTCondor's convertValueToRealValue (returns the double, or UNDEFINED/ERROR). */
export function toRealNumber(v: Value): number | typeof UNDEFINED | typeof ERROR {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Real) return v.v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof AbsTime) return v.seconds;
  if (v instanceof RelTime) return Math.trunc(v.seconds); // read through a time_t
  if (typeof v === 'string') {
    const { value, end } = strtod(v);
    if (end === 0 && value === 0) return ERROR;
    const factor = FACTORS.get((v[end] ?? '').toUpperCase()) ?? 1;
    return value * factor;
  }
  if (v === UNDEFINED) return UNDEFINED;
  return ERROR;
}

/** A C `int` read of an integer value (IsIntegerValue(int&)): 64-bit value truncated to 32 bits. */
export function toCInt(v: Int): number {
  return typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : Number(BigInt.asIntN(32, BigInt(v)));
}

export function isUndefinedOrError(v: Value): v is typeof UNDEFINED | typeof ERROR {
  return v === UNDEFINED || v === ERROR;
}

/** A bounded map that forgets its oldest entry when full (for parsed patterns and texts). */
export class SmallCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(key, value);
  }
}

/** A list value of strings. */
export function stringList(items: readonly string[]): ListValue {
  return new ListValue(items);
}

/** A new ad holding the given literal values, in order. */
export function adOf(entries: readonly (readonly [string, Value])[]): ClassAd {
  const ad = new ClassAd();
  for (const [name, value] of entries) ad.setValue(name, value);
  return ad;
}

/** ASCII-only case mapping, as C's toupper/tolower in the C locale. */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** C strcmp / strcasecmp (ASCII folding), normalized to -1, 0, 1. */
export function cCompare(a: string, b: string, ignoreCase: boolean): -1 | 0 | 1 {
  const x = ignoreCase ? asciiLower(a) : a;
  const y = ignoreCase ? asciiLower(b) : b;
  return x < y ? -1 : x > y ? 1 : 0;
}
