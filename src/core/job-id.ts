/**
 * Job references as users type them: `12` names cluster 12 (all its procs),
 * `12.3` names proc 3 of cluster 12 (HTCondor's `cluster` and
 * `cluster.proc` arguments of condor_q, condor_rm, condor_hold, ...).
 *
 * Invariants: a parsed reference has a cluster id >= 1 and a proc id >= 0,
 * both at most 2^31-1 (HTCondor's ids are C ints); only ASCII digits are
 * accepted (no sign, no spaces, no exponent); anything else is refused with
 * HtcError('USAGE') whose message quotes the bad text. Pure.
 */
import { HtcError } from '../errors.ts';
import { formatJobId, type JobId } from './job.ts';

export { formatJobId, type JobId } from './job.ts';

export type JobRef =
  | { readonly kind: 'cluster'; readonly clusterId: number }
  | { readonly kind: 'proc'; readonly clusterId: number; readonly procId: number };

/** Largest cluster or proc id (HTCondor stores them in C ints). */
export const MAX_JOB_ID_PART = 2 ** 31 - 1;

const CLUSTER = /^(\d+)$/;
const PROC = /^(\d+)\.(\d+)$/;

function bad(text: string, why: string): HtcError {
  return new HtcError('USAGE', `bad job id ${JSON.stringify(text)}: ${why} (expected CLUSTER or CLUSTER.PROC, e.g. 12 or 12.3)`);
}

function part(text: string, digits: string, what: 'cluster' | 'proc'): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n) || n > MAX_JOB_ID_PART) throw bad(text, `${what} id is too large`);
  if (what === 'cluster' && n === 0) throw bad(text, 'cluster ids start at 1');
  return n;
}

/** Parses `12` or `12.3`; throws HtcError('USAGE') naming the text otherwise. */
export function parseJobRef(text: string): JobRef {
  const c = CLUSTER.exec(text);
  if (c !== null) return { kind: 'cluster', clusterId: part(text, c[1]!, 'cluster') };
  const p = PROC.exec(text);
  if (p !== null) return { kind: 'proc', clusterId: part(text, p[1]!, 'cluster'), procId: part(text, p[2]!, 'proc') };
  if (text === '') throw bad(text, 'it is empty');
  if (text.trim() !== text) throw bad(text, 'it has spaces around it');
  throw bad(text, 'it is not a number or number.number');
}

/** Parses several references, in order, failing on the first bad one. */
export function parseJobRefs(texts: readonly string[]): JobRef[] {
  return texts.map(parseJobRef);
}

/** `12` or `12.3`. */
export function formatJobRef(ref: JobRef): string {
  return ref.kind === 'cluster' ? String(ref.clusterId) : formatJobId(ref);
}

/** Whether the reference names the job. */
export function refMatches(ref: JobRef, id: JobId): boolean {
  return ref.clusterId === id.clusterId && (ref.kind === 'cluster' || ref.procId === id.procId);
}

/** The job id a proc reference names; undefined for a cluster reference. */
export function refToJobId(ref: JobRef): JobId | undefined {
  return ref.kind === 'proc' ? { clusterId: ref.clusterId, procId: ref.procId } : undefined;
}
