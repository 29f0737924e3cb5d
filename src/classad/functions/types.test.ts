import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';

describe('type predicates', () => {
  const cases: [string, string][] = [
    ['isUndefined(undefined)', 'true'],
    ['isUndefined(missing)', 'true'],
    ['isUndefined(1)', 'false'],
    ['isUndefined(error)', 'false'],
    ['isError(error)', 'true'],
    ['isError(1/0)', 'true'],
    ['isError(undefined)', 'false'],
    ['isString("")', 'true'],
    ['isString(1)', 'false'],
    ['isInteger(1)', 'true'],
    ['isInteger(1.0)', 'false'],
    ['isInteger(true)', 'false'],
    ['isReal(1.0)', 'true'],
    ['isReal(1)', 'false'],
    ['isBoolean(true)', 'true'],
    ['isBoolean(1)', 'false'],
    ['isList({})', 'true'],
    ['isList("a")', 'false'],
    ['isClassAd([a=1])', 'true'],
    ['isClassAd({})', 'false'],
    ['isAbsTime(absTime(0))', 'true'],
    ['isAbsTime(0)', 'false'],
    ['isRelTime(relTime(5))', 'true'],
    ['isRelTime(5)', 'false'],
    ['ISUNDEFINED(x)', 'true'],
  ];
  for (const [expr, want] of cases) it(`${expr} is ${want}`, () => assert.equal(show(expr), want));

  it('wrong argument counts are ERROR', () => {
    assert.equal(show('isUndefined()'), 'error');
    assert.equal(show('isString("a", "b")'), 'error');
  });
  it('isBoolean is a type test (implementation; the manual says integer 0 or 1)', () => {
    assert.equal(show('isBoolean(0)'), 'false');
  });
});
