/**
 * ClassAd operators on values, with HTCondor's semantics: strict operators
 * yield ERROR if an operand is ERROR, else UNDEFINED if an operand is
 * UNDEFINED; integers promote to reals when mixed; integer arithmetic is
 * 64-bit two's complement; string comparison is case-insensitive except for
 * the meta operators (=?=, =!=, is, isnt), which never yield UNDEFINED and
 * compare types strictly. None of these functions throws.
 *
 * The evaluator inlines the common fast cases (two safe integers, two
 * booleans) and calls these for everything else.
 */
import type { BinaryOp, UnaryOp } from './ast.ts';
import { ClassAd } from './classad.ts';
import { absTimeOrError, relTimeOrError } from './time.ts';
import {
  AbsTime, ERROR, INT64_MAX, INT64_MIN, ListValue, Real, RelTime, UNDEFINED,
  intFromBigInt, intToBigInt, isInt, numberOf,
  type Int, type Value,
} from './value.ts';

/** HTCondor treats numbers as booleans in logical contexts (non-zero is true). */
export function booleanEquivalent(v: Value): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof Real) return v.v !== 0; // NaN is non-zero, so true
  return undefined;
}

/** Numbers for arithmetic: booleans count as 0 and 1 (HTCondor promotes them). */
function arithmeticOperand(v: Value): Int | Real | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof Real) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: Value, b: Value): Value {
  if (a === ERROR || b === ERROR) return ERROR;
  if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
  if (a instanceof AbsTime || a instanceof RelTime || b instanceof AbsTime || b instanceof RelTime) return timeArithmetic(op, a, b);
  const x = arithmeticOperand(a);
  const y = arithmeticOperand(b);
  if (x === undefined || y === undefined) return ERROR;
  if (isInt(x) && isInt(y)) return integerArithmetic(op, x, y);
  return realArithmetic(op, numberOf(x), numberOf(y));
}

export function integerArithmetic(op: '+' | '-' | '*' | '/' | '%', x: Int, y: Int): Value {
  if (typeof x === 'number' && typeof y === 'number') {
    switch (op) {
      case '+': {
        const r = x + y;
        return Number.isSafeInteger(r) ? r : intFromBigInt(BigInt(x) + BigInt(y));
      }
      case '-': {
        const r = x - y;
        return Number.isSafeInteger(r) ? r : intFromBigInt(BigInt(x) - BigInt(y));
      }
      case '*': {
        const r = x * y;
        return Number.isSafeInteger(r) ? (r === 0 ? 0 : r) : intFromBigInt(BigInt(x) * BigInt(y));
      }
      case '/':
        if (y === 0) return ERROR;
        return Math.trunc(x / y) + 0; // +0 turns -0 into 0; safe operands cannot overflow
      case '%':
        if (y === 0) return ERROR;
        return (x % y) + 0;
    }
  }
  const bx = intToBigInt(x);
  const by = intToBigInt(y);
  switch (op) {
    case '+':
      return intFromBigInt(bx + by);
    case '-':
      return intFromBigInt(bx - by);
    case '*':
      return intFromBigInt(bx * by);
    case '/':
      if (by === 0n) return ERROR;
      if (bx === INT64_MIN && by === -1n) return INT64_MAX; // HTCondor's special case, not a wrap
      return intFromBigInt(bx / by); // bigint division truncates toward zero, as C does
    case '%':
      if (by === 0n) return ERROR;
      return intFromBigInt(bx % by);
  }
}

/**
 * Real arithmetic as HTCondor does it: `%` with a real operand is ERROR, and
 * a result of exactly +infinity is ERROR (its overflow check), while
 * -infinity and NaN are kept: `1.0/0` is ERROR, `-1.0/0` is real("-INF").
 */
export function realArithmetic(op: '+' | '-' | '*' | '/' | '%', x: number, y: number): Value {
  let r: number;
  switch (op) {
    case '+':
      r = x + y;
      break;
    case '-':
      r = x - y;
      break;
    case '*':
      r = x * y;
      break;
    case '/':
      r = x / y;
      break;
    case '%':
      return ERROR;
  }
  return r === Infinity ? ERROR : new Real(r);
}

/**
 * Time arithmetic: abs+rel, rel+abs -> abs; abs-abs -> rel; abs-rel -> abs;
 * rel+rel, rel-rel -> rel; rel*number, number*rel, rel/number -> rel;
 * anything else with a time in it is ERROR.
 */
function timeArithmetic(op: '+' | '-' | '*' | '/' | '%', a: Value, b: Value): Value {
  // Results a time value cannot hold (not finite, beyond year 9999) are
  // ERROR, so every time prints as text that reads back (see time.ts).
  const num = (v: Value): number | undefined => (isInt(v) || v instanceof Real ? numberOf(v) : undefined);
  if (op === '+') {
    if (a instanceof AbsTime && b instanceof RelTime) return absTimeOrError(a.seconds + Math.trunc(b.seconds), a.offset);
    if (a instanceof RelTime && b instanceof AbsTime) return absTimeOrError(b.seconds + Math.trunc(a.seconds), b.offset);
    if (a instanceof RelTime && b instanceof RelTime) return relTimeOrError(a.seconds + b.seconds);
    return ERROR;
  }
  if (op === '-') {
    if (a instanceof AbsTime && b instanceof AbsTime) return relTimeOrError(a.seconds - b.seconds);
    if (a instanceof AbsTime && b instanceof RelTime) return absTimeOrError(a.seconds - Math.trunc(b.seconds), a.offset);
    if (a instanceof RelTime && b instanceof RelTime) return relTimeOrError(a.seconds - b.seconds);
    return ERROR;
  }
  if (op === '*') {
    const n = a instanceof RelTime ? num(b) : num(a);
    const t = a instanceof RelTime ? a : b;
    return t instanceof RelTime && n !== undefined ? relTimeOrError(t.seconds * n) : ERROR;
  }
  if (op === '/' && a instanceof RelTime) {
    const n = num(b);
    return n === undefined || n === 0 ? ERROR : relTimeOrError(a.seconds / n);
  }
  return ERROR;
}

type Ordering = -1 | 0 | 1;

function compareNumbers(x: Int | Real, y: Int | Real): Ordering | undefined {
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  if (isInt(x) && isInt(y)) {
    const bx = intToBigInt(x);
    const by = intToBigInt(y);
    return bx < by ? -1 : bx > by ? 1 : 0;
  }
  const fx = numberOf(x);
  const fy = numberOf(y);
  if (Number.isNaN(fx) || Number.isNaN(fy)) return undefined; // unordered
  return fx < fy ? -1 : fx > fy ? 1 : 0;
}

function caseInsensitiveCompare(a: string, b: string): Ordering {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function orderingSatisfies(op: '==' | '!=' | '<' | '<=' | '>' | '>=', ord: Ordering | undefined): boolean {
  if (ord === undefined) return op === '!='; // NaN: unordered, only != holds
  switch (op) {
    case '==':
      return ord === 0;
    case '!=':
      return ord !== 0;
    case '<':
      return ord < 0;
    case '<=':
      return ord <= 0;
    case '>':
      return ord > 0;
    case '>=':
      return ord >= 0;
  }
}

/** Numbers for comparison: booleans compare as 0 and 1 against numbers. */
function comparable(v: Value): Int | Real | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof Real) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function comparison(op: '==' | '!=' | '<' | '<=' | '>' | '>=', a: Value, b: Value): Value {
  if (a === ERROR || b === ERROR) return ERROR;
  if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
  if (typeof a === 'string' && typeof b === 'string') return orderingSatisfies(op, caseInsensitiveCompare(a, b));
  if (a instanceof AbsTime || b instanceof AbsTime) {
    if (!(a instanceof AbsTime && b instanceof AbsTime)) return ERROR;
    return orderingSatisfies(op, a.seconds < b.seconds ? -1 : a.seconds > b.seconds ? 1 : 0);
  }
  if (a instanceof RelTime || b instanceof RelTime) {
    if (!(a instanceof RelTime && b instanceof RelTime)) return ERROR;
    return orderingSatisfies(op, compareNumbers(new Real(a.seconds), new Real(b.seconds)));
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') {
    if (op === '==') return a === b;
    if (op === '!=') return a !== b;
  }
  const x = comparable(a);
  const y = comparable(b);
  if (x === undefined || y === undefined) return ERROR;
  return orderingSatisfies(op, compareNumbers(x, y));
}

/** `=?=` and `is`: same type and same value; strings case-sensitive. Never UNDEFINED. */
export function identical(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number' || typeof a === 'bigint') return a === b;
  if (a instanceof Real && b instanceof Real) return a.v === b.v; // NaN is not identical to NaN, as in C
  if (a instanceof AbsTime && b instanceof AbsTime) return a.seconds === b.seconds && a.offset === b.offset;
  if (a instanceof RelTime && b instanceof RelTime) return a.seconds === b.seconds;
  // Lists compare element by element; the HTCondor source we read makes
  // `{1} =?= {1}` ERROR, which no user would want from an identity test.
  if (a instanceof ListValue && b instanceof ListValue) {
    if (a.items.length !== b.items.length) return false;
    for (let i = 0; i < a.items.length; i++) if (!identical(a.items[i]!, b.items[i]!)) return false;
    return true;
  }
  if (a instanceof ClassAd && b instanceof ClassAd) return false; // distinct ads are never identical
  return false;
}

function bitwiseOperand(v: Value): Int | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  return undefined;
}

export function bitwise(op: '&' | '|' | '^' | '<<' | '>>' | '>>>', a: Value, b: Value): Value {
  if (a === ERROR || b === ERROR) return ERROR;
  if (a === UNDEFINED || b === UNDEFINED) return UNDEFINED;
  const x = bitwiseOperand(a);
  const y = bitwiseOperand(b);
  if (x === undefined || y === undefined) return ERROR;
  const bx = intToBigInt(x);
  const by = intToBigInt(y);
  switch (op) {
    case '&':
      return intFromBigInt(bx & by);
    case '|':
      return intFromBigInt(bx | by);
    case '^':
      return intFromBigInt(bx ^ by);
    // Shift counts outside 0..63 are undefined in C; here they shift by the
    // mathematical amount (capped at 64), and a negative count is ERROR.
    case '<<':
      return by < 0n ? ERROR : intFromBigInt(bx << (by > 64n ? 64n : by));
    case '>>':
      return by < 0n ? ERROR : intFromBigInt(bx >> (by > 64n ? 64n : by));
    case '>>>':
      return by < 0n ? ERROR : intFromBigInt(BigInt.asUintN(64, bx) >> (by > 64n ? 64n : by));
  }
}

export function unary(op: UnaryOp, v: Value): Value {
  if (v === ERROR) return ERROR;
  if (v === UNDEFINED) return UNDEFINED;
  switch (op) {
    case '!': {
      const b = booleanEquivalent(v);
      return b === undefined ? ERROR : !b;
    }
    case '-':
      if (typeof v === 'number') return v === 0 ? 0 : -v;
      if (typeof v === 'bigint') return intFromBigInt(-v);
      if (v instanceof Real) return new Real(-v.v);
      if (v instanceof RelTime) return new RelTime(-v.seconds);
      return ERROR; // booleans too: HTCondor does not negate them
    case '+':
      if (typeof v === 'number' || typeof v === 'bigint' || v instanceof Real || v instanceof RelTime) return v;
      return ERROR;
    case '~':
      if (typeof v === 'number' || typeof v === 'bigint') return intFromBigInt(~intToBigInt(v));
      return ERROR;
  }
}

/**
 * Any binary operator on two evaluated operands. The strict ones apply the
 * ERROR/UNDEFINED rules; `&&` and `||` are here too, with the right operand
 * already evaluated (the evaluator short-circuits them itself).
 */
export function binary(op: BinaryOp, a: Value, b: Value): Value {
  switch (op) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return arithmetic(op, a, b);
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(op, a, b);
    case '=?=':
    case 'is':
      return identical(a, b);
    case '=!=':
    case 'isnt':
      return !identical(a, b);
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>':
    case '>>>':
      return bitwise(op, a, b);
    case '&&':
      return logicalAnd(a, () => b);
    case '||':
      return logicalOr(a, () => b);
  }
}

/**
 * `a && b`, left to right: false && anything is false without evaluating b;
 * ERROR on the left is ERROR; UNDEFINED on the left yields false if b is
 * false and UNDEFINED otherwise (ERROR if b is ERROR or not boolean).
 */
export function logicalAnd(a: Value, right: () => Value): Value {
  const x = booleanEquivalent(a);
  if (x === false) return false;
  if (x === undefined && a !== UNDEFINED) return ERROR;
  const b = right();
  const y = booleanEquivalent(b);
  if (x === true) return y !== undefined ? y : b === UNDEFINED ? UNDEFINED : ERROR;
  // a is UNDEFINED
  if (y === false) return false;
  if (y === true || b === UNDEFINED) return UNDEFINED;
  return ERROR;
}

/** `a || b`, the dual of `&&`: true || anything is true without evaluating b. */
export function logicalOr(a: Value, right: () => Value): Value {
  const x = booleanEquivalent(a);
  if (x === true) return true;
  if (x === undefined && a !== UNDEFINED) return ERROR;
  const b = right();
  const y = booleanEquivalent(b);
  if (x === false) return y !== undefined ? y : b === UNDEFINED ? UNDEFINED : ERROR;
  if (y === true) return true;
  if (y === false || b === UNDEFINED) return UNDEFINED;
  return ERROR;
}

