/**
 * The `arguments` submit command: HTCondor's two argument syntaxes and the
 * job-ad attribute condor_submit writes for each (condor_arglist.cpp,
 * submit_utils.cpp SetArguments).
 *
 * - Old syntax (V1, "wacked"): the value is not enclosed in double quotes.
 *   Arguments are separated by spaces, tabs, CR or LF; there is no quoting;
 *   a literal double quote must be written `\"` (a bare `"` is an error);
 *   every other backslash is literal. The ad gets `Args` = the V1 raw form
 *   (the arguments joined by one space).
 * - New syntax (V2 quoted): the whole value is enclosed in double quotes
 *   (whitespace around them allowed), `""` inside stands for `"`. The text
 *   inside is split on whitespace; single quotes group, and `''` inside a
 *   single-quoted section is a literal `'`. The ad gets `Arguments` = the V2
 *   raw form, re-quoted canonically (`a' 'b`, never `'a b'`).
 *
 * Invariants: pure (no I/O); every error is a ValueError whose offset is the
 * 0-based index in the submitted value of the character at fault. Naming:
 * argvToV2 / argvToV1 give the job-ad (raw) forms, argvToV2Quoted /
 * argvToV1Wacked the submit-file forms; for every argv,
 * parseArguments(argvToV2Quoted(argv)).argv and splitArgsV2Raw(argvToV2(argv))
 * equal argv.
 */
import { ValueError } from './submit-error.ts';

export interface JobArguments {
  /** `Args` for old-syntax input (V1 raw value), `Arguments` otherwise (V2 raw value). */
  readonly attribute: 'Args' | 'Arguments';
  /** The attribute's string value exactly as condor_submit writes it. */
  readonly value: string;
  readonly argv: readonly string[];
}

/** A string together with, for each character, its 0-based offset in the submitted value. */
export interface LocatedText {
  readonly text: string;
  readonly offsets: readonly number[];
}

/** One argument (or environment entry) of a V2 raw string, and where its first character was written. */
export interface LocatedToken {
  readonly text: string;
  readonly offset: number;
}

/** Whitespace as C's isspace() sees it: what HTCondor skips around a V2 quoted value. */
export function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** The characters that separate arguments in both V1 and V2 raw strings. */
function isArgSeparator(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** True when the value contains only C whitespace (condor_submit treats it as not given). */
export function isBlank(value: string): boolean {
  for (const ch of value) if (!isCSpace(ch)) return false;
  return true;
}

/** True when the value uses the new (V2) syntax: its first non-space character is a double quote. */
export function isV2Quoted(value: string): boolean {
  let i = 0;
  while (i < value.length && isCSpace(value[i])) i++;
  return value[i] === '"';
}

/**
 * Strips the enclosing double quotes of a V2 quoted value and turns `""` into
 * `"` (ArgList::V2QuotedToV2Raw), keeping where each character came from.
 */
export function v2QuotedToRaw(value: string): LocatedText {
  let i = 0;
  while (i < value.length && isCSpace(value[i])) i++;
  if (value[i] !== '"') {
    throw new ValueError('expected the value to start with a double quote (new syntax)', i);
  }
  const open = i;
  i++;
  let text = '';
  const offsets: number[] = [];
  let close = -1;
  while (i < value.length) {
    if (value[i] === '"') {
      if (value[i + 1] === '"') {
        text += '"';
        offsets.push(i);
        i += 2;
        continue;
      }
      close = i;
      i++;
      break;
    }
    text += value[i];
    offsets.push(i);
    i++;
  }
  if (close < 0) {
    throw new ValueError(
      'unterminated double quote: a value that starts with " must end with " (write "" for a literal double quote inside)',
      open,
    );
  }
  offsets.push(close);
  while (i < value.length && isCSpace(value[i])) i++;
  if (i < value.length) {
    throw new ValueError(
      `text follows the closing double quote: ${JSON.stringify(value.slice(close))}; ` +
        'to put a double quote inside the value write it twice (""), otherwise end the value at the closing quote',
      close,
    );
  }
  return { text, offsets };
}

/**
 * Splits a V2 raw string (split_args): whitespace separates, single quotes
 * group, `''` inside single quotes is a literal `'`, `''` outside is an empty
 * argument. Offsets are mapped back through `located.offsets`.
 */
export function splitV2Located(located: LocatedText): LocatedToken[] {
  const { text, offsets } = located;
  const at = (i: number): number => offsets[i] ?? offsets[offsets.length - 1] ?? i;
  const tokens: LocatedToken[] = [];
  let buf = '';
  let start = -1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "'") {
      const quote = i;
      if (start < 0) start = i;
      i++;
      let closed = false;
      while (i < text.length) {
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            buf += "'";
            i += 2;
            continue;
          }
          closed = true;
          break;
        }
        buf += text[i];
        i++;
      }
      if (!closed) {
        throw new ValueError(
          "unbalanced single quote: the quoted section that starts here has no closing ' " +
            "(inside single quotes, write '' for a literal ')",
          at(quote),
        );
      }
      i++;
    } else if (isArgSeparator(ch)) {
      if (start >= 0) {
        tokens.push({ text: buf, offset: at(start) });
        buf = '';
        start = -1;
      }
      i++;
    } else {
      if (start < 0) start = i;
      buf += ch;
      i++;
    }
  }
  if (start >= 0) tokens.push({ text: buf, offset: at(start) });
  return tokens;
}

/** Splits a V2 raw string (the value of the `Arguments` job attribute) into its arguments. */
export function splitArgsV2Raw(raw: string): string[] {
  const offsets = Array.from({ length: raw.length + 1 }, (_, i) => i);
  return splitV2Located({ text: raw, offsets }).map((t) => t.text);
}

/** Splits a V1 raw string (the value of the `Args` job attribute) on spaces, tabs, CR and LF. */
export function splitArgsV1Raw(raw: string): string[] {
  return raw.split(/[ \t\r\n]+/).filter((a) => a !== '');
}

/** Turns old-syntax (V1 wacked) arguments into their argument vector (V1WackedToV1Raw + V1 split). */
function parseV1Wacked(value: string): string[] {
  let raw = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"') {
      throw new ValueError(
        'a double quote in old-syntax arguments must be written \\" ' +
          '(or enclose the whole value in double quotes to use the new syntax)',
        i,
      );
    }
    if (ch === '\\' && value[i + 1] === '"') {
      raw += '"';
      i++;
    } else {
      raw += ch;
    }
  }
  return splitArgsV1Raw(raw);
}

/**
 * Parses the value of the `arguments` command as condor_submit does
 * (AppendArgsV1WackedOrV2Quoted) and gives the attribute it writes.
 * An empty value (or only whitespace) counts as not given: `Arguments = ""`.
 */
export function parseArguments(value: string): JobArguments {
  if (isBlank(value)) return { attribute: 'Arguments', value: '', argv: [] };
  if (isV2Quoted(value)) {
    const argv = splitV2Located(v2QuotedToRaw(value)).map((t) => t.text);
    return { attribute: 'Arguments', value: argvToV2(argv), argv };
  }
  const argv = parseV1Wacked(value);
  return { attribute: 'Args', value: argv.join(' '), argv };
}

/**
 * Appends one argument in V2 raw quoting (append_arg): a space, tab, CR, LF
 * or single quote is put inside single quotes, adjacent quoted characters
 * share one quoted section, `'` is doubled, an empty argument is `''`.
 */
function appendArgV2(arg: string, out: string): string {
  let result = out;
  if (result.length > 0) result += ' ';
  if (arg === '') result += "''";
  for (const ch of arg) {
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === "'") {
      if (result.endsWith("'")) result = result.slice(0, -1);
      else result += "'";
      if (ch === "'") result += "'";
      result += ch;
      result += "'";
    } else {
      result += ch;
    }
  }
  return result;
}

/**
 * The V2 raw form of an argument vector: the `Arguments` attribute value
 * condor_submit writes (join_args); splitArgsV2Raw gives argv back.
 */
export function argvToV2(argv: readonly string[]): string {
  let out = '';
  for (const arg of argv) out = appendArgV2(arg, out);
  return out;
}

/** Encloses a V2 raw string in double quotes, doubling any `"` inside (V2RawToV2Quoted). */
export function v2RawToQuoted(raw: string): string {
  return `"${raw.replaceAll('"', '""')}"`;
}

/**
 * The argument vector in the new submit syntax (V2 quoted), as it would be
 * written after `arguments =`; parseArguments gives the same argv back.
 */
export function argvToV2Quoted(argv: readonly string[]): string {
  return v2RawToQuoted(argvToV2(argv));
}

/**
 * The V1 raw form (the `Args` attribute value): the arguments joined by one
 * space; undefined when an argument is empty or contains a space, tab, CR or
 * LF, which V1 cannot express (GetArgsStringV1Raw; HTCondor lets an empty
 * argument through and loses it, this does not).
 */
export function argvToV1(argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '' || /[ \t\r\n]/.test(arg)) return undefined;
  }
  return argv.join(' ');
}

/**
 * The argument vector in the old submit syntax (V1 wacked: `"` written as
 * `\"`), as it would be written after `arguments =`; undefined when V1 cannot
 * express it. parseArguments gives the same argv back (for a non-empty argv).
 */
export function argvToV1Wacked(argv: readonly string[]): string | undefined {
  const raw = argvToV1(argv);
  return raw === undefined ? undefined : raw.replaceAll('"', '\\"');
}
