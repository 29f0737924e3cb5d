/**
 * Macro expansion of the submit description language, after HTCondor's
 * expand_macro / next_config_macro / evaluate_macro_func (config.cpp).
 *
 * Forms recognised (function names are case-sensitive, macro names are not):
 *   $(name)  $(name:default)        raw value, expanded; default when undefined or empty
 *   $ENV(name)  $ENV(name:default)  environment; "UNDEFINED" when unset and no default
 *   $RANDOM_INTEGER(min,max[,step]) $RANDOM_CHOICE(a,b,...|listname)
 *   $CHOICE(index,a,b,...|listname) $SUBSTR(name,start[,length])
 *   $INT(name|expr[,format])  $REAL(name|expr[,format])  $STRING(name|expr[,format])
 *   $EVAL(name|expr)  $F<letters>(name)  $BASENAME(name)  $DIRNAME(name)
 *   $(DOLLAR) -> "$" (after everything else); $$(...) is left for match time.
 *
 * Scanning follows HTCondor: a `$`, an optional second `$`, a run of
 * letters/digits/underscores and `(` make a candidate; `$$` candidates and
 * unknown function names stay literal text. In `$(...)` and `$ENV(...)` the
 * name may hold only letters, digits and `_ . /`; the default after the first
 * `:` also `$ , \ :` and parenthesised groups. Anything else leaves the text
 * literal, as HTCondor does (so `$((1+2))` and `$(a b)` pass through).
 *
 * Invariants and deliberate differences from HTCondor:
 * - Expansion is recursive, not textual rescanning: a macro's value is
 *   expanded on its own, so a cycle (a = $(b), b = $(a)) is detected and
 *   reported with its chain instead of looping.
 * - A candidate that reaches the end of the text without its `)` is an error
 *   (HTCondor leaves it literal); errors carry the offset of the top-level
 *   macro in the text given to `expand`.
 * - Function bodies nest: parentheses are balanced and double-quoted strings
 *   skipped (HTCondor stops at the first `)`), and arguments split on
 *   top-level commas only. Nested macros in arguments are expanded.
 * - Pure: no I/O; the environment and random numbers come from the context.
 */
import { evaluate, printValue, Real, type Value } from '../classad/index.ts';
import { applyPathSpec, parsePathLetters, type PathSpec } from './paths.ts';
import { ValueError } from './submit-error.ts';

/** Raw (unexpanded) macro definitions; the implementation handles case. */
export interface MacroLookup {
  get(name: string): string | undefined;
}

export interface ExpandContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Directory that the `f` letter of `$F...()` makes relative paths absolute against; none leaves them as they are. */
  readonly cwd?: string;
}

export interface Expansion {
  readonly text: string;
  /** every macro name referenced, transitively, lower-cased */
  readonly used: ReadonlySet<string>;
  /** true if a $RANDOM_* function was expanded (the value differs per expansion) */
  readonly random: boolean;
}

// ---------------------------------------------------------------------------
// Scanning

const C_DOLLAR = 0x24;
const C_LPAREN = 0x28;
const C_RPAREN = 0x29;
const C_COLON = 0x3a;
const C_COMMA = 0x2c;
const C_QUOTE = 0x22;
const C_BACKSLASH = 0x5c;
const C_SPACE = 0x20;

const K_NORMAL = 0;
const K_ENV = 1;
const K_RANDOM_CHOICE = 2;
const K_RANDOM_INTEGER = 3;
const K_CHOICE = 4;
const K_SUBSTR = 5;
const K_INT = 6;
const K_REAL = 7;
const K_STRING = 8;
const K_EVAL = 9;
const K_FILE = 10;

const FUNCTIONS: readonly (readonly [string, number])[] = [
  ['ENV', K_ENV],
  ['RANDOM_CHOICE', K_RANDOM_CHOICE],
  ['RANDOM_INTEGER', K_RANDOM_INTEGER],
  ['CHOICE', K_CHOICE],
  ['SUBSTR', K_SUBSTR],
  ['INT', K_INT],
  ['REAL', K_REAL],
  ['STRING', K_STRING],
  ['EVAL', K_EVAL],
  ['BASENAME', K_FILE],
  ['DIRNAME', K_FILE],
];
const BASENAME_SPEC = parsePathLetters('nx');
const DIRNAME_SPEC = parsePathLetters('p');

/** Letters, digits, underscore: what may follow `$` before `(`. */
function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** HTCondor's ISIDCHAR: letters, digits and `_ . /`. */
function isIdChar(c: number): boolean {
  return isWordChar(c) || c === 0x2e || c === 0x2f;
}

/** `$F` letters HTCondor accepts (case-insensitive). */
function isPathLetter(c: number): boolean {
  switch (c | 0x20) {
    case 0x70: case 0x6e: case 0x78: case 0x64: case 0x71: // p n x d q
    case 0x61: case 0x62: case 0x66: case 0x77: case 0x75: // a b f w u
      return true;
    default:
      return false;
  }
}

/** One macro found in a text; reused by a scanning loop. */
interface Match {
  kind: number;
  /** index of the `$` */
  start: number;
  /** index of the `(` */
  open: number;
  /** index of the `:` of a `$(name:default)` / `$ENV(name:default)`, else -1 */
  colon: number;
  /** index of the closing `)` */
  close: number;
  spec: PathSpec | undefined;
}

function newMatch(): Match {
  return { kind: 0, start: 0, open: 0, colon: -1, close: 0, spec: undefined };
}

/** Index of the `)` matching the `(` at `open`, skipping double-quoted strings; -1 if none. */
function closeParen(text: string, open: number): number {
  let depth = 0;
  const n = text.length;
  for (let k = open; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c === C_LPAREN) depth++;
    else if (c === C_RPAREN) {
      if (--depth === 0) return k;
    } else if (c === C_QUOTE) {
      for (k++; k < n; k++) {
        const q = text.charCodeAt(k);
        if (q === C_BACKSLASH) k++;
        else if (q === C_QUOTE) break;
      }
      if (k >= n) return -1;
    }
  }
  return -1;
}

/** The kind of function named text[i+1, j) (`$` at i, `(` at j), or -1. Sets m.spec for path functions. */
function classify(text: string, i: number, j: number, m: Match): number {
  const len = j - i - 1;
  if (len === 0) return K_NORMAL;
  if (text.charCodeAt(i + 1) === 0x46 /* F */) {
    let k = i + 2;
    while (k < j && isPathLetter(text.charCodeAt(k))) k++;
    if (k === j) {
      m.spec = parsePathLetters(text.slice(i + 2, j));
      return K_FILE;
    }
  }
  for (const [name, kind] of FUNCTIONS) {
    if (name.length === len && text.startsWith(name, i + 1)) {
      if (kind === K_FILE) m.spec = name === 'BASENAME' ? BASENAME_SPEC : DIRNAME_SPEC;
      return kind;
    }
  }
  return -1;
}

const SCAN_NONE = 0;
const SCAN_FOUND = 1;
const SCAN_UNTERMINATED = 2;

/**
 * Finds the next macro at or after `from`. On SCAN_UNTERMINATED, m.start
 * and m.open describe the macro that has no `)`.
 */
function scan(text: string, from: number, m: Match): number {
  const n = text.length;
  for (;;) {
    const i = text.indexOf('$', from);
    if (i < 0) return SCAN_NONE;
    let j = i + 1;
    let doubled = false;
    if (text.charCodeAt(j) === C_DOLLAR) {
      j++;
      doubled = true;
    }
    while (j < n && isWordChar(text.charCodeAt(j))) j++;
    if (doubled || text.charCodeAt(j) !== C_LPAREN) {
      from = j;
      continue;
    }
    const kind = classify(text, i, j, m);
    if (kind < 0) {
      from = j;
      continue;
    }
    m.kind = kind;
    m.start = i;
    m.open = j;
    m.colon = -1;
    if (kind === K_NORMAL || kind === K_ENV) {
      let k = j + 1;
      let valid = true;
      for (;;) {
        if (k >= n) return SCAN_UNTERMINATED;
        const c = text.charCodeAt(k);
        if (c === C_RPAREN) break;
        if (m.colon < 0) {
          if (c === C_COLON) m.colon = k;
          else if (!isIdChar(c)) {
            valid = false;
            break;
          }
        } else if (c === C_LPAREN) {
          const e = closeParen(text, k);
          if (e < 0) return SCAN_UNTERMINATED;
          k = e;
        } else if (!(isIdChar(c) || c === C_DOLLAR || c === C_SPACE || c === C_COMMA || c === C_BACKSLASH || c === C_COLON)) {
          valid = false;
          break;
        }
        k++;
      }
      if (!valid) {
        from = j + 1;
        continue;
      }
      m.close = k;
      return SCAN_FOUND;
    }
    const e = closeParen(text, j);
    if (e < 0) return SCAN_UNTERMINATED;
    m.close = e;
    return SCAN_FOUND;
  }
}

/** True for `$(DOLLAR)` (any case): kept until the very end. */
function isDollarMacro(text: string, m: Match): boolean {
  return m.kind === K_NORMAL && m.colon < 0 && m.close - m.open === 7 && text.slice(m.open + 1, m.close).toUpperCase() === 'DOLLAR';
}

function unterminatedMessage(text: string, m: Match): string {
  return `unterminated macro ${text.slice(m.start, m.open + 1)}: no closing ')'`;
}

/** Replaces each `$(DOLLAR)` (any case) by `$`, once, leaving `$$(...)` alone. */
function finishDollars(s: string): string {
  let i = s.indexOf('$(');
  if (i < 0) return s;
  let out = '';
  let last = 0;
  i = s.indexOf('$');
  while (i >= 0) {
    if (s.charCodeAt(i + 1) === C_DOLLAR) {
      i = s.indexOf('$', i + 2);
      continue;
    }
    if (s.charCodeAt(i + 1) === C_LPAREN && s.charCodeAt(i + 8) === C_RPAREN && s.slice(i + 2, i + 8).toUpperCase() === 'DOLLAR') {
      out += s.slice(last, i) + '$';
      last = i + 9;
      i = s.indexOf('$', last);
      continue;
    }
    i = s.indexOf('$', i + 1);
  }
  return last === 0 ? s : out + s.slice(last);
}

/** Splits a function body on commas outside parentheses, brackets, braces and double quotes. */
function splitArgs(body: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  const n = body.length;
  for (let k = 0; k < n; k++) {
    const c = body.charCodeAt(k);
    if (c === C_LPAREN || c === 0x5b || c === 0x7b) depth++; // ( [ {
    else if (c === C_RPAREN || c === 0x5d || c === 0x7d) depth--; // ) ] }
    else if (c === C_QUOTE) {
      for (k++; k < n; k++) {
        const q = body.charCodeAt(k);
        if (q === C_BACKSLASH) k++;
        else if (q === C_QUOTE) break;
      }
    } else if (c === C_COMMA && depth === 0) {
      args.push(body.slice(start, k));
      start = k + 1;
    }
  }
  args.push(body.slice(start));
  return args;
}

/** The first argument and everything after the first top-level comma (a printf format), if any. */
function splitFormat(body: string): [string, string | undefined] {
  const args = splitArgs(body);
  if (args.length === 1) return [body, undefined];
  const item = args[0]!;
  return [item, body.slice(item.length + 1)];
}

const lowerCache = new Map<string, string>();
function lower(name: string): string {
  let l = lowerCache.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (lowerCache.size < 4096) lowerCache.set(name, l);
  }
  return l;
}

// ---------------------------------------------------------------------------
// Numbers and printf

const INT_LITERAL = /^[+-]?\d+$/;
const REAL_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function clampInt64(b: bigint): bigint {
  return b < INT64_MIN ? INT64_MIN : b > INT64_MAX ? INT64_MAX : b;
}

function evaluateText(text: string): Value | undefined {
  try {
    return evaluate(text);
  } catch {
    return undefined;
  }
}

/** HTCondor's string_is_long_param: an integer literal, or an expression whose value is an integer, real (truncated) or boolean. */
export function toInteger(text: string): bigint | undefined {
  const t = text.trim();
  if (INT_LITERAL.test(t)) return clampInt64(BigInt(t));
  if (t === '') return undefined;
  const v = evaluateText(t);
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v instanceof Real) return Number.isFinite(v.v) ? clampInt64(BigInt(Math.trunc(v.v))) : undefined;
  return undefined;
}

/** HTCondor's string_is_double_param: a real literal, or an expression whose value is a number or boolean. */
export function toReal(text: string): number | undefined {
  const t = text.trim();
  if (REAL_LITERAL.test(t)) return Number(t);
  if (t === '') return undefined;
  const v = evaluateText(t);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Real) return v.v;
  return undefined;
}

/** A printf format with exactly one conversion, split around it. */
interface Format {
  readonly before: string;
  readonly after: string;
  readonly minus: boolean;
  readonly plus: boolean;
  readonly space: boolean;
  readonly alt: boolean;
  readonly zero: boolean;
  readonly width: number;
  /** -1 when not given */
  readonly precision: number;
  readonly conv: string;
}

const INT_CONVERSIONS = 'diuoxX';
const REAL_CONVERSIONS = 'eEfFgG';
const STRING_CONVERSIONS = 's';
const formatCache = new Map<string, Format | null>();

/** Parses a printf format holding one conversion (plus any `%%`); null if it does not. */
function parseFormat(fmt: string): Format | null {
  const cached = formatCache.get(fmt);
  if (cached !== undefined) return cached;
  let result: Format | null = null;
  let before = '';
  let k = 0;
  const n = fmt.length;
  let text = '';
  let spec: Omit<Format, 'before' | 'after'> | undefined;
  let bad = false;
  while (k < n) {
    const c = fmt[k]!;
    if (c !== '%') {
      text += c;
      k++;
      continue;
    }
    if (fmt[k + 1] === '%') {
      text += '%';
      k += 2;
      continue;
    }
    if (spec !== undefined) {
      bad = true;
      break;
    }
    k++;
    let minus = false, plus = false, space = false, alt = false, zero = false;
    for (; k < n; k++) {
      const f = fmt[k];
      if (f === '-') minus = true;
      else if (f === '+') plus = true;
      else if (f === ' ') space = true;
      else if (f === '#') alt = true;
      else if (f === '0') zero = true;
      else break;
    }
    let width = 0;
    while (k < n && fmt.charCodeAt(k) >= 0x30 && fmt.charCodeAt(k) <= 0x39) width = width * 10 + fmt.charCodeAt(k++) - 0x30;
    let precision = -1;
    if (fmt[k] === '.') {
      k++;
      precision = 0;
      while (k < n && fmt.charCodeAt(k) >= 0x30 && fmt.charCodeAt(k) <= 0x39) precision = precision * 10 + fmt.charCodeAt(k++) - 0x30;
    }
    while (k < n && 'hlLqjzt'.includes(fmt[k]!)) k++;
    const conv = fmt[k];
    if (conv === undefined || !(INT_CONVERSIONS + REAL_CONVERSIONS + STRING_CONVERSIONS).includes(conv) || width > 4096 || precision > 100) {
      bad = true;
      break;
    }
    k++;
    spec = { minus, plus, space, alt, zero, width, precision, conv };
    before = text;
    text = '';
  }
  if (!bad && spec !== undefined) result = { ...spec, before, after: text };
  if (formatCache.size < 256) formatCache.set(fmt, result);
  return result;
}

function pad(f: Format, sign: string, body: string, zeroAllowed: boolean): string {
  const len = sign.length + body.length;
  if (len >= f.width) return f.before + sign + body + f.after;
  const fill = f.width - len;
  if (f.minus) return f.before + sign + body + ' '.repeat(fill) + f.after;
  if (f.zero && zeroAllowed) return f.before + sign + '0'.repeat(fill) + body + f.after;
  return f.before + ' '.repeat(fill) + sign + body + f.after;
}

function formatInteger(f: Format, v: bigint): string {
  let sign = '';
  let digits: string;
  let prefix = '';
  switch (f.conv) {
    case 'd':
    case 'i':
      if (v < 0n) {
        sign = '-';
        digits = (-v).toString();
      } else {
        sign = f.plus ? '+' : f.space ? ' ' : '';
        digits = v.toString();
      }
      break;
    case 'u':
      digits = BigInt.asUintN(64, v).toString();
      break;
    case 'o':
      digits = BigInt.asUintN(64, v).toString(8);
      if (f.alt && !digits.startsWith('0')) digits = '0' + digits;
      break;
    default: // x X
      digits = BigInt.asUintN(64, v).toString(16);
      if (f.conv === 'X') digits = digits.toUpperCase();
      if (f.alt && v !== 0n) prefix = f.conv === 'X' ? '0X' : '0x';
      break;
  }
  if (f.precision >= 0) {
    if (f.precision === 0 && v === 0n) digits = '';
    else if (digits.length < f.precision) digits = '0'.repeat(f.precision - digits.length) + digits;
  }
  return pad(f, sign + prefix, digits, f.precision < 0);
}

function fixed(a: number, p: number): string {
  if (a < 1e21) return a.toFixed(p);
  return BigInt(a).toString() + (p > 0 ? '.' + '0'.repeat(p) : '');
}

function exponential(a: number, p: number, upper: boolean): string {
  const s = a.toExponential(p);
  const e = s.indexOf('e');
  const exp = Number(s.slice(e + 1));
  const abs = Math.abs(exp);
  return s.slice(0, e) + (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + String(abs);
}

function stripZeros(s: string): string {
  const e = s.search(/[eE]/);
  const mantissa = e < 0 ? s : s.slice(0, e);
  if (!mantissa.includes('.')) return s;
  const stripped = mantissa.replace(/\.?0+$/, '');
  return e < 0 ? stripped : stripped + s.slice(e);
}

function formatFloat(f: Format, v: number): string {
  const upper = f.conv === 'E' || f.conv === 'F' || f.conv === 'G';
  const negative = v < 0 || Object.is(v, -0);
  const sign = negative ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  const a = Math.abs(v);
  if (!Number.isFinite(a)) {
    const body = Number.isNaN(a) ? 'nan' : 'inf';
    return pad(f, Number.isNaN(a) ? (f.plus ? '+' : f.space ? ' ' : '') : sign, upper ? body.toUpperCase() : body, false);
  }
  let body: string;
  const conv = f.conv.toLowerCase();
  if (conv === 'f') {
    body = fixed(a, f.precision < 0 ? 6 : f.precision);
    if (f.alt && !body.includes('.')) body += '.';
  } else if (conv === 'e') {
    body = exponential(a, f.precision < 0 ? 6 : f.precision, upper);
    if (f.alt && !body.includes('.')) body = body.replace(/[eE]/, '.$&');
  } else {
    const p = f.precision < 0 ? 6 : f.precision === 0 ? 1 : f.precision;
    const x = a === 0 ? 0 : Number(a.toExponential(p - 1).split('e')[1]);
    body = x < p && x >= -4 ? fixed(a, p - 1 - x) : exponential(a, p - 1, upper);
    if (!f.alt) body = stripZeros(body);
  }
  return pad(f, sign, body, true);
}

function formatString(f: Format, s: string): string {
  return pad(f, '', f.precision >= 0 ? s.slice(0, f.precision) : s, false);
}

const DEFAULT_REAL_FORMAT = parseFormat('%.16G')!;

// ---------------------------------------------------------------------------
// Expansion

const NO_NAMES: ReadonlySet<string> = new Set<string>();
/** An expansion larger than this is refused (runaway doubling definitions). */
const MAX_EXPANSION = 1 << 24;

class Expander {
  used: Set<string> | undefined;
  random = false;
  /** Names (as written) whose values are being expanded, outermost first. */
  private readonly names: string[] = [];
  /** The same, as cycle keys. */
  private readonly keys: string[] = [];
  private depth = 0;
  /** Offset of the top-level macro being expanded, where errors point. */
  private top = 0;

  constructor(
    private readonly lookup: MacroLookup,
    private readonly ctx: ExpandContext,
  ) {}

  fail(message: string): never {
    const where = this.names.length === 0 ? '' : ` (in the value of ${this.names.join(' -> ')})`;
    throw new ValueError(message + where, this.top);
  }

  /** Expands every macro in `text` except `$(DOLLAR)`, which stays for the end. */
  text(text: string): string {
    if (text.indexOf('$') < 0) return text;
    const m = newMatch();
    const atTop = this.depth === 0;
    let out = '';
    let last = 0;
    let from = 0;
    this.depth++;
    try {
      for (;;) {
        const found = scan(text, from, m);
        if (found === SCAN_NONE) break;
        if (atTop) this.top = m.start;
        if (found === SCAN_UNTERMINATED) this.fail(unterminatedMessage(text, m));
        if (isDollarMacro(text, m)) {
          from = m.close + 1;
          continue;
        }
        const start = m.start;
        const close = m.close;
        const value = this.macro(text, m);
        out += text.slice(last, start);
        out += value;
        if (out.length > MAX_EXPANSION) this.fail(`macro expansion is longer than ${MAX_EXPANSION} characters`);
        last = from = close + 1;
      }
    } finally {
      this.depth--;
    }
    return last === 0 ? text : out + text.slice(last);
  }

  /** Looks `name` up, recording it as used. */
  private get(name: string): string | undefined {
    if (name === '') return undefined;
    (this.used ??= new Set()).add(lower(name));
    return this.lookup.get(name);
  }

  /** Expands the raw value of `name` (or another source named by `key`), refusing cycles. */
  private value(name: string, raw: string, key = lower(name)): string {
    if (raw.indexOf('$') < 0) return raw;
    const at = this.keys.indexOf(key);
    if (at >= 0) {
      const chain = [...this.names.slice(at), name].join(' -> ');
      throw new ValueError(`recursive macro definition: ${chain}`, this.top);
    }
    this.names.push(name);
    this.keys.push(key);
    try {
      return this.text(raw);
    } finally {
      this.names.pop();
      this.keys.pop();
    }
  }

  /** A function argument that names a macro (its expanded value) or is itself the text (expanded). */
  private arg(arg: string): string {
    const a = arg.trim();
    if (a !== '') {
      const raw = this.lookup.get(a);
      if (raw !== undefined) {
        (this.used ??= new Set()).add(lower(a));
        return this.value(a, raw);
      }
    }
    return this.text(a);
  }

  private pick(count: number): number {
    this.random = true;
    const r = this.ctx.random();
    return Math.min(count - 1, Math.max(0, Math.floor(r * count)));
  }

  private integerArg(fn: string, what: string, arg: string, min: number, max: number): number {
    const v = this.arg(arg);
    const n = toInteger(v);
    if (n === undefined || n < BigInt(min) || n > BigInt(max)) this.fail(`${fn}: ${what} '${v}' is not a valid integer`);
    return Number(n);
  }

  private format(fn: string, fmt: string, allowed: string, expected: string): Format {
    const f = parseFormat(fmt);
    if (f === null || !allowed.includes(f.conv)) this.fail(`${fn}: '${fmt}' is not a valid format: expected one ${expected} conversion`);
    return f;
  }

  private macro(text: string, m: Match): string {
    switch (m.kind) {
      case K_NORMAL: {
        const name = text.slice(m.open + 1, m.colon < 0 ? m.close : m.colon);
        const raw = this.get(name);
        if (raw === undefined || raw === '') return m.colon < 0 ? '' : this.text(text.slice(m.colon + 1, m.close));
        return this.value(name, raw);
      }
      case K_ENV: {
        const name = text.slice(m.open + 1, m.colon < 0 ? m.close : m.colon);
        const v = this.ctx.env[name];
        if (v === undefined || v === '') {
          if (m.colon >= 0) return this.text(text.slice(m.colon + 1, m.close));
          return v === undefined ? 'UNDEFINED' : '';
        }
        return this.value(`$ENV(${name})`, v, `\0env:${name}`);
      }
      default:
        return this.fn(m.kind, text.slice(m.open + 1, m.close), m.spec);
    }
  }

  private fn(kind: number, body: string, spec: PathSpec | undefined): string {
    switch (kind) {
      case K_RANDOM_INTEGER: {
        const args = this.text(body).split(',');
        const name = '$RANDOM_INTEGER()';
        const min = args[0]!.trim();
        const max = args[1]?.trim() ?? '';
        if (!INT_LITERAL.test(min) || !Number.isSafeInteger(Number(min))) this.fail(`${name}: invalid min '${min}'`);
        if (!INT_LITERAL.test(max) || !Number.isSafeInteger(Number(max))) this.fail(`${name}: invalid max '${max}'`);
        const stepText = args[2]?.trim();
        const step = stepText === undefined ? 1 : Number(stepText);
        if (stepText !== undefined && (!INT_LITERAL.test(stepText) || !Number.isSafeInteger(step) || step < 1)) {
          this.fail(`${name}: invalid step '${stepText}': expected an integer of at least 1`);
        }
        if (args.length > 3) this.fail(`${name}: expected min, max and an optional step, got ${args.length} arguments`);
        const lo = Number(min);
        const hi = Number(max);
        if (lo > hi) this.fail(`${name}: min ${lo} is greater than max ${hi}`);
        const count = Math.floor((step + hi - lo) / step);
        return String(lo + this.pick(count) * step);
      }
      case K_RANDOM_CHOICE: {
        const args = splitArgs(body);
        if (args.length === 1) {
          const only = args[0]!.trim();
          if (only === '') this.fail('$RANDOM_CHOICE(): no list to choose from');
          const items = this.arg(only).split(',');
          return items[this.pick(items.length)]!.trim();
        }
        return this.text(args[this.pick(args.length)]!.trim());
      }
      case K_CHOICE: {
        const args = splitArgs(body);
        if (args.length < 2) this.fail('$CHOICE(): expected an index and a list');
        const indexText = this.arg(args[0]!);
        const index = toInteger(indexText);
        if (index === undefined || index < 0n || index >= BigInt(INT32_MAX)) this.fail(`$CHOICE(): '${indexText}' is not a valid index`);
        const i = Number(index);
        if (args.length === 2) {
          const listName = args[1]!.trim();
          if (listName === '') this.fail('$CHOICE(): no list to choose from');
          const raw = this.get(listName);
          if (raw === undefined) this.fail(`$CHOICE(): no list named '${listName}'`);
          const items = this.value(listName, raw).split(',');
          if (i >= items.length) this.fail(`$CHOICE(): index ${i} is out of range: '${listName}' has ${items.length} item${items.length === 1 ? '' : 's'}`);
          return items[i]!.trim();
        }
        if (i >= args.length - 1) this.fail(`$CHOICE(): index ${i} is out of range: the list has ${args.length - 1} items`);
        return this.text(args[i + 1]!.trim());
      }
      case K_SUBSTR: {
        const args = splitArgs(body);
        const name = '$SUBSTR()';
        if (args.length < 2 || args.length > 3) this.fail(`${name}: expected a name, a start index and an optional length`);
        const value = this.arg(args[0]!);
        if (value === '') return '';
        let start = this.integerArg(name, 'start', args[1]!, INT32_MIN, INT32_MAX);
        const cch = value.length;
        if (start < 0) start += cch;
        start = Math.min(Math.max(start, 0), cch);
        const rest = cch - start;
        let len = args.length > 2 ? this.integerArg(name, 'length', args[2]!, INT32_MIN, INT32_MAX) : rest;
        if (len < 0) len += rest;
        len = Math.min(Math.max(len, 0), rest);
        return value.slice(start, start + len);
      }
      case K_INT: {
        const [item, fmt] = splitFormat(body);
        const f = fmt === undefined ? undefined : this.format('$INT()', fmt, INT_CONVERSIONS, 'of %d %i %u %o %x %X');
        const v = this.arg(item);
        const n = toInteger(v);
        if (n === undefined) this.fail(`$INT(): '${v}' does not evaluate to an integer`);
        return f === undefined ? n.toString() : formatInteger(f, n);
      }
      case K_REAL: {
        const [item, fmt] = splitFormat(body);
        const f = fmt === undefined ? undefined : this.format('$REAL()', fmt, REAL_CONVERSIONS, 'of %e %E %f %F %g %G');
        const v = this.arg(item);
        const d = toReal(v);
        if (d === undefined) this.fail(`$REAL(): '${v}' does not evaluate to a real`);
        if (f === undefined) return formatFloat(DEFAULT_REAL_FORMAT, d);
        const s = formatFloat(f, d);
        return s.includes('.') ? s : s + '.0';
      }
      case K_STRING: {
        const [item, fmt] = splitFormat(body);
        const f = fmt === undefined ? undefined : this.format('$STRING()', fmt, STRING_CONVERSIONS, '%s');
        const v = this.arg(item);
        const r = evaluateText(v);
        const s = typeof r === 'string' ? r : v;
        return f === undefined ? s : formatString(f, s);
      }
      case K_EVAL: {
        const src = finishDollars(this.arg(body));
        const r = evaluateText(src);
        if (r === undefined) return src;
        return typeof r === 'string' ? r : printValue(r);
      }
      default: {
        // K_FILE: $F<letters>, $BASENAME, $DIRNAME take a macro name only.
        const name = body.trim();
        const raw = this.get(name);
        if (raw === undefined) return '';
        return applyPathSpec(spec!, this.value(name, raw), this.ctx.cwd);
      }
    }
  }
}

/** Expands all macros in `text`; throws ValueError (offset of the top-level macro at fault). */
export function expand(text: string, lookup: MacroLookup, ctx: ExpandContext): Expansion {
  if (text.indexOf('$') < 0) return { text, used: NO_NAMES, random: false };
  const x = new Expander(lookup, ctx);
  const out = finishDollars(x.text(text));
  return { text: out, used: x.used ?? NO_NAMES, random: x.random };
}

// ---------------------------------------------------------------------------
// Dependency analysis

const NAME_LIKE = /^[A-Za-z_][A-Za-z0-9_./]*$/;

function collect(text: string, add: (name: string) => void, base: number): void {
  if (text.indexOf('$') < 0) return;
  const m = newMatch();
  let from = 0;
  for (;;) {
    const found = scan(text, from, m);
    if (found === SCAN_NONE) return;
    const at = base < 0 ? m.start : base;
    if (found === SCAN_UNTERMINATED) throw new ValueError(unterminatedMessage(text, m), at);
    from = m.close + 1;
    if (isDollarMacro(text, m)) continue;
    const body = text.slice(m.open + 1, m.close);
    const arg = (a: string): void => {
      const t = a.trim();
      if (NAME_LIKE.test(t)) add(t);
      else collect(t, add, at);
    };
    switch (m.kind) {
      case K_NORMAL:
      case K_ENV:
        if (m.kind === K_NORMAL) add(text.slice(m.open + 1, m.colon < 0 ? m.close : m.colon));
        if (m.colon >= 0) collect(text.slice(m.colon + 1, m.close), add, at);
        break;
      case K_FILE:
        add(body.trim());
        break;
      case K_INT:
      case K_REAL:
      case K_STRING:
        arg(splitFormat(body)[0]);
        break;
      case K_EVAL:
        arg(body);
        break;
      case K_SUBSTR:
        for (const a of splitArgs(body)) arg(a);
        break;
      case K_CHOICE:
      case K_RANDOM_CHOICE: {
        const args = splitArgs(body);
        const items = m.kind === K_CHOICE ? args.slice(1) : args;
        if (m.kind === K_CHOICE) arg(args[0]!);
        if (items.length === 1) arg(items[0]!);
        else for (const item of items) collect(item, add, at);
        break;
      }
      default: // K_RANDOM_INTEGER
        collect(body, add, at);
        break;
    }
  }
}

/**
 * The macro names `text` refers to directly (not through other macros'
 * values), lower-cased, each once, in order of first appearance. Function
 * arguments that may be a macro name or an expression count when they look
 * like a name. `$(DOLLAR)` and environment variables are not macros.
 */
export function referencedMacros(text: string): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  collect(
    text,
    (name) => {
      if (name === '') return;
      const l = lower(name);
      if (!seen.has(l)) {
        seen.add(l);
        names.push(l);
      }
    },
    -1,
  );
  return names;
}
