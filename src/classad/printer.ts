/**
 * Printers: expression trees and values to ClassAd text.
 *
 * New syntax follows HTCondor's unparser: binary operators spaced, unary
 * operators printed with a leading space (` !x`), parentheses exactly as
 * written, `=?=` / `=!=` as `is` / `isnt`, lists `{ 1,2 }`, ads
 * `[ a = 1; b = 2 ]`, reals as `%1.15E`. Old syntax (condor_q -long) prints
 * reals as `%.16G` (plus `.0` when that looks like an integer), strings with
 * only `"` escaped, `=?=` as itself, and a top-level ad as `Name = expr` lines.
 *
 * Deliberate differences:
 *   - where 16 significant digits do not give back the same double, 17 are
 *     printed, so that parsing printed text always yields the same value
 *     (HTCondor can lose the last bit there);
 *   - old syntax has no escapes but `\"`, so some strings have no old form:
 *     one holding a newline or carriage return (the reader is line-based),
 *     and one ending in a backslash unless it closes its line (the reader
 *     takes `\"` before more text as a quote). HTCondor prints these anyway
 *     and cannot read them back; the old-syntax printer throws an HtcError
 *     (CLASSAD_INVALID) instead, which `printOldClassAd` words as "attribute
 *     X cannot be written in old ClassAd syntax: ...; use new syntax or JSON".
 */
import { HtcError } from '../errors.ts';
import type { Node } from './ast.ts';
import { ClassAd } from './classad.ts';
import { formatAbsTime, formatRelTime } from './time.ts';
import { AbsTime, ERROR, ListValue, Real, RelTime, UNDEFINED, type Value } from './value.ts';

export type Syntax = 'new' | 'old';

/** Keywords (case-insensitive here) and `parent`, which HTCondor also quotes. */
const KEYWORDS = new Set(['error', 'false', 'is', 'isnt', 'true', 'undefined']);
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An attribute name as it must be written: quoted when it is not a plain identifier. */
export function printName(name: string): string {
  if (PLAIN_NAME.test(name) && !KEYWORDS.has(name.toLowerCase()) && name !== 'parent') return name;
  return `'${escapeText(name, "'")}'`;
}

/** C's `%.{p}E` / `%.{p}G` exponent: sign and at least two digits. */
function cExponent(e: number): string {
  const abs = Math.abs(e);
  return (e < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + String(abs);
}

/** C printf `%1.{digits}E`. */
function formatE(x: number, digits: number): string {
  const [mantissa, exp] = x.toExponential(digits).split('e') as [string, string];
  return `${mantissa}E${cExponent(Number(exp))}`;
}

/** C printf `%.{precision}G`. */
function formatG(x: number, precision: number): string {
  const [mantissa, exp] = x.toExponential(precision - 1).split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= precision) {
    const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
    return `${m}E${cExponent(e)}`;
  }
  const fixed = x.toFixed(Math.max(0, precision - 1 - e));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

export function printReal(x: number, syntax: Syntax = 'new'): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (Number.isNaN(x)) return 'real("NaN")';
  if (x === Infinity) return 'real("INF")';
  if (x === -Infinity) return 'real("-INF")';
  if (syntax === 'old') {
    let s = formatG(x, 16);
    if (Number(s) !== x) s = formatG(x, 17);
    return /[.Ee]/.test(s) ? s : `${s}.0`;
  }
  const s = formatE(x, 15);
  return Number(s) === x ? s : formatE(x, 16);
}

const NEW_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '\\"'], ['\\', '\\\\'], ['\n', '\\n'], ['\t', '\\t'], ['\r', '\\r'],
  ['\x07', '\\a'], ['\b', '\\b'], ['\f', '\\f'], ['\v', '\\v'],
]);

/** Backslash escapes for a quoted string or name: the quote, `\\`, and control characters. */
function escapeText(s: string, quote: '"' | "'"): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/["'\\\x00-\x1f\x7f]/g, (c) => {
    if (c === '"' || c === "'") return c === quote ? `\\${c}` : c;
    return NEW_ESCAPES.get(c) ?? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`;
  });
}

export function printString(s: string, syntax: Syntax = 'new'): string {
  if (syntax === 'old') return printOldString(s, false);
  return `"${escapeText(s, '"')}"`;
}

const CANNOT_WRITE_OLD = 'cannot be written in old ClassAd syntax';

/**
 * A string in old syntax (only `"` escaped), or an HtcError when the old
 * reader would not read it back (see the header); `endsLine` says nothing
 * follows the closing quote on its line.
 */
function printOldString(s: string, endsLine: boolean): string {
  let problem: string | undefined;
  if (s.includes('\n')) problem = 'contains a newline';
  else if (s.includes('\r')) problem = 'contains a carriage return';
  else if (!endsLine && s.endsWith('\\')) problem = 'ends with a backslash (read back as an escaped quote)';
  if (problem !== undefined) throw new HtcError('CLASSAD_INVALID', `${CANNOT_WRITE_OLD}: a string ${problem}; use new syntax or JSON`);
  return `"${s.replace(/"/g, '\\"')}"`;
}

export function printValue(v: Value, syntax: Syntax = 'new'): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return printString(v, syntax);
    case 'number':
    case 'bigint':
      return String(v);
    default:
      if (v instanceof Real) return printReal(v.v, syntax);
      if (v === UNDEFINED) return 'undefined';
      if (v === ERROR) return 'error';
      if (v instanceof ListValue) return printList(v.items.map((item) => printValue(item, syntax)));
      if (v instanceof AbsTime) return `absTime(${printString(formatAbsTime(v))})`;
      if (v instanceof RelTime) return `relTime(${printString(formatRelTime(v))})`;
      if (v instanceof ClassAd) return printRecord(v.entries(), syntax);
      return 'error';
  }
}

function printList(items: readonly string[]): string {
  return `{ ${items.join(',')} }`;
}

function printRecord(attrs: readonly (readonly [string, Node])[], syntax: Syntax): string {
  return `[ ${attrs.map(([name, node]) => `${printName(name)} = ${unparse(node, syntax)}`).join('; ')} ]`;
}

/** An expression tree as text. */
export function unparse(node: Node, syntax: Syntax = 'new'): string {
  switch (node.kind) {
    case 'literal':
      return printValue(node.value, syntax);
    case 'attr':
      return node.absolute ? `.${printName(node.name)}` : printName(node.name);
    case 'select':
      return `${unparse(node.base, syntax)}.${printName(node.name)}`;
    case 'subscript':
      return `${unparse(node.base, syntax)}[${unparse(node.index, syntax)}]`;
    case 'unary':
      return ` ${node.op}${unparse(node.operand, syntax)}`;
    case 'binary': {
      let op: string = node.op;
      if (syntax === 'new' && op === '=?=') op = 'is';
      else if (syntax === 'new' && op === '=!=') op = 'isnt';
      else if (syntax === 'old' && op === 'is') op = '=?=';
      else if (syntax === 'old' && op === 'isnt') op = '=!=';
      return `${unparse(node.left, syntax)} ${op} ${unparse(node.right, syntax)}`;
    }
    case 'ternary':
      return `${unparse(node.cond, syntax)} ? ${unparse(node.then, syntax)} : ${unparse(node.otherwise, syntax)}`;
    case 'elvis':
      return `${unparse(node.left, syntax)} ${node.tight ? '?:' : '? :'} ${unparse(node.right, syntax)}`;
    case 'call':
      return `${node.name}(${node.args.map((a) => unparse(a, syntax)).join(',')})`;
    case 'list':
      return printList(node.items.map((item) => unparse(item, syntax)));
    case 'record':
      return printRecord(node.attrs, syntax);
    case 'paren':
      return `(${unparse(node.inner, syntax)})`;
  }
}

/** A whole ad in new syntax, on one line: `[ a = 1; b = "x" ]`. */
export function printClassAd(ad: ClassAd): string {
  return printRecord(ad.entries(), 'new');
}

/**
 * A whole ad in old syntax: one `Name = expr` line each, newline-terminated.
 * Throws an HtcError (CLASSAD_INVALID) naming the attribute when a string
 * in it has no old-syntax form (see the header).
 */
export function printOldClassAd(ad: ClassAd): string {
  return ad.entries().map(([name, node]) => `${printName(name)} = ${unparseOldAttribute(name, node)}\n`).join('');
}

function unparseOldAttribute(name: string, node: Node): string {
  try {
    // A string alone on its line may end in a backslash: the reader takes
    // `\"` at the end of a line as a backslash and the closing quote.
    if (node.kind === 'literal' && typeof node.value === 'string') return printOldString(node.value, true);
    return unparse(node, 'old');
  } catch (error) {
    if (error instanceof HtcError && error.message.startsWith(CANNOT_WRITE_OLD)) {
      throw new HtcError('CLASSAD_INVALID', `attribute ${printName(name)} ${error.message}`);
    }
    throw error;
  }
}
