/**
 * The job builder: what a command handler reads (expanded command values)
 * and writes (job ad attributes), with errors placed at the command's value.
 *
 * A builder writes into `out`; reads of attributes fall back to `base`, so
 * the same handlers build a whole cluster ad (base empty) or one proc's
 * differences over the cluster ad (base = cluster ad).
 */
import {
  type ClassAd, ClassAdSyntaxError, ERROR, UNDEFINED, evaluate, parseExpression, unparse,
  type Node, type Value,
} from '../classad/index.ts';
import { SubmitError, ValueError, atValue, type SubmitWarning, type ValueSite } from './submit-error.ts';

/** Fixed facts about one submit: who, when, where. */
export interface JobOptions {
  /** The job's owner (the AP overrides it with the authenticated identity). */
  readonly owner: string;
  /** Submit time, seconds since the epoch (QDate). */
  readonly now: number;
  /** The directory relative paths start from when no initialdir is given. */
  readonly cwd: string;
  /** The submitter's environment, for `getenv`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--annex-name`: bind every job to this annex (TargetAnnexName). */
  readonly annexName?: string;
  /** The submitter's file system (FileSystemDomain), for should_transfer_files = NO or IF_NEEDED. */
  readonly fileSystemDomain?: string;
}

/** Expanded command values, as the builder sees them. */
export interface CommandValues {
  /** The expanded value of a command (case-insensitive); undefined when not given or empty. */
  value(command: string): string | undefined;
  /** Where the command's value is written (the queue statement's place when it is not given). */
  site(command: string): ValueSite;
  /** True when macros changed the value, so offsets into it do not match the file. */
  expanded(command: string): boolean;
}

/** Records what handlers touch (lower-case names), for the static/dynamic split. */
export interface AccessLog {
  command(name: string): void;
  read(attribute: string): void;
  write(attribute: string): void;
}

export class JobBuilder {
  constructor(
    readonly commands: CommandValues,
    readonly options: JobOptions,
    readonly base: ClassAd | null,
    readonly out: ClassAd,
    private readonly warnings: SubmitWarning[],
    private readonly log?: AccessLog,
  ) {}

  value(command: string): string | undefined {
    this.log?.command(command.toLowerCase());
    return this.commands.value(command);
  }

  /** The first of several spellings that is given (`output`, `stdout`). */
  first(...commands: string[]): [string, string] | undefined {
    for (const c of commands) {
      const v = this.value(c);
      if (v !== undefined) return [c, v];
    }
    return undefined;
  }

  /** An attribute's expression as built so far (this proc first, then the cluster). */
  get(attribute: string): Node | undefined {
    this.log?.read(attribute.toLowerCase());
    return this.out.get(attribute) ?? this.base?.get(attribute);
  }

  /** An attribute's value when it is a literal (or evaluates without references). */
  literal(attribute: string): Value {
    const node = this.get(attribute);
    if (node === undefined) return UNDEFINED;
    return node.kind === 'literal' ? node.value : ERROR;
  }

  set(attribute: string, value: Value): void {
    this.setNode(attribute, { kind: 'literal', value });
  }

  setNode(attribute: string, node: Node): void {
    this.log?.write(attribute.toLowerCase());
    this.out.set(attribute, node);
  }

  /** Parses `text` (the value of `command`) as a ClassAd expression and sets it. */
  setExpression(attribute: string, text: string, command: string): void {
    this.setNode(attribute, this.parse(text, command));
  }

  parse(text: string, command: string): Node {
    try {
      return parseExpression(text);
    } catch (error) {
      if (error instanceof ClassAdSyntaxError && error.position !== undefined) {
        throw atValue(new ValueError(`${command}: not a valid ClassAd expression: ${error.message}`, this.offsetIn(command, error.position.column - 1)), this.siteOf(command));
      }
      throw error;
    }
  }

  /** A boolean command (true/false/yes/no/1/0, or an expression that evaluates to one). */
  boolean(command: string): boolean | undefined {
    const v = this.value(command);
    if (v === undefined) return undefined;
    const word = v.toLowerCase();
    if (word === 'true' || word === 'yes' || word === '1' || word === 't' || word === 'y') return true;
    if (word === 'false' || word === 'no' || word === '0' || word === 'f' || word === 'n') return false;
    const value = this.tryEvaluate(v);
    if (typeof value === 'boolean') return value;
    return this.fail(command, `${command} = ${v} is invalid: expected true or false`);
  }

  /** An integer command. */
  integer(command: string, min = -Infinity): number | undefined {
    const v = this.value(command);
    if (v === undefined) return undefined;
    const value = this.tryEvaluate(v);
    if (typeof value === 'number' && value >= min) return value;
    return this.fail(command, `${command} = ${v} is invalid: expected ${min === 0 ? 'a whole number of 0 or more' : 'a whole number'}`);
  }

  private tryEvaluate(text: string): Value {
    try {
      return evaluate(parseExpression(text));
    } catch {
      return ERROR;
    }
  }

  siteOf(command: string): ValueSite {
    return this.commands.site(command);
  }

  /** An offset into the expanded value, as a column offset in the file (0 when macros moved things). */
  private offsetIn(command: string, offset: number): number {
    return this.commands.expanded(command) ? 0 : offset;
  }

  /** Throws a SubmitError at the value of `command` (plus `offset` characters into it). */
  fail(command: string, message: string, offset = 0): never {
    throw atValue(new ValueError(message, this.offsetIn(command, offset)), this.siteOf(command));
  }

  /** Re-places a ValueError from a leaf parser at `command`'s value. */
  rethrow(error: unknown, command: string): never {
    if (error instanceof ValueError) throw atValue(new ValueError(error.message, this.offsetIn(command, error.offset)), this.siteOf(command), command);
    throw error;
  }

  warn(command: string | undefined, message: string): void {
    const site = command === undefined ? undefined : this.commands.site(command);
    this.warnings.push(site === undefined ? { message } : { message, position: { ...(site.file === undefined ? {} : { file: site.file }), line: site.line, column: site.column } });
  }

  /** The expression text of an attribute as built so far (for building Requirements). */
  text(attribute: string): string | undefined {
    const node = this.get(attribute);
    return node === undefined ? undefined : unparse(node);
  }
}

export { SubmitError };
