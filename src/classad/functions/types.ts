/**
 * Type predicates: isUndefined, isError, isString, isInteger, isReal,
 * isBoolean, isList, isClassAd, isAbsTime, isRelTime.
 *
 * Each takes exactly one argument (else ERROR) and always yields a boolean
 * otherwise: isBoolean is true only for a boolean value (HTCondor's
 * implementation tests the type; the manual's "integer 0 or 1" wording is
 * from old ClassAds).
 */
import type { Builtin } from '../evaluate.ts';
import { AbsTime, ERROR, ListValue, Real, RelTime, UNDEFINED, type Value } from '../value.ts';
import { ClassAd } from '../classad.ts';
import type { Entry } from './support.ts';

function predicate(test: (v: Value) => boolean): Builtin {
  return (args, env) => (args.length !== 1 ? ERROR : test(args[0]!(env)));
}

export const TYPE_FUNCTIONS: readonly Entry[] = [
  ['isundefined', predicate((v) => v === UNDEFINED)],
  ['iserror', predicate((v) => v === ERROR)],
  ['isstring', predicate((v) => typeof v === 'string')],
  ['isinteger', predicate((v) => typeof v === 'number' || typeof v === 'bigint')],
  ['isreal', predicate((v) => v instanceof Real)],
  ['isboolean', predicate((v) => typeof v === 'boolean')],
  ['islist', predicate((v) => v instanceof ListValue)],
  ['isclassad', predicate((v) => v instanceof ClassAd)],
  ['isabstime', predicate((v) => v instanceof AbsTime)],
  ['isreltime', predicate((v) => v instanceof RelTime)],
];
