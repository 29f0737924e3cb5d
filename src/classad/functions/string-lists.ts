/**
 * String-list functions: a "string list" is one string holding items
 * separated by any of a set of delimiter characters (default comma and
 * space). stringListSize, stringListSum, stringListAvg, stringListMin,
 * stringListMax, stringListMember, stringListIMember, stringListSubsetMatch,
 * stringListISubsetMatch, stringListsIntersect, stringList_regexpMember.
 *
 * Items are the runs between delimiters with surrounding white space
 * trimmed; empty items are dropped. Following HTCondor's implementation:
 *   - size/sum/avg/min/max/regexpMember need string arguments (UNDEFINED is
 *     ERROR); the Member and SubsetMatch functions treat an UNDEFINED list
 *     or item as "" (both UNDEFINED → UNDEFINED) and default their
 *     delimiters to comma and all white space;
 *   - sum/avg of an empty list is the real 0.0, min/max UNDEFINED; numbers
 *     are read like C sscanf("%lf") (a numeric prefix suffices) and the
 *     result is an integer unless some item has a character other than
 *     "+-0123456789"; max starts from FLT_MIN (a tiny positive number), so
 *     the max of all-negative integers is 0;
 *   - stringListsIntersect propagates ERROR then UNDEFINED, items are not
 *     trimmed, and an empty delimiter string means the default;
 *   - stringList_regexpMember of an empty list is UNDEFINED.
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, Real, UNDEFINED, intFromNumber, type Value } from '../value.ts';
import { compilePattern, optionsFrom } from './regex.ts';
import { asciiLower, isCSpace, strtod, type Entry } from './support.ts';

const DEFAULT_DELIMS = ', ';
const MEMBER_DELIMS = ', \t\r\n';
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

function trimC(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isCSpace(s[a])) a++;
  while (b > a && isCSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/** The items of a string list: delimited, trimmed, empty ones dropped. */
export function stringListItems(list: string, delims: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= list.length; i++) {
    if (i === list.length || delims.includes(list[i]!)) {
      const item = trimC(list.slice(start, i));
      if (item !== '') out.push(item);
      start = i + 1;
    }
  }
  return out;
}

/** Evaluates (list [, delims]) where both must be strings; undefined result means ERROR. */
function listAndDelims(args: Parameters<Builtin>[0], env: Parameters<Builtin>[1]): [string, string] | undefined {
  if (args.length < 1 || args.length > 2) return undefined;
  const list = args[0]!(env);
  const delims = args.length === 2 ? args[1]!(env) : DEFAULT_DELIMS;
  if (typeof list !== 'string' || typeof delims !== 'string') return undefined;
  return [list, delims];
}

const stringListSize: Builtin = (args, env) => {
  const a = listAndDelims(args, env);
  return a === undefined ? ERROR : stringListItems(a[0], a[1]).length;
};

/** sscanf("%lf"): a numeric prefix after optional white space. */
function scanDouble(s: string): number | undefined {
  const { value, end } = strtod(s);
  return end === 0 ? undefined : value;
}

function summarize(kind: 'sum' | 'avg' | 'min' | 'max'): Builtin {
  return (args, env) => {
    const a = listAndDelims(args, env);
    if (a === undefined) return ERROR;
    const items = stringListItems(a[0], a[1]);
    if (items.length === 0) return kind === 'sum' || kind === 'avg' ? new Real(0) : UNDEFINED;
    let acc = kind === 'min' ? FLT_MAX : kind === 'max' ? FLT_MIN : 0;
    let isReal = false;
    for (const item of items) {
      const x = scanDouble(item);
      if (x === undefined) return ERROR;
      if (!/^[+\-0-9]*$/.test(item)) isReal = true;
      if (kind === 'min') acc = x < acc ? x : acc;
      else if (kind === 'max') acc = x > acc ? x : acc;
      else acc = x + acc;
    }
    if (kind === 'avg') acc /= items.length;
    return isReal ? new Real(acc) : intFromNumber(Math.trunc(acc));
  };
}

function memberOrSubset(subset: boolean, ignoreCase: boolean): Builtin {
  return (args, env) => {
    if (args.length < 2 || args.length > 3) return ERROR;
    const item = args[0]!(env);
    const list = args[1]!(env);
    const delimValue: Value = args.length === 3 ? args[2]!(env) : UNDEFINED;
    const okString = (v: Value): boolean => v === UNDEFINED || typeof v === 'string';
    if (!okString(item) || !okString(list) || !okString(delimValue)) return ERROR;
    if (item === UNDEFINED && list === UNDEFINED) return UNDEFINED;
    const itemStr = typeof item === 'string' ? item : '';
    const listStr = typeof list === 'string' ? list : '';
    const delims = typeof delimValue === 'string' ? delimValue : MEMBER_DELIMS;
    const fold = ignoreCase ? asciiLower : (s: string): string => s;
    const members = new Set(stringListItems(listStr, delims).map(fold));
    if (!subset) return members.has(fold(itemStr));
    if (itemStr === '') return true;
    const wanted = stringListItems(itemStr, delims);
    if (wanted.length === 0) return false; // a non-empty, all-delimiter string matches nothing
    return wanted.every((w) => members.has(fold(w)));
  };
}

/** The raw items of stringListsIntersect: runs between delimiters, not trimmed. */
function rawItems(list: string, delims: string): string[] {
  const d = delims === '' ? ' ,' : delims;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= list.length; i++) {
    if (i === list.length || d.includes(list[i]!)) {
      if (i > start) out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

const stringListsIntersect: Builtin = (args, env) => {
  if (args.length !== 2 && args.length !== 3) return ERROR;
  const values = args.map((a) => a(env));
  if (values.includes(ERROR)) return ERROR;
  if (values.includes(UNDEFINED)) return UNDEFINED;
  const [a, b, delims = ''] = values;
  if (typeof delims !== 'string' || typeof a !== 'string' || typeof b !== 'string') return ERROR;
  const second = new Set(rawItems(b, delims));
  return rawItems(a, delims).some((x) => second.has(x));
};

const stringListRegexpMember: Builtin = (args, env) => {
  if (args.length < 2 || args.length > 4) return ERROR;
  const values = args.map((a) => a(env));
  const [pattern, list, delims = DEFAULT_DELIMS, options = ''] = values;
  if (typeof pattern !== 'string' || typeof list !== 'string' || typeof delims !== 'string' || typeof options !== 'string') return ERROR;
  const re = compilePattern(pattern, optionsFrom(options, true));
  if (re === undefined) return ERROR;
  const items = stringListItems(list, delims);
  if (items.length === 0) return UNDEFINED;
  return items.some((item) => {
    re.lastIndex = 0;
    return re.test(item);
  });
};

export const STRING_LIST_FUNCTIONS: readonly Entry[] = [
  ['stringlistsize', stringListSize],
  ['stringlistsum', summarize('sum')],
  ['stringlistavg', summarize('avg')],
  ['stringlistmin', summarize('min')],
  ['stringlistmax', summarize('max')],
  ['stringlistmember', memberOrSubset(false, false)],
  ['stringlistimember', memberOrSubset(false, true)],
  ['stringlistsubsetmatch', memberOrSubset(true, false)],
  ['stringlistisubsetmatch', memberOrSubset(true, true)],
  ['stringlistsintersect', stringListsIntersect],
  ['stringlist_regexpmember', stringListRegexpMember],
];
