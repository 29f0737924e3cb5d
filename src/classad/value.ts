/**
 * ClassAd values: what evaluating an expression yields.
 *
 * Representation, chosen so that the hot path of matchmaking allocates
 * nothing for the common types:
 *   boolean  -> JS boolean
 *   string   -> JS string
 *   integer  -> JS number holding a safe integer, or a bigint when the value
 *               lies outside ±(2^53-1) (64-bit two's complement range, as
 *               HTCondor's `long long`). Invariant: a bigint integer is never
 *               within the safe range, so equal integers have equal JS types.
 *   real     -> `Real` (a boxed double), so that 1 and 1.0 stay distinct
 *   absolute time, relative time -> `AbsTime`, `RelTime`
 *   undefined, error -> the singletons UNDEFINED and ERROR
 *   list     -> `ListValue` (evaluated elements)
 *   classad  -> `ClassAd`
 */
import type { ClassAd } from './classad.ts';

export class Real {
  constructor(readonly v: number) {}
}

export class UndefinedValue {
  private readonly tag = 'undefined';
}
export class ErrorValue {
  private readonly tag = 'error';
}
export const UNDEFINED: UndefinedValue = new UndefinedValue();
export const ERROR: ErrorValue = new ErrorValue();

/**
 * An absolute time: seconds since the Unix epoch and the offset (seconds
 * east of UTC) of the zone it was written or made in.
 */
export class AbsTime {
  constructor(
    readonly seconds: number,
    readonly offset: number,
  ) {}
}

/** A relative time (a duration) in seconds, possibly fractional. */
export class RelTime {
  constructor(readonly seconds: number) {}
}

/** A list value: its elements are already evaluated. */
export class ListValue {
  constructor(readonly items: readonly Value[]) {}
}

export type Int = number | bigint;
export type Value = boolean | string | Int | Real | AbsTime | RelTime | UndefinedValue | ErrorValue | ListValue | ClassAd;

export type ValueType = 'integer' | 'real' | 'string' | 'boolean' | 'undefined' | 'error' | 'list' | 'classad' | 'abstime' | 'reltime';

// ---------------------------------------------------------------------------
// Integers: 64-bit semantics with a fast path for safe integers.

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** Normalize a bigint result: wrap to 64 bits, demote to number when safe. */
export function intFromBigInt(b: bigint): Int {
  const w = BigInt.asIntN(64, b);
  return w >= BigInt(Number.MIN_SAFE_INTEGER) && w <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(w) : w;
}

/** An integer from a JS number that is already integral (e.g. Math.trunc). */
export function intFromNumber(n: number): Int {
  if (Number.isSafeInteger(n)) return n;
  if (!Number.isFinite(n)) return n > 0 ? INT64_MAX : n < 0 ? INT64_MIN : 0; // NaN -> 0
  // Saturate doubles outside the 64-bit range, as a C cast on x86 would not
  // guarantee anything; HTCondor clamps in its conversions.
  if (n >= 2 ** 63) return INT64_MAX;
  if (n <= -(2 ** 63)) return INT64_MIN;
  return intFromBigInt(BigInt(n));
}

export function isInt(v: Value): v is Int {
  return typeof v === 'number' || typeof v === 'bigint';
}

export function intToBigInt(v: Int): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

export function intToNumber(v: Int): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

export function isReal(v: Value): v is Real {
  return v instanceof Real;
}

/** Integer or real. */
export function isNumber(v: Value): v is Int | Real {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Real;
}

/** The numeric value of an integer or real as a double. */
export function numberOf(v: Int | Real): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v.v;
}

export function isList(v: Value): v is ListValue {
  return v instanceof ListValue;
}

export function typeOf(v: Value): ValueType {
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'number':
    case 'bigint':
      return 'integer';
    default:
      if (v instanceof Real) return 'real';
      if (v === UNDEFINED) return 'undefined';
      if (v === ERROR) return 'error';
      if (v instanceof ListValue) return 'list';
      if (v instanceof AbsTime) return 'abstime';
      if (v instanceof RelTime) return 'reltime';
      return 'classad';
  }
}

export function isClassAdValue(v: Value): v is ClassAd {
  return typeOf(v) === 'classad';
}

export function real(n: number): Real {
  return new Real(n);
}
