/**
 * Parser for ClassAd expressions and ads in new syntax (`[a = 1; b = 2]`)
 * and old syntax (one `Name = expr` per line, as `condor_q -long` prints).
 *
 * Operator precedence, lowest first, as HTCondor's grammar has it:
 *   ?: (ternary and Elvis, right-associative)
 *   ||   &&   |   ^   &
 *   == != =?= =!= is isnt
 *   < <= > >=
 *   << >> >>>
 *   + -
 *   * / %
 *   unary - + ! ~
 *   postfix . [] and calls
 * Binary operators are left-associative. Errors are ClassAdSyntaxError with
 * the line and column of the offending token and what was expected there.
 */
import { childrenOf, type BinaryOp, type Node } from './ast.ts';
import { ClassAdSyntaxError, Lexer, stripBom, type Token } from './lexer.ts';
import { parseAbsTime, parseRelTime } from './time.ts';
import { ERROR, Real, UNDEFINED, intFromBigInt } from './value.ts';

const BINARY_LEVELS: readonly (readonly BinaryOp[])[] = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!=', '=?=', '=!=', 'is', 'isnt'],
  ['<', '<=', '>', '>='],
  ['<<', '>>', '>>>'],
  ['+', '-'],
  ['*', '/', '%'],
];
/** Binding strength of each binary operator: its index in BINARY_LEVELS. */
const PRECEDENCE = new Map<string, number>(BINARY_LEVELS.flatMap((ops, level) => ops.map((op) => [op, level] as const)));

/** How deep expressions may nest before the parser refuses (guards the JS stack). */
export const MAX_DEPTH = 400;
/** How tall a parsed tree may be, nesting and operator chains together. */
export const MAX_HEIGHT = 3000;

/** Height of a tree, counted without recursion; stops counting past `limit`. */
export function treeHeight(root: Node, limit = Infinity): number {
  let max = 0;
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, h] = stack.pop()!;
    if (h > max) max = h;
    if (max > limit) return max;
    for (const child of childrenOf(node)) stack.push([child, h + 1]);
  }
  return max;
}


/**
 * `absTime("...")` and `relTime("...")` with one string literal are time
 * literals, made at parse time as HTCondor does (so they print normalized).
 * Text that is not a time stays a call, which evaluates as the function does.
 */
function foldTimeLiteral(call: Node & { kind: 'call' }): Node | undefined {
  const name = call.name.toLowerCase();
  if ((name !== 'abstime' && name !== 'reltime') || call.args.length !== 1) return undefined;
  const arg = call.args[0]!;
  if (arg.kind !== 'literal' || typeof arg.value !== 'string') return undefined;
  const value = name === 'abstime' ? parseAbsTime(arg.value) : parseRelTime(arg.value);
  return value === undefined ? undefined : { kind: 'literal', value };
}

export class Parser {
  readonly lexer: Lexer;
  private depth = 0;

  constructor(text: string, file?: string, oldStrings = false) {
    this.lexer = new Lexer(text, file, oldStrings);
  }

  /** An integer literal's value; 64-bit, so larger magnitudes are refused. */
  private intLiteral(raw: bigint, token: Token): number | bigint {
    if (raw > 2n ** 63n - 1n || raw < -(2n ** 63n)) throw this.lexer.error(`integer ${token.text} does not fit in 64 bits`, token);
    return intFromBigInt(raw);
  }

  /**
   * `-` written right before a number is part of the literal (HTCondor's
   * lexer folds it), so `-5` prints back as `-5` and INT64_MIN is writable.
   */
  private negativeLiteral(minus: Token): Node | undefined {
    if (!(minus.type === 'op' && minus.text === '-')) return undefined;
    const t = this.lexer.peekSecond();
    if ((t.type !== 'int' && t.type !== 'real') || t.offset !== minus.offset + 1) return undefined;
    this.lexer.next();
    this.lexer.next();
    if (t.type === 'real') return { kind: 'literal', value: new Real(-(t.value as number)) };
    return { kind: 'literal', value: this.intLiteral(-(t.value as bigint), t) };
  }

  private fail(token: Token, expected: string): never {
    const found = token.type === 'eof' ? 'end of input' : JSON.stringify(token.text);
    throw this.lexer.error(`expected ${expected}, found ${found}`, token);
  }

  private isOp(token: Token, text: string): boolean {
    return token.type === 'op' && token.text === text;
  }

  expectOp(text: string, expected = `"${text}"`): Token {
    const t = this.lexer.next();
    if (!this.isOp(t, text)) this.fail(t, expected);
    return t;
  }

  /**
   * Refuses trees taller than MAX_HEIGHT: the compiler, evaluator and printer
   * recurse over the tree, so a tree the parser accepts must be one they can
   * walk within the JS stack (a flat chain `1 + 1 + ...` grows in height
   * without nesting, so the nesting limit alone does not bound it).
   */
  checkedHeight(node: Node): Node {
    if (treeHeight(node, MAX_HEIGHT) > MAX_HEIGHT) {
      throw this.lexer.error(`expression is more than ${MAX_HEIGHT} operators deep; split it into attributes`, this.lexer.peek());
    }
    return node;
  }

  expectEnd(): void {
    const t = this.lexer.peek();
    if (t.type !== 'eof') this.fail(t, 'an operator or end of input');
  }

  expression(): Node {
    if (++this.depth > MAX_DEPTH) throw this.lexer.error(`expression nests deeper than ${MAX_DEPTH} levels`, this.lexer.peek());
    try {
      return this.conditional();
    } finally {
      this.depth--;
    }
  }

  private conditional(): Node {
    const cond = this.binary(0);
    const t = this.lexer.peek();
    if (!this.isOp(t, '?')) return cond;
    this.lexer.next();
    if (this.isOp(this.lexer.peek(), ':')) {
      this.lexer.next();
      return { kind: 'elvis', left: cond, right: this.expression(), tight: false };
    }
    const then = this.expression();
    this.expectOp(':', '":" of a ?: expression');
    return { kind: 'ternary', cond, then, otherwise: this.expression() };
  }

  /** Precedence climbing: operators binding at least as tight as `level`, left-associative. */
  private binary(level: number): Node {
    let left = this.unary();
    for (;;) {
      const t = this.lexer.peek();
      const op = t.type === 'op' ? t.text : t.type === 'is' || t.type === 'isnt' ? t.type : undefined;
      const precedence = op === undefined ? undefined : PRECEDENCE.get(op);
      if (precedence === undefined || precedence < level) return left;
      this.lexer.next();
      left = { kind: 'binary', op: op as BinaryOp, left, right: this.binary(precedence + 1) };
    }
  }

  private unary(): Node {
    const t = this.lexer.peek();
    const negative = this.negativeLiteral(t);
    if (negative !== undefined) return this.postfix(negative);
    if (t.type === 'op' && (t.text === '-' || t.text === '+' || t.text === '!' || t.text === '~')) {
      this.lexer.next();
      if (++this.depth > MAX_DEPTH) throw this.lexer.error(`expression nests deeper than ${MAX_DEPTH} levels`, t);
      try {
        return { kind: 'unary', op: t.text, operand: this.unary() };
      } finally {
        this.depth--;
      }
    }
    return this.postfix(this.primary());
  }

  /** Selects, subscripts and (unless `elvis` is false) the tight `?:` after a primary. */
  private postfix(node: Node, elvis = true): Node {
    for (;;) {
      const t = this.lexer.peek();
      if (this.isOp(t, '.')) {
        this.lexer.next();
        node = { kind: 'select', base: node, name: this.attributeName('an attribute name after "."') };
      } else if (this.isOp(t, '[')) {
        this.lexer.next();
        const index = this.expression();
        this.expectOp(']', '"]" closing the subscript');
        node = { kind: 'subscript', base: node, index };
      } else if (elvis && this.isOp(t, '?:')) {
        // The unspaced Elvis token binds like a postfix operator: its right
        // side is a primary with its own postfixes, as in HTCondor's grammar.
        this.lexer.next();
        const right = this.negativeLiteral(this.lexer.peek()) ?? this.postfix(this.primary(), false);
        node = { kind: 'elvis', left: node, right, tight: true };
      } else {
        return node;
      }
    }
  }

  /** An attribute name: a plain name, a 'quoted name', or a keyword used as a name after a dot. */
  attributeName(expected: string): string {
    const t = this.lexer.next();
    if (t.type === 'name') return t.text;
    if (t.type === 'quotedName') {
      let name = t.value as string;
      while (this.lexer.peek().type === 'quotedName') name += this.lexer.next().value as string;
      return name;
    }
    this.fail(t, expected);
  }

  private primary(): Node {
    const t = this.lexer.next();
    switch (t.type) {
      case 'int':
        return { kind: 'literal', value: this.intLiteral(t.value as bigint, t) };
      case 'real':
        return { kind: 'literal', value: new Real(t.value as number) };
      case 'string': {
        // Adjacent string literals are one string, as in C.
        let text = t.value as string;
        while (this.lexer.peek().type === 'string') text += this.lexer.next().value as string;
        return { kind: 'literal', value: text };
      }
      case 'true':
        return { kind: 'literal', value: true };
      case 'false':
        return { kind: 'literal', value: false };
      case 'undefined':
        return { kind: 'literal', value: UNDEFINED };
      case 'error':
        return { kind: 'literal', value: ERROR };
      case 'quotedName': {
        let name = t.value as string;
        while (this.lexer.peek().type === 'quotedName') name += this.lexer.next().value as string;
        return { kind: 'attr', name, absolute: false };
      }
      case 'name': {
        if (this.isOp(this.lexer.peek(), '(')) {
          this.lexer.next();
          const call: Node = { kind: 'call', name: t.text, args: this.sequence(')', 'a function argument') };
          return foldTimeLiteral(call) ?? call;
        }
        return { kind: 'attr', name: t.text, absolute: false };
      }
      case 'op':
        switch (t.text) {
          case '(': {
            const inner = this.expression();
            this.expectOp(')', '")" closing "("');
            return { kind: 'paren', inner };
          }
          case '{':
            return { kind: 'list', items: this.sequence('}', 'a list element') };
          case '[':
            return { kind: 'record', attrs: this.recordBody() };
          case '.':
            return { kind: 'attr', name: this.attributeName('an attribute name after "."'), absolute: true };
        }
    }
    this.fail(t, 'an expression');
  }

  /** Comma-separated expressions up to `close` (already past the opener). */
  private sequence(close: string, what: string): Node[] {
    const items: Node[] = [];
    if (this.isOp(this.lexer.peek(), close)) {
      this.lexer.next();
      return items;
    }
    for (;;) {
      items.push(this.expression());
      const t = this.lexer.next();
      if (this.isOp(t, close)) return items;
      if (!this.isOp(t, ',')) this.fail(t, `"," or "${close}" after ${what}`);
    }
  }

  /** `name = expr; ...]` (already past `[`). A trailing `;` is allowed. */
  recordBody(): (readonly [string, Node])[] {
    const attrs: (readonly [string, Node])[] = [];
    for (;;) {
      while (this.isOp(this.lexer.peek(), ';')) this.lexer.next(); // stray semicolons are allowed
      if (this.isOp(this.lexer.peek(), ']')) {
        this.lexer.next();
        return attrs;
      }
      const name = this.attributeName('an attribute name or "]"');
      this.expectOp('=', `"=" after attribute name ${name}`);
      attrs.push([name, this.checkedHeight(this.expression())]);
      const t = this.lexer.next();
      if (this.isOp(t, ']')) return attrs;
      if (!this.isOp(t, ';')) this.fail(t, '";" or "]" after an attribute');
    }
  }
}

/** Parses one whole expression. */
export function parseExpression(text: string, file?: string): Node {
  const p = new Parser(text, file);
  const node = p.checkedHeight(p.expression());
  p.expectEnd();
  return node;
}

/** Parses one new-syntax ad `[ ... ]` into its attribute list (in order). */
export function parseRecord(text: string, file?: string): (readonly [string, Node])[] {
  const p = new Parser(text, file);
  p.expectOp('[', '"[" starting a ClassAd');
  const attrs = p.recordBody();
  p.expectEnd();
  return attrs;
}

/**
 * Parses several new-syntax ads one after another (whitespace or comments
 * between them), as `condor_q -long` style files in new syntax hold.
 */
export function parseRecords(text: string, file?: string): (readonly [string, Node])[][] {
  const p = new Parser(text, file);
  const ads: (readonly [string, Node])[][] = [];
  while (p.lexer.peek().type !== 'eof') {
    p.expectOp('[', '"[" starting a ClassAd');
    ads.push(p.recordBody());
  }
  return ads;
}

/**
 * Old syntax: one `Name = expression` per line; blank lines and lines whose
 * first non-blank character is `#` are skipped. Errors carry the line of the
 * file and the column within it; `firstLine` is the file line `text` starts
 * on (for an ad cut out of a longer file).
 */
export function parseOldRecord(text: string, file?: string, firstLine = 1): (readonly [string, Node])[] {
  const attrs: (readonly [string, Node])[] = [];
  const lines = stripBom(text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const lineNo = firstLine + i;
    const m = /^(\s*)([A-Za-z_][A-Za-z0-9_.]*|'(?:[^'\\]|\\.)+')\s*=(?!=)/.exec(raw);
    if (m === null) {
      const col = raw.length - raw.trimStart().length + 1;
      throw new ClassAdSyntaxError('expected "Name = expression" (old ClassAd syntax)', lineNo, col, file);
    }
    const exprText = raw.slice(m[0].length);
    const name = m[2]!.startsWith("'") ? (new Lexer(m[2]!).next().value as string) : m[2]!;
    try {
      const p = new Parser(exprText, undefined, true);
      const node = p.checkedHeight(p.expression());
      p.expectEnd();
      attrs.push([name, node]);
    } catch (e) {
      if (e instanceof ClassAdSyntaxError && e.position !== undefined) {
        const column = m[0].length + e.position.column;
        throw new ClassAdSyntaxError(`${e.message} (in the value of ${name})`, lineNo, column, file);
      }
      throw e;
    }
  }
  return attrs;
}

export { ClassAdSyntaxError };
