/**
 * Matchmaking between two ads, as HTCondor's MatchClassAd defines it.
 *
 * Each ad's `Requirements` is evaluated with that ad as MY and the other as
 * TARGET. A requirement holds when it evaluates to true or to a non-zero
 * integer; UNDEFINED, ERROR, a missing Requirements and every other type do
 * not hold. The symmetric match is `machine.Requirements && job.Requirements`
 * under ClassAd `&&`, so it is true exactly when both are true-valued.
 * `Rank` is evaluated the same way; anything but a number ranks 0.
 */
import type { ClassAd } from './classad.ts';
import { evaluateAttribute, type FunctionTable } from './evaluate.ts';
import { booleanEquivalent, logicalAnd } from './operators.ts';
import { UNDEFINED, isInt, isNumber, numberOf, type Value } from './value.ts';

export interface MatchResult {
  /** Both sides' requirements hold. */
  readonly match: boolean;
  /** The job's Requirements holds against the machine. */
  readonly jobRequirements: boolean;
  /** The machine's Requirements holds against the job. */
  readonly machineRequirements: boolean;
}

function attributeValue(ad: ClassAd, key: string, other: ClassAd, functions: FunctionTable): Value {
  const attr = ad.lookupKey(key);
  return attr === undefined ? UNDEFINED : evaluateAttribute(attr, { scope: ad, target: other }, functions);
}

/** HTCondor's EvalMatchExpr: a boolean as is, an integer when non-zero, anything else false. */
function holds(v: Value): boolean {
  if (typeof v === 'boolean') return v;
  if (isInt(v)) return v !== 0 && v !== 0n;
  return false;
}

export function requirementsHold(ad: ClassAd, other: ClassAd, functions: FunctionTable): boolean {
  return holds(attributeValue(ad, 'requirements', other, functions));
}

export function symmetricMatch(job: ClassAd, machine: ClassAd, functions: FunctionTable): MatchResult {
  const jobValue = attributeValue(job, 'requirements', machine, functions);
  const machineValue = attributeValue(machine, 'requirements', job, functions);
  return {
    match: booleanEquivalent(logicalAnd(machineValue, () => jobValue)) === true,
    jobRequirements: holds(jobValue),
    machineRequirements: holds(machineValue),
  };
}

/** `ad.Rank` against `other`, as a number; 0 when it is not a number. */
export function rank(ad: ClassAd, other: ClassAd, functions: FunctionTable): number {
  const v = attributeValue(ad, 'rank', other, functions);
  if (isNumber(v)) {
    const n = numberOf(v);
    return Number.isNaN(n) ? 0 : n;
  }
  return typeof v === 'boolean' ? (v ? 1 : 0) : 0;
}
