/**
 * Job events as HTCondor's user log (job event log) text, byte for byte as
 * condor_utils/condor_event.cpp writes them, so HTCondor's readers
 * (condor_wait, htcondor.JobEventLog, DAGMan) can read our logs:
 *
 *   NNN (CCC.PPP.000) YYYY-MM-DD HH:MM:SS <first body line>\n
 *   <more body lines, tab-indented>\n
 *   ...\n
 *
 * The header is "%03d (%03d.%03d.%03d) " then the date; the default time
 * format since HTCondor 8.9.x (DEFAULT_USERLOG_FORMAT_OPTIONS = ISO_DATE)
 * is "%04d-%02d-%02d %02d:%02d:%02d" in local time without a zone; with
 * the UTC option it is UTC followed by "Z". Reasons have newlines replaced
 * by "|" and carriage returns by spaces (ULogEvent::set_reason_member).
 *
 * Pure: time is given as seconds since the epoch, and the local zone as a
 * UTC offset (or a function of the time) chosen by the caller; the
 * fallback is the process's zone (TZ), read through Date without reading
 * the clock.
 */
import { EVENT_NUMBERS, parseEventData, type CpuUsage, type ExitInfo, type JobEventData, type ResourceRow } from './events.ts';
import type { JobId } from './job.ts';

export interface UserLogOptions {
  /** Write times in UTC with a trailing Z (HTCondor's UTC format option). */
  readonly utc?: boolean;
  /** Seconds east of UTC for local times, fixed or per instant; default: the process's zone. */
  readonly utcOffset?: number | ((epochSeconds: number) => number);
}

const pad = (n: number, width: number): string => {
  const s = String(Math.abs(Math.trunc(n))).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
};

function offsetAt(t: number, options: UserLogOptions): number {
  if (options.utc === true) return 0;
  const o = options.utcOffset;
  if (typeof o === 'number') return o;
  if (typeof o === 'function') return o(t);
  return -new Date(t * 1000).getTimezoneOffset() * 60;
}

/** "YYYY-MM-DD HH:MM:SS" (plus "Z" in UTC mode): the event time in the header. */
export function formatEventTime(epochSeconds: number, options: UserLogOptions = {}): string {
  const t = Math.floor(epochSeconds);
  const d = new Date((t + offsetAt(t, options)) * 1000);
  const text = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return options.utc === true ? `${text}Z` : text;
}

/** Newlines become "|" and carriage returns spaces, so a reason stays on its line. */
function oneLine(s: string): string {
  return s.replace(/\n/g, '|').replace(/\r/g, ' ');
}

/** "\tUsr D HH:MM:SS, Sys D HH:MM:SS" (ULogEvent::formatRusage; whole seconds). */
function rusage(u: CpuUsage | undefined): string {
  const part = (secs: number): string => {
    let s = Math.max(0, Math.trunc(secs));
    const days = Math.floor(s / 86400);
    s %= 86400;
    const hours = Math.floor(s / 3600);
    s %= 3600;
    return `${days} ${pad(hours, 2)}:${pad(Math.floor(s / 60), 2)}:${pad(s % 60, 2)}`;
  };
  return `\tUsr ${part(u?.user ?? 0)}, Sys ${part(u?.sys ?? 0)}`;
}

/** printf("%.0f") of a byte count. */
const bytes = (n: number | undefined): string => (n === undefined ? '0' : Math.round(n).toFixed(0));

/** A usage table value: an integer as is, a fractional number with two decimals. */
function tableValue(n: number | undefined): [string, boolean] {
  if (n === undefined) return ['', false];
  if (Number.isInteger(n)) return [String(n), false];
  return [n.toFixed(2), true];
}

/** The "Partitionable Resources" table (condor_event.cpp formatUsageAd), rows sorted by name ignoring case. */
function resourceTable(rows: readonly ResourceRow[] | undefined): string {
  if (rows === undefined || rows.length === 0) return '';
  const sorted = [...rows].sort((a, b) => {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const cells = sorted.map((r) => ({ name: r.name, use: tableValue(r.usage), req: tableValue(r.request), alloc: tableValue(r.allocated) }));
  const useHfp = cells.some((c) => c.use[1]);
  const reqHfp = cells.some((c) => c.req[1]);
  const allocHfp = cells.some((c) => c.alloc[1]);
  const bare = (s: string): boolean => /^\d+$/.test(s);
  const fix = (v: [string, boolean], hfp: boolean): string => (hfp && bare(v[0]) ? `${v[0]}   ` : v[0]);
  const table = cells.map((c) => ({ name: c.name, use: fix(c.use, useHfp), req: fix(c.req, reqHfp), alloc: fix(c.alloc, allocHfp) }));
  let cchRes = 'Memory (MB)'.length + 1; // sizeof("Memory (MB)") counts the NUL
  let cchUse = 8;
  let cchReq = 8;
  let cchAlloc = 0;
  for (const r of table) {
    cchRes = Math.max(cchRes, r.name.length);
    cchUse = Math.max(cchUse, r.use.length);
    cchReq = Math.max(cchReq, r.req.length);
    cchAlloc = Math.max(cchAlloc, r.alloc.length);
  }
  const allocWidth = Math.max(cchAlloc, 9);
  let out = `\tPartitionable Resources : ${'Usage'.padStart(cchUse)} ${'Request'.padStart(cchReq)} ${(cchAlloc > 0 ? 'Allocated' : '').padStart(allocWidth)} \n`;
  for (const r of table) {
    let label = r.name;
    if (label === 'Memory' || label === 'GpusMemory') label += ' (MB)';
    else if (label === 'Disk') label += ' (KB)';
    else if (label === 'Gpus') label += ' (Average)';
    else if (label === 'TimeExecute' || label === 'TimeSlotBusy') label += ' (s)';
    out += `\t   ${label.padEnd(cchRes + 8)} : ${r.use.padStart(cchUse)} ${r.req.padStart(cchReq)} ${r.alloc.padStart(allocWidth)} \n`;
  }
  return out;
}

/** "\t(1) Normal termination (return value N)\n" or the abnormal lines with the core file line. */
function exitLines(exit: ExitInfo): string {
  if (exit.normal) return `\t(1) Normal termination (return value ${exit.returnValue})\n`;
  const core = exit.coreFile === undefined ? '\t(0) No core file\n' : `\t(1) Corefile in: ${exit.coreFile}\n`;
  return `\t(0) Abnormal termination (signal ${exit.signal})\n${core}`;
}

/** "YYYY-MM-DDTHH:MM:SSZ", the time in HTCondor's "of its own accord" line. */
function isoUtc(t: number): string {
  return new Date(Math.floor(t) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function body(event: JobEventData): string {
  switch (event.kind) {
    case 'submit': {
      const d = event.data;
      return `Job submitted from host: ${d.host}\n${d.notes === undefined || d.notes === '' ? '' : `    ${oneLine(d.notes)}\n`}`;
    }
    case 'execute': {
      const d = event.data;
      return `Job executing on host: ${d.host}\n${d.slotName === undefined || d.slotName === '' ? '' : `\tSlotName: ${d.slotName}\n`}`;
    }
    case 'evicted': {
      const d = event.data;
      let out = 'Job was evicted.\n\t';
      out += d.requeuedAfter !== undefined ? '(0) Job terminated and was requeued\n\t' : '(0) CPU times\n\t';
      out += `${rusage(d.runRemoteUsage)}  -  Run Remote Usage\n\t${rusage(d.runLocalUsage)}  -  Run Local Usage\n`;
      out += `\t${bytes(d.bytesSent)}  -  Run Bytes Sent By Job\n\t${bytes(d.bytesReceived)}  -  Run Bytes Received By Job\n`;
      if (d.requeuedAfter !== undefined) out += exitLines(d.requeuedAfter);
      if (d.reason !== undefined && d.reason !== '') out += `\t${oneLine(d.reason)}\n`;
      return out + resourceTable(d.resources);
    }
    case 'terminated': {
      const d = event.data;
      let out = 'Job terminated.\n';
      out += `${exitLines(d.exit)}\t`;
      out += `${rusage(d.runRemoteUsage)}  -  Run Remote Usage\n\t${rusage(d.runLocalUsage)}  -  Run Local Usage\n\t`;
      out += `${rusage(d.totalRemoteUsage)}  -  Total Remote Usage\n\t${rusage(d.totalLocalUsage)}  -  Total Local Usage\n`;
      out += `\t${bytes(d.bytesSent)}  -  Run Bytes Sent By Job\n\t${bytes(d.bytesReceived)}  -  Run Bytes Received By Job\n`;
      out += `\t${bytes(d.totalBytesSent)}  -  Total Bytes Sent By Job\n\t${bytes(d.totalBytesReceived)}  -  Total Bytes Received By Job\n`;
      out += resourceTable(d.resources);
      if (d.endedAt !== undefined) {
        const how = d.exit.normal ? `exit-code ${d.exit.returnValue}` : `signal ${d.exit.signal}`;
        out += `\n\tJob terminated of its own accord at ${isoUtc(d.endedAt)} with ${how}.\n`;
      }
      return out;
    }
    case 'aborted': {
      const d = event.data;
      return `Job was aborted.\n${d.reason === undefined || d.reason === '' ? '' : `\t${oneLine(d.reason)}\n`}`;
    }
    case 'held': {
      const d = event.data;
      return `Job was held.\n\t${d.reason === '' ? 'Reason unspecified' : oneLine(d.reason)}\n\tCode ${d.code} Subcode ${d.subcode}\n`;
    }
    case 'released': {
      const d = event.data;
      return `Job was released.\n${d.reason === undefined || d.reason === '' ? '' : `\t${oneLine(d.reason)}\n`}`;
    }
  }
}

/** One event as user log text, from its header line to its "...\n" separator. */
export function formatUserLogEvent(id: JobId, time: number, event: JobEventData, options: UserLogOptions = {}): string {
  const header = `${pad(EVENT_NUMBERS[event.kind], 3)} (${pad(id.clusterId, 3)}.${pad(id.procId, 3)}.000) ${formatEventTime(time, options)} `;
  return `${header}${body(event)}...\n`;
}

/** A stored event (the store's JobEvent fields); undefined for kinds the user log has no event for (e.g. "edited"). */
export interface StoredEvent {
  readonly clusterId: number;
  readonly procId: number;
  readonly time: number;
  readonly kind: string;
  readonly data: string;
}

export function formatStoredEvent(event: StoredEvent, options: UserLogOptions = {}): string | undefined {
  const typed = parseEventData(event.kind, event.data);
  return typed === undefined ? undefined : formatUserLogEvent({ clusterId: event.clusterId, procId: event.procId }, event.time, typed, options);
}

/** Several stored events as one log text, skipping kinds the user log has no event for. */
export function formatUserLog(events: readonly StoredEvent[], options: UserLogOptions = {}): string {
  let out = '';
  for (const e of events) out += formatStoredEvent(e, options) ?? '';
  return out;
}
