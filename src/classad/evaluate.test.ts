/**
 * Evaluation: scoping of attribute references (MY, TARGET, nested ads,
 * PARENT, ROOT, absolute references), subscripts, selects over lists,
 * circular references, and the rule that evaluation never throws
 * (facts sheet §1.10, §2, §6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassAd, ERROR, UNDEFINED, evaluate, evaluateAttr, parseExpression, type Value } from './index.ts';
import { ad, assertValue, check, describeValue, ev, list, r } from './test-support.ts';

describe('unscoped references: MY first, then TARGET', () => {
  const my = ad('[ x = 1; onlyMine = "m"; sum = x + y ]');
  const target = ad('[ x = 2; y = 3 ]');
  it('found in MY', () => {
    check('x', 1, my, target);
    check('onlyMine', 'm', my, target);
  });
  it('not in MY: found in TARGET', () => {
    check('y', 3, my, target);
    check('sum', 4, my, target);
  });
  it('in neither: UNDEFINED', () => {
    check('z', UNDEFINED, my, target);
    check('z', UNDEFINED, my);
    check('z', UNDEFINED);
  });
  it('MY.x and TARGET.x look only on their side', () => {
    check('MY.x', 1, my, target);
    check('TARGET.x', 2, my, target);
    check('MY.y', UNDEFINED, my, target);
    check('TARGET.onlyMine', UNDEFINED, my, target);
    check('TARGET.x', UNDEFINED, my);
    check('MY.x', UNDEFINED, null, target);
  });
  it('OTHER is TARGET; SELF is MY (§2.2, §5)', () => {
    check('OTHER.x', 2, my, target);
    check('SELF.x', 1, my, target);
  });
  it('scope names are case-insensitive', () => {
    check('my.X', 1, my, target);
    check('target.X', 2, my, target);
    check('Target.Y', 3, my, target);
  });
});

describe('attribute names are case-insensitive (§2.1)', () => {
  it('lookups in any case', () => {
    const my = ad('[ CamelCase = 1; lower = CAMELCASE + 1 ]');
    check('camelcase', 1, my);
    check('CAMELCASE', 1, my);
    check('MY.cAmElCaSe', 1, my);
    check('LOWER', 2, my);
    check('[a = 1]["A"]', 1);
    check('[ABC = 1].abc', 1);
  });
});

describe('an attribute found in TARGET evaluates from TARGET\'s side (MY and TARGET swapped)', () => {
  const my = ad('[ v = "mine"; q = t; viaTarget = TARGET.u ]');
  const target = ad('[ v = "theirs"; t = MY.v; u = TARGET.v; w = v; k = onlyMine ]');
  my.setValue('onlyMine', 'only in my');
  it('MY inside the target ad is the target ad', () => {
    check('t', 'theirs', my, target);
    check('TARGET.t', 'theirs', my, target);
    check('q', 'theirs', my, target);
  });
  it('TARGET inside the target ad is my ad', () => {
    check('u', 'mine', my, target);
    check('TARGET.u', 'mine', my, target);
    check('viaTarget', 'mine', my, target);
  });
  it('unscoped names inside the target ad look in the target first, then in my ad', () => {
    check('w', 'theirs', my, target);
    check('TARGET.w', 'theirs', my, target);
    check('TARGET.k', 'only in my', my, target);
  });
});

describe('nested ads, PARENT, ROOT and absolute references (§2.1, §2.2, §2.5)', () => {
  it('a.b.c', () => {
    const my = ad('[ a = [ b = [ c = 42 ] ] ]');
    check('a.b.c', 42, my);
    check('a.b.x', UNDEFINED, my);
    check('a.x.c', UNDEFINED, my);
    check('a.b.c.d', ERROR, my);
    check('a["b"]["c"]', 42, my);
    check('[ b = [ c = 7 ] ].b.c', 7);
  });
  it('unscoped names in a nested ad fall back to the enclosing ad', () => {
    check('[ a = 1; b = [ c = a ] ].b.c', 1);
    check('[ a = 1; b = [ a = 2; c = a ] ].b.c', 2);
    const my = ad('[ limit = 10; inner = [ over = limit + 1 ] ]');
    check('inner.over', 11, my);
  });
  it('PARENT', () => {
    check('[ a = 1; b = [ a = 2; c = parent.a ] ].b.c', 1);
    check('parent.a', UNDEFINED, ad('[ a = 1 ]'));
    const my = ad('[ a = 1; b = [ a = 2; c = PARENT.a ] ]');
    check('b.c', 1, my);
  });
  it('special names also apply after a dot: x.parent, x.self, x.root (§2.3: same scope-walking algorithm)', () => {
    check('[ a = 1; b = [ c = [ d = parent.parent.a ] ] ].b.c.d', 1);
    check('[ g = 3; f = self.self.g ].f', 3);
    check('[ a = 1; b = [ c = parent.root.a ] ].b.c', 1);
  });
  it('ROOT, TOPLEVEL and .name start at the outermost ad', () => {
    const my = ad('[ r = 10; n = [ r = 20; m = [ r = 30; v = root.r; t = toplevel.r; w = .r; s = r ] ] ]');
    check('n.m.v', 10, my);
    check('n.m.t', 10, my);
    check('n.m.w', 10, my);
    check('n.m.s', 30, my);
    check('.r', 10, my);
    check('[ r = 1; n = [ m = .r ] ].n.m', 1);
  });
  it('an absolute reference with nothing to start from is ERROR or UNDEFINED, never a throw (§2.1)', () => {
    const v = ev('.r');
    assert.ok(v === ERROR || v === UNDEFINED, describeValue(v));
  });
  it('a real attribute named parent shadows the special name in its own ad', () => {
    check('[ parent = 5; x = parent ].x', 5);
  });
  it('special names are looked at before walking up (§2.2 step 3)', () => {
    // In the inner ad, `parent` is not an attribute, so it names the enclosing ad
    // (which happens to have an attribute called parent).
    const v = ev('[ parent = 5; n = [ x = parent ] ].n.x');
    assert.ok(v instanceof ClassAd, `expected the enclosing ad, got ${describeValue(v)}`);
  });
});

describe('subscripts (§1.10, §2.4)', () => {
  it('lists take integer indexes in range', () => {
    check('{10, 20, 30}[0]', 10);
    check('{10, 20, 30}[2]', 30);
    check('{10, 20, 30}[1 + 1]', 30);
    check('{{1, 2}, {3}}[0][1]', 2);
    check('{1, 1/0}[0]', 1);
    check('{1, 1/0}[1]', ERROR);
  });
  it('out of range or a wrong index type is ERROR', () => {
    check('{1, 2}[2]', ERROR);
    check('{1, 2}[-1]', ERROR);
    check('{}[0]', ERROR);
    check('{1, 2}[1.0]', ERROR);
    check('{1, 2}[true]', ERROR);
    check('{1, 2}["1"]', ERROR);
    check('{1, 2}[{0}]', ERROR);
    check('{1, 2}[9223372036854775807]', ERROR);
    check('{1, 2}[-9223372036854775808]', ERROR);
    check('{1, 2}[4294967296]', ERROR);
  });
  it('ads take string indexes, case-insensitively', () => {
    check('[a = 1]["A"]', 1);
    check('[a = 1]["a"]', 1);
    check('[a = 1]["b"]', UNDEFINED);
    check('[a = 1; b = a + 1]["B"]', 2);
    check('[a = 1][0]', ERROR);
    check('[a = 1][true]', ERROR);
  });
  it('other bases are ERROR; UNDEFINED and ERROR operands are strict', () => {
    check('"abc"[0]', ERROR);
    check('5[0]', ERROR);
    check('undefined[0]', UNDEFINED);
    check('missing[0]', UNDEFINED);
    check('{1}[undefined]', UNDEFINED);
    check('{1}[missing]', UNDEFINED);
    check('error[0]', ERROR);
    check('{1}[error]', ERROR);
    check('undefined[error]', ERROR);
    check('error[undefined]', ERROR);
  });
  it('subscripts of attributes', () => {
    const my = ad('[ L = { "a", "b" }; i = 1; A = [ k = "v" ]; key = "K" ]');
    check('L[i]', 'b', my);
    check('A[key]', 'v', my);
    check('A[key] == "V"', true, my);
  });
});

describe('select (§2.3)', () => {
  it('a select on a list of ads maps over it', () => {
    check('{[a=1], [a=2], [b=3]}.a', list(1, 2, UNDEFINED));
    check('{[a=1], [a=2]}.a', list(1, 2));
    check('{}.a', list());
    check('{1}.a', list(ERROR));
    check('{[a=1], undefined}.a', list(1, UNDEFINED));
    check('{[a=1], "s"}.a', list(1, ERROR));
    check('{[a=1], [a=2]}.a[1]', 2);
  });
  it('a select on a non-ad', () => {
    check('(5).a', ERROR);
    check('"s".a', ERROR);
    check('(1.5).a', ERROR);
    check('true.a', ERROR);
    check('undefined.a', UNDEFINED);
    check('missing.a', UNDEFINED);
    check('error.a', ERROR);
  });
});

describe('circular references yield ERROR and terminate (§2.5)', () => {
  it('direct', () => {
    check('[a = a].a', ERROR);
    check('[a = a + 1].a', ERROR);
    check('a', ERROR, ad('[ a = a + 1 ]'));
  });
  it('indirect', () => {
    check('[a = b; b = a].a', ERROR);
    check('a', ERROR, ad('[ a = b + 1; b = c * 2; c = a - 3 ]'));
    check('b', ERROR, ad('[ a = b + 1; b = c * 2; c = a - 3 ]'));
  });
  it('through TARGET', () => {
    const my = ad('[ a = TARGET.b ]');
    const target = ad('[ b = TARGET.a ]');
    check('a', ERROR, my, target);
    check('TARGET.b', ERROR, my, target);
    const my2 = ad('[ a = b ]');
    const target2 = ad('[ b = a ]');
    check('a', ERROR, my2, target2);
  });
  it('through nested ads', () => {
    check('[ a = n.b; n = [ b = parent.a ] ].a', ERROR);
    check('[ a = .a ].a', ERROR);
  });
  it('an ad evaluates normally again after a cycle was found', () => {
    const my = ad('[ a = b; b = a; c = 1; d = c + 1 ]');
    check('a', ERROR, my);
    check('d', 2, my);
    check('a', ERROR, my);
  });
  it('an expression that merely mentions an attribute twice is not a cycle', () => {
    check('[ a = 2; b = a * a + a ].b', 6);
    check('[ a = 2; b = { a, a, a } ].b', list(2, 2, 2));
  });
  it('the failure of a cycle propagates through enclosing operators (§2.5)', () => {
    check('[ a = b; b = a; c = a =?= error ].c', ERROR);
  });
  it('a very long (non-circular) chain of references is ERROR, not a stack overflow (§2.5 depth limit)', () => {
    const long = new ClassAd();
    for (let i = 0; i < 20000; i++) long.set(`a${i}`, parseExpression(i === 19999 ? '0' : `a${i + 1} + 1`));
    check('a0', ERROR, long);
  });
  it('a moderate chain of references evaluates', () => {
    const chain = new ClassAd();
    for (let i = 0; i < 200; i++) chain.set(`a${i}`, parseExpression(i === 199 ? '0' : `a${i + 1} + 1`));
    check('a0', 199, chain);
  });
});

describe('evaluateAttr and evaluate with trees', () => {
  it('evaluateAttr looks the name up case-insensitively, UNDEFINED when absent', () => {
    const my = ad('[ Memory = 2048; Req = TARGET.Need <= Memory ]');
    const target = ad('[ Need = 1024 ]');
    assertValue(evaluateAttr(my, 'memory'), 2048, 'memory');
    assertValue(evaluateAttr(my, 'REQ', target), true, 'req');
    assertValue(evaluateAttr(my, 'nothing'), UNDEFINED, 'nothing');
  });
  it('evaluate accepts a parsed tree', () => {
    assertValue(evaluate(parseExpression('1 + 2.5')), r(3.5), 'tree');
  });
});

describe('evaluation never throws', () => {
  const my = ad('[ a = b; b = a; L = {1, [x = 1]}; S = "s"; N = [ m = parent.N ]; self = 3; big = 9223372036854775807 ]');
  const target = ad('[ a = TARGET.a; t = MY.t + 1; u = {u}; v = v[0] ]');
  const odd = [
    'a', 'b', 't', 'u', 'v', 'TARGET.t', 'MY.a', 'L.x', 'L[1].x', 'L[5]', 'S.x', 'S[0]', 'N.m.m.m', 'N.m.m.m.m.m',
    'self', 'self.self', 'parent', 'parent.parent.x', 'root.root', '.a', '.L.x', 'TARGET.TARGET.TARGET',
    'MY.MY.MY.a', 'big * big', 'big + 1', '-big - 2', 'big / 0', 'big % 0', 'big << 64', 'big >> 200', '1 << -1',
    '1 >>> -1', '-1 >>> 0', '~big', '1e308 * 1e308', '-(0.0/0)', '{}.x', '{}[0]', '[][""]', '[x = 1][""]', 'f()', 'nosuch(1, 2)',
    'ifThenElse()', 'ifThenElse(1)', 'ifThenElse(a, b, a)', '(((((a)))))', 'a ?: b ?: a', 'a ? b : a', '!a', '~a',
    '-a', '+a', 'a && b', 'a || b', 'a =?= b', '{a, b}', '[x = a].x', '[x = x].x', 'u[0]', 'u[0][0]', 'L[0].x', 'S == S',
    '"é" < "e"', 'a.b.c.d.e.f', 'TARGET[0]', 'MY["a"]', 'MY["L"][1]["x"]', '-9223372036854775808 / -1',
  ];
  it('a batch of odd expressions all give values', () => {
    for (const text of odd) {
      let v: Value;
      try {
        v = evaluate(text, my, target);
      } catch (e) {
        assert.fail(`${text}: threw ${String(e)}`);
      }
      assert.ok(v !== undefined && v !== null, text);
    }
  });
  it('the same batch with no ads', () => {
    for (const text of odd) assert.doesNotThrow(() => evaluate(text), text);
  });
});

describe('MY.x and SELF.x select from the own ad like any select (§2.3, review finding)', () => {
  it('MY.x and SELF.x walk the enclosing ads like any select', () => {
    check('[a = 1; n = [b = self.a]].n.b', 1);
    check('[a = 1; n = [b = MY.a]].n.b', 1);
    check('[a = 1; n = [a = 2; b = MY.a]].n.b', 2);
    const my = ad('[ limit = 10; inner = [ over = MY.limit + 1; deeper = [ x = SELF.limit ] ] ]');
    check('inner.over', 11, my);
    check('inner.deeper.x', 10, my);
  });
  it('but never reach the target', () => {
    check('[a = 1; n = [b = MY.y]].n.b', UNDEFINED, null, ad('[ y = 2 ]'));
    check('MY.y', UNDEFINED, ad('[ a = 1 ]'), ad('[ y = 2 ]'));
  });
});

describe('TARGET and OTHER (§2.2, §5, review finding)', () => {
  const my = ad('[ m = "mine"; viaTwice = TARGET.TARGET.m ]');
  const target = ad('[ m = "theirs"; back = TARGET.TARGET.m ]');
  it('TARGET.TARGET is MY: the target of the target side is the own ad', () => {
    check('TARGET.TARGET.m', 'mine', my, target);
    check('OTHER.TARGET.m', 'mine', my, target);
    check('TARGET.TARGET.TARGET.m', 'theirs', my, target);
    check('viaTwice', 'mine', my, target);
    check('TARGET.back', 'theirs', my, target);
  });
  it('an attribute named target in an enclosing ad wins over the match target', () => {
    check('[target = 5; b = [c = target]].b.c', 5);
    check('[target = 5; b = [c = target]].b.c', 5, my, target);
    check('[other = [m = "o"]; b = [c = OTHER.m]].b.c', 'o', my, target);
    check('[target = [m = "t"]; b = [c = TARGET.m]].b.c', 't', my, target);
    const nested = ad('[ target = [ m = "enclosing" ]; n = [ v = TARGET.m; w = target.m ] ]');
    check('n.v', 'enclosing', nested, target);
    check('n.w', 'enclosing', nested, target);
  });
  it('with no attribute of that name, TARGET still means the other side from a nested ad', () => {
    check('[b = [c = TARGET.m]].b.c', 'theirs', my, target);
    check('[b = [c = target]].b.c.m', 'theirs', my, target);
  });
});

describe('the work limit of one evaluation (§2.5, review finding)', () => {
  const doubling = (n: number): ClassAd => {
    const a = new ClassAd().setValue('a0', 1);
    for (let i = 1; i <= n; i++) a.set(`a${i}`, parseExpression(`a${i - 1} + a${i - 1}`));
    return a;
  };
  it('exponential evaluation (a40 = a39 + a39) stops at the work limit with ERROR', () => {
    const big = doubling(40);
    const started = Date.now();
    check('a40', ERROR, big);
    assertValue(evaluateAttr(big, 'a40'), ERROR, 'evaluateAttr');
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    // The failure is not an ERROR value an expression could test for.
    check('a40 =?= error', ERROR, big);
  });
  it('the limit is per outermost evaluation: work below it evaluates, again and again', () => {
    const ok = doubling(15); // 2^15 attribute evaluations
    for (let i = 0; i < 40; i++) check('a15', 2 ** 15, ok);
    check('a14 + a14', 2 ** 15, ok);
  });
});
