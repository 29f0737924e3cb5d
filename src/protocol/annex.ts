/**
 * The access point's annex API: requests and answers of `htc annex create
 * | status | shutdown`, validated at the AP's boundary.
 *
 * An annex request is recorded by the AP as a local-universe job whose ad
 * carries the `hpc_annex_*` attributes (so history keeps it); the answer to
 * `create` carries the annex token the pilots present, scoped to that annex
 * and owner.
 */
import { HtcError } from '../errors.ts';
import { asObject } from './api.ts';

/** Annex names: what HTCondor allows in an attribute value we print everywhere, kept simple. */
export const ANNEX_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface AnnexCreateRequest {
  readonly name: string;
  readonly system: string;
  readonly queue: string;
  readonly nodes: number;
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  readonly gpus: number | null;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
  /** `annex add`: the name must already have an annex (create: must not). */
  readonly add: boolean;
  /** `create` refuses an annex no job targets yet, unless this is set. */
  readonly allowEmpty?: boolean;
}

export interface AnnexCreateResponse {
  readonly requestId: string;
  readonly clusterId: number;
  readonly token: string;
  readonly tokenId: string;
  /** Where pilots attach, and the certificate they pin. */
  readonly url: string;
  readonly fingerprint: string;
}

export interface AnnexRequestStatus {
  readonly requestId: string;
  readonly clusterId: number;
  readonly system: string;
  readonly queue: string;
  readonly nodes: number;
  readonly cpus: number | null;
  readonly lifetimeSeconds: number;
  readonly submittedAt: number;
  /** When its first pilot attached, or null. */
  readonly startedAt: number | null;
  /**
   * requested: no pilot attached yet (on SLURM: the batch job is queued);
   * running: a pilot attached; retired: ended (shown for an hour after).
   */
  readonly state: 'requested' | 'running' | 'retired';
  /** Where it was submitted (SLURM systems): the login, the batch job, the pilot directory. */
  readonly login: string | null;
  readonly jobId: string | null;
  readonly pilotDir: string | null;
  /** Why a retired request ended. */
  readonly endReason: string | null;
  readonly endedAt: number | null;
}

export interface AnnexSlotStatus {
  readonly slotName: string;
  readonly hostname: string;
  readonly cpus: number;
  readonly busyCpus: number;
  readonly memoryMb: number;
  readonly endTime: number | null;
  readonly accepting: boolean;
  readonly requestId: string | null;
}

export interface AnnexStatus {
  readonly name: string;
  readonly owner: string;
  readonly requests: readonly AnnexRequestStatus[];
  readonly slots: readonly AnnexSlotStatus[];
  readonly jobs: { readonly idle: number; readonly running: number; readonly held: number };
}

export interface AnnexShutdownResponse {
  readonly name: string;
  readonly pilotsTold: number;
  readonly requestsEnded: number;
  /** The requests ended, with where their batch jobs are, for the front-end to cancel them. */
  readonly requests: readonly AnnexRequestStatus[];
}

/** What the back-end reported for a request on a SLURM system, recorded on the request. */
export interface AnnexLaunch {
  readonly name: string;
  readonly requestId: string;
  /** user@host:port of the login node. */
  readonly login: string;
  readonly jobId: string;
  readonly pilotDir: string;
  readonly backendPid: string | null;
}

/** A request that never started (its batch job was refused) or whose batch job is gone: ended with a reason. */
export interface AnnexWithdrawal {
  readonly name: string;
  readonly requestId: string;
  readonly reason: string;
  /** true: its batch job ended normally (Completed); otherwise it failed or never started (Removed). */
  readonly completed?: boolean;
}

function positiveInt(o: Record<string, unknown>, key: string, min: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new HtcError('BAD_REQUEST', `annex: "${key}" must be a whole number >= ${min}`);
  return v;
}

function optionalInt(o: Record<string, unknown>, key: string): number | null {
  return o[key] === null || o[key] === undefined ? null : positiveInt(o, key, 0);
}

export function checkAnnexName(name: unknown): string {
  if (typeof name !== 'string' || !ANNEX_NAME.test(name)) {
    throw new HtcError('BAD_REQUEST', `annex name ${JSON.stringify(name)} is not valid: use letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)`);
  }
  return name;
}

export function parseAnnexCreateRequest(body: unknown): AnnexCreateRequest {
  const o = asObject(body, 'annex create');
  const text = (key: string): string => {
    const v = o[key];
    if (typeof v !== 'string' || v === '' || v.length > 200) throw new HtcError('BAD_REQUEST', `annex: "${key}" must be a non-empty string`);
    return v;
  };
  return {
    name: checkAnnexName(o.name),
    system: text('system'),
    queue: text('queue'),
    nodes: positiveInt(o, 'nodes', 1),
    cpus: optionalInt(o, 'cpus'),
    memoryMb: optionalInt(o, 'memoryMb'),
    gpus: optionalInt(o, 'gpus'),
    lifetimeSeconds: positiveInt(o, 'lifetimeSeconds', 1),
    idleSeconds: positiveInt(o, 'idleSeconds', 1),
    add: o.add === true,
    allowEmpty: o.allowEmpty === true,
  };
}

function boundedText(o: Record<string, unknown>, key: string, what: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '' || v.length > max || v.includes('\n')) throw new HtcError('BAD_REQUEST', `${what}: "${key}" must be a one-line string of at most ${max} characters`);
  return v;
}

export function parseAnnexLaunch(body: unknown): AnnexLaunch {
  const o = asObject(body, 'annex launch');
  const jobId = boundedText(o, 'jobId', 'annex launch', 40);
  if (!/^[0-9_]+$/.test(jobId)) throw new HtcError('BAD_REQUEST', `annex launch: "jobId" ${JSON.stringify(jobId)} is not a SLURM job id`);
  const name = checkAnnexName(o.name);
  const requestId = boundedText(o, 'requestId', 'annex launch', 64);
  const login = boundedText(o, 'login', 'annex launch', 300);
  // What shutdown later hands to ssh and rm: a plain user@host:port, and the request's own directory.
  if (!/^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9_][A-Za-z0-9._-]*(?::\d{1,5})?$/.test(login)) throw new HtcError('BAD_REQUEST', `annex launch: "login" ${JSON.stringify(login)} is not user@host:port`);
  const pilotDir = boundedText(o, 'pilotDir', 'annex launch', 4096);
  if (!pilotDir.startsWith('/') || pilotDir.includes('\0') || pilotDir.includes('/../') || !pilotDir.endsWith(`/${name}.${requestId}`)) {
    throw new HtcError('BAD_REQUEST', `annex launch: "pilotDir" must be an absolute path ending in /${name}.${requestId}`);
  }
  return {
    name,
    requestId,
    login,
    jobId,
    pilotDir,
    backendPid: o.backendPid === null || o.backendPid === undefined ? null : boundedText(o, 'backendPid', 'annex launch', 20),
  };
}

export function parseAnnexWithdrawal(body: unknown): AnnexWithdrawal {
  const o = asObject(body, 'annex withdraw');
  const reason = o.reason;
  if (typeof reason !== 'string' || reason === '' || reason.length > 4000) throw new HtcError('BAD_REQUEST', 'annex withdraw: "reason" must be a string of at most 4000 characters');
  return { name: checkAnnexName(o.name), requestId: boundedText(o, 'requestId', 'annex withdraw', 64), reason, completed: o.completed === true };
}
