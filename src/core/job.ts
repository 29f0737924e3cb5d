/**
 * The job as core sees it: HTCondor's JobStatus numbers, a job id, and a
 * snapshot (id, status and the job's whole ClassAd: cluster ad with the
 * proc's differences applied) that the state machine and the policy
 * evaluator read.
 *
 * Invariants: the status numbers are HTCondor's (and the same numbers the
 * store keeps; the store defines them too because core may not be imported
 * by it in reverse, so the two lists must stay equal: job.test.ts checks
 * the values). A snapshot's `status` is authoritative over any JobStatus
 * attribute in its ad. Nothing here does I/O.
 */
import { evaluateAttr, intToNumber, isInt, isReal, printReal, printString, type ClassAd } from '../classad/index.ts';

/** HTCondor's JobStatus numbers. */
export const JobStatus = {
  Idle: 1,
  Running: 2,
  Removed: 3,
  Completed: 4,
  Held: 5,
  TransferringOutput: 6,
} as const;
export type JobStatusCode = (typeof JobStatus)[keyof typeof JobStatus];

const STATUS_NAMES: Readonly<Record<JobStatusCode, string>> = {
  1: 'idle',
  2: 'running',
  3: 'removed',
  4: 'completed',
  5: 'held',
  6: 'transferring output',
};

/** The lower-case word for a status ("idle", "transferring output"), for messages. */
export function statusName(status: JobStatusCode): string {
  return STATUS_NAMES[status];
}

/** Completed and Removed: the job will not run again. */
export function isFinished(status: JobStatusCode): boolean {
  return status === JobStatus.Completed || status === JobStatus.Removed;
}

export interface JobId {
  readonly clusterId: number;
  readonly procId: number;
}

/** What the state machine and the policy evaluator need to know of one job. */
export interface JobSnapshot {
  readonly id: JobId;
  readonly status: JobStatusCode;
  /** The job's whole ad (cluster ad plus the proc's differences). Never modified by core. */
  readonly ad: ClassAd;
}

/** `cluster.proc`, as HTCondor prints job ids. */
export function formatJobId(id: JobId): string {
  return `${id.clusterId}.${id.procId}`;
}

// ---------------------------------------------------------------------------
// Reading and writing attribute values (internal helpers shared by core).

/** An attribute's value as a number when it evaluates to an integer or real. */
export function numberAttr(ad: ClassAd, name: string): number | undefined {
  const v = evaluateAttr(ad, name);
  if (isInt(v)) return intToNumber(v);
  if (isReal(v)) return v.v;
  return undefined;
}

/** An attribute's value when it evaluates to a string. */
export function stringAttr(ad: ClassAd, name: string): string | undefined {
  const v = evaluateAttr(ad, name);
  return typeof v === 'string' ? v : undefined;
}

/** New-syntax literal text for an integer. */
export function intText(n: number): string {
  return String(Math.trunc(n));
}

/** New-syntax literal text for a real (always written as a real: 1.0, not 1). */
export function realText(n: number): string {
  return printReal(n);
}

/** New-syntax literal text for a string. */
export function stringText(s: string): string {
  return printString(s);
}
