/**
 * The pilot protocol: what a pilot and the access point say to each other
 * over the pilot's one WebSocket (`wss://AP/v1/pilot`, annex token as a
 * bearer credential), plus the two HTTPS routes that move sandbox files.
 *
 * Messages are JSON text frames, one object each, with a `type`. Both sides
 * validate every message they receive here (`parsePilotMessage`,
 * `parseApMessage`); a malformed message closes the connection with a
 * reason, it never crashes either side.
 *
 * Invariants:
 * - The AP marks a job Running (with its ClaimId) before it sends the claim;
 *   the pilot answers each claim exactly once with `done`, `vacated` or
 *   `failed`, and keeps the answer until the AP acknowledges it (`ack`), so
 *   a report survives a reconnect.
 * - Claim ids fence reports: the AP accepts a report only for the claim the
 *   job currently has; any other is acknowledged as `refused`, and the pilot
 *   kills what it still runs for it.
 * - Sandbox names are relative paths inside the sandbox (no `..`, not
 *   absolute): the pilot checks them again before it touches a file.
 */
import { HtcError } from '../errors.ts';

/** The WebSocket path under API_PREFIX. */
export const PILOT_PATH = '/pilot';
/** Bumped when a message changes incompatibly; the AP refuses other versions in `hello`. */
export const PILOT_PROTOCOL_VERSION = 1;
/** The largest message either side accepts (a claim carries a job's spec, not its files). */
export const MAX_PILOT_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Header of an input file's SHA-256 (hex), sent as an HTTP trailer after the body. */
export const SHA256_TRAILER = 'x-htc-sha256';

/** Resources of a slot, or what a job asks for. Memory in MiB, disk in KiB (HTCondor's units). */
export interface Resources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly diskKb: number;
  readonly gpus: number;
}

/** What the pilot ran for a claim, and what it cost. */
export interface RunUsage {
  readonly userCpuSeconds: number;
  readonly sysCpuSeconds: number;
  /** Peak resident memory of the job's processes, MiB (sampled). */
  readonly memoryPeakMb: number;
  readonly wallSeconds: number;
  /** Bytes the pilot received (inputs) and sent (outputs) for this claim. */
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

export type ProcessExit = { readonly exitBySignal: false; readonly exitCode: number } | { readonly exitBySignal: true; readonly signal: number };

/** One input file: fetched from `GET /v1/pilot/claims/CLAIM/inputs/INDEX`. */
export interface InputFile {
  readonly index: number;
  /** Where it goes in the sandbox (relative). */
  readonly name: string;
  readonly size: number;
  /** Mark executable after download (the job's executable). */
  readonly executable: boolean;
  /** Its SHA-256 when the AP knows it already (it has sent it before): a pilot with a copy need not fetch it. */
  readonly sha256: string | null;
}

/** A job as the pilot needs it: no ClassAd, plain data the AP derived from the job ad. */
export interface JobSpec {
  readonly jobId: string;
  readonly owner: string;
  /** Sandbox-relative name of a transferred executable, or an absolute path on the execute node. */
  readonly executable: string;
  readonly arguments: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly inputs: readonly InputFile[];
  /** Sandbox names of stdin/stdout/stderr; null: /dev/null (stdin) or discarded. */
  readonly stdin: string | null;
  readonly stdout: string | null;
  readonly stderr: string | null;
  /** Files to send back (sandbox-relative); null: every file the job made or changed at the top of the sandbox. */
  readonly outputs: readonly string[] | null;
  readonly request: Resources;
  /** Seconds the job may run (AllowedJobDuration), or null. */
  readonly maxRuntimeSeconds: number | null;
}

/** Why a claim failed before or after its process ran: becomes the job's hold. */
export interface ClaimFailure {
  readonly reason: string;
  /** HTCondor HoldReasonCode (13 transfer input, 12 transfer output, 6 exec failed, ...). */
  readonly code: number;
  readonly subcode: number;
}

/** A claim the pilot holds, reported in `hello` after a reconnect. */
export interface HeldClaim {
  readonly claimId: string;
  readonly jobId: string;
}

// ---------------------------------------------------------------------------
// Pilot → AP

export interface HelloMessage {
  readonly type: 'hello';
  readonly version: number;
  /** Chosen by the pilot at start, kept across reconnects. */
  readonly pilotId: string;
  readonly hostname: string;
  /** What the node offers (one partitionable slot). */
  readonly resources: Resources;
  /** Other slot attributes: Arch, OpSys, ... (ClassAd values). The AP sets the annex ones itself from the token. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The slot's START expression (ClassAd text); the AP adds the annex binding to it. */
  readonly start: string;
  /** When the pilot will have ended (epoch seconds), or null. */
  readonly endTime: number | null;
  /** Claims the pilot is still running (after a reconnect). */
  readonly running: readonly HeldClaim[];
  /** Claims whose reports are waiting for an `ack`. */
  readonly reports: readonly ReportMessage[];
}

export interface HeartbeatMessage {
  readonly type: 'heartbeat';
}

export interface DoneMessage {
  readonly type: 'done';
  readonly claimId: string;
  readonly jobId: string;
  readonly exit: ProcessExit;
  readonly usage: RunUsage;
}

export interface VacatedMessage {
  readonly type: 'vacated';
  readonly claimId: string;
  readonly jobId: string;
  readonly reason: string;
  readonly usage: RunUsage | null;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly claimId: string;
  readonly jobId: string;
  readonly failure: ClaimFailure;
  readonly usage: RunUsage | null;
}

/** The pilot will take no new claims (draining before its end, idle, or told to). */
export interface DrainingMessage {
  readonly type: 'draining';
  readonly reason: string;
}

export type ReportMessage = DoneMessage | VacatedMessage | FailedMessage;
export type PilotMessage = HelloMessage | HeartbeatMessage | ReportMessage | DrainingMessage;

// ---------------------------------------------------------------------------
// AP → pilot

export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly slotName: string;
  /** Send a heartbeat at least this often. */
  readonly heartbeatSeconds: number;
  /** Claims from `hello.running` the AP no longer knows: kill and forget them. */
  readonly stale: readonly string[];
}

export interface ClaimMessage {
  readonly type: 'claim';
  readonly claimId: string;
  readonly job: JobSpec;
}

export interface AckMessage {
  readonly type: 'ack';
  readonly claimId: string;
  /** The report was not recorded: the claim is not the job's current one. */
  readonly refused: string | null;
}

/** Stop this claim's job (held, removed, or the claim went stale); answer with `vacated`. */
export interface VacateMessage {
  readonly type: 'vacate';
  readonly claimId: string;
  readonly reason: string;
}

/** Stop taking claims, vacate running jobs, end. */
export interface ShutdownMessage {
  readonly type: 'shutdown';
  readonly reason: string;
}

export type ApMessage = WelcomeMessage | ClaimMessage | AckMessage | VacateMessage | ShutdownMessage;

// ---------------------------------------------------------------------------
// Validation at the boundary

/** A WebSocket frame's payload (as the ws library hands it over) as text. */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

function fail(what: string): never {
  throw new HtcError('BAD_REQUEST', `pilot protocol: ${what}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, what: string, maxLength = 4096): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength) fail(`${what}.${key} must be a string of at most ${maxLength} characters`);
  return v;
}

function strOrNull(o: Record<string, unknown>, key: string, what: string): string | null {
  return o[key] === null ? null : str(o, key, what);
}

function num(o: Record<string, unknown>, key: string, what: string, min = 0): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(`${what}.${key} must be a number >= ${min}`);
  return v;
}

function int(o: Record<string, unknown>, key: string, what: string, min = 0): number {
  const v = num(o, key, what, min);
  if (!Number.isInteger(v)) fail(`${what}.${key} must be a whole number`);
  return v;
}

function list<T>(o: Record<string, unknown>, key: string, what: string, each: (v: unknown, where: string) => T, max = 100_000): T[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > max) fail(`${what}.${key} must be a list of at most ${max}`);
  return v.map((e, i) => each(e, `${what}.${key}[${i}]`));
}

/** Pilot ids name slots and claims: letters, digits and dashes only (a UUID). */
function pilotIdOf(id: string): string {
  if (!/^[A-Za-z0-9-]{8,64}$/.test(id)) fail('hello.pilotId must be 8 to 64 letters, digits or dashes');
  return id;
}

/** A relative path inside a sandbox: no absolute path, no `..`, no empty or `.` parts, no NUL. */
export function checkSandboxName(name: string, what: string): string {
  if (name === '' || name.startsWith('/') || name.includes('\0') || name.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new HtcError('BAD_REQUEST', `${what} ${JSON.stringify(name)} is not a plain path inside the job's sandbox (no "..", no absolute path)`);
  }
  return name;
}

export function parseResources(v: unknown, what: string): Resources {
  const o = obj(v, what);
  return { cpus: int(o, 'cpus', what), memoryMb: int(o, 'memoryMb', what), diskKb: int(o, 'diskKb', what), gpus: int(o, 'gpus', what) };
}

function parseUsage(v: unknown, what: string): RunUsage {
  const o = obj(v, what);
  return {
    userCpuSeconds: num(o, 'userCpuSeconds', what),
    sysCpuSeconds: num(o, 'sysCpuSeconds', what),
    memoryPeakMb: num(o, 'memoryPeakMb', what),
    wallSeconds: num(o, 'wallSeconds', what),
    bytesReceived: num(o, 'bytesReceived', what),
    bytesSent: num(o, 'bytesSent', what),
  };
}

function parseExit(v: unknown, what: string): ProcessExit {
  const o = obj(v, what);
  if (o.exitBySignal === true) return { exitBySignal: true, signal: int(o, 'signal', what, 1) };
  if (o.exitBySignal === false) return { exitBySignal: false, exitCode: int(o, 'exitCode', what) };
  return fail(`${what}.exitBySignal must be true or false`);
}

function parseReport(o: Record<string, unknown>, what: string): ReportMessage {
  const claimId = str(o, 'claimId', what, 200);
  const jobId = str(o, 'jobId', what, 40);
  const usage = (key: string): RunUsage | null => (o[key] === null ? null : parseUsage(o[key], `${what}.${key}`));
  switch (o.type) {
    case 'done':
      return { type: 'done', claimId, jobId, exit: parseExit(o.exit, `${what}.exit`), usage: parseUsage(o.usage, `${what}.usage`) };
    case 'vacated':
      return { type: 'vacated', claimId, jobId, reason: str(o, 'reason', what), usage: usage('usage') };
    case 'failed': {
      const f = obj(o.failure, `${what}.failure`);
      return {
        type: 'failed', claimId, jobId, usage: usage('usage'),
        failure: { reason: str(f, 'reason', `${what}.failure`), code: int(f, 'code', `${what}.failure`), subcode: int(f, 'subcode', `${what}.failure`) },
      };
    }
    default:
      return fail(`${what}: unknown report type ${JSON.stringify(o.type)}`);
  }
}

function parseAttributes(v: unknown, what: string): Record<string, string | number | boolean> {
  const o = obj(v, what);
  const entries: [string, string | number | boolean][] = [];
  for (const [k, value] of Object.entries(o)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`${what}: ${JSON.stringify(k)} is not an attribute name`);
    if (typeof value !== 'string' && typeof value !== 'boolean' && (typeof value !== 'number' || !Number.isFinite(value))) fail(`${what}.${k} must be a string, number or boolean`);
    entries.push([k, value]);
  }
  // fromEntries defines own properties: a "__proto__" entry stays an entry.
  return Object.fromEntries(entries);
}

/** A frame's JSON object, before its type is looked at. */
function messageObject(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('a message is not JSON');
  }
  return obj(raw, 'message');
}

/** A message from a pilot, validated (the AP calls this on every frame). */
export function parsePilotMessage(text: string): PilotMessage {
  const o = messageObject(text);
  switch (o.type) {
    case 'hello': {
      const w = 'hello';
      return {
        type: 'hello',
        version: int(o, 'version', w),
        pilotId: pilotIdOf(str(o, 'pilotId', w, 200)),
        hostname: str(o, 'hostname', w, 255),
        resources: parseResources(o.resources, `${w}.resources`),
        attributes: parseAttributes(o.attributes, `${w}.attributes`),
        start: str(o, 'start', w, 65536),
        endTime: o.endTime === null ? null : int(o, 'endTime', w),
        running: list(o, 'running', w, (e, where) => {
          const c = obj(e, where);
          return { claimId: str(c, 'claimId', where, 200), jobId: str(c, 'jobId', where, 40) };
        }),
        reports: list(o, 'reports', w, (e, where) => parseReport(obj(e, where), where)),
      };
    }
    case 'heartbeat':
      return { type: 'heartbeat' };
    case 'draining':
      return { type: 'draining', reason: str(o, 'reason', 'draining') };
    case 'done':
    case 'vacated':
    case 'failed':
      return parseReport(o, String(o.type));
    default:
      return fail(`unknown message type ${JSON.stringify(o.type)}`);
  }
}

function parseSpec(v: unknown, what: string): JobSpec {
  const o = obj(v, what);
  const env = obj(o.environment, `${what}.environment`);
  const environment: Record<string, string> = Object.fromEntries(
    Object.entries(env).map(([k, value]) => (typeof value === 'string' ? [k, value] : fail(`${what}.environment.${k} must be a string`))),
  );
  const sandboxOrNull = (key: string): string | null => {
    const s = strOrNull(o, key, what);
    return s === null ? null : checkSandboxName(s, `${what}.${key}`);
  };
  return {
    jobId: str(o, 'jobId', what, 40),
    owner: str(o, 'owner', what, 255),
    executable: str(o, 'executable', what),
    arguments: list(o, 'arguments', what, (e, where) => (typeof e === 'string' ? e : fail(`${where} must be a string`))),
    environment,
    inputs: list(o, 'inputs', what, (e, where) => {
      const f = obj(e, where);
      const sha256 = f.sha256 === null || f.sha256 === undefined ? null : str(f, 'sha256', where, 64);
      if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) fail(`${where}.sha256 must be 64 lower-case hex digits or null`);
      return { index: int(f, 'index', where), name: checkSandboxName(str(f, 'name', where), `${where}.name`), size: int(f, 'size', where), executable: f.executable === true, sha256 };
    }),
    stdin: sandboxOrNull('stdin'),
    stdout: sandboxOrNull('stdout'),
    stderr: sandboxOrNull('stderr'),
    outputs: o.outputs === null ? null : list(o, 'outputs', what, (e, where) => (typeof e === 'string' ? e : fail(`${where} must be a string`))),
    request: parseResources(o.request, `${what}.request`),
    maxRuntimeSeconds: o.maxRuntimeSeconds === null ? null : int(o, 'maxRuntimeSeconds', what, 1),
  };
}

/** A message from the AP, validated (the pilot calls this on every frame). */
export function parseApMessage(text: string): ApMessage {
  const o = messageObject(text);
  switch (o.type) {
    case 'welcome':
      return {
        type: 'welcome',
        slotName: str(o, 'slotName', 'welcome', 300),
        heartbeatSeconds: num(o, 'heartbeatSeconds', 'welcome', 0.05),
        stale: list(o, 'stale', 'welcome', (e, where) => (typeof e === 'string' ? e : fail(`${where} must be a string`))),
      };
    case 'claim':
      return { type: 'claim', claimId: str(o, 'claimId', 'claim', 200), job: parseSpec(o.job, 'claim.job') };
    case 'ack':
      return { type: 'ack', claimId: str(o, 'claimId', 'ack', 200), refused: strOrNull(o, 'refused', 'ack') };
    case 'vacate':
      return { type: 'vacate', claimId: str(o, 'claimId', 'vacate', 200), reason: str(o, 'reason', 'vacate') };
    case 'shutdown':
      return { type: 'shutdown', reason: str(o, 'reason', 'shutdown') };
    default:
      return fail(`unknown message type ${JSON.stringify(o.type)}`);
  }
}
