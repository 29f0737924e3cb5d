import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('stringListSize', () => {
  check([
    ['stringListSize("a, b ,c")', '3'],
    ['stringListSize("")', '0'],
    ['stringListSize("a;b;;c", ";")', '3'],
    ['stringListSize(undefined)', 'error'],
    ['stringListSize("a", 1)', 'error'],
    ['stringListSize()', 'error'],
  ]);
});

describe('stringListSum, Avg, Min, Max', () => {
  check([
    ['stringListSum("1,2,3")', '6'],
    ['stringListSum("1,2.5")', '3.500000000000000E+00'],
    ['stringListSum("")', '0.0'],
    ['stringListSum("1,x")', 'error'],
    ['stringListAvg("1,2")', '1'],
    ['stringListAvg("1.0,2")', '1.500000000000000E+00'],
    ['stringListAvg("")', '0.0'],
    ['stringListMin("3,1,2")', '1'],
    ['stringListMin("")', 'undefined'],
    ['stringListMax("3,1,2")', '3'],
    ['stringListMax("1;5", ";")', '5'],
    ['stringListMax(undefined)', 'error'],
  ]);
  it('stringListAvg of integers truncates (implementation: integer unless an item looks real)', () => {
    assert.equal(show('stringListAvg("1,2")'), '1');
  });
  it('stringListMax of negative integers is 0 (implementation: starts from FLT_MIN)', () => {
    assert.equal(show('stringListMax("-5,-3")'), '0');
  });
  it('an item with a numeric prefix counts as a real (implementation: sscanf)', () => {
    assert.equal(show('stringListSum("1,2abc")'), '3.000000000000000E+00');
  });
});

describe('stringListMember and stringListIMember', () => {
  check([
    ['stringListMember("b", "a, b, c")', 'true'],
    ['stringListMember("B", "a, b, c")', 'false'],
    ['stringListIMember("B", "a, b, c")', 'true'],
    ['stringListMember("d", "a,b,c")', 'false'],
    ['stringListMember("b", "a;b", ";")', 'true'],
    ['stringListMember("a b", "a b")', 'false'],
    ['stringListMember(1, "1")', 'error'],
    ['stringListMember("a", error)', 'error'],
    ['stringListMember(undefined, undefined)', 'undefined'],
    ['stringListMember("a")', 'error'],
  ]);
  it('UNDEFINED item or list counts as "" (implementation)', () => {
    assert.equal(show('stringListMember(undefined, "a")'), 'false');
    assert.equal(show('stringListMember("a", undefined)'), 'false');
  });
});

describe('stringListSubsetMatch and stringListISubsetMatch', () => {
  check([
    ['stringListSubsetMatch("a,b", "a,b,c,d")', 'true'],
    ['stringListSubsetMatch("a,e", "a,b,c,d")', 'false'],
    ['stringListSubsetMatch("", "a")', 'true'],
    ['stringListSubsetMatch("A", "a")', 'false'],
    ['stringListISubsetMatch("A,B", "a, b")', 'true'],
    ['stringListSubsetMatch("a:b", "b:a", ":")', 'true'],
    ['stringListSubsetMatch(undefined, "a")', 'true'],
    ['stringListSubsetMatch("a", undefined)', 'false'],
    ['stringListSubsetMatch(1, "a")', 'error'],
  ]);
  it('an all-delimiter item string matches nothing (implementation quirk)', () => {
    assert.equal(show('stringListSubsetMatch(" ", "a")'), 'false');
  });
});

describe('stringListsIntersect', () => {
  check([
    ['stringListsIntersect("a,b", "b,c")', 'true'],
    ['stringListsIntersect("a,b", "c,d")', 'false'],
    ['stringListsIntersect("a;b", "x;b", ";")', 'true'],
    ['stringListsIntersect("a", "A")', 'false'],
    ['stringListsIntersect("a", undefined)', 'undefined'],
    ['stringListsIntersect(error, undefined)', 'error'],
    ['stringListsIntersect("a", 1)', 'error'],
    ['stringListsIntersect("a")', 'error'],
    ['stringListsIntersect("a b", "b", "")', 'true'],
  ]);
});

describe('stringList_regexpMember', () => {
  check([
    ['stringList_regexpMember("^b", "abc, bcd")', 'true'],
    ['stringList_regexpMember("^B", "abc, bcd")', 'false'],
    ['stringList_regexpMember("^B", "abc, bcd", ", ", "i")', 'true'],
    ['stringList_regexpMember("^B", "abc, bcd", ", ", "I")', 'true'],
    ['stringList_regexpMember("x", "a;x", ";")', 'true'],
    ['stringList_regexpMember("x", "")', 'undefined'],
    ['stringList_regexpMember("(", "a")', 'error'],
    ['stringList_regexpMember("a", undefined)', 'error'],
    ['stringList_regexpMember("a")', 'error'],
  ]);
});
