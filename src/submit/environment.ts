/**
 * The `environment` (alias `env`) and `getenv` submit commands: HTCondor's
 * two environment syntaxes, the job-ad attribute condor_submit writes, and
 * importing the submitter's environment (env.cpp, env.h, submit_utils.cpp
 * SetEnvironment).
 *
 * - Old syntax (V1): `NAME=value;NAME=value` (`;` or a newline separates on
 *   Unix). If the value starts with one of ``!#$%&*+,-/:;<>?@^`|~`` that
 *   character is the separator instead (MergeFromV1AutoDelim). Leading
 *   whitespace of an entry is dropped, trailing whitespace kept; empty
 *   entries are skipped.
 * - New syntax (V2): the whole value in double quotes (`""` for `"`); inside,
 *   whitespace separates `NAME=value` entries, single quotes group (`''` is a
 *   literal `'`), exactly like V2 arguments.
 * - Each entry splits at its first `=`; a missing `=` or an empty name is an
 *   error. A later entry for the same name replaces the earlier one.
 * - The ad gets `Environment` = the V2 raw form, entries sorted by name
 *   (HTCondor keeps them in a std::map) and quoted like arguments — except
 *   when the command was spelled `env` and the value is old syntax: then
 *   `Env` = the V1 raw form (`;`-joined, sorted), and HTCondor also writes
 *   `EnvDelim = ";"` (ENV_V1_DELIMITER).
 *
 * Naming: formatEnvironmentV2 / formatEnvironmentV1 give the job-ad (raw)
 * forms, formatEnvironmentV2Quoted the submit-file form.
 *
 * Invariants: pure (the process environment is passed in, never read);
 * errors are ValueErrors with the 0-based offset of the entry at fault;
 * `vars` keeps names in the order they were first given.
 */
import {
  isBlank,
  isV2Quoted,
  splitV2Located,
  v2QuotedToRaw,
  argvToV2,
  v2RawToQuoted,
  type LocatedToken,
} from './arguments.ts';
import { ValueError } from './submit-error.ts';

export interface JobEnvironment {
  /** `Environment` (V2 raw value) unless `env` was given old syntax: then `Env` (V1 raw value). */
  readonly attribute: 'Env' | 'Environment';
  /** The attribute's string value exactly as condor_submit writes it. */
  readonly value: string;
  /** The variables, in the order first given (later values for a name win). */
  readonly vars: ReadonlyMap<string, string>;
}

export interface ParseEnvironmentOptions {
  /**
   * The command the value was given with. HTCondor (9.13 and later) writes
   * the V1 `Env` attribute only for `env = <old syntax>`; `environment`
   * always yields `Environment`. Default `environment`.
   */
  readonly command?: 'environment' | 'env';
}

/** The V1 separator on Unix; condor_submit writes it as `EnvDelim` next to `Env`. */
export const ENV_V1_DELIMITER = ';';

/** Characters that, first in an old-syntax value, name its separator (env.cpp is_permitted_delim). */
const PERMITTED_V1_DELIMITERS = '!#$%&*+,-/:;<>?@^`|~\x1F';

/** Orders names as std::map<std::string> does: by UTF-8 bytes, i.e. by code point. */
function compareNames(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]?.codePointAt(0) ?? 0;
    const y = cb[i]?.codePointAt(0) ?? 0;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}

function sortedEntries(vars: ReadonlyMap<string, string>): [string, string][] {
  return [...vars.entries()].sort(([a], [b]) => compareNames(a, b));
}

function checkName(name: string): void {
  if (name === '' || name.includes('=')) {
    throw new Error(`invalid environment variable name ${JSON.stringify(name)}: it must be non-empty and contain no '='`);
  }
}

/**
 * The V2 raw form of the variables: the `Environment` attribute value
 * condor_submit writes (Env::getDelimitedStringV2Raw: sorted by name, each
 * `NAME=value` quoted like an argument).
 */
export function formatEnvironmentV2(vars: ReadonlyMap<string, string>): string {
  return argvToV2(
    sortedEntries(vars).map(([name, value]) => {
      checkName(name);
      return `${name}=${value}`;
    }),
  );
}

/**
 * The variables in the new submit syntax (V2 quoted), as they would be
 * written after `environment =`; parseEnvironment gives the same variables
 * back (sorted by name).
 */
export function formatEnvironmentV2Quoted(vars: ReadonlyMap<string, string>): string {
  return v2RawToQuoted(formatEnvironmentV2(vars));
}

/**
 * The V1 raw form (the `Env` attribute value): sorted `NAME=value` joined by
 * `;`; undefined when a name or value contains `;` or a newline, which V1
 * cannot express (Env::getDelimitedStringV1Raw).
 */
export function formatEnvironmentV1(vars: ReadonlyMap<string, string>): string | undefined {
  const parts: string[] = [];
  for (const [name, value] of sortedEntries(vars)) {
    checkName(name);
    if (!isSafeV1(name) || !isSafeV1(value)) return undefined;
    parts.push(`${name}=${value}`);
  }
  return parts.join(ENV_V1_DELIMITER);
}

function isSafeV1(text: string): boolean {
  return !text.includes(ENV_V1_DELIMITER) && !text.includes('\n');
}

/** Adds one `NAME=value` entry (Env::SetEnvWithErrorMessage). */
function addEntry(vars: Map<string, string>, where: Map<string, number>, entry: LocatedToken): void {
  const eq = entry.text.indexOf('=');
  if (eq < 0) {
    throw new ValueError(
      `missing '=' in environment entry ${JSON.stringify(entry.text)}: expected NAME=value`,
      entry.offset,
    );
  }
  if (eq === 0) {
    throw new ValueError(
      `missing variable name in environment entry ${JSON.stringify(entry.text)}: expected NAME=value`,
      entry.offset,
    );
  }
  const name = entry.text.slice(0, eq);
  vars.set(name, entry.text.slice(eq + 1));
  where.set(name, entry.offset);
}

/** Splits an old-syntax value into its entries (MergeFromV1AutoDelim + ReadFromDelimitedString). */
function splitV1(value: string): LocatedToken[] {
  let delim = ENV_V1_DELIMITER;
  let i = 0;
  const first = value[0];
  if (first !== undefined && PERMITTED_V1_DELIMITERS.includes(first)) {
    delim = first;
    i = 1;
  }
  const entries: LocatedToken[] = [];
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === '\n' || value[i] === '\r')) i++;
    const start = i;
    while (i < value.length && value[i] !== delim && value[i] !== '\n') i++;
    if (i > start) entries.push({ text: value.slice(start, i), offset: start });
    i++;
  }
  return entries;
}

/**
 * Parses the value of the `environment` command as condor_submit does
 * (MergeFromV1RawOrV2Quoted) and gives the attribute it writes. An empty
 * value (or only whitespace) counts as not given: `Environment = ""`.
 */
export function parseEnvironment(value: string, options: ParseEnvironmentOptions = {}): JobEnvironment {
  const vars = new Map<string, string>();
  const where = new Map<string, number>();
  if (isBlank(value)) return { attribute: 'Environment', value: '', vars };
  if (isV2Quoted(value)) {
    for (const entry of splitV2Located(v2QuotedToRaw(value))) addEntry(vars, where, entry);
    return { attribute: 'Environment', value: formatEnvironmentV2(vars), vars };
  }
  for (const entry of splitV1(value)) addEntry(vars, where, entry);
  if (options.command !== 'env') {
    return { attribute: 'Environment', value: formatEnvironmentV2(vars), vars };
  }
  const v1 = formatEnvironmentV1(vars);
  if (v1 === undefined) {
    // Only reachable with another separator (e.g. `|A=x;y`): `Env` is always written with `;`.
    const [name, val] = [...vars].find(([n, v]) => !isSafeV1(n) || !isSafeV1(v)) ?? ['', ''];
    throw new ValueError(
      `environment entry ${JSON.stringify(`${name}=${val}`)} cannot be written in the old (Env) syntax because it contains ';': ` +
        'use the new syntax (enclose the value in double quotes) or the environment command',
      where.get(name) ?? 0,
    );
  }
  return { attribute: 'Env', value: v1, vars };
}

/**
 * Matches a name against a getenv pattern: `*` stands for any run of
 * characters, anywhere and any number of times; case is ignored. (HTCondor's
 * matches_withwildcard_impl takes one leading or inner `*` plus one trailing,
 * and its end check never fails, so there `*X` matches any name containing X.)
 */
function matchesPattern(pattern: string, name: string): boolean {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${body}$`, 'i').test(name);
}

/** The getenv value as a boolean, or undefined when it is a list of names (string_is_boolean_param). */
function getenvBoolean(text: string): boolean | undefined {
  if (/^(?:true|yes|1)$/i.test(text)) return true;
  if (/^(?:false|no|0)$/i.test(text)) return false;
  return undefined;
}

/**
 * Applies the `getenv` command: `true` imports the whole submitter
 * environment, `false` nothing (HTCondor's string_is_boolean_param takes
 * true/false/1/0 in any case; yes/no are taken here too, where HTCondor
 * would read them as variable names); any other value is a list of names and
 * `*` patterns separated by commas, semicolons or whitespace, where `!NAME`
 * excludes (WhiteBlackEnvFilter: excluded if it matches an exclusion; when
 * any inclusion is given, only names matching one are imported). Variables
 * already set by `environment` win (Env::Import never overwrites); values
 * containing a newline are skipped, and so are values containing `;` when
 * the result is written as V1 `Env`. Returns `env` unchanged when nothing is
 * to be imported, undefined when there was no environment and getenv is
 * false or empty.
 */
export function mergeGetenv(
  env: JobEnvironment | undefined,
  getenv: string,
  processEnv: Readonly<Record<string, string | undefined>>,
): JobEnvironment | undefined {
  const text = getenv.trim();
  if (text === '') return env;
  const flag = getenvBoolean(text);
  if (flag === false) return env;
  const include: string[] = [];
  const exclude: string[] = [];
  if (flag === undefined) {
    for (const item of text.split(/[,; \t\r\n]+/)) {
      if (item.startsWith('!')) {
        const name = item.slice(1).trim();
        if (name !== '') exclude.push(name);
      } else if (item !== '') {
        include.push(item);
      }
    }
  }
  const attribute = env?.attribute ?? 'Environment';
  const vars = new Map(env?.vars ?? []);
  for (const [name, value] of Object.entries(processEnv)) {
    if (value === undefined || name === '' || name.includes('=')) continue;
    if (vars.has(name)) continue;
    if (value.includes('\n')) continue;
    if (attribute === 'Env' && (!isSafeV1(name) || !isSafeV1(value))) continue;
    if (exclude.some((p) => matchesPattern(p, name))) continue;
    if (include.length > 0 && !include.some((p) => matchesPattern(p, name))) continue;
    vars.set(name, value);
  }
  if (attribute === 'Env') {
    // Imports were checked for V1 safety above and `env` itself was V1, so this is always defined.
    const v1 = formatEnvironmentV1(vars);
    if (v1 !== undefined) return { attribute, value: v1, vars };
  }
  return { attribute: 'Environment', value: formatEnvironmentV2(vars), vars };
}
