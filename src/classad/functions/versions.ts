/**
 * Version comparison: versioncmp, versionGT, versionGE, versionLT,
 * versionLE, versionEQ, version_in_range.
 *
 * Comparison is "natural" (strverscmp-like, HTCondor's natural_cmp): the
 * first difference decides, and where it falls inside a run of digits the
 * runs compare as numbers, with more leading zeros meaning smaller, so that
 * 000 < 00 < 01 < 010 < 09 < 0 < 1 < 9 < 10. versioncmp returns natural_cmp's
 * raw result (a byte difference or a length difference, not just -1/0/1).
 * Arguments are converted with string(); UNDEFINED (either argument, or the
 * bounds of version_in_range) gives UNDEFINED, ERROR gives ERROR.
 *
 * Deviation: HTCondor matches the comparison by the call's exact spelling
 * (versionGT works, versiongt is ERROR); the function table here cannot see
 * the spelling, so every spelling works.
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, UNDEFINED } from '../value.ts';
import { toStringValue, type Entry } from './support.ts';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** HTCondor's natural_cmp over the strings' char codes (0 terminates, as in C). */
export function naturalCompare(a: string, b: string): number {
  const s1 = a;
  const s2 = b;
  const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);
  let i = 0;
  while (at(s1, i) !== 0 && at(s1, i) === at(s2, i)) i++;
  if (at(s1, i) === at(s2, i)) return 0;
  let n1 = i;
  while (n1 > 0 && isDigit(at(s1, n1 - 1))) n1--;
  const back = i - n1;
  const n2 = i - back;
  if (n1 === i && (!isDigit(at(s1, i)) || !isDigit(at(s2, i)))) return at(s1, i) - at(s2, i);
  let z1 = n1;
  while (at(s1, z1) === 48) z1++;
  let z2 = n2;
  while (at(s2, z2) === 48) z2++;
  if (z1 > n1 && !isDigit(at(s1, z1))) z1--;
  if (z2 > n2 && !isDigit(at(s2, z2))) z2--;
  if (z1 - n1 !== z2 - n2) return (z2 - n2) - (z1 - n1);
  if (z1 > n1) return at(s1, i) - at(s2, i);
  let e1 = z1;
  while (isDigit(at(s1, e1))) e1++;
  let e2 = z2;
  while (isDigit(at(s2, e2))) e2++;
  if (e1 - n1 !== e2 - n2) return (e1 - n1) - (e2 - n2);
  return at(s1, i) - at(s2, i);
}

function compareVersion(decide: (r: number) => boolean | number): Builtin {
  return (args, env) => {
    if (args.length !== 2) return ERROR;
    const left = args[0]!(env);
    const right = args[1]!(env);
    if (left === UNDEFINED || right === UNDEFINED) return UNDEFINED;
    const l = toStringValue(left);
    const r = toStringValue(right);
    if (typeof l !== 'string' || typeof r !== 'string') return ERROR;
    return decide(naturalCompare(l, r));
  };
}

const versionInRange: Builtin = (args, env) => {
  if (args.length !== 3) return ERROR;
  const test = args[0]!(env);
  const min = args[1]!(env);
  const max = args[2]!(env);
  if (min === UNDEFINED || max === UNDEFINED) return UNDEFINED;
  const t = toStringValue(test);
  const lo = toStringValue(min);
  const hi = toStringValue(max);
  if (typeof t !== 'string' || typeof lo !== 'string' || typeof hi !== 'string') return ERROR;
  return naturalCompare(lo, t) <= 0 && naturalCompare(t, hi) <= 0;
};

export const VERSION_FUNCTIONS: readonly Entry[] = [
  ['versioncmp', compareVersion((r) => r)],
  ['versionlt', compareVersion((r) => r < 0)],
  ['versionle', compareVersion((r) => r <= 0)],
  ['versiongt', compareVersion((r) => r > 0)],
  ['versionge', compareVersion((r) => r >= 0)],
  ['versioneq', compareVersion((r) => r === 0)],
  ['version_in_range', versionInRange],
];
