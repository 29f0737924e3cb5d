/**
 * Time functions: time, currentTime, timeZoneOffset, dayTime, absTime,
 * relTime, splitTime, formatTime, interval, and the field getters getYear,
 * getMonth, getDayOfYear, getDayOfMonth, getDayOfWeek, getDays, getHours,
 * getMinutes, getSeconds.
 *
 * "Local" means the process's time zone (TZ). Following HTCondor:
 *   - absTime/relTime with a single string-literal argument are read as time
 *     text (HTCondor folds them at parse time; unreadable text is ERROR
 *     here). A string that is not a literal falls through HTCondor's switch:
 *     absTime returns the string unchanged and relTime returns relTime(0).
 *   - getYear etc. of an absolute time read the local wall clock, not the
 *     time's own offset; splitTime and formatTime use the time's offset.
 *   - formatTime's time argument may be an integer or real (seconds, local
 *     zone), an absolute time, or an ad with Year, Month, Day, Hours,
 *     Minutes, Seconds (missing fields are 0); a relative time, UNDEFINED or
 *     anything else is ERROR. strftime runs in the C locale; %Z is empty and
 *     %z "+0000" because the broken-down time carries no zone.
 */
import { evaluateAttribute, type Builtin, type FunctionTable } from '../evaluate.ts';
import { ClassAd } from '../classad.ts';
import { absTimeOrError, localOffset, parseAbsTime, parseRelTime, relTimeOrError, utcMillis } from '../time.ts';
import { AbsTime, ERROR, Real, RelTime, UNDEFINED, type Value } from '../value.ts';
import { adOf, toCInt, toIntegerValue, type Entry } from './support.ts';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Broken-down wall-clock time, as C's struct tm. */
interface Tm {
  year: number; // full year
  mon: number; // 0-11
  mday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number;
  yday: number;
}

function tmFromWall(wallSeconds: number): Tm {
  const d = new Date(wallSeconds * 1000);
  const year = d.getUTCFullYear();
  return {
    year,
    mon: d.getUTCMonth(),
    mday: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    wday: d.getUTCDay(),
    yday: Math.floor((utcMillis(year, d.getUTCMonth(), d.getUTCDate()) - utcMillis(year, 0, 1)) / 86400000),
  };
}

const localTm = (secs: number): Tm => tmFromWall(secs + localOffset(secs));

const epochTime: Builtin = (args) => (args.length > 0 ? ERROR : nowSeconds());

const currentTime: Builtin = (args) => {
  if (args.length > 0) return ERROR;
  const now = nowSeconds();
  return new AbsTime(now, localOffset(now));
};

const timeZoneOffset: Builtin = (args) => (args.length > 0 ? ERROR : new RelTime(localOffset(nowSeconds())));

const dayTime: Builtin = (args) => {
  if (args.length > 0) return ERROR;
  const tm = localTm(nowSeconds());
  return new RelTime(tm.hour * 3600 + tm.min * 60 + tm.sec);
};

type Field = 'getyear' | 'getmonth' | 'getdayofyear' | 'getdayofmonth' | 'getdayofweek' | 'getdays' | 'gethours' | 'getminutes' | 'getseconds';

function getField(field: Field): Builtin {
  return (args, env) => {
    if (args.length !== 1) return ERROR;
    const v = args[0]!(env);
    if (v instanceof AbsTime) {
      const tm = localTm(v.seconds);
      switch (field) {
        case 'getyear': return tm.year;
        case 'getmonth': return tm.mon + 1;
        case 'getdayofyear': return tm.yday;
        case 'getdayofmonth': return tm.mday;
        case 'getdayofweek': return tm.wday;
        case 'gethours': return tm.hour;
        case 'getminutes': return tm.min;
        case 'getseconds': return tm.sec;
        case 'getdays': return ERROR;
      }
    }
    if (v instanceof RelTime) {
      const secs = Math.trunc(v.seconds);
      // C integer division and remainder (truncating toward zero).
      switch (field) {
        case 'getdays': return Math.trunc(secs / 86400) + 0;
        case 'gethours': return Math.trunc((secs % 86400) / 3600) + 0;
        case 'getminutes': return Math.trunc((secs % 3600) / 60) + 0;
        case 'getseconds': return (secs % 60) + 0;
        default: return ERROR;
      }
    }
    return ERROR;
  };
}

/** absTime(...) and relTime(...). */
function convTime(relative: boolean): Builtin {
  return (args, env, site) => {
    if (args.length === 0 && !relative) return currentTime(args, env, site);
    if (args.length < 1 || args.length > 2) return ERROR;
    const first = site.args[0]!;
    if (args.length === 1 && first.kind === 'literal' && typeof first.value === 'string') {
      const parsed = relative ? parseRelTime(first.value) : parseAbsTime(first.value);
      return parsed ?? ERROR;
    }
    const v = args[0]!(env);
    let offset: number | undefined;
    if (args.length === 2) {
      const o = args[1]!(env);
      if (relative) return ERROR;
      if (typeof o === 'number' || typeof o === 'bigint') offset = toCInt(o);
      else if (o instanceof Real) offset = Math.trunc(o.v) | 0;
      else if (o instanceof RelTime) offset = Math.trunc(o.seconds);
      else return ERROR;
    }
    const absolute = (secs: number): Value => absTimeOrError(secs, offset ?? localOffset(secs));
    if (v === UNDEFINED) return UNDEFINED;
    if (typeof v === 'number' || typeof v === 'bigint') {
      const secs = toCInt(v);
      return relative ? new RelTime(secs) : absolute(secs);
    }
    if (v instanceof Real) return relative ? relTimeOrError(v.v) : absolute(Math.trunc(v.v) | 0);
    if (typeof v === 'string') return relative ? new RelTime(0) : v; // HTCondor's switch falls through
    if (v instanceof AbsTime) return relative ? new RelTime(v.seconds) : v;
    if (v instanceof RelTime) return relative ? v : absolute(Math.trunc(v.seconds));
    return ERROR; // error, boolean, list, classad
  };
}

function absTimeAd(t: AbsTime): ClassAd {
  const tm = tmFromWall(t.seconds + t.offset);
  return adOf([
    ['Type', 'AbsoluteTime'],
    ['Year', tm.year],
    ['Month', tm.mon + 1],
    ['Day', tm.mday],
    ['Hours', tm.hour],
    ['Minutes', tm.min],
    ['Seconds', tm.sec],
    ['Offset', t.offset],
  ]);
}

function relTimeAd(r: number): ClassAd {
  const negative = r < 0;
  const rsecs = negative ? -r : r;
  const whole = Math.trunc(rsecs);
  let days = Math.trunc(whole / 86400);
  let hours = Math.trunc((whole % 86400) / 3600);
  let minutes = Math.trunc((whole % 3600) / 60);
  let seconds = (whole % 60) + (rsecs - Math.floor(rsecs));
  if (negative) {
    if (days > 0) days = -days;
    else if (hours > 0) hours = -hours;
    else if (minutes > 0) minutes = -minutes;
    else seconds = -seconds;
  }
  return adOf([
    ['Type', 'RelativeTime'],
    ['Days', days],
    ['Hours', hours],
    ['Minutes', minutes],
    ['Seconds', new Real(seconds)],
  ]);
}

/** HTCondor's doSplitTime: the ad form of a time value, or undefined. */
function splitToAd(v: Value): ClassAd | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') {
    const secs = toCInt(v);
    return absTimeAd(new AbsTime(secs, localOffset(secs)));
  }
  if (v instanceof Real) {
    const secs = Math.trunc(v.v) | 0;
    return absTimeAd(new AbsTime(secs, localOffset(secs)));
  }
  if (v instanceof AbsTime) return absTimeAd(v);
  if (v instanceof RelTime) return relTimeAd(v.seconds);
  if (v instanceof ClassAd) return v;
  return undefined;
}

const splitTime: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const v = args[0]!(env);
  if (v === UNDEFINED) return UNDEFINED;
  if (v instanceof ClassAd) return ERROR;
  return splitToAd(v) ?? ERROR;
};

// ---------------------------------------------------------------------------
// strftime in the C locale.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const p2 = (n: number): string => String(n).padStart(2, '0');
const p3 = (n: number): string => String(n).padStart(3, '0');
const sp2 = (n: number): string => String(n).padStart(2, ' ');

/** Day of week (0 = Sunday) and day of year (0-based) of a civil date, any field ranges normalized. */
function dayNumbers(year: number, mon0: number, mday: number): { wday: number; yday: number } {
  const t = utcMillis(year, mon0, mday);
  const d = new Date(t);
  return { wday: d.getUTCDay(), yday: Math.round((t - utcMillis(d.getUTCFullYear(), 0, 1)) / 86400000) };
}

/** ISO 8601 week-based year and week number. */
function isoWeek(tm: Tm): { year: number; week: number } {
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  const thursdayYday = tm.yday - wdayMon + 3;
  const daysIn = (y: number): number => ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365);
  if (thursdayYday < 0) {
    const prev = tm.year - 1;
    return { year: prev, week: Math.floor((thursdayYday + daysIn(prev)) / 7) + 1 };
  }
  if (thursdayYday >= daysIn(tm.year)) return { year: tm.year + 1, week: 1 };
  return { year: tm.year, week: Math.floor(thursdayYday / 7) + 1 };
}

export function strftime(format: string, tm: Tm): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    let spec = format[++i];
    while (spec === 'E' || spec === 'O') spec = format[++i]; // C-locale modifiers are no-ops
    const hour12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
    switch (spec) {
      case 'a': out += (DAYS[tm.wday] ?? '?').slice(0, 3); break;
      case 'A': out += DAYS[tm.wday] ?? '?'; break;
      case 'b': case 'h': out += (MONTHS[tm.mon] ?? '?').slice(0, 3); break;
      case 'B': out += MONTHS[tm.mon] ?? '?'; break;
      case 'c': out += strftime('%a %b %e %H:%M:%S %Y', tm); break;
      case 'C': out += p2(Math.floor(tm.year / 100)); break;
      case 'd': out += p2(tm.mday); break;
      case 'D': out += strftime('%m/%d/%y', tm); break;
      case 'e': out += sp2(tm.mday); break;
      case 'F': out += strftime('%Y-%m-%d', tm); break;
      case 'g': out += p2(((isoWeek(tm).year % 100) + 100) % 100); break;
      case 'G': out += String(isoWeek(tm).year); break;
      case 'H': out += p2(tm.hour); break;
      case 'I': out += p2(hour12); break;
      case 'j': out += p3(tm.yday + 1); break;
      case 'k': out += sp2(tm.hour); break;
      case 'l': out += sp2(hour12); break;
      case 'm': out += p2(tm.mon + 1); break;
      case 'M': out += p2(tm.min); break;
      case 'n': out += '\n'; break;
      case 'p': out += tm.hour < 12 ? 'AM' : 'PM'; break;
      case 'P': out += tm.hour < 12 ? 'am' : 'pm'; break;
      case 'r': out += strftime('%I:%M:%S %p', tm); break;
      case 'R': out += strftime('%H:%M', tm); break;
      case 's': {
        const wall = utcMillis(tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec) / 1000;
        out += String(wall - localOffset(wall));
        break;
      }
      case 'S': out += p2(tm.sec); break;
      case 't': out += '\t'; break;
      case 'T': out += strftime('%H:%M:%S', tm); break;
      case 'u': out += String(tm.wday === 0 ? 7 : tm.wday); break;
      case 'U': out += p2(Math.floor((tm.yday + 7 - tm.wday) / 7)); break;
      case 'V': out += p2(isoWeek(tm).week); break;
      case 'w': out += String(tm.wday); break;
      case 'W': out += p2(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7)); break;
      case 'x': out += strftime('%m/%d/%y', tm); break;
      case 'X': out += strftime('%H:%M:%S', tm); break;
      case 'y': out += p2(((tm.year % 100) + 100) % 100); break;
      case 'Y': out += String(tm.year); break;
      case 'z': out += '+0000'; break;
      case 'Z': break;
      case '%': out += '%'; break;
      case undefined: out += '%'; break;
      default: out += `%${spec}`;
    }
  }
  return out;
}

/** An integer attribute of a split-time ad (EvaluateAttrInt), or 0. */
function intField(ad: ClassAd, name: string, functions: FunctionTable): number | undefined {
  const attr = ad.lookupKey(name.toLowerCase());
  if (attr === undefined) return undefined;
  const v = evaluateAttribute(attr, { scope: ad, target: null }, functions);
  return typeof v === 'number' || typeof v === 'bigint' ? toCInt(v) : undefined;
}

const formatTime: Builtin = (args, env, site) => {
  if (args.length === 0) return strftime('%c', localTm(nowSeconds()));
  if (args.length > 2) return ERROR;
  const t = args[0]!(env);
  if (t instanceof RelTime) return ERROR;
  const ad = splitToAd(t);
  if (ad === undefined) return ERROR;
  // Missing or non-integer fields are 0 in struct tm terms (so the year is 1900).
  const field = (name: string): number | undefined => intField(ad, name, site.functions);
  const year = field('Year') ?? 1900;
  const month = field('Month');
  const mon0 = month === undefined ? 0 : month - 1;
  const mday = field('Day') ?? 0;
  const { wday, yday } = dayNumbers(year, mon0, mday);
  const tm: Tm = {
    year,
    mon: mon0,
    mday,
    hour: field('Hours') ?? 0,
    min: field('Minutes') ?? 0,
    sec: field('Seconds') ?? 0,
    wday,
    yday,
  };
  if (args.length === 1) return strftime('%c', tm);
  const format = args[1]!(env);
  if (typeof format !== 'string') return ERROR;
  const out = strftime(format, tm);
  return out.length > 1023 ? '' : out; // HTCondor's buffer holds 1023 characters
};

const interval: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const i = toIntegerValue(args[0]!(env));
  if (typeof i !== 'number' && typeof i !== 'bigint') return ERROR;
  let total = toCInt(i);
  const days = Math.trunc(total / 86400);
  total %= 86400;
  const hours = Math.trunc(total / 3600);
  total %= 3600;
  const minutes = Math.trunc(total / 60);
  const seconds = total % 60;
  const a2 = (n: number): string => p2(Math.abs(n));
  if (days !== 0) return `${days}+${a2(hours)}:${a2(minutes)}:${a2(seconds)}`;
  if (hours !== 0) return `${hours}:${a2(minutes)}:${a2(seconds)}`;
  if (minutes !== 0) return `${minutes}:${a2(seconds)}`;
  return String(seconds + 0);
};

export const TIME_FUNCTIONS: readonly Entry[] = [
  ['time', epochTime],
  ['currenttime', currentTime],
  ['timezoneoffset', timeZoneOffset],
  ['daytime', dayTime],
  ['abstime', convTime(false)],
  ['reltime', convTime(true)],
  ['splittime', splitTime],
  ['formattime', formatTime],
  ['interval', interval],
  ['getyear', getField('getyear')],
  ['getmonth', getField('getmonth')],
  ['getdayofyear', getField('getdayofyear')],
  ['getdayofmonth', getField('getdayofmonth')],
  ['getdayofweek', getField('getdayofweek')],
  ['getdays', getField('getdays')],
  ['gethours', getField('gethours')],
  ['getminutes', getField('getminutes')],
  ['getseconds', getField('getseconds')],
];

