/**
 * Absolute and relative time values: their text forms, as HTCondor prints
 * and reads them.
 *
 *   absTime("2020-01-02T03:04:05+01:00")  wall time at the stored zone offset;
 *                                          HTCondor writes a zero offset as -00:00
 *   relTime("1+02:03:04")                 [-][days+]HH:MM:SS, leading zero
 *                                          fields dropped ("01:30", "05")
 *
 * Parsers return undefined for text they cannot read; callers turn that
 * into ERROR. No I/O; the local zone is the process's (TZ).
 *
 * Invariant: every time value is one these forms can write and read back.
 * Whatever makes a time from arbitrary numbers (arithmetic, absTime(n),
 * relTime(x)) goes through `absTimeOrError` / `relTimeOrError`, which give
 * ERROR for an absolute time outside years 0000-9999 (or with a zone offset
 * beyond ±99:59) and for a relative time that is not finite or exceeds
 * 2^53 seconds, so printing never yields text like "Infinity+NaN:NaN:NaN".
 */
import { AbsTime, ERROR, RelTime, type ErrorValue } from './value.ts';

/** Wall-clock seconds of 0000-01-01T00:00:00 and 9999-12-31T23:59:59 (four-digit years). */
const MIN_WALL = -62167219200;
const MAX_WALL = 253402300799;
/** The largest zone offset `±hh:mm` can write. */
const MAX_OFFSET = 99 * 3600 + 59 * 60;

/** An absolute time, or ERROR when its text form could not hold it. */
export function absTimeOrError(seconds: number, offset: number): AbsTime | ErrorValue {
  const wall = seconds + offset;
  return wall >= MIN_WALL && wall <= MAX_WALL && Math.abs(offset) <= MAX_OFFSET ? new AbsTime(seconds, offset) : ERROR;
}

/** A relative time, or ERROR when it is not finite or too large to print exactly. */
export function relTimeOrError(seconds: number): RelTime | ErrorValue {
  return Math.abs(seconds) <= Number.MAX_SAFE_INTEGER ? new RelTime(seconds) : ERROR;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Date.UTC (milliseconds; out-of-range fields carry over) without its
 * mapping of years 0-99 to 1900-1999, so year 0050 is year 50.
 */
export function utcMillis(year: number, mon0: number, day = 1, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, mon0, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

export function formatAbsTime(t: AbsTime): string {
  const wall = new Date((t.seconds + t.offset) * 1000);
  const date = `${String(wall.getUTCFullYear()).padStart(4, '0')}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())}`;
  const time = `${pad2(wall.getUTCHours())}:${pad2(wall.getUTCMinutes())}:${pad2(wall.getUTCSeconds())}`;
  const sign = t.offset > 0 ? '+' : '-';
  const off = Math.abs(t.offset);
  return `${date}T${time}${sign}${pad2(Math.floor(off / 3600))}:${pad2(Math.floor((off % 3600) / 60))}`;
}

export function formatRelTime(t: RelTime): string {
  let secs = t.seconds;
  const negative = secs < 0;
  if (negative) secs = -secs;
  const whole = Math.floor(secs);
  const frac = secs - whole;
  const days = Math.floor(whole / 86400);
  const hours = Math.floor((whole % 86400) / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const seconds = (whole % 60) + frac;
  // C's %02g: at least two characters, so "05" but "1.5"; but never an
  // exponent ("1e-7"), which the reader does not take.
  const rounded = Number(seconds.toPrecision(6));
  const secText = frac === 0 ? pad2(seconds) : (rounded < 1e-6 ? rounded.toFixed(12).replace(/\.?0+$/, '') : String(rounded)).padStart(2, '0');
  let out = negative ? '-' : '';
  if (days > 0) out += `${days}+${pad2(hours)}:${pad2(minutes)}:${secText}`;
  else if (hours > 0) out += `${pad2(hours)}:${pad2(minutes)}:${secText}`;
  else if (minutes > 0) out += `${pad2(minutes)}:${secText}`;
  else out += secText;
  return out;
}

/** The process's zone offset (seconds east of UTC) at the given instant. */
export function localOffset(epochSeconds: number): number {
  return -new Date(epochSeconds * 1000).getTimezoneOffset() * 60;
}

const ABS_TIME = /^\s*(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i;

/** Reads `YYYY-MM-DD[THH:MM[:SS]][Z|±hh[:mm]]`; no zone means the local zone. */
export function parseAbsTime(text: string): AbsTime | undefined {
  const m = ABS_TIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((x: string | undefined) => x ?? '0');
  const zone = m[7];
  const fields = [Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)] as const;
  if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 60) return undefined;
  const wallAsUtc = utcMillis(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]) / 1000;
  let offset: number;
  if (zone === undefined) {
    offset = localOffset(wallAsUtc);
    offset = localOffset(wallAsUtc - offset); // settle across a zone change
  } else if (zone.toUpperCase() === 'Z') {
    offset = 0;
  } else {
    const digits = zone.replace(':', '');
    const sign = digits[0] === '-' ? -1 : 1;
    offset = sign * (Number(digits.slice(1, 3)) * 3600 + Number(digits.slice(3, 5) || '0') * 60);
  }
  const t = absTimeOrError(wallAsUtc - offset, offset);
  return t instanceof AbsTime ? t : undefined;
}

const REL_CLOCK = /^\s*(-)?(?:(\d+)\+)?(?:(\d+):)??(?:(\d+):)?(\d+(?:\.\d*)?)\s*$/;
const REL_UNITS = /^\s*(-)?\s*(?:(\d+(?:\.\d*)?)\s*d)?\s*(?:(\d+(?:\.\d*)?)\s*h)?\s*(?:(\d+(?:\.\d*)?)\s*m)?\s*(?:(\d+(?:\.\d*)?)\s*s?)?\s*$/i;

/** Reads `[-][D+][HH:][MM:]SS[.frac]` or `[-]1d 2h 3m 4s` (any subset of units). */
export function parseRelTime(text: string): RelTime | undefined {
  let m = REL_CLOCK.exec(text);
  if (m !== null) {
    const [, neg, d, h, mi, s] = m;
    const total = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s);
    return relTimeOrUndefined(neg === undefined ? total : -total);
  }
  m = REL_UNITS.exec(text);
  if (m !== null && m.slice(2).some((x) => x !== undefined)) {
    const [, neg, d, h, mi, s] = m;
    const total = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
    return relTimeOrUndefined(neg === undefined ? total : -total);
  }
  return undefined;
}

function relTimeOrUndefined(seconds: number): RelTime | undefined {
  const t = relTimeOrError(seconds);
  return t instanceof RelTime ? t : undefined;
}
