/**
 * Reading a submit description: the statement structure under the commands.
 *
 * Handles, as condor_submit does: `#` comment lines, `\` line continuation,
 * `key = value` definitions (keys case-insensitive; `+Attr` is `MY.Attr`),
 * `include : FILE` (relative to the including file's directory; cycles are
 * errors), `if` / `elif` / `else` / `endif` with `defined NAME`, `version`
 * comparisons, booleans and ClassAd expressions after macro expansion, and
 * queue statements, whose parenthesized item lists may span lines.
 *
 * Definitions take effect in file order (the last one before a queue
 * statement wins); `if` conditions see the definitions made above them.
 * Every error carries file, line and column.
 */
import { dirname, resolve } from 'node:path';
import { booleanEquivalent, ClassAdSyntaxError, parseExpression, evaluate, ERROR, UNDEFINED } from '../classad/index.ts';
import { FileProblem, type SubmitFiles } from './files.ts';
import { expand, type ExpandContext, type MacroLookup } from './macros.ts';
import { SubmitError, ValueError, atValue, type ValueSite } from './submit-error.ts';

/** One `name = value` as written. */
export interface Definition {
  /** The name as written (for `+Attr`, written as `MY.Attr`). */
  readonly name: string;
  readonly value: string;
  /** Where the value starts. */
  readonly site: ValueSite;
  /** The line as written, for warnings. */
  readonly text: string;
}

/** Macro definitions by case-insensitive name; the last definition wins. */
export class MacroTable implements MacroLookup {
  private readonly byName: Map<string, Definition>;

  constructor(entries?: Iterable<readonly [string, Definition]>) {
    this.byName = new Map(entries);
  }

  define(def: Definition): void {
    this.byName.set(def.name.toLowerCase(), def);
  }

  get(name: string): string | undefined {
    return this.byName.get(name.toLowerCase())?.value;
  }

  definition(name: string): Definition | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** Every definition, by lower-cased name. */
  entries(): IterableIterator<[string, Definition]> {
    return this.byName.entries();
  }

  /** A copy: the table as it stands at a queue statement. */
  snapshot(): MacroTable {
    return new MacroTable(this.byName);
  }
}

/** A queue statement: the text after `queue`, with a multi-line item list joined by newlines. */
export interface QueueStatement {
  readonly text: string;
  /** Where the `queue` keyword is. */
  readonly site: ValueSite;
}

export interface ReadOptions {
  readonly files: SubmitFiles;
  readonly context: ExpandContext;
  /** Called at each queue statement, in order, with the table as it is then. */
  readonly onQueue: (statement: QueueStatement, table: MacroTable) => void;
  /** Names the reader's own expansions used (queue, include, if), for the unused-line warning. */
  readonly used: Set<string>;
}

/** The version `if version >= X` compares with: the HTCondor release whose language htc speaks. */
export const COMPATIBLE_HTCONDOR_VERSION = '24.0.0';

interface Line {
  readonly text: string;
  readonly line: number;
}

interface Conditional {
  /** Some branch of this if/elif chain has been taken. */
  taken: boolean;
  /** Lines are being read in the current branch. */
  active: boolean;
  /** An `else` was seen. */
  sawElse: boolean;
  readonly line: number;
}

const KEY = /^([+]?[A-Za-z_][A-Za-z0-9_.]*)\s*=/;
const DIRECTIVE = /^(if|elif|else|endif|include)\b/i;
const QUEUE = /^queue(?=\s|$)/i;

/**
 * Reads the description in `text` (from `file`) into `table`, calling
 * `onQueue` at each queue statement. `stack` holds the files being included
 * (cycle detection).
 */
export function readSubmitDescription(text: string, file: string, table: MacroTable, options: ReadOptions, stack: readonly string[] = [], includedAt?: ValueSite): void {
  const absolute = resolve(file);
  if (stack.includes(absolute)) {
    throw new SubmitError(`include cycle: ${[...stack, absolute].join(' -> ')}`, includedAt);
  }
  const lines = logicalLines(text);
  const conditionals: Conditional[] = [];
  const active = (): boolean => conditionals.every((c) => c.active);
  const at = (line: number, column: number): ValueSite => ({ file, line, column });

  for (let i = 0; i < lines.length; i++) {
    const { text: raw, line } = lines[i]!;
    const indent = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (body === '' || body.startsWith('#')) continue;

    const directive = DIRECTIVE.exec(body)?.[1]?.toLowerCase();
    if (directive !== undefined && !KEY.test(body)) {
      const rest = body.slice(directive.length).trim();
      const restColumn = indent + 1 + body.length - body.slice(directive.length).trimStart().length;
      switch (directive) {
        case 'if': {
          const on = active() && condition(rest, at(line, restColumn), table, options);
          conditionals.push({ taken: on, active: on, sawElse: false, line });
          break;
        }
        case 'elif': {
          const c = conditionals.at(-1);
          if (c === undefined || c.sawElse) throw new SubmitError(c === undefined ? 'elif without if' : 'elif after else', { file, line, column: indent + 1 });
          const outer = conditionals.slice(0, -1).every((x) => x.active);
          c.active = outer && !c.taken && condition(rest, at(line, restColumn), table, options);
          if (c.active) c.taken = true;
          break;
        }
        case 'else': {
          const c = conditionals.at(-1);
          if (c === undefined || c.sawElse) throw new SubmitError(c === undefined ? 'else without if' : 'a second else for one if', { file, line, column: indent + 1 });
          if (rest !== '') throw new SubmitError(`unexpected text after else: ${rest}`, { file, line, column: restColumn });
          c.sawElse = true;
          c.active = !c.taken;
          c.taken = true;
          break;
        }
        case 'endif':
          if (conditionals.pop() === undefined) throw new SubmitError('endif without if', { file, line, column: indent + 1 });
          break;
        case 'include':
          if (active()) include(rest, at(line, restColumn), file, table, options, [...stack, absolute]);
          break;
      }
      continue;
    }

    if (QUEUE.test(body)) {
      // An item list in parentheses may span lines up to a line starting with ")".
      let statement = body.slice('queue'.length).trim();
      const open = statement.indexOf('(');
      if (open >= 0 && !statement.includes(')', open)) {
        const inner: string[] = [];
        for (;;) {
          i++;
          if (i >= lines.length) throw new SubmitError('queue item list opened with "(" is never closed with ")"', { file, line, column: indent + 1 + body.indexOf('(') });
          const t = lines[i]!.text.trim();
          if (t.startsWith(')')) {
            statement = `${statement.slice(0, open + 1)}\n${[statement.slice(open + 1), ...inner].filter((x) => x.trim() !== '').join('\n')}\n${t}`;
            break;
          }
          if (t !== '' && !t.startsWith('#')) inner.push(t);
        }
      }
      if (active()) options.onQueue({ text: statement, site: at(line, indent + 1) }, table);
      continue;
    }

    const key = KEY.exec(body);
    if (key === null) {
      throw new SubmitError(`expected "name = value", a queue statement, include or if/else/endif; found ${JSON.stringify(body.length > 40 ? `${body.slice(0, 40)}...` : body)}`, { file, line, column: indent + 1 });
    }
    if (!active()) continue;
    const name = key[1]!.startsWith('+') ? `MY.${key[1]!.slice(1)}` : key[1]!;
    const afterEquals = body.slice(key[0].length);
    const value = afterEquals.trim();
    const valueColumn = indent + 1 + key[0].length + (afterEquals.length - afterEquals.trimStart().length);
    table.define({ name, value, site: at(line, valueColumn), text: body });
  }
  const open = conditionals.at(-1);
  if (open !== undefined) throw new SubmitError('if without endif', { file, line: open.line, column: 1 });
}

/** Physical lines joined where a line ends in a backslash; each keeps its first line number. */
function logicalLines(text: string): Line[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const out: Line[] = [];
  for (let i = 0; i < physical.length; i++) {
    const line = i + 1;
    let t = physical[i]!;
    while (/\\\s*$/.test(t) && !t.trimStart().startsWith('#') && i + 1 < physical.length) {
      t = t.replace(/\\\s*$/, '');
      // A comment line inside a continuation is skipped, as condor_submit does.
      while (i + 1 < physical.length && physical[i + 1]!.trimStart().startsWith('#')) i++;
      if (i + 1 < physical.length) t += physical[++i]!;
    }
    out.push({ text: t, line });
  }
  return out;
}

function include(rest: string, site: ValueSite, file: string, table: MacroTable, options: ReadOptions, stack: readonly string[]): void {
  const m = /^(ifexist\s*)?:\s*(.*)$/i.exec(rest);
  if (m === null) {
    if (/^command\s*:/i.test(rest)) throw new SubmitError('include command : is not supported: htc runs no commands while reading a submit file', site);
    throw new SubmitError('expected "include : FILE"', site);
  }
  const nameSite = { ...site, column: site.column + m[0].length - m[2]!.length };
  const named = expandAt(m[2]!, nameSite, table, options).trim();
  if (named === '') throw new SubmitError('include : needs a file name', site);
  site = nameSite;
  const path = resolve(dirname(file), named);
  let text: string;
  try {
    text = options.files.readText(path);
  } catch (error) {
    if (error instanceof FileProblem) {
      if (error.missing && m[1] !== undefined) return;
      throw new SubmitError(`include: ${error.message}`, site);
    }
    throw error;
  }
  readSubmitDescription(text, path, table, options, stack, site);
}

function expandAt(text: string, site: ValueSite, table: MacroTable, options: ReadOptions): string {
  try {
    const e = expand(text, table, options.context);
    for (const name of e.used) options.used.add(name);
    return e.text;
  } catch (error) {
    if (error instanceof ValueError) throw atValue(error, site);
    throw error;
  }
}

/**
 * An `if` / `elif` condition: `defined NAME`, `! defined NAME`,
 * `version OP X.Y.Z`, a boolean word or number, or a ClassAd expression,
 * each after macro expansion.
 */
function condition(text: string, site: ValueSite, table: MacroTable, options: ReadOptions): boolean {
  if (text === '') throw new SubmitError('if needs a condition', site);
  const expanded = expandAt(text, site, table, options).trim();
  const defined = /^(!\s*)?defined\s+(\S*)\s*$/i.exec(expanded);
  if (defined !== null) {
    const name = defined[2]!;
    options.used.add(name.toLowerCase());
    const isDefined = name !== '' && (table.get(name) ?? '') !== '';
    return defined[1] === undefined ? isDefined : !isDefined;
  }
  const version = /^version\s*(==|!=|>=|<=|>|<)\s*([0-9][0-9.]*)\s*$/i.exec(expanded);
  if (version !== null) return compareVersion(COMPATIBLE_HTCONDOR_VERSION, version[2]!, version[1]!);
  const word = expanded.toLowerCase();
  if (word === 'true' || word === 'yes') return true;
  if (word === 'false' || word === 'no' || word === '') return false;
  let value;
  try {
    value = evaluate(parseExpression(expanded));
  } catch (error) {
    if (error instanceof ClassAdSyntaxError) throw new SubmitError(`cannot read the condition ${JSON.stringify(expanded)}: ${error.message}`, site);
    throw error;
  }
  const b = booleanEquivalent(value);
  if (b === undefined || value === ERROR || value === UNDEFINED) {
    throw new SubmitError(`the condition ${JSON.stringify(expanded)} is not true or false`, site);
  }
  return b;
}

function compareVersion(have: string, want: string, op: string): boolean {
  const a = have.split('.').map(Number);
  const b = want.split('.').map(Number);
  let c = 0;
  for (let i = 0; i < Math.max(a.length, b.length) && c === 0; i++) c = Math.sign((a[i] ?? 0) - (b[i] ?? 0));
  switch (op) {
    case '==': return c === 0;
    case '!=': return c !== 0;
    case '>=': return c >= 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    default: return c < 0;
  }
}
