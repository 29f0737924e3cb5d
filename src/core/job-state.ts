/**
 * The job state machine as pure functions, with HTCondor's statuses,
 * attribute names and hold codes:
 *
 *   Idle ──start──▶ Running ──complete──▶ Completed | Idle (OnExitRemove false)
 *                                          | Held (OnExitHold / PeriodicHold) | Removed (PeriodicRemove)
 *   Running, TransferringOutput ──evict──▶ Idle
 *   Idle, Running, TransferringOutput ──hold──▶ Held ──release──▶ Idle
 *   any but Completed, Removed ──remove──▶ Removed
 *
 * Each function takes a snapshot of the job and `now` (seconds since the
 * epoch) and returns either a Transition (the new status, the attributes to
 * set as name -> new-syntax expression text, and the event {kind, data})
 * that maps one to one onto the store's ProcChange (`toProcChange`), or a
 * Refusal saying why not ("job 3.1 is not held"). Normal refusals are
 * values, never exceptions; only arguments no caller should pass (a
 * non-integer hold code) throw HtcError('USAGE').
 *
 * Invariants: JobStatus itself is carried by `status`, not by `set`; every
 * transition sets EnteredCurrentStatus = now and LastJobStatus = the old
 * status; `from` is the status the change was computed for (the store's
 * optimistic expectStatus). An attribute is "deleted" by setting it to
 * `undefined` (HTCondor removes HoldReason on release; the ad keeps the
 * literal undefined, which reads the same). Pure: the snapshot's ad is never
 * modified and nothing reads the clock.
 */
import { evaluateAttr, isClassAdValue, intToNumber, isInt, parseExpression, type ClassAd } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import { eventRecord, type CpuUsage, type EventRecord, type ExitInfo, type JobEventData, type ResourceRow } from './events.ts';
import { formatJobId, intText, JobStatus, numberAttr, realText, statusName, stringAttr, stringText, type JobId, type JobSnapshot, type JobStatusCode } from './job.ts';
import { exitDecision, holdCodeLabel, HoldReasonCode, periodicDecision, type SystemPolicy } from './policy.ts';

export interface Transition {
  readonly ok: true;
  readonly id: JobId;
  /** The status this change was computed from (the store's expectStatus). */
  readonly from: JobStatusCode;
  readonly status: JobStatusCode;
  /** Attributes to set in the proc's differences, as name -> new-syntax expression text. */
  readonly set: Readonly<Record<string, string>>;
  readonly event: EventRecord;
}

export type RefusalCode = 'not-held' | 'already-held' | 'not-idle' | 'not-running' | 'finished';

export interface Refusal {
  readonly ok: false;
  readonly id: JobId;
  readonly status: JobStatusCode;
  readonly code: RefusalCode;
  /** A sentence for the user: "job 3.1 is not held". */
  readonly message: string;
}

export type TransitionResult = Transition | Refusal;

/** The store's ProcChange, field for field (core may not import the store). */
export interface ProcChangeData {
  readonly id: JobId;
  readonly expectStatus: JobStatusCode;
  readonly status: JobStatusCode;
  readonly set: Readonly<Record<string, string>>;
  readonly event: { readonly kind: string; readonly data: string };
}

export function toProcChange(t: Transition): ProcChangeData {
  return { id: t.id, expectStatus: t.from, status: t.status, set: t.set, event: t.event };
}

/** HTCondor's reason text for a user's command, "Via condor_hold (by user alice)", with htc's command name. */
export function byUserReason(command: 'hold' | 'release' | 'remove', user: string): string {
  return `Via htc job ${command} (by user ${user})`;
}

// ---------------------------------------------------------------------------
// Helpers.

function refuse(job: JobSnapshot, code: RefusalCode, message: string): Refusal {
  return { ok: false, id: job.id, status: job.status, code, message: `job ${formatJobId(job.id)} ${message}` };
}

function finishedRefusal(job: JobSnapshot): Refusal {
  return refuse(job, 'finished', `is already ${statusName(job.status)}`);
}

const isRunning = (s: JobStatusCode): boolean => s === JobStatus.Running || s === JobStatus.TransferringOutput;
const isFinishedStatus = (s: JobStatusCode): boolean => s === JobStatus.Completed || s === JobStatus.Removed;

function transition(job: JobSnapshot, status: JobStatusCode, set: Record<string, string>, event: JobEventData, now: number): Transition {
  return {
    ok: true,
    id: job.id,
    from: job.status,
    status,
    set: { ...set, EnteredCurrentStatus: intText(now), LastJobStatus: intText(job.status) },
    event: eventRecord(event),
  };
}

function checkCode(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new HtcError('USAGE', `${what} must be a whole number from 0 to 2147483647, not ${n}`);
}

/** Attributes recording the end of a run (the job leaves its slot). */
function runEnd(job: JobSnapshot, now: number): Record<string, string> {
  const set: Record<string, string> = {};
  const started = numberAttr(job.ad, 'JobCurrentStartDate');
  const wall = numberAttr(job.ad, 'RemoteWallClockTime') ?? 0;
  if (started !== undefined) set.RemoteWallClockTime = realText(wall + Math.max(0, now - started));
  const host = stringAttr(job.ad, 'RemoteHost');
  if (host !== undefined) set.LastRemoteHost = stringText(host);
  set.RemoteHost = 'undefined';
  return set;
}

function holdAttributes(job: JobSnapshot, reason: string, code: number, subcode: number): Record<string, string> {
  const set: Record<string, string> = {
    HoldReason: stringText(reason),
    HoldReasonCode: intText(code),
    HoldReasonSubCode: intText(subcode),
    NumHolds: intText((numberAttr(job.ad, 'NumHolds') ?? 0) + 1),
  };
  const label = holdCodeLabel(code);
  if (label !== undefined) {
    const counts = new Map<string, [string, number]>();
    const old = evaluateAttr(job.ad, 'NumHoldsByReason');
    if (isClassAdValue(old)) {
      for (const name of old.names()) {
        const v = evaluateAttr(old, name);
        if (isInt(v)) counts.set(name.toLowerCase(), [name, intToNumber(v)]);
      }
    }
    const entry = counts.get(label.toLowerCase());
    counts.set(label.toLowerCase(), [entry?.[0] ?? label, (entry?.[1] ?? 0) + 1]);
    set.NumHoldsByReason = `[ ${[...counts.values()].map(([n, c]) => `${n} = ${c}`).join('; ')} ]`;
  }
  return set;
}

// ---------------------------------------------------------------------------
// Transitions.

/**
 * Idle, Running or TransferringOutput → Held, with HoldReason,
 * HoldReasonCode, HoldReasonSubCode, NumHolds and NumHoldsByReason
 * (HoldReasonCode.UserRequest = 1 for `htc job hold`, JobPolicy = 3 for
 * policies, SubmittedOnHold = 15 at submit).
 */
export function hold(job: JobSnapshot, reason: string, code: number, subcode: number, now: number): TransitionResult {
  checkCode('hold code', code);
  checkCode('hold subcode', subcode);
  if (job.status === JobStatus.Held) return refuse(job, 'already-held', 'is already held');
  if (isFinishedStatus(job.status)) return finishedRefusal(job);
  const set = holdAttributes(job, reason, code, subcode);
  if (isRunning(job.status)) Object.assign(set, runEnd(job, now), { LastVacateTime: intText(now) });
  return transition(job, JobStatus.Held, set, { kind: 'held', data: { reason, code, subcode } }, now);
}

/** Held → Idle; the hold moves to LastHoldReason/Code/SubCode and ReleaseReason is set. */
export function release(job: JobSnapshot, reason: string, now: number): TransitionResult {
  if (job.status !== JobStatus.Held) return refuse(job, 'not-held', 'is not held');
  const set: Record<string, string> = {
    ReleaseReason: stringText(reason),
    HoldReason: 'undefined',
    HoldReasonCode: 'undefined',
    HoldReasonSubCode: 'undefined',
  };
  const lastReason = stringAttr(job.ad, 'HoldReason');
  if (lastReason !== undefined) set.LastHoldReason = stringText(lastReason);
  const lastCode = numberAttr(job.ad, 'HoldReasonCode');
  if (lastCode !== undefined) set.LastHoldReasonCode = intText(lastCode);
  const lastSub = numberAttr(job.ad, 'HoldReasonSubCode');
  if (lastSub !== undefined) set.LastHoldReasonSubCode = intText(lastSub);
  return transition(job, JobStatus.Idle, set, { kind: 'released', data: { reason } }, now);
}

/** Any status but Completed and Removed → Removed, with RemoveReason. */
export function remove(job: JobSnapshot, reason: string, now: number): TransitionResult {
  if (isFinishedStatus(job.status)) return finishedRefusal(job);
  const set: Record<string, string> = { RemoveReason: stringText(reason) };
  if (isRunning(job.status)) Object.assign(set, runEnd(job, now), { LastVacateTime: intText(now) });
  return transition(job, JobStatus.Removed, set, { kind: 'aborted', data: { reason } }, now);
}

export interface StartInfo {
  /** Where the job runs (HTCondor: the slot's name or address; RemoteHost). */
  readonly host: string;
  readonly slotName?: string;
}

/** Idle → Running: JobCurrentStartDate, JobStartDate (first run only), NumJobStarts, RemoteHost. */
export function start(job: JobSnapshot, info: StartInfo, now: number): TransitionResult {
  if (job.status !== JobStatus.Idle) return refuse(job, 'not-idle', `is not idle (it is ${statusName(job.status)})`);
  const set: Record<string, string> = {
    JobCurrentStartDate: intText(now),
    NumJobStarts: intText((numberAttr(job.ad, 'NumJobStarts') ?? 0) + 1),
    RemoteHost: stringText(info.host),
  };
  const first = numberAttr(job.ad, 'JobStartDate');
  if (first === undefined || first <= 0) set.JobStartDate = intText(now);
  const data = info.slotName === undefined ? { host: info.host } : { host: info.host, slotName: info.slotName };
  return transition(job, JobStatus.Running, set, { kind: 'execute', data }, now);
}

/** CPU seconds and bytes of the run that just ended, as the pilot reports them. */
export interface RunUsage {
  readonly remoteUserCpu?: number;
  readonly remoteSysCpu?: number;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  readonly resources?: readonly ResourceRow[];
}

function runUsage(u: RunUsage | undefined): CpuUsage {
  return { user: u?.remoteUserCpu ?? 0, sys: u?.remoteSysCpu ?? 0 };
}

/** Running or TransferringOutput → Idle (the slot went away, or was taken back): LastVacateTime, VacateReason. */
export function evict(job: JobSnapshot, reason: string, now: number, usage?: RunUsage): TransitionResult {
  if (!isRunning(job.status)) return refuse(job, 'not-running', `is not running (it is ${statusName(job.status)})`);
  const set: Record<string, string> = { ...runEnd(job, now), LastVacateTime: intText(now) };
  if (reason !== '') set.VacateReason = stringText(reason);
  const data = {
    ...(reason === '' ? {} : { reason }),
    runRemoteUsage: runUsage(usage),
    runLocalUsage: { user: 0, sys: 0 },
    bytesSent: usage?.bytesSent ?? 0,
    bytesReceived: usage?.bytesReceived ?? 0,
    ...(usage?.resources === undefined ? {} : { resources: usage.resources }),
  };
  return transition(job, JobStatus.Idle, set, { kind: 'evicted', data }, now);
}

/** How the job's process ended, and what the run used. */
export type ExitOutcome = (
  | { readonly exitBySignal: false; readonly exitCode: number }
  | { readonly exitBySignal: true; readonly signal: number; readonly coreFile?: string }
) & { readonly usage?: RunUsage };

/** The snapshot's ad with `set` applied (texts parsed back to expressions). */
function withSet(job: JobSnapshot, set: Readonly<Record<string, string>>): JobSnapshot {
  const ad: ClassAd = job.ad.copy();
  for (const [name, text] of Object.entries(set)) ad.set(name, parseExpression(text));
  return { id: job.id, status: job.status, ad };
}

/**
 * Running or TransferringOutput: the job's process exited. Sets ExitBySignal
 * and ExitCode or ExitSignal, NumJobCompletions, CPU and wall-clock totals,
 * then applies the exit policy (policy.ts, `exitDecision`):
 *   complete → Completed (CompletionDate; event terminated),
 *   requeue (OnExitRemove false) → Idle (event evicted, "terminated and requeued"),
 *   hold (OnExitHold, PeriodicHold) → Held with HoldReasonCode 3 (event held),
 *   remove (PeriodicRemove) → Removed (event aborted).
 */
export function complete(job: JobSnapshot, outcome: ExitOutcome, now: number, system: SystemPolicy = {}): TransitionResult {
  if (!isRunning(job.status)) return refuse(job, 'not-running', `is not running (it is ${statusName(job.status)})`);
  if (outcome.exitBySignal) checkCode('exit signal', outcome.signal);
  else if (!Number.isInteger(outcome.exitCode)) throw new HtcError('USAGE', `exit code must be a whole number, not ${outcome.exitCode}`);
  const run = runUsage(outcome.usage);
  const cumUser = (numberAttr(job.ad, 'CumulativeRemoteUserCpu') ?? 0) + run.user;
  const cumSys = (numberAttr(job.ad, 'CumulativeRemoteSysCpu') ?? 0) + run.sys;
  const sent = outcome.usage?.bytesSent ?? 0;
  const received = outcome.usage?.bytesReceived ?? 0;
  const totalSent = (numberAttr(job.ad, 'BytesSent') ?? 0) + sent;
  const totalReceived = (numberAttr(job.ad, 'BytesRecvd') ?? 0) + received;
  const exit: ExitInfo = outcome.exitBySignal
    ? outcome.coreFile === undefined
      ? { normal: false, signal: outcome.signal }
      : { normal: false, signal: outcome.signal, coreFile: outcome.coreFile }
    : { normal: true, returnValue: outcome.exitCode };

  const set: Record<string, string> = {
    ...runEnd(job, now),
    ExitBySignal: outcome.exitBySignal ? 'true' : 'false',
    ExitCode: outcome.exitBySignal ? 'undefined' : intText(outcome.exitCode),
    ExitSignal: outcome.exitBySignal ? intText(outcome.signal) : 'undefined',
    NumJobCompletions: intText((numberAttr(job.ad, 'NumJobCompletions') ?? 0) + 1),
    RemoteUserCpu: realText(run.user),
    RemoteSysCpu: realText(run.sys),
    CumulativeRemoteUserCpu: realText(cumUser),
    CumulativeRemoteSysCpu: realText(cumSys),
    BytesSent: realText(totalSent),
    BytesRecvd: realText(totalReceived),
  };
  const decision = exitDecision(withSet(job, set), now, system);
  const resources = outcome.usage?.resources === undefined ? {} : { resources: outcome.usage.resources };
  switch (decision.action) {
    case 'complete':
      return transition(
        job,
        JobStatus.Completed,
        { ...set, CompletionDate: intText(now) },
        {
          kind: 'terminated',
          data: {
            exit,
            runRemoteUsage: run,
            runLocalUsage: { user: 0, sys: 0 },
            totalRemoteUsage: { user: cumUser, sys: cumSys },
            totalLocalUsage: { user: 0, sys: 0 },
            bytesSent: sent,
            bytesReceived: received,
            totalBytesSent: totalSent,
            totalBytesReceived: totalReceived,
            ...resources,
            endedAt: now,
          },
        },
        now,
      );
    case 'requeue':
      return transition(
        job,
        JobStatus.Idle,
        set,
        {
          kind: 'evicted',
          data: { reason: decision.reason, runRemoteUsage: run, runLocalUsage: { user: 0, sys: 0 }, bytesSent: sent, bytesReceived: received, requeuedAfter: exit, ...resources },
        },
        now,
      );
    case 'hold':
      return transition(
        job,
        JobStatus.Held,
        { ...set, ...holdAttributes(job, decision.reason, decision.code, decision.subcode) },
        { kind: 'held', data: { reason: decision.reason, code: decision.code, subcode: decision.subcode } },
        now,
      );
    case 'remove':
      return transition(job, JobStatus.Removed, { ...set, RemoveReason: stringText(decision.reason) }, { kind: 'aborted', data: { reason: decision.reason } }, now);
  }
}

/**
 * The transition the periodic policy asks for now (PeriodicHold → hold with
 * HoldReasonCode 3 and PeriodicHoldReason/SubCode; PeriodicRelease →
 * release; PeriodicRemove → remove), or undefined when none fires. A
 * Completed job whose PeriodicRemove fires has no transition: it leaves the
 * queue (see policy.ts `leaveInQueue`).
 */
export function periodic(job: JobSnapshot, now: number, system: SystemPolicy = {}): Transition | undefined {
  const d = periodicDecision(job, now, system);
  let result: TransitionResult | undefined;
  switch (d.action) {
    case 'none':
      return undefined;
    case 'hold':
      result = hold(job, d.reason, d.code, d.subcode, now);
      break;
    case 'release':
      result = release(job, d.reason, now);
      break;
    case 'remove':
      result = remove(job, d.reason, now);
      break;
  }
  return result.ok ? result : undefined;
}

// ---------------------------------------------------------------------------
// Which attributes `htc job edit` may change.

/** HTCondor's SYSTEM_IMMUTABLE_JOB_ATTRS (manual: Owner ClusterId ProcId MyType TargetType) and htc's identity attributes. */
export const IMMUTABLE_ATTRIBUTES: readonly string[] = ['Owner', 'ClusterId', 'ProcId', 'MyType', 'TargetType', 'User', 'OsUser', 'JobUniverse'];

/** HTCondor's SYSTEM_SECURE_JOB_ATTRS: set only by the access point from authenticated credentials. */
export const SECURE_ATTRIBUTES: readonly string[] = [
  'AuthTokenSubject',
  'AuthTokenIssuer',
  'AuthTokenGroups',
  'AuthTokenId',
  'AuthTokenScopes',
  'x509userproxysubject',
  'x509UserProxyEmail',
  'x509UserProxyVOName',
  'x509UserProxyFirstFQAN',
  'x509UserProxyFQAN',
  'TotalSubmitProcs',
];

/** Attributes the state machine and the access point keep; an edit would make them lie. */
export const MANAGED_ATTRIBUTES: readonly string[] = [
  'JobStatus',
  'LastJobStatus',
  'EnteredCurrentStatus',
  'QDate',
  'GlobalJobId',
  'CurrentTime',
  'HoldReason',
  'HoldReasonCode',
  'HoldReasonSubCode',
  'NumHolds',
  'NumHoldsByReason',
  'LastHoldReason',
  'LastHoldReasonCode',
  'LastHoldReasonSubCode',
  'ReleaseReason',
  'RemoveReason',
  'VacateReason',
  'CompletionDate',
  'ExitCode',
  'ExitBySignal',
  'ExitSignal',
  'JobStartDate',
  'JobCurrentStartDate',
  'NumJobStarts',
  'NumJobCompletions',
  'RemoteHost',
  'LastRemoteHost',
  'LastVacateTime',
  'RemoteWallClockTime',
  'RemoteUserCpu',
  'RemoteSysCpu',
  'CumulativeRemoteUserCpu',
  'CumulativeRemoteSysCpu',
  'BytesSent',
  'BytesRecvd',
];

const byKey = (names: readonly string[]): Map<string, string> => new Map(names.map((n) => [n.toLowerCase(), n]));
const IMMUTABLE = byKey(IMMUTABLE_ATTRIBUTES);
const SECURE = byKey(SECURE_ATTRIBUTES);
const MANAGED = byKey(MANAGED_ATTRIBUTES);
const RESERVED = new Set(['true', 'false', 'undefined', 'error', 'is', 'isnt', 'my', 'target', 'self', 'other', 'parent', 'root', 'toplevel']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type EditCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'invalid-name' | 'immutable' | 'secure' | 'managed'; readonly message: string };

/**
 * Whether `htc job edit` may set attribute `attr` (case-insensitive, as
 * ClassAd names are). Refused: names that are not plain ClassAd attribute
 * names, HTCondor's immutable and secure attributes, and those htc's state
 * machine keeps. Editing Requirements or TargetAnnexName is allowed; the
 * access point must apply the annex transform again afterwards
 * (transforms.ts; it is idempotent).
 */
export function checkEditable(attr: string): EditCheck {
  if (!NAME.test(attr) || RESERVED.has(attr.toLowerCase())) {
    return { ok: false, reason: 'invalid-name', message: `${JSON.stringify(attr)} is not an attribute name (letters, digits and _, not starting with a digit)` };
  }
  const key = attr.toLowerCase();
  const immutable = IMMUTABLE.get(key);
  if (immutable !== undefined) return { ok: false, reason: 'immutable', message: `${immutable} cannot be changed once a job is submitted` };
  const secure = SECURE.get(key);
  if (secure !== undefined) return { ok: false, reason: 'secure', message: `${secure} is set only by the access point from your credentials` };
  const managed = MANAGED.get(key);
  if (managed !== undefined) return { ok: false, reason: 'managed', message: `${managed} is kept by htc itself; use htc job hold, release or remove to change a job's state` };
  return { ok: true };
}

export { HoldReasonCode };
