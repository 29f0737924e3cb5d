/**
 * Tokenizer for ClassAd text (expressions, new-syntax ads, old-syntax lines).
 *
 * Invariants: every token carries the 1-based line and column of its first
 * character; the lexer never throws anything but a ClassAdSyntaxError with a
 * position; keywords (true, false, undefined, error, is, isnt) are matched
 * case-insensitively, as HTCondor does.
 */
import { HtcError } from '../errors.ts';

export type TokenType =
  | 'int' | 'real' | 'string' | 'name' | 'quotedName'
  | 'true' | 'false' | 'undefined' | 'error' | 'is' | 'isnt'
  | 'op' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** Operator or punctuation text; for names, the name as written. */
  readonly text: string;
  /** Decoded value of int, real and string tokens. */
  readonly value?: number | bigint | string;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export class ClassAdSyntaxError extends HtcError {
  constructor(message: string, line: number, column: number, file?: string) {
    super('CLASSAD_PARSE', message, { position: file === undefined ? { line, column } : { file, line, column } });
  }
}

/** Keywords by lower-case spelling; a Map, so names like `constructor` are never keywords. */
const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['true', 'true'],
  ['false', 'false'],
  ['undefined', 'undefined'],
  ['error', 'error'],
  ['is', 'is'],
  ['isnt', 'isnt'],
]);

/** `text` without a leading byte-order mark (editors on Windows write one). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const SINGLE_CHAR_OPERATORS = new Set(['(', ')', '[', ']', '{', '}', ',', ';', '.', ':', '+', '-', '*', '/', '%', '^', '~']);

/** The operator starting at `i`, longest match first, without allocating. */
function operatorAt(s: string, i: number): string | undefined {
  const c = s[i]!;
  const d = s[i + 1];
  switch (c) {
    case '=':
      if (d === '?' && s[i + 2] === '=') return '=?=';
      if (d === '!' && s[i + 2] === '=') return '=!=';
      return d === '=' ? '==' : '=';
    case '>':
      if (d === '>') return s[i + 2] === '>' ? '>>>' : '>>';
      return d === '=' ? '>=' : '>';
    case '<':
      if (d === '<') return '<<';
      return d === '=' ? '<=' : '<';
    case '!':
      return d === '=' ? '!=' : '!';
    case '&':
      return d === '&' ? '&&' : '&';
    case '|':
      return d === '|' ? '||' : '|';
    case '?':
      return d === ':' ? '?:' : '?';
    default:
      return SINGLE_CHAR_OPERATORS.has(c) ? c : undefined;
  }
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private peeked: Token | undefined;
  private peeked2: Token | undefined;

  /**
   * @param oldStrings read strings as old ClassAd syntax does: a backslash
   *   is literal, except that `\"` is a quote character unless it ends the
   *   line. Quoted names keep their escapes (the printer escapes them).
   */
  private readonly text: string;

  constructor(
    text: string,
    private readonly file?: string,
    private readonly oldStrings = false,
  ) {
    this.text = stripBom(text);
  }

  /** Where the next unread character is (after skipping nothing). */
  get offset(): number {
    return this.peeked ? this.peeked.offset : this.pos;
  }

  error(message: string, at?: { line: number; column: number }): ClassAdSyntaxError {
    const line = at?.line ?? this.line;
    const column = at?.column ?? this.pos - this.lineStart + 1;
    return new ClassAdSyntaxError(message, line, column, this.file);
  }

  peek(): Token {
    if (this.peeked === undefined) this.peeked = this.scan();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = this.peeked2;
    this.peeked2 = undefined;
    return t;
  }

  /** The token after the next one (one more token of look-ahead). */
  peekSecond(): Token {
    this.peek();
    if (this.peeked2 === undefined) this.peeked2 = this.scan();
    return this.peeked2;
  }

  private skipSpaceAndComments(): void {
    const s = this.text;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
        this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        while (this.pos < s.length && s.charCodeAt(this.pos) !== 10) this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const startLine = this.line;
        const startCol = this.pos - this.lineStart + 1;
        this.pos += 2;
        for (;;) {
          if (this.pos >= s.length) throw this.error('unterminated /* comment', { line: startLine, column: startCol });
          const d = s.charCodeAt(this.pos);
          if (d === 42 && s.charCodeAt(this.pos + 1) === 47) {
            this.pos += 2;
            break;
          }
          if (d === 10) {
            this.line++;
            this.lineStart = this.pos + 1;
          }
          this.pos++;
        }
      } else {
        return;
      }
    }
  }

  private scan(): Token {
    this.skipSpaceAndComments();
    const s = this.text;
    const start = this.pos;
    const line = this.line;
    const column = start - this.lineStart + 1;

    if (start >= s.length) return { type: 'eof', text: '', line, column, offset: start };
    const c = s.charCodeAt(start);

    if (isNameStart(c)) {
      let end = start + 1;
      while (end < s.length && isNameChar(s.charCodeAt(end))) end++;
      this.pos = end;
      const text = s.slice(start, end);
      const kw = KEYWORDS.get(text.toLowerCase());
      return { type: kw ?? 'name', text, line, column, offset: start };
    }
    if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(start + 1)))) {
      const { type, value } = this.scanNumber();
      return { type, text: s.slice(start, this.pos), value, line, column, offset: start };
    }
    if (c === 34) {
      const end = this.scanQuoted(34, line, column);
      return { type: 'string', text: s.slice(start, end), value: this.decoded, line, column, offset: start };
    }
    if (c === 39) {
      const end = this.scanQuoted(39, line, column);
      if (this.decoded.length === 0) throw this.error('empty quoted attribute name', { line, column });
      return { type: 'quotedName', text: s.slice(start, end), value: this.decoded, line, column, offset: start };
    }
    const op = operatorAt(s, start);
    if (op !== undefined) {
      this.pos = start + op.length;
      return { type: 'op', text: op, line, column, offset: start };
    }
    throw this.error(`unexpected character ${JSON.stringify(s[start])}`, { line, column });
  }

  private scanNumber(): { type: 'int' | 'real'; value: number | bigint } {
    const s = this.text;
    const start = this.pos;
    let end = start;
    while (isDigit(s.charCodeAt(end))) end++;
    let isReal = false;
    if (s[end] === '.') {
      if (!isDigit(s.charCodeAt(end + 1))) throw this.error('expected a digit after the decimal point');
      isReal = true;
      end++;
      while (isDigit(s.charCodeAt(end))) end++;
    }
    if (s[end] === 'e' || s[end] === 'E') {
      let e = end + 1;
      if (s[e] === '+' || s[e] === '-') e++;
      if (!isDigit(s.charCodeAt(e))) {
        this.pos = end;
        throw this.error('expected the digits of an exponent');
      }
      isReal = true;
      while (isDigit(s.charCodeAt(e))) e++;
      end = e;
    }
    this.pos = end;
    const text = s.slice(start, end);
    if (isReal) return { type: 'real', value: Number(text) };
    if (isNameStart(s.charCodeAt(end))) {
      throw this.error(
        text === '0' && (s[end] === 'x' || s[end] === 'X')
          ? 'hexadecimal integers are not ClassAd syntax: write the number in decimal'
          : `unexpected ${JSON.stringify(s[end])} after the number ${text}`,
      );
    }
    // HTCondor's lexer (in the semantics HTCondor runs with) refuses a leading
    // zero rather than guess between octal and decimal.
    if (text.length > 1 && text[0] === '0') throw this.error(`integer ${text} has a leading zero (octal is not ClassAd syntax)`, { line: this.line, column: start - this.lineStart + 1 });
    return { type: 'int', value: BigInt(text) };
  }

  private decoded = '';

  /** Scans a quoted string or name starting at this.pos; sets `decoded`; returns end offset. */
  private scanQuoted(quote: number, line: number, column: number): number {
    const s = this.text;
    let i = this.pos + 1;
    let out = '';
    for (;;) {
      if (i >= s.length) throw this.error(`unterminated ${quote === 34 ? 'string' : 'quoted name'}: expected closing ${String.fromCharCode(quote)}`, { line, column });
      const c = s.charCodeAt(i);
      if (c === quote) {
        i++;
        break;
      }
      if (c === 10) throw this.error(`newline in ${quote === 34 ? 'string' : 'quoted name'}: expected closing ${String.fromCharCode(quote)}`, { line, column });
      // No NUL, written raw or escaped: no printer could write it back.
      if (c === 0) throw this.error(`a ${quote === 34 ? 'string' : 'quoted name'} may not contain a NUL character`, { line, column });
      if (c === 92 && this.oldStrings && quote === 34) {
        if (s.charCodeAt(i + 1) === quote && !/^[ \t\r]*(\n|$)/.test(s.slice(i + 2, i + 200))) {
          out += String.fromCharCode(quote);
          i += 2;
        } else {
          out += '\\';
          i++;
        }
        continue;
      }
      if (c === 92) {
        const e = s[i + 1];
        i += 2;
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'a': out += '\x07'; break;
          case 'v': out += '\v'; break;
          case '\\': out += '\\'; break;
          case '"': out += '"'; break;
          case "'": out += "'"; break;
          case '?': out += '?'; break;
          case undefined:
            throw this.error('unterminated string: backslash at end of input', { line, column });
          case '\n':
            // An escaped newline is kept (unknown escapes keep the character);
            // count the line so later positions stay right.
            out += '\n';
            this.line++;
            this.lineStart = i;
            break;
          default:
            if (e >= '0' && e <= '7') {
              // Octal escape \o, \oo or \ooo; a third digit only when the first is 0-3.
              let j = i - 1;
              let digits = '';
              const max = e <= '3' ? 3 : 2;
              while (digits.length < max && j < s.length && s[j]! >= '0' && s[j]! <= '7') digits += s[j++];
              const code = parseInt(digits, 8);
              if (code === 0) throw this.error('a string may not contain a NUL character (\\0)', { line, column });
              out += String.fromCharCode(code);
              i = j;
            } else {
              // Unknown escapes keep the character, as HTCondor does.
              out += e;
            }
        }
        continue;
      }
      out += s[i];
      i++;
    }
    this.decoded = out;
    this.pos = i;
    return i;
  }
}

