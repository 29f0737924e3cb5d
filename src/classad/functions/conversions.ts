/**
 * Conversions and arithmetic helpers: int, real, string, bool, floor, ceil,
 * ceiling, round, pow, quantize, random.
 *
 * Semantics follow HTCondor's implementation (fnCall.cpp):
 *   - int/real/string of UNDEFINED is UNDEFINED (the manual says ERROR);
 *     of ERROR, a list or an ad is ERROR.
 *   - strings convert through C strtod (prefix parse, hex, inf, nan) plus an
 *     optional size suffix B/K/M/G/T (powers of 1024); no number → ERROR.
 *   - round rounds half to even (C rint); floor/ceil/round of an integer is
 *     that integer; results are 64-bit integers (saturating).
 *   - pow(int, int >= 0) is an integer, everything else real.
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, ListValue, Real, RelTime, UNDEFINED, intFromNumber, type Value } from '../value.ts';
import { toCInt, toIntegerValue, toRealNumber, toStringValue, type Entry } from './support.ts';

const convInt: Builtin = (args, env) => (args.length !== 1 ? ERROR : toIntegerValue(args[0]!(env)));

const convReal: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const r = toRealNumber(args[0]!(env));
  return typeof r === 'number' ? new Real(r) : r;
};

const convString: Builtin = (args, env) => (args.length !== 1 ? ERROR : toStringValue(args[0]!(env)));

const convBool: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const v = args[0]!(env);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof Real) return v.v !== 0;
  if (v instanceof RelTime) return Math.trunc(v.seconds) !== 0;
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    return lower === 'true' ? true : lower === 'false' ? false : UNDEFINED;
  }
  if (v === UNDEFINED) return UNDEFINED;
  return ERROR; // error, list, classad, absolute time
};

/** C rint in the default rounding mode: nearest, ties to even. */
export function rint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function rounding(op: (x: number) => number): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const v = args[0]!(env);
    if (typeof v === 'number' || typeof v === 'bigint') return v;
    const r = toRealNumber(v);
    if (typeof r !== 'number') return ERROR; // UNDEFINED too: the conversion "failed"
    return intFromNumber(op(r));
  };
}

const pow: Builtin = (args, env) => {
  if (args.length !== 2) return ERROR;
  const base = args[0]!(env);
  const exponent = args[1]!(env);
  const isIntV = (v: Value): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';
  if (isIntV(base) && isIntV(exponent) && exponent >= 0) {
    // HTCondor computes in doubles and adds 0.5 before truncating.
    return intFromNumber(Math.trunc(Math.pow(Number(base), Number(exponent)) + 0.5));
  }
  const b = toRealNumber(base);
  const e = toRealNumber(exponent);
  if (typeof b !== 'number' || typeof e !== 'number') return ERROR;
  return new Real(Math.pow(b, e));
};

const quantize: Builtin = (args, env) => {
  if (args.length !== 2) return ERROR;
  const a = args[0]!(env);
  let b = args[1]!(env);
  const value = toRealNumber(a);
  if (typeof value !== 'number') return ERROR;
  let rbase: number;
  if (b instanceof ListValue) {
    let last: Value = new Real(0); // an empty list means "don't quantize"
    rbase = 0;
    for (const item of b.items) {
      const r = toRealNumber(item);
      if (typeof r !== 'number') return ERROR;
      last = item;
      rbase = r;
      if (r >= value) return item;
    }
    b = last;
  } else {
    const r = toRealNumber(b);
    if (typeof r !== 'number') return ERROR;
    rbase = r;
  }
  if (typeof b === 'number' || typeof b === 'bigint') {
    const ibase = Number(b);
    if (ibase === 0) return a;
    if (typeof a === 'number' || typeof a === 'bigint') {
      const ia = Number(a);
      // C integer division truncates toward zero.
      return intFromNumber(Math.trunc((ia + ibase - 1) / ibase) * ibase);
    }
    return new Real(Math.ceil(value / ibase) * ibase);
  }
  const epsilon = 1e-8;
  if (rbase >= -epsilon && rbase <= epsilon) return a;
  return new Real(Math.ceil(value / rbase) * rbase);
};

const random: Builtin = (args, env) => {
  if (args.length > 1) return ERROR;
  const v = args.length === 0 ? new Real(1) : args[0]!(env);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const max = toCInt(v);
    if (max <= 0) return ERROR;
    return Math.floor(Math.random() * max);
  }
  if (v instanceof Real) {
    if (!(v.v > 0)) return ERROR;
    return new Real(v.v * Math.random());
  }
  return ERROR;
};

export const CONVERSION_FUNCTIONS: readonly Entry[] = [
  ['int', convInt],
  ['real', convReal],
  ['string', convString],
  ['bool', convBool],
  ['floor', rounding(Math.floor)],
  ['ceil', rounding(Math.ceil)],
  ['ceiling', rounding(Math.ceil)],
  ['round', rounding(rint)],
  ['pow', pow],
  ['quantize', quantize],
  ['random', random],
];
