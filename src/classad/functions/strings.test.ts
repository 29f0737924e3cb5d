import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('strcat', () => {
  check([
    ['strcat("a", "b", "c")', '"abc"'],
    ['strcat("n=", 3, " ", true)', '"n=3 true"'],
    ['strcat()', '""'],
    ['strcat("a", error)', 'error'],
    ['strcat("a", {1, 2})', '"a{ 1,2 }"'],
  ]);
  it('an UNDEFINED argument makes strcat UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('strcat("a", undefined, "b")'), 'undefined');
  });
});

describe('join', () => {
  check([
    ['join(", ", "a", "b", "c")', '"a, b, c"'],
    ['join(split("a b c"))', '"abc"'],
    ['join(";", split("a b c"))', '"a;b;c"'],
    ['join(";", "a", undefined, "c")', '"a;c"'],
    ['join(";", undefined)', 'undefined'],
    ['join(";", "a", error)', 'error'],
    ['join(undefined, {"a", "b"})', '"ab"'],
    ['join("-", {1, 2.5})', '"1-2.500000000000000E+00"'],
    ['join()', '""'],
  ]);
});

describe('substr', () => {
  check([
    ['substr("abcdef", 2)', '"cdef"'],
    ['substr("abcdef", 2, 3)', '"cde"'],
    ['substr("abcdef", -2)', '"ef"'],
    ['substr("abcdef", -10)', '"abcdef"'],
    ['substr("abcdef", 10)', '""'],
    ['substr("abcdef", 1, -2)', '"bcd"'],
    ['substr("abcdef", 1, -10)', '""'],
    ['substr("abcdef", 1, 0)', '""'],
    ['substr("abcdef", 4, 100)', '"ef"'],
    ['substr("abc", undefined)', 'undefined'],
    ['substr(undefined, 1)', 'undefined'],
    ['substr("abc", 1.0)', 'error'],
    ['substr(12, 1)', 'error'],
    ['substr("abc")', 'error'],
    ['substr("abc", 1, 1, 1)', 'error'],
  ]);
});

describe('strcmp and stricmp', () => {
  check([
    ['strcmp("a", "b")', '-1'],
    ['strcmp("b", "a")', '1'],
    ['strcmp("a", "a")', '0'],
    ['strcmp("a", "A")', '1'],
    ['stricmp("a", "A")', '0'],
    ['stricmp("abc", "ABD")', '-1'],
    ['strcmp(12, "12")', '0'],
    ['strcmp("a", error)', 'error'],
    ['strcmp("a")', 'error'],
  ]);
  it('UNDEFINED gives UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('strcmp("a", undefined)'), 'undefined');
    assert.equal(show('stricmp(undefined, "a")'), 'undefined');
  });
});

describe('toUpper and toLower', () => {
  check([
    ['toUpper("abc1")', '"ABC1"'],
    ['toLower("AbC")', '"abc"'],
    ['toUpper(12)', '"12"'],
    ['toLower(true)', '"true"'],
    ['toUpper(error)', 'error'],
    ['toUpper("a", "b")', 'error'],
  ]);
  it('UNDEFINED gives UNDEFINED (implementation; the manual says ERROR)', () => {
    assert.equal(show('toUpper(undefined)'), 'undefined');
  });
});

describe('split', () => {
  check([
    ['split("a b,c")', '{ "a","b","c" }'],
    ['split("a, b")', '{ "a","b" }'],
    ['split("a,,b")', '{ "a","","b" }'],
    ['split("  a  ")', '{ "a" }'],
    ['split("a:b:c", ":")', '{ "a","b","c" }'],
    ['split("")', '{  }'],
    ['split("abc", "")', '{ "abc" }'],
    ['split(1)', 'error'],
    ['split(undefined)', 'error'],
    ['split("a", 1)', 'error'],
  ]);
});

describe('splitUserName and splitSlotName', () => {
  check([
    ['splitUserName("user@domain")', '{ "user","domain" }'],
    ['splitUserName("username")', '{ "username","" }'],
    ['splitUserName("a@b@c")', '{ "a","b@c" }'],
    ['splitSlotName("slot1@machine")', '{ "slot1","machine" }'],
    ['splitSlotName("machinename")', '{ "","machinename" }'],
    ['splitSlotName(undefined)', 'error'],
    ['splitUserName("a", "b")', 'error'],
  ]);
});
