/**
 * List functions: member, identicalMember, anyCompare, allCompare, sum,
 * avg, min, max, size.
 *
 * Comparisons reuse the operators (`==` is case-insensitive on strings,
 * `is` is exact), so these functions agree with the language. Following
 * HTCondor's implementation:
 *   - min/max return the extreme element itself (an integer stays an
 *     integer even if the list also holds reals; the manual says Real);
 *   - sum/avg/min/max skip UNDEFINED elements; avg of no numbers is the
 *     integer 0, min/max of none is UNDEFINED;
 *   - anyCompare stops at the first comparison that is UNDEFINED and
 *     answers false; allCompare answers false there too.
 */
import type { Builtin } from '../evaluate.ts';
import { ClassAd } from '../classad.ts';
import { arithmetic, comparison, identical } from '../operators.ts';
import { ERROR, ListValue, Real, UNDEFINED, type Value } from '../value.ts';
import type { Entry } from './support.ts';

function member(useIs: boolean): Builtin {
  return (args, env) => {
    if (args.length !== 2) return ERROR;
    const item = args[0]!(env);
    const list = args[1]!(env);
    if (list === UNDEFINED || (!useIs && item === UNDEFINED)) return UNDEFINED;
    if (!(list instanceof ListValue) || item instanceof ListValue || item instanceof ClassAd) return ERROR;
    if (!useIs && item === ERROR) return ERROR;
    for (const element of list.items) {
      const r = useIs ? identical(element, item) : comparison('==', element, item);
      if (r === true) return true;
    }
    return false;
  };
}

const size: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const v = args[0]!(env);
  if (v === UNDEFINED) return UNDEFINED;
  if (v instanceof ListValue) return v.items.length;
  if (v instanceof ClassAd) return v.size;
  if (typeof v === 'string') return v.length;
  return ERROR;
};

const isNumeric = (v: Value): boolean => typeof v === 'number' || typeof v === 'bigint' || v instanceof Real;

function sumAvg(average: boolean): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const list = args[0]!(env);
    if (list === UNDEFINED) return UNDEFINED;
    if (!(list instanceof ListValue)) return ERROR;
    let result: Value = 0;
    let count = 0;
    for (const element of list.items) {
      if (element === UNDEFINED) continue;
      if (!isNumeric(element)) return ERROR;
      result = count === 0 ? element : arithmetic('+', result, element);
      count++;
    }
    if (!average || count === 0) return result;
    return arithmetic('/', result, new Real(count));
  };
}

function minMax(op: '<' | '>'): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const list = args[0]!(env);
    if (list === UNDEFINED) return UNDEFINED;
    if (!(list instanceof ListValue)) return ERROR;
    let result: Value = UNDEFINED;
    let first = true;
    for (const element of list.items) {
      if (element === UNDEFINED) continue;
      if (!isNumeric(element)) return ERROR;
      if (first) {
        result = element;
        first = false;
      } else if (comparison(op, element, result) === true) {
        result = element;
      }
    }
    return result;
  };
}

const COMPARE_OPS = new Set(['<', '<=', '!=', '==', '>', '>=', 'is', 'isnt']);

function listCompare(needAll: boolean): Builtin {
  return (args, env) => {
    if (args.length !== 3) return ERROR;
    const op = args[0]!(env);
    if (op === UNDEFINED) return UNDEFINED;
    if (typeof op !== 'string' || !COMPARE_OPS.has(op)) return ERROR;
    const list = args[1]!(env);
    if (list === UNDEFINED) return UNDEFINED;
    if (!(list instanceof ListValue)) return ERROR;
    const target = args[2]!(env);
    for (const element of list.items) {
      let r: Value;
      if (op === 'is') r = identical(element, target);
      else if (op === 'isnt') r = !identical(element, target);
      else r = comparison(op as '<' | '<=' | '!=' | '==' | '>' | '>=', element, target);
      if (typeof r !== 'boolean') {
        if (r === UNDEFINED) return false;
        return ERROR;
      }
      if (r && !needAll) return true;
      if (!r && needAll) return false;
    }
    return needAll;
  };
}

export const LIST_FUNCTIONS: readonly Entry[] = [
  ['member', member(false)],
  ['identicalmember', member(true)],
  ['size', size],
  ['sum', sumAvg(false)],
  ['avg', sumAvg(true)],
  ['min', minMax('<')],
  ['max', minMax('>')],
  ['anycompare', listCompare(false)],
  ['allcompare', listCompare(true)],
];
