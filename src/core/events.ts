/**
 * Job events: what the state machine records when a job changes (the
 * `event: {kind, data}` of a queue change, data as JSON text) and what the
 * user log formatter reads back. One typed shape per kind, named after
 * HTCondor's job event log events: submit (000), execute (001), evicted
 * (004), terminated (005), aborted (009), held (012), released (013).
 *
 * Invariants: `eventRecord` and `parseEventData` round-trip; parsing is
 * lenient about missing optional fields (the store may hold events written
 * by older code, e.g. a submit event with `{}`) but never invents a kind:
 * an unknown kind parses to undefined. Pure.
 */

/** CPU time in seconds (user and system), as one rusage line shows it. */
export interface CpuUsage {
  readonly user: number;
  readonly sys: number;
}

/** One row of the "Partitionable Resources" table: Cpus, Disk (KB), Memory (MB), Gpus, ... */
export interface ResourceRow {
  readonly name: string;
  readonly usage?: number;
  readonly request?: number;
  readonly allocated?: number;
}

/** How a job's process ended. */
export type ExitInfo =
  | { readonly normal: true; readonly returnValue: number }
  | { readonly normal: false; readonly signal: number; readonly coreFile?: string };

export interface SubmitEventData {
  readonly host: string;
  /** Optional free text on the following line (HTCondor: submit event notes). */
  readonly notes?: string;
}

export interface ExecuteEventData {
  readonly host: string;
  readonly slotName?: string;
}

export interface EvictedEventData {
  readonly reason?: string;
  readonly runRemoteUsage?: CpuUsage;
  readonly runLocalUsage?: CpuUsage;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  /** Set when the job exited but its OnExitRemove kept it in the queue (HTCondor's "terminated and requeued"). */
  readonly requeuedAfter?: ExitInfo;
  readonly resources?: readonly ResourceRow[];
}

export interface TerminatedEventData {
  readonly exit: ExitInfo;
  readonly runRemoteUsage?: CpuUsage;
  readonly runLocalUsage?: CpuUsage;
  readonly totalRemoteUsage?: CpuUsage;
  readonly totalLocalUsage?: CpuUsage;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  readonly totalBytesSent?: number;
  readonly totalBytesReceived?: number;
  readonly resources?: readonly ResourceRow[];
  /** When the job ended on its own (seconds since the epoch): adds HTCondor's "Job terminated of its own accord" line. */
  readonly endedAt?: number;
}

export interface AbortedEventData {
  readonly reason?: string;
}

export interface HeldEventData {
  readonly reason: string;
  readonly code: number;
  readonly subcode: number;
}

export interface ReleasedEventData {
  readonly reason?: string;
}

export type JobEventData =
  | { readonly kind: 'submit'; readonly data: SubmitEventData }
  | { readonly kind: 'execute'; readonly data: ExecuteEventData }
  | { readonly kind: 'evicted'; readonly data: EvictedEventData }
  | { readonly kind: 'terminated'; readonly data: TerminatedEventData }
  | { readonly kind: 'aborted'; readonly data: AbortedEventData }
  | { readonly kind: 'held'; readonly data: HeldEventData }
  | { readonly kind: 'released'; readonly data: ReleasedEventData };

export type JobEventKind = JobEventData['kind'];

/** HTCondor's event numbers for the kinds we write. */
export const EVENT_NUMBERS: Readonly<Record<JobEventKind, number>> = {
  submit: 0,
  execute: 1,
  evicted: 4,
  terminated: 5,
  aborted: 9,
  held: 12,
  released: 13,
};

/** The `{kind, data}` a queue change stores. */
export interface EventRecord {
  readonly kind: string;
  readonly data: string;
}

export function eventRecord(event: JobEventData): EventRecord {
  return { kind: event.kind, data: JSON.stringify(event.data) };
}

// ---------------------------------------------------------------------------
// Lenient parsing of stored data.

type Obj = Record<string, unknown>;

const num = (o: Obj, k: string): number | undefined => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? o[k] : undefined);
const str = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' ? o[k] : undefined);
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

function usage(v: unknown): CpuUsage | undefined {
  const o = obj(v);
  if (o === undefined) return undefined;
  return { user: num(o, 'user') ?? 0, sys: num(o, 'sys') ?? 0 };
}

function exitInfo(v: unknown): ExitInfo | undefined {
  const o = obj(v);
  if (o === undefined) return undefined;
  if (o.normal === false) {
    const core = str(o, 'coreFile');
    return core === undefined ? { normal: false, signal: num(o, 'signal') ?? 0 } : { normal: false, signal: num(o, 'signal') ?? 0, coreFile: core };
  }
  return { normal: true, returnValue: num(o, 'returnValue') ?? 0 };
}

function resources(v: unknown): ResourceRow[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const rows: ResourceRow[] = [];
  for (const item of v) {
    const o = obj(item);
    const name = o === undefined ? undefined : str(o, 'name');
    if (o === undefined || name === undefined) continue;
    rows.push(dropUndefined({ name, usage: num(o, 'usage'), request: num(o, 'request'), allocated: num(o, 'allocated') }));
  }
  return rows;
}

/** A copy without the keys whose value is undefined (so JSON and deepEqual agree). */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Typed event data from a stored `{kind, data}`; undefined for a kind this
 * module does not know (e.g. "edited") or data that is not a JSON object.
 */
export function parseEventData(kind: string, data: string): JobEventData | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data === '' ? '{}' : data);
  } catch {
    return undefined;
  }
  const o = obj(parsed);
  if (o === undefined) return undefined;
  switch (kind) {
    case 'submit':
      return { kind, data: dropUndefined({ host: str(o, 'host') ?? '', notes: str(o, 'notes') }) };
    case 'execute':
      return { kind, data: dropUndefined({ host: str(o, 'host') ?? '', slotName: str(o, 'slotName') }) };
    case 'evicted':
      return {
        kind,
        data: dropUndefined({
          reason: str(o, 'reason'),
          runRemoteUsage: usage(o.runRemoteUsage),
          runLocalUsage: usage(o.runLocalUsage),
          bytesSent: num(o, 'bytesSent'),
          bytesReceived: num(o, 'bytesReceived'),
          requeuedAfter: exitInfo(o.requeuedAfter),
          resources: resources(o.resources),
        }),
      };
    case 'terminated':
      return {
        kind,
        data: dropUndefined({
          exit: exitInfo(o.exit) ?? { normal: true, returnValue: 0 },
          runRemoteUsage: usage(o.runRemoteUsage),
          runLocalUsage: usage(o.runLocalUsage),
          totalRemoteUsage: usage(o.totalRemoteUsage),
          totalLocalUsage: usage(o.totalLocalUsage),
          bytesSent: num(o, 'bytesSent'),
          bytesReceived: num(o, 'bytesReceived'),
          totalBytesSent: num(o, 'totalBytesSent'),
          totalBytesReceived: num(o, 'totalBytesReceived'),
          resources: resources(o.resources),
          endedAt: num(o, 'endedAt'),
        }),
      };
    case 'aborted':
      return { kind, data: dropUndefined({ reason: str(o, 'reason') }) };
    case 'held':
      return { kind, data: { reason: str(o, 'reason') ?? '', code: num(o, 'code') ?? 0, subcode: num(o, 'subcode') ?? 0 } };
    case 'released':
      return { kind, data: dropUndefined({ reason: str(o, 'reason') }) };
    default:
      return undefined;
  }
}
