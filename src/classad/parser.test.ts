/**
 * The ClassAd parser (facts sheet §1.11, §3.1, §4.1): precedence,
 * associativity, negative literal folding, ads in new and old syntax, and
 * syntax errors with their line, column and what was expected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from './ast.ts';
import type { Value } from './value.ts';
import {
  AbsTime, RelTime, UNDEFINED, parseClassAd, parseClassAds, parseExpression, parseOldClassAd, unparse,
} from './index.ts';
import { assertSyntaxError, check, groupingOf, syntaxError } from './test-support.ts';

describe('precedence (§1.11), one pair of adjacent levels at a time', () => {
  const cases: [string, string][] = [
    ['a || b && c', '(a || (b && c))'],
    ['a && b || c', '((a && b) || c)'],
    ['a && b | c', '(a && (b | c))'],
    ['a | b ^ c', '(a | (b ^ c))'],
    ['a ^ b & c', '(a ^ (b & c))'],
    ['a & b == c', '(a & (b == c))'],
    ['a & b != c', '(a & (b != c))'],
    ['a | b =?= c', '(a | (b =?= c))'],
    ['a ^ b is c', '(a ^ (b is c))'],
    ['a & b isnt c', '(a & (b isnt c))'],
    ['a == b < c', '(a == (b < c))'],
    ['a =!= b >= c', '(a =!= (b >= c))'],
    ['a < b << c', '(a < (b << c))'],
    ['a > b >>> c', '(a > (b >>> c))'],
    ['a << b + c', '(a << (b + c))'],
    ['a >> b - c', '(a >> (b - c))'],
    ['a + b * c', '(a + (b * c))'],
    ['a - b / c', '(a - (b / c))'],
    ['a + b % c', '(a + (b % c))'],
    ['a * -b', '(a * (-b))'],
    ['a * !b', '(a * (!b))'],
    ['-a.b', '(-(a.b))'],
    ['!a[0]', '(!(a[0]))'],
    ['~a.b[1]', '(~((a.b)[1]))'],
    ['a || b ? c : d', '((a || b) ? c : d)'],
    ['a ? b || c : d || e', '(a ? (b || c) : (d || e))'],
    ['a + b ?: c', '(a + (b ?: c))'],
    ['a ?: b + 1', '((a ?: b) + 1)'],
    ['a ? : b + 1', '(a ?: (b + 1))'],
    ['a.b ?: c.d', '((a.b) ?: (c.d))'],
    ['a ?: b[0]', '(a ?: (b[0]))'],
    ['f(a) ?: -1', '(f(a) ?: -1)'],
    ['a || b && c | d ^ e & f == g < h << i + j * -k', '(a || (b && (c | (d ^ (e & (f == (g < (h << (i + (j * (-k)))))))))))'],
    ['-k * j + i << h < g == f & e ^ d | c && b || a', '(((((((((((-k) * j) + i) << h) < g) == f) & e) ^ d) | c) && b) || a)'],
  ];
  for (const [text, expected] of cases) {
    it(text, () => assert.equal(groupingOf(text), expected));
  }
});

describe('associativity (§1.11)', () => {
  const cases: [string, string][] = [
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['a % b * c', '((a % b) * c)'],
    ['a == b == c', '((a == b) == c)'],
    ['a is b isnt c', '((a is b) isnt c)'],
    ['a < b > c', '((a < b) > c)'],
    ['a << b >> c', '((a << b) >> c)'],
    ['a && b && c', '((a && b) && c)'],
    ['a || b || c', '((a || b) || c)'],
    ['a ? b : c ? d : e', '(a ? b : (c ? d : e))'],
    ['a ? b ? c : d : e', '(a ? (b ? c : d) : e)'],
    ['x ?: y ?: z', '((x ?: y) ?: z)'],
    ['x ? : y ? : z', '(x ?: (y ?: z))'],
    ['a.b.c', '((a.b).c)'],
    ['a[1][2]', '((a[1])[2])'],
    ['- - a', '(-(-a))'],
    ['!!a', '(!(!a))'],
    ['~-a', '(~(-a))'],
    ['(a + b) * c', '(paren((a + b)) * c)'],
  ];
  for (const [text, expected] of cases) {
    it(text, () => assert.equal(groupingOf(text), expected));
  }
});

describe('precedence seen through evaluation', () => {
  it('values chosen so that any other grouping gives a different answer', () => {
    check('1 + 2 * 3', 7);
    check('10 - 4 - 3', 3);
    check('100 / 10 / 5', 2);
    check('2 * 3 % 4', 2);
    check('1 << 2 + 1', 8);
    check('1 | 2 ^ 3 & 4', 3);
    check('true || false && false', true);
    check('5 > 3 == true', true);
    check('1 + 1 == 2 && 3 < 4', true);
    check('-2 * -3', 6);
    check('- 2 * 3', -6);
    check('2 - -3', 5);
    check('false ? 1 : true ? 2 : 3', 2);
    check('8 >> 1 >> 1', 2);
    check('1 < 2 == 2 < 3', true);
  });
});

describe('negative literal folding (§1.11, §3.1)', () => {
  const lit = (value: Value): Node => ({ kind: 'literal', value });
  const attr = (name: string): Node => ({ kind: 'attr', name, absolute: false });
  it('-5 after nothing, an operator, ( or , is a literal', () => {
    assert.deepEqual(parseExpression('-5'), lit(-5));
    assert.deepEqual(parseExpression('(-5)'), { kind: 'paren', inner: lit(-5) });
    assert.deepEqual(parseExpression('f(-5, -6)'), { kind: 'call', name: 'f', args: [lit(-5), lit(-6)] });
    assert.deepEqual(parseExpression('{-1,-2}'), { kind: 'list', items: [lit(-1), lit(-2)] });
    assert.deepEqual(parseExpression('a * -5'), { kind: 'binary', op: '*', left: attr('a'), right: lit(-5) });
    assert.deepEqual(parseExpression('a - -5'), { kind: 'binary', op: '-', left: attr('a'), right: lit(-5) });
    assert.equal(unparse(parseExpression('-5')), '-5');
  });
  it('- 5 with a space is unary minus', () => {
    assert.deepEqual(parseExpression('- 5'), { kind: 'unary', op: '-', operand: lit(5) });
    assert.deepEqual(parseExpression('-a'), { kind: 'unary', op: '-', operand: attr('a') });
  });
  it('x-5 and 3 -5 are subtractions', () => {
    assert.deepEqual(parseExpression('x-5'), { kind: 'binary', op: '-', left: attr('x'), right: lit(5) });
    assert.deepEqual(parseExpression('3 -5'), { kind: 'binary', op: '-', left: lit(3), right: lit(5) });
    for (const text of ['(x)-5', 'a[0]-5', '{1}-5', '"s"-5', 'true-5', 'undefined-5', 'a.b-5', 'f()-5', '2.5-5']) {
      assert.equal(parseExpression(text).kind, 'binary', text);
    }
    check('3 -5', -2);
    check('3-5', -2);
  });
  it('-.5 is a real literal; -.x is minus an absolute reference', () => {
    assert.equal(groupingOf('-.5'), '-5.000000000000000E-01');
    assert.equal(groupingOf('-.x'), '(-.x)');
  });
  it('INT64_MIN is writable as a literal', () => {
    assert.deepEqual(parseExpression('-9223372036854775808'), lit(-9223372036854775808n));
  });
});

describe('primaries', () => {
  it('attribute references, absolute references, selects and subscripts', () => {
    assert.deepEqual(parseExpression('.a'), { kind: 'attr', name: 'a', absolute: true });
    assert.deepEqual(parseExpression('MY.x'), { kind: 'select', base: { kind: 'attr', name: 'MY', absolute: false }, name: 'x' });
    assert.equal(groupingOf('.a.b'), '(.a.b)');
    assert.equal(groupingOf('a["x"]'), '(a["x"])');
  });
  it('function calls keep the name as written', () => {
    assert.deepEqual(parseExpression('StrCat()'), { kind: 'call', name: 'StrCat', args: [] });
    assert.equal(groupingOf('f(1, g(2), {3})'), 'f(1, g(2), {3})');
  });
  it('lists and ads, including empty ones', () => {
    assert.deepEqual(parseExpression('{}'), { kind: 'list', items: [] });
    assert.deepEqual(parseExpression('[]'), { kind: 'record', attrs: [] });
    assert.equal(groupingOf('[a = 1; b = {2, [c = 3]}]'), '[a = 1; b = {2, [c = 3]}]');
  });
  it('absTime("...") and relTime("...") with a literal argument become time literals at parse time (§1.11, §3.2)', () => {
    const a = parseExpression('absTime("2020-01-02T03:04:05+01:00")');
    assert.equal(a.kind, 'literal');
    assert.ok(a.kind === 'literal' && a.value instanceof AbsTime);
    assert.equal(a.value.seconds, 1577930645);
    const r = parseExpression('RELTIME("01:30")');
    assert.ok(r.kind === 'literal' && r.value instanceof RelTime);
    assert.equal(r.value.seconds, 90);
    assert.equal(unparse(parseExpression('relTime("90")')), 'relTime("01:30")');
  });
  it('a very deep expression is a syntax error, not a stack overflow', () => {
    for (const text of [
      '('.repeat(5000) + '1' + ')'.repeat(5000),
      '-'.repeat(5000) + ' a',
      '!'.repeat(100000) + 'a',
      '{'.repeat(5000) + '}'.repeat(5000),
      '[a='.repeat(5000) + '1' + ']'.repeat(5000),
      'a['.repeat(5000) + '0' + ']'.repeat(5000),
      'f('.repeat(5000) + ')'.repeat(5000),
      'a ? '.repeat(5000) + '1' + ' : 2'.repeat(5000),
    ]) syntaxError(() => parseExpression(text), text.slice(0, 10));
  });
  it('a flat chain of 5000 additions is refused by the parser or evaluates; it never throws anything else', () => {
    const text = Array.from({ length: 5000 }, () => '1').join(' + ');
    let node: Node;
    try {
      node = parseExpression(text);
    } catch (e) {
      syntaxError(() => { throw e; }, 'flat chain');
      return;
    }
    assert.doesNotThrow(() => unparse(node), 'unparse of the flat chain');
    check(text, 5000);
  });
  it('long flat lists and select chains are fine', () => {
    check(`x${'.y'.repeat(2000)}`, UNDEFINED);
    check(`{${Array.from({ length: 5000 }, (_, i) => i).join(',')}}[4999]`, 4999);
  });
});

describe('syntax errors: line, column, and what was expected', () => {
  it('an incomplete binary expression', () => {
    assertSyntaxError(() => parseExpression('1 +'), '1 +', 1, 4, /expected an expression.*end of input/);
    assertSyntaxError(() => parseExpression('1 + * 2'), '1 + * 2', 1, 5, /expected an expression/);
    assertSyntaxError(() => parseExpression('a &&'), 'a &&', 1, 5, /expected/);
  });
  it('unbalanced parentheses, brackets and braces', () => {
    assertSyntaxError(() => parseExpression('(1 + 2'), '(1 + 2', 1, 7, /expected "\)"/);
    assertSyntaxError(() => parseExpression('1 + 2)'), '1 + 2)', 1, 6, /expected an operator or end of input/);
    assertSyntaxError(() => parseExpression('{1, 2'), '{1, 2', 1, 6, /expected "," or "}"/);
    assertSyntaxError(() => parseExpression('f(1, 2'), 'f(1, 2', 1, 7, /expected "," or "\)"/);
    assertSyntaxError(() => parseExpression('a[1'), 'a[1', 1, 4, /"\]"/);
    assertSyntaxError(() => parseExpression('[a = 1'), '[a = 1', 1, 7, /";" or "\]"/);
    assertSyntaxError(() => parseExpression(')'), ')', 1, 1, /expected an expression/);
  });
  it('ternary without its colon', () => {
    assertSyntaxError(() => parseExpression('a ? b'), 'a ? b', 1, 6, /":"/);
  });
  it('bad ad bodies', () => {
    assertSyntaxError(() => parseClassAd('[a = ]'), '[a = ]', 1, 6, /expected an expression/);
    assertSyntaxError(() => parseClassAd('[a 1]'), '[a 1]', 1, 4, /expected "=" after attribute name a/);
    assertSyntaxError(() => parseClassAd('[1 = 2]'), '[1 = 2]', 1, 2, /attribute name/);
    assertSyntaxError(() => parseClassAd('[a = 1 b = 2]'), 'missing ;', 1, 8, /";" or "\]"/);
    assertSyntaxError(() => parseClassAd('a = 1'), 'no [', 1, 1, /"\["/);
    assertSyntaxError(() => parseClassAd('[a = 1] x'), 'trailing text', 1, 9, /end of input/);
    syntaxError(() => parseClassAd('[a == 1]'), '[a == 1]');
  });
  it('trailing commas are errors (§1.11)', () => {
    assertSyntaxError(() => parseExpression('{1,2,}'), '{1,2,}', 1, 6, /expected an expression/);
    syntaxError(() => parseExpression('f(1,)'), 'f(1,)');
    syntaxError(() => parseExpression('{,}'), '{,}');
  });
  it('Elvis followed by a non-postfix expression (§1.9)', () => {
    syntaxError(() => parseExpression('a ?: -b'), 'a ?: -b');
    syntaxError(() => parseExpression('a ?: !b'), 'a ?: !b');
  });
  it('keywords are not attribute names unless quoted', () => {
    syntaxError(() => parseExpression('a.true'), 'a.true');
    syntaxError(() => parseClassAd('[true = 1]'), '[true = 1]');
    assert.equal(parseClassAd("['true' = 1]").names()[0], 'true');
  });
  it('errors on later lines report that line', () => {
    assertSyntaxError(() => parseExpression('1 +\n2 +\n* 3'), 'line 3', 3, 1, /expected an expression/);
    assertSyntaxError(() => parseClassAd('[\n a = 1;\n b = "x\n]'), 'string on line 3', 3, 6, /string/);
    assertSyntaxError(() => parseClassAd('[\n  a = 1;\n  b = (2\n]'), 'paren on line 4', 4, 1, /"\)"/);
    assertSyntaxError(() => parseExpression('/* a\n b */ 1 +\n\n   )'), 'after a comment', 4, 4);
  });
  it('the file name is carried in the position', () => {
    const e = syntaxError(() => parseClassAd('[a = 1;\n b = ]', 'job.ad'));
    assert.deepEqual(e.position, { file: 'job.ad', line: 2, column: 6 });
    assert.match(e.describe(), /^job\.ad:2:6: /);
  });
});

describe('new-syntax ads', () => {
  it('[a=1; b=2] keeps names and order', () => {
    const ad = parseClassAd('[ Foo = 1; bar = "x"; Baz = foo + 1 ]');
    assert.deepEqual(ad.names(), ['Foo', 'bar', 'Baz']);
    check('Baz', 2, ad);
  });
  it('a trailing semicolon is allowed', () => {
    assert.deepEqual(parseClassAd('[a = 1;]').names(), ['a']);
  });
  it('extra and leading semicolons are allowed (§1.11)', () => {
    assert.deepEqual(parseClassAd('[;a=1;;b=2;]').names(), ['a', 'b']);
    assert.deepEqual(parseClassAd('[;]').names(), []);
  });
  it('comments and newlines inside an ad', () => {
    const ad = parseClassAd('[\n  // the first\n  a = 1; /* second */ b = 2\n]');
    assert.deepEqual(ad.names(), ['a', 'b']);
  });
  it('several ads in one text', () => {
    const ads = parseClassAds('[a = 1]\n// between\n[b = 2] [c = 3]');
    assert.deepEqual(ads.map((a) => a.names()), [['a'], ['b'], ['c']]);
    assert.deepEqual(parseClassAds('  '), []);
    syntaxError(() => parseClassAds('[a = 1] 7'), 'not an ad');
  });
  it('a repeated name replaces the earlier expression', () => {
    const ad = parseClassAd('[a = 1; b = 2; A = 3]');
    assert.equal(ad.size, 2);
    check('a', 3, ad);
  });
  it('a repeated name keeps the spelling of its first insertion (§3.2a; UNCONFIRMED there, chosen here)', () => {
    assert.deepEqual(parseClassAd('[ A = 1; a = 2 ]').names(), ['A']);
  });
  it('quoted names', () => {
    const ad = parseClassAd("[ 'my attr' = 1; 'a\\'b' = 2 ]");
    assert.deepEqual(ad.names(), ['my attr', "a'b"]);
    check("'MY ATTR' + 1", 2, ad);
  });
});

describe('old-syntax ads (§4.1)', () => {
  it('one Name = expr per line; blank lines and # comments skipped', () => {
    const ad = parseOldClassAd('# a comment\n\nCmd = "/bin/sleep"\n   \nRequestMemory = 128\n  Rank = 0.0\nRequirements = (TARGET.Memory >= 128) && (TARGET.Arch == "X86_64")\n');
    assert.deepEqual(ad.names(), ['Cmd', 'RequestMemory', 'Rank', 'Requirements']);
    check('RequestMemory * 2', 256, ad);
    assert.equal(unparse(ad.get('Requirements')!, 'old'), '(TARGET.Memory >= 128) && (TARGET.Arch == "X86_64")');
  });
  it('no spaces around =, CRLF line ends, no final newline', () => {
    const ad = parseOldClassAd('A=1\r\nB =2\r\nC= "x"');
    assert.deepEqual(ad.names(), ['A', 'B', 'C']);
    check('A + B', 3, ad);
    check('C', 'x', ad);
  });
  it('strings: backslash is literal except before a quote that does not end the line (§3.1)', () => {
    const ad = parseOldClassAd([
      String.raw`Path = "C:\temp\new"`,
      String.raw`Quote = "say \"hi\" now"`,
      String.raw`Trail = "ends with\"`,
      String.raw`Esc = "a\nb"`,
    ].join('\n'));
    check('Path', String.raw`C:\temp\new`, ad);
    check('Quote', 'say "hi" now', ad);
    check('Trail', 'ends with\\', ad);
    check('Esc', 'a\\nb', ad);
  });
  it('a value may be any expression, including ads and lists', () => {
    const ad = parseOldClassAd('L = { 1, 2 }\nN = [ a = 1; b = 2 ]\nE = x ?: 3\n');
    check('L[1] + N.b', 4, ad);
    check('E', 3, ad);
  });
  it('errors carry the file line and the column within the line', () => {
    const e1 = assertSyntaxError(() => parseOldClassAd('A = 1\nB = 1 +\n', 'job.ad'), 'incomplete', 2, 8, /expected an expression/);
    assert.equal(e1.position?.file, 'job.ad');
    assertSyntaxError(() => parseOldClassAd('A = 1\n  junk\n'), 'no =', 2, 3, /Name = expression/);
    assertSyntaxError(() => parseOldClassAd('A = 1\n\n\nB = "unterminated\n'), 'string', 4, 5, /unterminated|closing/);
    assertSyntaxError(() => parseOldClassAd('   X =   (1 + 2'), 'paren', 1, 16, /"\)"/);
    syntaxError(() => parseOldClassAd('= 5'), 'no name');
    syntaxError(() => parseOldClassAd('A == 5'), 'A == 5');
    syntaxError(() => parseOldClassAd('A = 1 2'), 'two values');
  });
});
