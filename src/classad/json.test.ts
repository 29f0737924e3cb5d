/** The JSON form of ads (condor_q -json) and the eval value encoding. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
