/**
 * The access point's HTTP API: paths, request and response shapes, shared by
 * the AP (which validates every request here, at the boundary) and the
 * client. JSON over HTTP, on the AP's Unix socket or over HTTPS.
 *
 * Errors travel as `{ "error": { "code": CODE, "message": TEXT } }` with the
 * HTTP status of the code (src/errors.ts); the client turns them back into
 * the same HtcError, so a CLI prints the AP's message unchanged.
 */
import { HtcError, type ErrorCode, ERROR_CODES } from '../errors.ts';

export const API_PREFIX = '/v1';
/** Requests larger than this are refused (413) before they are parsed. */
export const MAX_REQUEST_BYTES = 256 * 1024 * 1024;

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export interface ApStatus {
  readonly pid: number;
  readonly dir: string;
  readonly socket: string;
  readonly url: string | null;
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  readonly owner: string;
  readonly jobs: { idle: number; running: number; held: number; completed: number; removed: number; transferringOutput: number };
  readonly clusters: number;
}

export interface SubmitRequest {
  /** `SubmitDescription.toFactory()` text, made by the client from the user's file. */
  readonly factory: string;
  readonly annexName?: string;
  /** Start a new jobset with this cluster, or add the cluster to one this caller made. */
  readonly jobset?: { readonly name: string } | { readonly id: number };
}

export interface JobsetSummary {
  readonly jobsetId: number;
  readonly name: string;
  readonly owner: string;
  readonly submittedAt: number;
  readonly clusters: readonly number[];
  readonly idle: number;
  readonly running: number;
  readonly held: number;
  /** Jobs of the jobset still in the queue. */
  readonly queued: number;
  /** Jobs ever submitted in it. */
  readonly total: number;
}

/** What a job used, as its pilots measured it (`htc job resources`). */
export interface JobResources {
  readonly id: string;
  readonly status: number;
  readonly statusName: string;
  readonly starts: number;
  readonly userCpuSeconds: number;
  readonly sysCpuSeconds: number;
  /** Peak resident memory of the last run, MiB (sampled by the pilot), or null before any run. */
  readonly memoryPeakMb: number | null;
  /** Wall time of all runs, seconds. */
  readonly wallSeconds: number;
  readonly lastRunWallSeconds: number | null;
  readonly requestCpus: number | null;
  readonly requestMemoryMb: number | null;
  readonly requestDiskKb: number | null;
  readonly lastHost: string | null;
}

export interface SubmitResponse {
  readonly clusterId: number;
  readonly procCount: number;
  readonly jobsetId: number | null;
}

export interface JobSummary {
  readonly id: string;
  readonly clusterId: number;
  readonly procId: number;
  readonly owner: string;
  readonly status: number;
  readonly statusName: string;
  readonly enteredStatusAt: number;
  readonly submittedAt: number;
  readonly batchName: string | null;
  readonly cmd: string | null;
  readonly args: string | null;
  readonly holdReason: string | null;
  readonly annex: string | null;
}

export interface ListRequest {
  readonly all?: boolean;
  readonly constraint?: string;
  readonly long?: boolean;
  readonly ids?: readonly string[];
}

export interface ListResponse {
  readonly jobs: readonly JobSummary[];
  /**
   * With `long`: each job's whole ad as JSON text in condor_q -json form
   * (same order as jobs). Text, not objects, so reals stay reals and 64-bit
   * integers stay exact on the way to the user.
   */
  readonly ads?: readonly string[];
  /** Clusters with procs not made yet (late materialization): they count as idle. */
  readonly pending: readonly { clusterId: number; owner: string; batchName: string | null; count: number }[];
}

export type JobAction = 'hold' | 'release' | 'remove';

export interface ActionRequest {
  readonly action: JobAction;
  /** Job references: "C" or "C.P". */
  readonly ids?: readonly string[];
  readonly constraint?: string;
  readonly reason?: string;
}

export interface ActionResponse {
  readonly changed: readonly string[];
  readonly refused: readonly { id: string; reason: string }[];
  /** Jobs of late-materialized clusters removed before they were made (they leave no history). */
  readonly abandoned?: number;
}

export interface EditRequest {
  readonly id: string;
  readonly attribute: string;
  readonly expression: string;
}

export interface HistoryEntry {
  readonly id: string;
  readonly status: number;
  readonly statusName: string;
  readonly completedAt: number;
  readonly owner: string;
  readonly cmd: string | null;
  /** The whole ad as JSON text (condor_q -json form). */
  readonly ad: string;
}

export interface AuthChallenge {
  readonly challengeId: string;
  /** The path the client must create to prove who it is. */
  readonly path: string;
}

export interface AuthSession {
  readonly token: string;
  readonly identity: string;
  readonly expiresAt: number;
}

// ---------------------------------------------------------------------------
// Validation at the boundary: each returns the typed request or throws a 400.

function bad(message: string): never {
  throw new HtcError('BAD_REQUEST', message);
}

export function asObject(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad(`${what}: expected a JSON object`);
  return body as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') bad(`${what}: "${key}" must be a string`);
  return v;
}

function requiredString(o: Record<string, unknown>, key: string, what: string): string {
  const v = optionalString(o, key, what);
  if (v === undefined) bad(`${what}: "${key}" is required`);
  return v;
}

function optionalStrings(o: Record<string, unknown>, key: string, what: string): string[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${what}: "${key}" must be an array of strings`);
  return v as string[];
}

export function parseSubmitRequest(body: unknown): SubmitRequest {
  const o = asObject(body, 'submit');
  const annexName = optionalString(o, 'annexName', 'submit');
  let jobset: SubmitRequest['jobset'];
  if (o.jobset !== undefined) {
    const j = asObject(o.jobset, 'submit.jobset');
    if (typeof j.id === 'number' && Number.isInteger(j.id)) jobset = { id: j.id };
    else jobset = { name: requiredString(j, 'name', 'submit.jobset') };
  }
  return { factory: requiredString(o, 'factory', 'submit'), ...(annexName === undefined ? {} : { annexName }), ...(jobset === undefined ? {} : { jobset }) };
}

export function parseListRequest(body: unknown): ListRequest {
  const o = asObject(body, 'list');
  const constraint = optionalString(o, 'constraint', 'list');
  const ids = optionalStrings(o, 'ids', 'list');
  return { all: o.all === true, long: o.long === true, ...(constraint === undefined ? {} : { constraint }), ...(ids === undefined ? {} : { ids }) };
}

export function parseActionRequest(body: unknown): ActionRequest {
  const o = asObject(body, 'action');
  const action = requiredString(o, 'action', 'action');
  if (action !== 'hold' && action !== 'release' && action !== 'remove') bad(`action: "action" must be hold, release or remove, not ${JSON.stringify(action)}`);
  const ids = optionalStrings(o, 'ids', 'action');
  const constraint = optionalString(o, 'constraint', 'action');
  if ((ids === undefined || ids.length === 0) && constraint === undefined) bad('action: give job ids or a constraint');
  const reason = optionalString(o, 'reason', 'action');
  return { action, ...(ids === undefined ? {} : { ids }), ...(constraint === undefined ? {} : { constraint }), ...(reason === undefined ? {} : { reason }) };
}

export function parseEditRequest(body: unknown): EditRequest {
  const o = asObject(body, 'edit');
  return { id: requiredString(o, 'id', 'edit'), attribute: requiredString(o, 'attribute', 'edit'), expression: requiredString(o, 'expression', 'edit') };
}

/** The error a response carried, as the HtcError it was on the AP. */
export function errorFromBody(status: number, body: unknown): HtcError {
  const e = (body as Partial<ErrorBody> | null)?.error;
  if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string' && Object.hasOwn(ERROR_CODES, e.code)) {
    return new HtcError(e.code as ErrorCode, e.message);
  }
  return new HtcError('AP_FAILED', `the access point answered HTTP ${status}${typeof e?.message === 'string' ? `: ${e.message}` : ''}`);
}
