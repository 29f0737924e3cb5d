import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ev, show } from './testing.ts';
import { Real } from '../value.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('int()', () => {
  check([
    ['int(3)', '3'],
    ['int(3.9)', '3'],
    ['int(-3.9)', '-3'],
    ['int(true)', '1'],
    ['int("42")', '42'],
    ['int("  12abc")', '12'],
    ['int("0x10")', '16'],
    ['int("2.7")', '2'],
    ['int("10K")', '10240'],
    ['int("abc")', 'error'],
    ['int(error)', 'error'],
    ['int({1})', 'error'],
    ['int(absTime(100, 0))', '100'],
    ['int(relTime(90))', '90'],
    ['int()', 'error'],
    ['int(1, 2)', 'error'],
  ]);
  it('int(undefined) is UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('int(undefined)'), 'undefined');
  });
});

describe('real()', () => {
  check([
    ['real(3)', '3.000000000000000E+00'],
    ['real("INF")', 'real("INF")'],
    ['real("-inf")', 'real("-INF")'],
    ['real("NaN")', 'real("NaN")'],
    ['real("1e3")', '1.000000000000000E+03'],
    ['real("x")', 'error'],
    ['real(false)', '0.0'],
    ['real([a=1])', 'error'],
  ]);
  it('real(undefined) is UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('real(undefined)'), 'undefined');
  });
  it('real("1.5") is a Real box', () => assert.deepEqual(ev('real("1.5")'), new Real(1.5)));
});

describe('string()', () => {
  check([
    ['string("a")', '"a"'],
    ['string(12)', '"12"'],
    ['string(true)', '"true"'],
    ['string({1,"a"})', '"{ 1,\\"a\\" }"'],
    ['string(relTime(90))', '"01:30"'],
    ['string(absTime("2020-01-02T03:04:05+01:00"))', '"2020-01-02T03:04:05+01:00"'],
    ['string(error)', 'error'],
  ]);
  it('string(undefined) is UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('string(undefined)'), 'undefined');
  });
});

describe('bool()', () => {
  check([
    ['bool(1)', 'true'],
    ['bool(0)', 'false'],
    ['bool(0.0)', 'false'],
    ['bool("TRUE")', 'true'],
    ['bool("false")', 'false'],
    ['bool("yes")', 'undefined'],
    ['bool(undefined)', 'undefined'],
    ['bool(error)', 'error'],
    ['bool({})', 'error'],
    ['bool(relTime(0))', 'false'],
    ['bool(absTime(0))', 'error'],
  ]);
});

describe('floor, ceiling, round', () => {
  check([
    ['floor(2.7)', '2'],
    ['floor(-2.2)', '-3'],
    ['floor(5)', '5'],
    ['floor("3.5")', '3'],
    ['ceiling(2.1)', '3'],
    ['ceil(-2.7)', '-2'],
    ['round(2.5)', '2'],
    ['round(3.5)', '4'],
    ['round(-2.5)', '-2'],
    ['round(2.4999)', '2'],
    ['round(true)', '1'],
    ['floor(undefined)', 'error'],
    ['floor("x")', 'error'],
    ['round()', 'error'],
    ['floor(1e300)', '9223372036854775807'],
  ]);
});

describe('pow and quantize', () => {
  check([
    ['pow(2, 10)', '1024'],
    ['pow(2, 0)', '1'],
    ['pow(0, 0)', '1'],
    ['pow(2, -1)', '5.000000000000000E-01'],
    ['pow(2.0, 2)', '4.000000000000000E+00'],
    ['pow(4, 0.5)', '2.000000000000000E+00'],
    ['pow("a", 2)', 'error'],
    ['pow(2)', 'error'],
    ['quantize(3, 8)', '8'],
    ['quantize(3, 2)', '4'],
    ['quantize(0, 4)', '0'],
    ['quantize(1.5, 6.8)', '6.800000000000000E+00'],
    ['quantize(10, 5.1)', '1.020000000000000E+01'],
    ['quantize(0, {4})', '4'],
    ['quantize(2, {1, 2, "A"})', '2'],
    ['quantize(3, {1, 2, 0.5})', '3.000000000000000E+00'],
    ['quantize(2.7, {1, 2, 0.5})', '3.000000000000000E+00'],
    ['quantize(3, {1, 2, "A"})', 'error'],
    ['quantize(5, 0)', '5'],
    ['quantize(undefined, 2)', 'error'],
  ]);
  it('quantize(6.8, 1.2) is about 7.2', () => {
    const v = ev('quantize(6.8, 1.2)');
    assert.ok(v instanceof Real && Math.abs(v.v - 7.2) < 1e-9);
  });
});

describe('random()', () => {
  it('random() is a real in [0,1)', () => {
    for (let i = 0; i < 50; i++) {
      const v = ev('random()');
      assert.ok(v instanceof Real && v.v >= 0 && v.v < 1);
    }
  });
  it('random(5) is an integer in [0,5)', () => {
    for (let i = 0; i < 50; i++) {
      const v = ev('random(5)');
      assert.ok(typeof v === 'number' && v >= 0 && v < 5 && Number.isInteger(v));
    }
  });
  it('random(2.5) is a real in [0,2.5)', () => {
    const v = ev('random(2.5)');
    assert.ok(v instanceof Real && v.v >= 0 && v.v < 2.5);
  });
  it('bad arguments are ERROR', () => {
    assert.equal(show('random(0)'), 'error');
    assert.equal(show('random(-1.0)'), 'error');
    assert.equal(show('random("a")'), 'error');
    assert.equal(show('random(undefined)'), 'error');
    assert.equal(show('random(1, 2)'), 'error');
  });
});
