/**
 * The ClassAd tokenizer (facts sheet §3.1): literals, escapes, keywords,
 * comments, operator tokens and lexical errors with their positions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from './ast.ts';
import { ERROR, Real, UNDEFINED, evaluate, parseClassAdsText, parseExpression, type Value } from './index.ts';
import { Lexer, type Token } from './lexer.ts';
import { assertSyntaxError, assertValue, syntaxError } from './test-support.ts';

function tokens(text: string): Token[] {
  const lx = new Lexer(text);
  const out: Token[] = [];
  for (;;) {
    const t = lx.next();
    if (t.type === 'eof') return out;
    out.push(t);
  }
}

/** The literal a whole expression text parses to. */
function literal(text: string): Value {
  const node: Node = parseExpression(text);
  assert.equal(node.kind, 'literal', `${text} should parse to a literal, got ${node.kind}`);
  return node.value;
}

function lit(text: string, expected: Value): void {
  assertValue(literal(text), expected, text);
}

describe('lexer: numbers (§3.1)', () => {
  it('integers', () => {
    lit('0', 0);
    lit('42', 42);
    lit('9007199254740993', 9007199254740993n);
    lit('9223372036854775807', 9223372036854775807n);
    lit('-9223372036854775808', -9223372036854775808n);
    lit('-5', -5);
  });
  it('integers beyond 64 bits are refused with a position', () => {
    syntaxError(() => parseExpression('9223372036854775808'), '2^63');
    syntaxError(() => parseExpression('-9223372036854775809'), '-2^63-1');
    syntaxError(() => parseExpression('1 + 99999999999999999999999'), 'huge');
  });
  it('reals: 1e3 .5 1.5E-3 and friends', () => {
    lit('1e3', new Real(1000));
    lit('1E3', new Real(1000));
    lit('1e+3', new Real(1000));
    lit('.5', new Real(0.5));
    lit('-.5', new Real(-0.5));
    lit('1.5E-3', new Real(0.0015));
    lit('0.0', new Real(0));
    lit('-0.0', new Real(-0));
    lit('3.25', new Real(3.25));
    lit('089.5', new Real(89.5));
    lit('1.7976931348623157e308', new Real(1.7976931348623157e308));
    lit('1e400', new Real(Infinity));
    lit('5e-324', new Real(5e-324));
  });
  it('a real needs a digit after the point and digits in the exponent', () => {
    assertSyntaxError(() => parseExpression('5.'), '5.', 1, 1, /digit/);
    syntaxError(() => parseExpression('5.e3'), '5.e3');
    assertSyntaxError(() => parseExpression('1e'), '1e', 1, 2, /exponent/);
    syntaxError(() => parseExpression('1e+'), '1e+');
    syntaxError(() => parseExpression('x + 2.'), 'x + 2.');
  });
  it('a leading zero, hex and octal are refused (old semantics, §3.1)', () => {
    assertSyntaxError(() => parseExpression('007'), '007', 1, 1, /leading zero/);
    syntaxError(() => parseExpression('017'), '017');
    syntaxError(() => parseExpression('089'), '089');
    assertSyntaxError(() => parseExpression('0x1F'), '0x1F', 1, 2, /hexadecimal|decimal/);
    syntaxError(() => parseExpression('1 + 0X10'), '0X10');
    syntaxError(() => parseExpression('12abc'), '12abc');
  });
  it('a lone dot is the selection operator, .digit is a real', () => {
    assert.deepEqual(tokens('a.b').map((t) => t.text), ['a', '.', 'b']);
    assert.deepEqual(tokens('.5').map((t) => t.type), ['real']);
    assert.deepEqual(tokens('.x').map((t) => t.type), ['op', 'name']);
  });
});

describe('lexer: strings (§3.1)', () => {
  it('escapes \\n \\t \\r \\" \\\\ \\\' \\? \\a \\b \\f \\v', () => {
    lit(String.raw`"a\nb"`, 'a\nb');
    lit(String.raw`"a\tb"`, 'a\tb');
    lit(String.raw`"a\rb"`, 'a\rb');
    lit(String.raw`"say \"hi\""`, 'say "hi"');
    lit(String.raw`"back\\slash"`, 'back\\slash');
    lit(String.raw`"it\'s"`, "it's");
    lit(String.raw`"what\?"`, 'what?');
    lit(String.raw`"\a\b\f\v"`, '\x07\b\f\v');
  });
  it('octal escapes: \\o, \\oo, \\ooo (third digit only when the first is 0-3)', () => {
    lit(String.raw`"\101"`, 'A');
    lit(String.raw`"\1010"`, 'A0');
    lit(String.raw`"\7"`, '\x07');
    lit(String.raw`"\12"`, '\n');
    lit(String.raw`"\477"`, "'7");
    lit(String.raw`"\377"`, '\xff');
    lit(String.raw`"\18"`, '\x018');
  });
  it('a NUL escape is an error (§3.1)', () => {
    syntaxError(() => parseExpression(String.raw`"\0"`), '\\0');
    syntaxError(() => parseExpression(String.raw`"\000"`), '\\000');
    syntaxError(() => parseExpression(String.raw`"ab\00cd"`), '\\00');
  });
  it('unknown escapes keep the character; no \\x or \\u', () => {
    lit(String.raw`"\x41"`, 'x41');
    lit(String.raw`"\q"`, 'q');
    lit(String.raw`"\u0041"`, 'u0041');
  });
  it('adjacent string literals are one string', () => {
    lit('"abc" "def"', 'abcdef');
    lit('"abc""def"', 'abcdef');
    lit('"a" /* c */ "b" // d\n "c"', 'abc');
    lit('"a"\n\t"b"', 'ab');
  });
  it('unicode text passes through', () => {
    lit('"héllo ✓"', 'héllo ✓');
  });
  it('unterminated strings report where the string began', () => {
    assertSyntaxError(() => parseExpression('"abc'), '"abc', 1, 1, /unterminated|closing/);
    assertSyntaxError(() => parseExpression('1 + "abc'), '1 + "abc', 1, 5, /unterminated|closing/);
    assertSyntaxError(() => parseExpression('x\n  + "abc'), 'second line', 2, 5, /unterminated|closing/);
    syntaxError(() => parseExpression('"abc\\"'), 'escaped closing quote');
    syntaxError(() => parseExpression('"abc\\'), 'trailing backslash');
  });
});

describe('lexer: quoted attribute names (§3.1)', () => {
  it("'a b' is a name, with escapes", () => {
    const t = tokens("'a b'");
    assert.equal(t.length, 1);
    assert.equal(t[0]!.type, 'quotedName');
    assert.equal(t[0]!.value, 'a b');
    assert.deepEqual(parseExpression("'a b'"), { kind: 'attr', name: 'a b', absolute: false });
    assert.deepEqual(parseExpression(String.raw`'a\'b'`), { kind: 'attr', name: "a'b", absolute: false });
    assert.deepEqual(parseExpression("'true'"), { kind: 'attr', name: 'true', absolute: false });
    assert.deepEqual(parseExpression("x.'y z'"), { kind: 'select', base: { kind: 'attr', name: 'x', absolute: false }, name: 'y z' });
  });
  it("adjacent quoted names are one name, like strings (§3.1)", () => {
    assert.deepEqual(parseExpression("'ab' 'cd'"), { kind: 'attr', name: 'abcd', absolute: false });
  });
  it('an unterminated quoted name is an error', () => {
    assertSyntaxError(() => parseExpression("'abc"), "'abc", 1, 1, /unterminated|closing/);
  });
});

describe('lexer: keywords (§3.1; case-insensitive by design)', () => {
  it('true false undefined error in any case', () => {
    for (const [text, v] of [
      ['true', true], ['TRUE', true], ['True', true], ['false', false], ['FALSE', false],
      ['undefined', UNDEFINED], ['UNDEFINED', UNDEFINED], ['Undefined', UNDEFINED],
      ['error', ERROR], ['ERROR', ERROR], ['Error', ERROR],
    ] as const) lit(text, v);
  });
  it('is and isnt are operators in any case', () => {
    for (const text of ['a is b', 'a IS b', 'a Is b', 'a iS b']) {
      const n = parseExpression(text);
      assert.equal(n.kind, 'binary', text);
      assert.equal(n.op, 'is', text);
    }
    const n = parseExpression('a ISNT b');
    assert.equal((n as Extract<Node, { kind: 'binary' }>).op, 'isnt');
  });
  it('names that merely start with a keyword are names', () => {
    for (const name of ['trueish', 'errors', 'island', 'isnt_', 'undefined2', 'False_']) {
      assert.deepEqual(parseExpression(name), { kind: 'attr', name, absolute: false });
    }
  });
  it('parent, my, target, root are ordinary names at the lexical level', () => {
    for (const name of ['parent', 'MY', 'target', 'Root', 'self', 'other']) {
      assert.deepEqual(tokens(name).map((t) => t.type), ['name']);
    }
  });
});

describe('lexer: comments and whitespace (§3.1)', () => {
  it('// to end of line, /* ... */ anywhere', () => {
    assertValue(literal('// lead\n 7 // trail'), 7, 'line comments');
    assert.deepEqual(tokens('1 /* a\nb */ + /**/ 2').map((t) => t.text), ['1', '+', '2']);
  });
  it('positions count lines through comments', () => {
    const t = tokens('/* one\ntwo */ a\n  // c\n   b');
    assert.deepEqual(t.map((x) => [x.text, x.line, x.column]), [['a', 2, 8], ['b', 4, 4]]);
  });
  it('an unterminated /* comment is an error at its start', () => {
    assertSyntaxError(() => parseExpression('1 + /* never'), 'unterminated comment', 1, 5, /comment/);
  });
  it('# is not a comment in expressions', () => {
    syntaxError(() => parseExpression('1 # no'), '#');
  });
  it('tabs, CR, form feeds are whitespace', () => {
    assertValue(literal('\t\r\n\f 5 \v'), 5, 'whitespace');
  });
});

describe('lexer: operator tokens (§3.1)', () => {
  it('longest match', () => {
    const ops = '=?= =!= == != <= >= << >> >>> && || ?: ? : ; , [ ] ( ) { } . + - * / % ~ ^ & | ! < > =';
    assert.deepEqual(tokens(ops).map((t) => t.text), ops.split(' '));
    assert.deepEqual(tokens('a>>>=b').map((t) => t.text), ['a', '>>>', '=', 'b']);
    assert.deepEqual(tokens('a=!b').map((t) => t.text), ['a', '=', '!', 'b']);
    assert.deepEqual(tokens('x?:y').map((t) => t.text), ['x', '?:', 'y']);
    assert.deepEqual(tokens('x? :y').map((t) => t.text), ['x', '?', ':', 'y']);
  });
  it('unknown characters are errors with their position', () => {
    assertSyntaxError(() => parseExpression('a $ b'), '$', 1, 3, /unexpected/);
    assertSyntaxError(() => parseExpression('a\n\n  @'), '@', 3, 3, /unexpected/);
    syntaxError(() => parseExpression('a ` b'), 'backtick');
    syntaxError(() => parseExpression('a \\ b'), 'backslash');
  });
  it('every token has a 1-based line and column', () => {
    const t = tokens('a +\n  "s" \n\t{1}');
    assert.deepEqual(t.map((x) => [x.text, x.line, x.column]), [
      ['a', 1, 1], ['+', 1, 3], ['"s"', 2, 3], ['{', 3, 2], ['1', 3, 3], ['}', 3, 4],
    ]);
  });
});

describe('lexer: review findings', () => {
  it('names like constructor, toString, valueOf, hasOwnProperty, __proto__ are names, not keywords', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', 'toLocaleString']) {
      assert.deepEqual(tokens(name).map((t) => t.type), ['name'], name);
      assert.deepEqual(parseExpression(name), { kind: 'attr', name, absolute: false });
      assertValue(evaluate(`[${name} = 3].${name}`), 3, name);
      assertValue(evaluate(`[a = 1; ${name} = a + 1][${JSON.stringify(name)}]`), 2, name);
    }
  });
  it('a backslash-newline inside a string counts the line, so later positions stay right', () => {
    const t = tokens('"a\\\nb" x\n y');
    assert.deepEqual(t.map((x) => [x.type, x.line, x.column]), [['string', 1, 1], ['name', 2, 4], ['name', 3, 2]]);
    assert.equal(t[0]!.value, 'a\nb');
    assertSyntaxError(() => parseExpression('"a\\\nb" +\n )'), 'after an escaped newline', 3, 2, /expected an expression/);
  });
  it('a raw NUL character in a string or quoted name is refused like an escaped one', () => {
    assertSyntaxError(() => parseExpression('1 + "a\0b"'), 'raw NUL in a string', 1, 5, /NUL/);
    assertSyntaxError(() => parseExpression("'a\0b'"), 'raw NUL in a name', 1, 1, /NUL/);
    syntaxError(() => parseClassAdsText('A = "x\0"', { syntax: 'old' }), 'raw NUL in old syntax');
  });
  it('a leading byte-order mark is skipped', () => {
    assert.deepEqual(tokens('\ufeffa + 1').map((t) => [t.text, t.line, t.column]), [['a', 1, 1], ['+', 1, 3], ['1', 1, 5]]);
  });
});
