/**
 * Job policy: the job's own periodic_* and on_exit_* expressions, and
 * leave_in_queue, evaluated with HTCondor's semantics (condor_utils
 * user_job_policy.cpp, UserPolicy::AnalyzePolicy):
 *
 *   - Order, first to fire wins: PeriodicHold (only when the job is not
 *     Held or Completed), PeriodicRelease (only when Held, and never for a
 *     job held by its user: HoldReasonCode 1), PeriodicRemove; then at exit
 *     OnExitHold, OnExitRemove. Each job expression is checked before the
 *     matching system expression (SYSTEM_PERIODIC_HOLD/RELEASE/REMOVE,
 *     optional here).
 *   - A policy fires only when its value is a number other than 0: true, a
 *     non-zero integer, or a real whose integer part is non-zero
 *     (HTCondor's Value::IsNumber). UNDEFINED, ERROR, strings, lists count
 *     as false, so they never fire.
 *   - OnExitRemove is the exception, as in HTCondor: the job stays in the
 *     queue (goes back to Idle) only when OnExitRemove evaluates to a
 *     number equal to 0 (false); absent, UNDEFINED or ERROR removes it
 *     (the default on_exit_remove is true).
 *   - A firing job expression X takes its reason from attribute XReason
 *     (when a string) and subcode from XSubCode (when a number), e.g.
 *     PeriodicHoldReason / PeriodicHoldSubCode, OnExitHoldReason /
 *     OnExitHoldSubCode; otherwise the reason is HTCondor's text
 *     "The job attribute PeriodicHold expression '<expr>' evaluated to TRUE".
 *     Holds by job policy use HoldReasonCode 3 (JobPolicy), by system
 *     policy 26 (SystemPolicy).
 *   - LeaveJobInQueue true (same number rule) keeps a finished job in the
 *     queue instead of moving it to history; a Completed job whose
 *     PeriodicRemove fires leaves anyway.
 *
 * Time is passed in: expressions are evaluated on a copy of the job ad in
 * which `time()` returns `now` (and `currentTime()` now, in the process's
 * zone; the function table for the last `now` is cached), `CurrentTime` (when the ad does not define
 * it) is `now`, and JobStatus, ClusterId and ProcId are those of the
 * snapshot. Pure: the job's ad is never modified.
 */
import {
  AbsTime,
  BUILTINS,
  compileExpression,
  ERROR,
  evaluateAttr,
  intToNumber,
  isInt,
  isReal,
  parseExpression,
  UNDEFINED,
  unparse,
  type ClassAd,
  type Builtin,
  type FunctionTable,
  type Value,
} from '../classad/index.ts';
import { JobStatus, type JobSnapshot } from './job.ts';

/** HTCondor's HoldReasonCode values (docs/codes-other-values/hold-table.rst) used by htc. */
export const HoldReasonCode = {
  Unspecified: 0,
  UserRequest: 1,
  JobPolicy: 3,
  CorruptedCredential: 4,
  JobPolicyUndefined: 5,
  FailedToCreateProcess: 6,
  UnableToOpenOutput: 7,
  UnableToOpenInput: 8,
  TransferOutputError: 12,
  TransferInputError: 13,
  IwdError: 14,
  SubmittedOnHold: 15,
  SpoolingInput: 16,
  StartdHeldJob: 21,
  SystemPolicy: 26,
  SystemPolicyUndefined: 27,
  MaxTransferInputSizeExceeded: 32,
  MaxTransferOutputSizeExceeded: 33,
  JobOutOfResources: 34,
} as const;

/** The NumHoldsByReason label of a hold code (its name in the table above), or undefined. */
export function holdCodeLabel(code: number): string | undefined {
  for (const [label, value] of Object.entries(HoldReasonCode)) if (value === code) return label;
  return undefined;
}

/** System-wide policy expressions (HTCondor's SYSTEM_PERIODIC_* configuration), as ClassAd text. */
export interface SystemPolicy {
  readonly periodicHold?: string;
  readonly periodicHoldReason?: string;
  readonly periodicHoldSubCode?: string;
  readonly periodicRelease?: string;
  readonly periodicReleaseReason?: string;
  readonly periodicRemove?: string;
  readonly periodicRemoveReason?: string;
}

/** Which expression fired: a job attribute or a system expression. */
export interface Firing {
  /** The attribute (PeriodicHold, OnExitRemove, ...) or system name (SYSTEM_PERIODIC_HOLD, ...). */
  readonly expression: string;
  readonly source: 'job' | 'system';
  /** The expression's text as written back by the unparser. */
  readonly text: string;
}

export type PeriodicDecision =
  | { readonly action: 'none' }
  | { readonly action: 'hold'; readonly firing: Firing; readonly reason: string; readonly code: number; readonly subcode: number }
  | { readonly action: 'release'; readonly firing: Firing; readonly reason: string }
  | { readonly action: 'remove'; readonly firing: Firing; readonly reason: string };

export type ExitDecision =
  | Exclude<PeriodicDecision, { action: 'none' } | { action: 'release' }>
  /** OnExitRemove true (or not false): the job is done. */
  | { readonly action: 'complete' }
  /** OnExitRemove false: back to Idle to run again. */
  | { readonly action: 'requeue'; readonly firing: Firing; readonly reason: string };

// ---------------------------------------------------------------------------
// Evaluation with a given `now`.

let cachedNow: number | undefined;
let cachedTable: FunctionTable | undefined;

/** The built-in functions with time() and currentTime() answering `now` (one table per `now`, cached). */
function functionsAt(now: number): FunctionTable {
  if (cachedTable !== undefined && cachedNow === now) return cachedTable;
  const table = new Map(BUILTINS);
  const time: Builtin = (args) => (args.length > 0 ? ERROR : now);
  const currentTime: Builtin = (args) => (args.length > 0 ? ERROR : new AbsTime(now, -new Date(now * 1000).getTimezoneOffset() * 60));
  table.set('time', time);
  table.set('currenttime', currentTime);
  cachedNow = now;
  cachedTable = table;
  return table;
}

/** The ad policies are evaluated in: a copy with the snapshot's status and id, and CurrentTime. */
export function policyContext(job: JobSnapshot, now: number): ClassAd {
  const ad = job.ad.copy();
  ad.setValue('JobStatus', job.status).setValue('ClusterId', job.id.clusterId).setValue('ProcId', job.id.procId);
  if (!ad.has('CurrentTime')) ad.setValue('CurrentTime', now);
  return ad;
}

/** Evaluates attribute `name` of `ad` (a policy context) with time() = now. */
function evalAttr(ad: ClassAd, name: string, now: number): Value {
  const node = ad.get(name);
  if (node === undefined) return UNDEFINED;
  // Evaluating the attribute by reference keeps its own MY scope and cycle detection.
  return compileExpression({ kind: 'attr', name, absolute: false }, functionsAt(now))({ scope: ad, target: null });
}

function evalText(ad: ClassAd, text: string, now: number): Value {
  return compileExpression(parseExpression(text), functionsAt(now))({ scope: ad, target: null });
}

/**
 * HTCondor's test of a policy value (Value::IsNumber): a boolean, an
 * integer, or a real truncated to an integer; undefined when the value is
 * none of these (UNDEFINED, ERROR, string, list, ...).
 */
export function policyNumber(v: Value): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return intToNumber(v) === 0 ? 0 : 1; // only zero-ness matters; avoids bigint precision issues
  if (isReal(v)) return Number.isNaN(v.v) ? undefined : Math.trunc(v.v) || 0; // || 0: no -0
  return undefined;
}

/** Whether a policy value fires: a number other than 0 (UNDEFINED and ERROR count as false). */
export function policyFires(v: Value): boolean {
  const n = policyNumber(v);
  return n !== undefined && n !== 0;
}

function subcodeOf(v: Value): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return intToNumber(v);
  if (isReal(v) && Number.isFinite(v.v)) return Math.trunc(v.v);
  return 0;
}

function defaultReason(firing: Firing, value: 'TRUE' | 'FALSE'): string {
  const src = firing.source === 'job' ? 'job attribute' : 'system macro';
  return `The ${src} ${firing.expression} expression '${firing.text}' evaluated to ${value}`;
}

interface Fired {
  readonly firing: Firing;
  readonly reason: string;
  readonly subcode: number;
}

/** Checks job attribute `attr`, then the system expression; the first that fires, with its reason and subcode. */
function check(ad: ClassAd, now: number, attr: string, system?: { name: string; expr?: string; reason?: string; subcode?: string }): Fired | undefined {
  const node = ad.get(attr);
  if (node !== undefined && policyFires(evalAttr(ad, attr, now))) {
    const firing: Firing = { expression: attr, source: 'job', text: unparse(node) };
    const reasonValue = evalAttr(ad, `${attr}Reason`, now);
    const reason = typeof reasonValue === 'string' && reasonValue !== '' ? reasonValue : defaultReason(firing, 'TRUE');
    return { firing, reason, subcode: subcodeOf(evalAttr(ad, `${attr}SubCode`, now)) };
  }
  if (system?.expr !== undefined && system.expr.trim() !== '' && policyFires(evalText(ad, system.expr, now))) {
    const firing: Firing = { expression: system.name, source: 'system', text: unparse(parseExpression(system.expr)) };
    const reasonValue = system.reason === undefined ? undefined : evalText(ad, system.reason, now);
    const reason = typeof reasonValue === 'string' && reasonValue !== '' ? reasonValue : defaultReason(firing, 'TRUE');
    return { firing, reason, subcode: system.subcode === undefined ? 0 : subcodeOf(evalText(ad, system.subcode, now)) };
  }
  return undefined;
}

function periodicOn(ad: ClassAd, job: JobSnapshot, now: number, system: SystemPolicy): PeriodicDecision {
  if (job.status === JobStatus.Removed) return { action: 'none' };
  if (job.status !== JobStatus.Held && job.status !== JobStatus.Completed) {
    const f = check(ad, now, 'PeriodicHold', { name: 'SYSTEM_PERIODIC_HOLD', expr: system.periodicHold, reason: system.periodicHoldReason, subcode: system.periodicHoldSubCode });
    if (f !== undefined) {
      const code = f.firing.source === 'job' ? HoldReasonCode.JobPolicy : HoldReasonCode.SystemPolicy;
      return { action: 'hold', firing: f.firing, reason: f.reason, code, subcode: f.subcode };
    }
  }
  if (job.status === JobStatus.Held) {
    const holdCode = evaluateAttr(ad, 'HoldReasonCode');
    const heldByUser = isInt(holdCode) && intToNumber(holdCode) === HoldReasonCode.UserRequest;
    if (!heldByUser) {
      const f = check(ad, now, 'PeriodicRelease', { name: 'SYSTEM_PERIODIC_RELEASE', expr: system.periodicRelease, reason: system.periodicReleaseReason });
      if (f !== undefined) return { action: 'release', firing: f.firing, reason: f.reason };
    }
  }
  const f = check(ad, now, 'PeriodicRemove', { name: 'SYSTEM_PERIODIC_REMOVE', expr: system.periodicRemove, reason: system.periodicRemoveReason });
  if (f !== undefined) return { action: 'remove', firing: f.firing, reason: f.reason };
  return { action: 'none' };
}

/**
 * What the periodic policy says about a job now: hold, release, remove, or
 * nothing. For a Completed job, `remove` means it leaves the queue.
 */
export function periodicDecision(job: JobSnapshot, now: number, system: SystemPolicy = {}): PeriodicDecision {
  return periodicOn(policyContext(job, now), job, now, system);
}

/**
 * What happens to a job whose process just exited. `job.ad` must already
 * carry the exit attributes (ExitBySignal and ExitCode or ExitSignal, and
 * the incremented NumJobCompletions), as the state machine's `complete`
 * arranges. Periodic policies are checked first (a periodic hold or remove
 * wins), then OnExitHold, then OnExitRemove.
 */
export function exitDecision(job: JobSnapshot, now: number, system: SystemPolicy = {}): ExitDecision {
  const ad = policyContext(job, now);
  const periodic = periodicOn(ad, job, now, system);
  if (periodic.action === 'hold' || periodic.action === 'remove') return periodic;
  const f = check(ad, now, 'OnExitHold');
  if (f !== undefined) return { action: 'hold', firing: f.firing, reason: f.reason, code: HoldReasonCode.JobPolicy, subcode: f.subcode };
  const node = ad.get('OnExitRemove');
  if (node !== undefined && policyNumber(evalAttr(ad, 'OnExitRemove', now)) === 0) {
    const firing: Firing = { expression: 'OnExitRemove', source: 'job', text: unparse(node) };
    return { action: 'requeue', firing, reason: defaultReason(firing, 'FALSE') };
  }
  return { action: 'complete' };
}

/**
 * Whether a finished (Completed or Removed) job stays in the queue rather
 * than moving to history: LeaveJobInQueue fires, and (for a Completed job)
 * PeriodicRemove does not.
 */
export function leaveInQueue(job: JobSnapshot, now: number): boolean {
  const ad = policyContext(job, now);
  if (!policyFires(evalAttr(ad, 'LeaveJobInQueue', now))) return false;
  if (job.status === JobStatus.Completed && policyFires(evalAttr(ad, 'PeriodicRemove', now))) return false;
  return true;
}
