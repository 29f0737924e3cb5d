/**
 * Queue statements: how many procs a submit makes and the items they iterate.
 *
 *   queue [N]
 *   queue [N] [VAR[, VAR...]] in [SLICE] (ITEMS) | ITEMS
 *   queue [N] [VAR[, VAR...]] from [SLICE] FILE | (LINES)
 *   queue [N] [VAR] matching [files|dirs] [SLICE] PATTERN...
 *
 * N (default 1) procs are made per item ($(Step) counts them); the variable
 * names default to Item. `in` items are separated by commas and/or spaces,
 * `from` has one item per line (blank and `#` lines skipped), each line split
 * into the variables by `splitItem`. `matching` globs (`*`, `?`, `[...]`) in the submit directory, sorted,
 * hidden names only when the pattern starts with a dot. SLICE is Python's
 * `[start:stop:step]`.
 *
 * Items are kept as one array of strings: a 100,000-line `from` file is
 * 100,000 strings, and a plain `queue 1000000` is a count, nothing more.
 */
import { dirname, join, resolve } from 'node:path';
import { ClassAdSyntaxError, evaluate, isInt, intToNumber, parseExpression } from '../classad/index.ts';
import { FileProblem, type SubmitFiles } from './files.ts';
import { SubmitError, type ValueSite } from './submit-error.ts';

export interface QueueSpec {
  /** Procs per item. */
  readonly count: number;
  /** Variable names bound from each item, as written (Item when none given). */
  readonly vars: readonly string[];
  /** The items, or undefined for a plain `queue N`. */
  readonly items: readonly string[] | undefined;
  /** When a slice picked the items: each item's index in the unsliced list (for $(ItemIndex) and $(Row)). */
  readonly indexes: readonly number[] | undefined;
  /** For `from`/`in`: split rows into vars; for `matching`: the whole name. */
  readonly splitFields: boolean;
}

export const DEFAULT_ITEM_VAR = 'Item';

interface QueueContext {
  readonly files: SubmitFiles;
  /** The submit file, for relative paths. */
  readonly submitFile: string;
}

const KEYWORD = /(?:^|[\s,])(in|from|matching)(?=\s|\(|\[|$)/i;

/** Parses the text after `queue` (already macro-expanded). */
export function parseQueueStatement(text: string, site: ValueSite, ctx: QueueContext): QueueSpec {
  const fail = (message: string, offset = 0): never => {
    throw new SubmitError(message, { ...(site.file === undefined ? {} : { file: site.file }), line: site.line, column: site.column + 6 + offset });
  };
  const keyword = KEYWORD.exec(text);
  const head = (keyword === null ? text : text.slice(0, keyword.index + (keyword[0].length - keyword[1]!.length))).trim();
  const { count, vars } = parseHead(head, fail);
  if (keyword === null) {
    if (vars.length > 0) fail(`expected in, from or matching after the variable names ${vars.join(', ')}`, text.indexOf(vars[0]!));
    return { count, vars: [], items: undefined, indexes: undefined, splitFields: false };
  }
  const kind = keyword[1]!.toLowerCase();
  let rest = text.slice(keyword.index + keyword[0].length).trim();
  const restOffset = text.length - text.slice(keyword.index + keyword[0].length).trimStart().length;
  let mode: 'files' | 'dirs' | 'any' = 'any';
  if (kind === 'matching') {
    const m = /^(files|dirs)\b\s*/i.exec(rest);
    if (m !== null) {
      mode = m[1]!.toLowerCase() as 'files' | 'dirs';
      rest = rest.slice(m[0].length);
    }
  }
  let slice: Slice | undefined;
  const s = /^\[([^\]]*)\]\s*/.exec(rest);
  if (s !== null) {
    slice = parseSlice(s[1]!, (message) => fail(message, restOffset));
    rest = rest.slice(s[0].length);
  }
  let all: string[];
  if (kind === 'in') {
    all = splitList(unparenthesize(rest, (m) => fail(m, restOffset)));
  } else if (kind === 'from') {
    if (rest.startsWith('(')) all = lines(unparenthesize(rest, (m) => fail(m, restOffset)));
    else {
      if (rest === '') fail('expected a file name or "(" after from', restOffset);
      const path = resolve(dirname(ctx.submitFile), rest);
      try {
        all = lines(ctx.files.readText(path));
      } catch (error) {
        if (error instanceof FileProblem) fail(`queue from: ${error.message}`, restOffset);
        throw error;
      }
    }
  } else {
    const patterns = splitList(rest.startsWith('(') ? unparenthesize(rest, (m) => fail(m, restOffset)) : rest);
    if (patterns.length === 0) fail('expected a file pattern after matching', restOffset);
    all = matchFiles(patterns, mode, dirname(resolve(ctx.submitFile)), ctx.files, (m) => fail(m, restOffset));
  }
  const picked = slice === undefined ? undefined : sliceIndexes(all.length, slice);
  const items = picked === undefined ? all : picked.map((i) => all[i]!);
  return {
    count,
    vars: vars.length > 0 ? vars : [DEFAULT_ITEM_VAR],
    items,
    indexes: picked,
    splitFields: kind !== 'matching',
  };
}

function parseHead(head: string, fail: (message: string, offset?: number) => never): { count: number; vars: string[] } {
  if (head === '') return { count: 1, vars: [] };
  // As condor_submit does, the variable names are read backwards from the
  // end (names separated by commas and/or spaces); what is left is the count,
  // which may be an expression (`queue 2 * 3 x`).
  const tokens = [...head.matchAll(/[^\s,]+/g)];
  let firstVar = tokens.length;
  while (firstVar > 0 && /^[A-Za-z_][A-Za-z0-9_.]*$/.test(tokens[firstVar - 1]![0])) firstVar--;
  const countText = firstVar === 0 ? '' : head.slice(0, tokens[firstVar - 1]!.index + tokens[firstVar - 1]![0].length);
  const varText = firstVar === tokens.length ? undefined : tokens.slice(firstVar).map((t) => t[0]).join(',');
  let count = 1;
  if (countText.trim() !== '') {
    let value;
    try {
      value = evaluate(parseExpression(countText));
    } catch (error) {
      if (error instanceof ClassAdSyntaxError) fail(`expected a count (a number) or variable names after queue, found ${JSON.stringify(countText)}`);
      throw error;
    }
    if (!isInt(value) || intToNumber(value) < 0) fail(`the queue count must be a whole number of 0 or more, found ${JSON.stringify(countText)}`);
    count = intToNumber(value);
  }
  const vars = varText === undefined ? [] : varText.split(',').map((v) => v.trim());
  return { count, vars };
}

/** `( ... )` → its inside; text without parentheses as is. */
function unparenthesize(text: string, fail: (message: string) => never): string {
  if (!text.startsWith('(')) return text;
  const close = text.lastIndexOf(')');
  if (close < 0) fail('expected ")" closing the item list');
  if (text.slice(close + 1).trim() !== '') fail(`unexpected text after ")": ${text.slice(close + 1).trim()}`);
  return text.slice(1, close);
}

function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter((x) => x !== '');
}

function lines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const t = raw.trim();
    if (t !== '' && !t.startsWith('#')) out.push(t);
  }
  return out;
}

/**
 * Splits one item into `n` fields as condor_submit does: a field ends at a
 * comma, space or tab (which is consumed), then only spaces and tabs are
 * skipped, so "a, b" is [a, b] but "a ,b" is [a, ",b"]; the last field takes
 * the rest of the line. A 0x1F (unit separator) in the item is then the only
 * separator.
 */
export function splitItem(item: string, n: number): string[] {
  if (n <= 1) return [item];
  if (item.includes('\x1f')) {
    const parts = item.split('\x1f');
    return [...parts.slice(0, n - 1), parts.slice(n - 1).join('\x1f')];
  }
  const fields: string[] = [];
  let i = 0;
  while (item[i] === ' ' || item[i] === '\t') i++;
  for (let k = 0; k < n - 1; k++) {
    let end = i;
    while (end < item.length && item[end] !== ',' && item[end] !== ' ' && item[end] !== '\t') end++;
    fields.push(item.slice(i, end));
    i = Math.min(end + 1, item.length);
    while (item[i] === ' ' || item[i] === '\t') i++;
  }
  fields.push(item.slice(i));
  return fields;
}

interface Slice {
  readonly start: number | undefined;
  readonly stop: number | undefined;
  readonly step: number | undefined;
}

function parseSlice(text: string, fail: (message: string) => never): Slice {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() !== '' && !/^\s*-?\d+\s*$/.test(p))) {
    fail(`expected a slice [start:stop] or [start:stop:step] of integers, found [${text}]`);
  }
  const num = (p: string | undefined): number | undefined => (p === undefined || p.trim() === '' ? undefined : Number(p));
  const step = num(parts[2]);
  if (step === 0) fail('a slice step may not be 0');
  return { start: num(parts[0]), stop: num(parts[1]), step };
}

/** Python slice semantics over `length` items. */
function sliceIndexes(length: number, s: Slice): number[] {
  const step = s.step ?? 1;
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const norm = (v: number | undefined, dflt: number): number => (v === undefined ? dflt : v < 0 ? v + length : v);
  const out: number[] = [];
  if (step > 0) {
    const start = clamp(norm(s.start, 0), 0, length);
    const stop = clamp(norm(s.stop, length), 0, length);
    for (let i = start; i < stop; i += step) out.push(i);
  } else {
    const start = clamp(norm(s.start, length - 1), -1, length - 1);
    const stop = clamp(norm(s.stop, -1 - length) , -1, length - 1);
    for (let i = start; i > stop; i += step) out.push(i);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function matchFiles(patterns: readonly string[], mode: 'files' | 'dirs' | 'any', base: string, files: SubmitFiles, fail: (message: string) => never): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const slash = pattern.lastIndexOf('/');
    const dirPart = slash >= 0 ? pattern.slice(0, slash + 1) : '';
    const namePart = slash >= 0 ? pattern.slice(slash + 1) : pattern;
    if (/[*?[]/.test(dirPart)) fail(`wildcards are allowed only in the last part of a matching pattern: ${pattern}`);
    const re = globToRegExp(namePart);
    let entries;
    try {
      entries = files.listDir(resolve(base, dirPart === '' ? '.' : dirPart));
    } catch (error) {
      if (error instanceof FileProblem) {
        if (error.missing) continue;
        fail(`queue matching: ${error.message}`);
      }
      throw error;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') && !namePart.startsWith('.')) continue;
      if (mode === 'files' && e.isDirectory) continue;
      if (mode === 'dirs' && !e.isDirectory) continue;
      if (re.test(e.name)) found.add(dirPart === '' ? e.name : join(dirPart, e.name));
    }
  }
  return [...found].sort();
}
