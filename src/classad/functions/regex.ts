/**
 * Regular expressions: regexp, regexps, replace, replaceAll, regexpMember,
 * and the PCRE-to-JavaScript pattern translation that stringList_regexpMember
 * also uses.
 *
 * HTCondor uses PCRE2. Patterns are translated to JavaScript RegExp:
 *   - `.` never matches "\n" only (PCRE) rather than all line terminators;
 *     with option "s" it matches everything;
 *   - `$` without option "m" matches at the end or before a final newline;
 *   - \A, \z, \Z, \Q...\E, (?P<name>...), (?P=name), (?P>...) not supported,
 *     POSIX classes [[:alpha:]] inside brackets, \h, and option "x"
 *     (white space and # comments outside classes are dropped).
 * A pattern JavaScript cannot compile (or PCRE syntax with no translation)
 * makes the function ERROR. Options: i (caseless), m (multiline), s (dot
 * matches newline), x (extended); for substitution f (whole target) and
 * g (every match); other letters are ignored. Only lower-case option letters
 * count in these functions, as in HTCondor's fnCall.cpp.
 *
 * Compiled patterns are cached by (pattern, options).
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, ListValue, UNDEFINED, type Value } from '../value.ts';
import { SmallCache, type Entry } from './support.ts';

export interface RegexOptions {
  readonly caseless: boolean;
  readonly multiline: boolean;
  readonly dotall: boolean;
  readonly extended: boolean;
}

/** POSIX class names (from user patterns) to ranges; a Map, so `[[:constructor:]]` is no class. */
const POSIX_CLASSES: ReadonlyMap<string, string> = new Map(Object.entries({
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v', blank: ' \\t', punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9A-Fa-f',
  word: 'A-Za-z0-9_', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~', ascii: '\\x00-\\x7f',
}));

const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Translates a PCRE pattern to JavaScript RegExp source, or undefined when it cannot. */
export function translatePattern(pattern: string, opts: RegexOptions): string | undefined {
  let out = '';
  let i = 0;
  let inClass = false;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i]!;
    if (c === '\\') {
      const d = pattern[i + 1];
      if (d === undefined) return undefined; // trailing backslash
      if (d === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const literal = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end);
        out += escapeLiteral(literal);
        i = end < 0 ? n : end + 2;
        continue;
      }
      if (d === 'E') {
        i += 2;
        continue;
      }
      if (!inClass) {
        if (d === 'A') {
          out += '(?<![\\s\\S])';
          i += 2;
          continue;
        }
        if (d === 'z') {
          out += '(?![\\s\\S])';
          i += 2;
          continue;
        }
        if (d === 'Z') {
          out += '(?=\\n?(?![\\s\\S]))';
          i += 2;
          continue;
        }
        if (d === 'G') return undefined;
      }
      if (d === 'h') {
        out += inClass ? ' \\t' : '[ \\t]';
        i += 2;
        continue;
      }
      out += c + d;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') {
        const end = pattern.indexOf(':]', i + 2);
        if (end > 0) {
          let name = pattern.slice(i + 2, end);
          const negated = name.startsWith('^');
          if (negated) name = name.slice(1);
          const cls = POSIX_CLASSES.get(name);
          if (cls === undefined || negated) return undefined;
          out += cls;
          i = end + 2;
          continue;
        }
      }
      if (c === '[') {
        out += '\\[';
        i++;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (opts.extended && (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v')) {
      i++;
      continue;
    }
    if (opts.extended && c === '#') {
      while (i < n && pattern[i] !== '\n') i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i] === ']') {
        out += '\\]'; // a leading ] is literal in PCRE
        i++;
      }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      if (pattern[i + 2] === 'P' && pattern[i + 3] === '<') {
        out += '(?<';
        i += 4;
        continue;
      }
      if (pattern[i + 2] === 'P' && pattern[i + 3] === '=') {
        const end = pattern.indexOf(')', i);
        if (end < 0) return undefined;
        out += `\\k<${pattern.slice(i + 4, end)}>`;
        i = end + 1;
        continue;
      }
      const next = pattern[i + 2];
      // Lookarounds, non-capturing and named groups translate as written;
      // inline options, atomic groups, recursion and conditionals do not.
      if (next !== ':' && next !== '=' && next !== '!' && !(next === '<' && pattern[i + 3] !== undefined)) return undefined;
    }
    if (c === '.') {
      out += opts.dotall ? '[\\s\\S]' : '[^\\n]';
      i++;
      continue;
    }
    if (c === '$' && !opts.multiline) {
      out += '(?=\\n?(?![\\s\\S]))';
      i++;
      continue;
    }
    if ((c === '+' || c === '?') && i > 0 && /[*+?}]/.test(pattern[i - 1]!) && pattern[i - 2] !== '\\') {
      if (c === '+') return undefined; // possessive quantifier
    }
    out += c;
    i++;
  }
  if (inClass) return undefined;
  return out;
}

function flagString(opts: RegexOptions): string {
  return `${opts.caseless ? 'i' : ''}${opts.multiline ? 'm' : ''}${opts.dotall ? 's' : ''}${opts.extended ? 'x' : ''}`;
}

const cache = new SmallCache<RegExp | null>(512);

/** A compiled pattern (with the 'g' flag, for lastIndex searching), or undefined if invalid. */
export function compilePattern(pattern: string, opts: RegexOptions): RegExp | undefined {
  const key = `${flagString(opts)}\u0000${pattern}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let re: RegExp | null = null;
  // A leading (?imsx) group sets options for the whole pattern.
  const inline = /^\(\?([imsx]+)\)/.exec(pattern);
  const effective = inline === null ? opts : optionsFrom(`${flagString(opts)}${inline[1]!}`);
  const source = translatePattern(inline === null ? pattern : pattern.slice(inline[0].length), effective);
  if (source !== undefined) {
    try {
      re = new RegExp(source, `g${effective.caseless ? 'i' : ''}${effective.multiline ? 'm' : ''}`);
    } catch {
      re = null;
    }
  }
  cache.set(key, re);
  return re ?? undefined;
}

/** Options as fnCall.cpp reads them (lower-case letters only). */
export function optionsFrom(s: string, anyCase = false): RegexOptions & { full: boolean; global: boolean } {
  const t = anyCase ? s.toLowerCase() : s;
  return {
    caseless: t.includes('i'),
    multiline: t.includes('m'),
    dotall: t.includes('s'),
    extended: t.includes('x'),
    full: t.includes('f'),
    global: t.includes('g'),
  };
}

/** Whether the pattern matches anywhere in the target; undefined for an invalid pattern. */
export function matches(pattern: string, target: string, opts: RegexOptions): boolean | undefined {
  const re = compilePattern(pattern, opts);
  if (re === undefined) return undefined;
  re.lastIndex = 0;
  return re.test(target);
}

/** Expands \0..\9 in a substitution; undefined when it names a group past the last one that matched. */
function expand(replacement: string, m: RegExpExecArray): string | undefined {
  let groups = m.length;
  while (groups > 1 && m[groups - 1] === undefined) groups--;
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c === '\\') {
      const d = replacement[i + 1];
      if (d !== undefined && d >= '0' && d <= '9') {
        const g = d.charCodeAt(0) - 48;
        if (g >= groups) return undefined;
        out += m[g] ?? '';
        i++;
      } else {
        out += '\\';
      }
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * HTCondor's regexp_helper for substitution (regexps, replace, replaceAll).
 * With "g", after an empty match the next attempt must be a non-empty match
 * at the same place; failing that one character is copied and the search
 * moves on. Running past the end of the target (an empty match at the very
 * end) is a PCRE "bad offset" failure, which HTCondor reports as ERROR.
 */
export function substitute(pattern: string, target: string, replacement: string, options: ReturnType<typeof optionsFrom>): Value {
  const re = compilePattern(pattern, options);
  if (re === undefined) return ERROR;
  let out = '';
  let idx = 0;
  let emptyMatch = false;
  do {
    if (idx > target.length) return ERROR;
    let m: RegExpExecArray | null;
    if (emptyMatch) {
      const sticky = new RegExp(re.source, re.flags.replace('g', '') + 'y');
      sticky.lastIndex = idx;
      m = sticky.exec(target);
      if (m !== null && m[0] === '') m = null;
      if (m === null) {
        out += idx < target.length ? target[idx] : '\u0000';
        idx++;
        emptyMatch = false;
        continue;
      }
    } else {
      re.lastIndex = idx;
      m = re.exec(target);
      if (m === null) break;
    }
    if (options.full) out += target.slice(idx, m.index);
    const piece = expand(replacement, m);
    if (piece === undefined) return ERROR;
    out += piece;
    idx = m.index + m[0].length;
    emptyMatch = m[0] === '';
  } while (options.global);
  if (options.full) out += target.slice(idx);
  return out;
}

/** Evaluates the arguments of regexp / regexpMember / regexps with fnCall.cpp's ERROR-then-UNDEFINED order. */
function evaluateAll(args: readonly Value[]): Value | undefined {
  if (args.some((v) => v === ERROR)) return ERROR;
  if (args.some((v) => v === UNDEFINED)) return UNDEFINED;
  return undefined;
}

const regexp: Builtin = (args, env) => {
  if (args.length !== 2 && args.length !== 3) return ERROR;
  const values = args.map((a) => a(env));
  const bad = evaluateAll(values);
  if (bad !== undefined) return bad;
  const [pattern, target, options = ''] = values;
  if (typeof options !== 'string' || typeof pattern !== 'string' || typeof target !== 'string') return ERROR;
  return matches(pattern, target, optionsFrom(options)) ?? ERROR;
};

function substPattern(extra: string): Builtin {
  return (args, env) => {
    if (args.length !== 3 && args.length !== 4) return ERROR;
    const values = args.map((a) => a(env));
    const bad = evaluateAll(values);
    if (bad !== undefined) return bad;
    const [pattern, target, replacement, options = ''] = values;
    if (typeof options !== 'string') return ERROR;
    if (typeof pattern !== 'string' || typeof target !== 'string' || typeof replacement !== 'string') return ERROR;
    return substitute(pattern, target, replacement, optionsFrom(options + extra));
  };
}

const regexpMember: Builtin = (args, env) => {
  if (args.length !== 2 && args.length !== 3) return ERROR;
  const values = args.map((a) => a(env));
  const bad = evaluateAll(values);
  if (bad !== undefined) return bad;
  const [pattern, list, options = ''] = values;
  if (typeof options !== 'string') return ERROR;
  if (typeof pattern !== 'string' || !(list instanceof ListValue)) return ERROR;
  const opts = optionsFrom(options);
  let couldBeUndefined = false;
  for (const item of list.items) {
    if (typeof item !== 'string') {
      if (item === UNDEFINED) {
        couldBeUndefined = true;
        continue;
      }
      return ERROR;
    }
    // An invalid pattern does not match (HTCondor ignores the helper's ERROR here).
    if (matches(pattern, item, opts) === true) return true;
  }
  return couldBeUndefined ? UNDEFINED : false;
};

export const REGEX_FUNCTIONS: readonly Entry[] = [
  ['regexp', regexp],
  ['regexps', substPattern('')],
  ['replace', substPattern('f')],
  ['replaceall', substPattern('fg')],
  ['regexpmember', regexpMember],
];
