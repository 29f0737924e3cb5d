/** The JSON form of ads (condor_q -json) and the eval value encoding. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import {
  BUILTINS, ClassAdSyntaxError, evaluate, encodeTypedValue, parseClassAd, parseJsonClassAd, parseJsonClassAds,
  printClassAd, printJsonClassAds, Real,
} from './index.ts';

describe('JSON form of ads', () => {
  it('prints literals as JSON values and other expressions as \\/Expr(...)\\/ strings', () => {
    const ad = parseClassAd('[ i = 3; r = 3.0; s = "a\\"b"; b = true; u = undefined; e = error; l = {1, x}; n = [a = 1]; x = a + 1 ]');
    const text = printJsonClassAds([ad]);
    assert.deepEqual(JSON.parse(text), [
      { i: 3, r: 3, s: 'a"b', b: true, u: null, e: '/Expr(error)/', l: [1, '/Expr(x)/'], n: { a: 1 }, x: '/Expr(a + 1)/' },
    ]);
    assert.match(text, /"r": 3\.0,/);
    assert.match(text, /"x": "\\\/Expr\(a \+ 1\)\\\/"/);
  });

  it('reads back what it printed: same ad, integers and reals kept apart', () => {
    const ad = parseClassAd('[ i = 3; r = 3.0; big = 9223372036854775807; s = "x"; u = undefined; l = {1, 2.5, "a"}; n = [a = 1; b = {}]; x = TARGET.y > 2 ? "a" : "b"; inf = real("INF") ]');
    const again = parseJsonClassAds(printJsonClassAds([ad]));
    assert.equal(again.length, 1);
    assert.equal(printClassAd(again[0]!), printClassAd(ad));
    assert.ok(evaluate('r', again[0]) instanceof Real);
    assert.equal(evaluate('big', again[0]), 9223372036854775807n);
  });

  it('accepts one object or an array of objects, and HTCondor\'s stray commas', () => {
    assert.equal(parseJsonClassAds('{"a": 1}').length, 1);
    assert.equal(parseJsonClassAds('[{"a": 1}, {"a": 2}]').length, 2);
    assert.equal(evaluate('a + b', parseJsonClassAd('{,"a": 1,, "b": 2,}')), 3);
  });

  it('reports bad JSON with line and column', () => {
    const cases: [string, RegExp, number, number][] = [
      ['{"a": 1\n "b": 2}', /expected "," or "}" after the value of "a"/, 2, 2],
      ['{"a": }', /expected a JSON value/, 1, 7],
      ['{"a": "\\/Expr(1 +)\\/"}', /bad expression/, 1, 22],
      ['{"a": 99999999999999999999}', /does not fit in 64 bits/, 1, 27],
      ['[1]', /array of objects/, 1, 1],
    ];
    for (const [text, message, line, column] of cases) {
      assert.throws(() => parseJsonClassAds(text, 'ads.json'), (e: unknown) => {
        assert.ok(e instanceof ClassAdSyntaxError, String(e));
        assert.match(e.message, message);
        assert.deepEqual(e.position, { file: 'ads.json', line, column });
        return true;
      }, text);
    }
  });
});

describe('eval value encoding', () => {
  const enc = (expr: string): unknown => JSON.parse(encodeTypedValue(evaluate(expr), BUILTINS));
  it('encodes each type as {"type", "value"}', () => {
    assert.deepEqual(enc('1'), { type: 'integer', value: 1 });
    assert.deepEqual(enc('1.5'), { type: 'real', value: 1.5 });
    assert.deepEqual(enc('"s"'), { type: 'string', value: 's' });
    assert.deepEqual(enc('false'), { type: 'boolean', value: false });
    assert.deepEqual(enc('undefined'), { type: 'undefined', value: null });
    assert.deepEqual(enc('error'), { type: 'error', value: null });
    assert.deepEqual(enc('{1, "a", {true}}'), { type: 'list', value: [1, 'a', [true]] });
    assert.deepEqual(enc('[a = 1; b = [c = a]]'), { type: 'classad', value: { a: 1, b: { c: 1 } } });
    assert.deepEqual(enc('-1.0/0'), { type: 'real', value: '-inf' });
  });
  it('writes reals with a decimal point so a reader can tell them from integers', () => {
    assert.equal(encodeTypedValue(evaluate('2.0'), BUILTINS), '{"type":"real","value":2.0}');
  });
});

describe('JSON reader limits and strings (review findings)', () => {
  const assertRefused = (text: string, message: RegExp, line: number, column: number): void => {
    assert.throws(() => parseJsonClassAds(text, 'ads.json'), (e: unknown) => {
      assert.ok(e instanceof ClassAdSyntaxError, String(e));
      assert.match(e.message, message);
      assert.deepEqual(e.position, { file: 'ads.json', line, column });
      return true;
    });
  };

  it('deeply nested JSON is a positioned syntax error, not a stack overflow', () => {
    // With the outer object, the 400th "[" is level 401: past the limit (the parser's MAX_DEPTH).
    const column = 6 + 399;
    assertRefused(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, /nests deeper than 400 levels/, 1, column);
    assertRefused(`{"a":${'['.repeat(200000)}`, /nests deeper than 400 levels/, 1, column);
    assertRefused(`{"a":${'{"b":'.repeat(5000)}1${'}'.repeat(5000)}}`, /nests deeper than 400 levels/, 1, 6 + 5 * 399);
    // Nesting within the limit still reads.
    const ok = parseJsonClassAd(`{"a": ${'['.repeat(399)}1${']'.repeat(399)}}`);
    assert.equal(ok.size, 1);
  });

  it('nesting plus a tall "\\/Expr(...)\\/" is refused like a too-tall expression (tree height limit)', () => {
    const tall = `\\/Expr(${Array(2990).fill('1').join(' + ')})\\/`;
    assert.equal(parseJsonClassAd(`{"a": "${tall}"}`).size, 1);
    assertRefused(`{"a": ${'['.repeat(20)}"${tall}"${']'.repeat(20)}}`, /value of "a" is more than 3000 levels deep/, 1, 7);
  });

  it('a plain string "/Expr(foo)/" stays a string through a JSON round trip (facts §4.3)', () => {
    const ad = parseClassAd('[ s = "/Expr(foo)/"; t = "\\\\/Expr(x)\\\\/"; l = {"/Expr(1)/"}; e = foo + 1 ]');
    const text = printJsonClassAds([ad]);
    assert.match(text, /"s": "\/Expr\(foo\)\/"/);
    assert.match(text, /"e": "\\\/Expr\(foo \+ 1\)\\\/"/);
    const back = parseJsonClassAds(text)[0]!;
    assert.equal(printClassAd(back), printClassAd(ad));
    assert.equal(evaluate('s', back), '/Expr(foo)/');
    // Only the raw \/ form is an expression, in either case of "Expr".
    assert.equal(evaluate('a', parseJsonClassAd('{"a": "/Expr(1 + 1)/"}')), '/Expr(1 + 1)/');
    assert.equal(evaluate('a', parseJsonClassAd('{"a": "\\/expr(1 + 1)\\/"}')), 2);
    assert.equal(evaluate('a', parseJsonClassAd('{"a": "\\/Expr(1 + 1)/"}')), '/Expr(1 + 1)/');
  });

  it('a JSON string with \\u0000 is refused with its position (HTCondor refuses it)', () => {
    assertRefused('{"a": "x\\u0000y"}', /NUL/, 1, 9);
    assertRefused('{\n "a": ["ok", "\\U0000"]}', /NUL/, 2, 15);
    assertRefused('{"a\\u0000": 1}', /NUL/, 1, 4);
    // An escaped backslash followed by "u0000" is text, not a NUL.
    assert.equal(evaluate('a', parseJsonClassAd('{"a": "\\\\u0000"}')), '\\u0000');
  });

  it('a leading byte-order mark is skipped', () => {
    assert.equal(evaluate('a', parseJsonClassAd('\ufeff{"a": 1}')), 1);
    assert.equal(parseJsonClassAds('\ufeff[{"a": 1}]').length, 1);
  });

  it('an attribute named __proto__ is an ordinary key in the JSON form and in the eval encoding', () => {
    const ad = parseClassAd("[ __proto__ = 1; constructor = [ __proto__ = 2 ]; x = 3 ]");
    const text = printJsonClassAds([ad]);
    assert.deepEqual(JSON.parse(text), [JSON.parse('{"__proto__": 1, "constructor": {"__proto__": 2}, "x": 3}')]);
    assert.equal(printClassAd(parseJsonClassAds(text)[0]!), printClassAd(ad));
    const encoded = encodeTypedValue(evaluate('[ __proto__ = 1; b = 2 ]'), BUILTINS);
    assert.equal(encoded, '{"type":"classad","value":{"__proto__":1,"b":2}}');
  });
});

describe('eval value encoding: the evaluation context (review findings)', () => {
  it('an ad value is encoded with the TARGET of its evaluation', () => {
    const my = parseClassAd('[ need = 2; fits = TARGET.cpus >= need; n = [ c = TARGET.cpus ] ]');
    const target = parseClassAd('[ cpus = 4; back = TARGET.need ]');
    const env = { scope: my, target };
    assert.deepEqual(JSON.parse(encodeTypedValue(my, BUILTINS, env)), { type: 'classad', value: { need: 2, fits: true, n: { c: 4 } } });
    // An ad of the target side sees the own ad as its TARGET.
    assert.deepEqual(JSON.parse(encodeTypedValue(target, BUILTINS, env)), { type: 'classad', value: { cpus: 4, back: 2 } });
  });
  it('an ad that contains itself has no JSON form: a clear error, not a stack overflow', () => {
    for (const text of ['[ a = self ]', '[ a = { self } ]', '[ n = [ p = parent ] ]', '[ a = [ b = a ] ]', '[ a = [ b = a; c = a ] ]']) {
      assert.throws(() => encodeTypedValue(evaluate(text), BUILTINS), (e: unknown) => {
        assert.ok(e instanceof HtcError && e.code === 'CLASSAD_INVALID', `${text}: ${String(e)}`);
        assert.match(e.message, /no JSON form|too large/);
        return true;
      }, text);
    }
  });
});
