import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('regexp', () => {
  check([
    ['regexp("b+", "abbbc")', 'true'],
    ['regexp("^b", "abc")', 'false'],
    ['regexp("^A", "abc", "i")', 'true'],
    ['regexp("^A", "abc", "I")', 'false'],
    ['regexp("^b", "a\\nb", "m")', 'true'],
    ['regexp("^b", "a\\nb")', 'false'],
    ['regexp("a.b", "a\\nb")', 'false'],
    ['regexp("a.b", "a\\nb", "s")', 'true'],
    ['regexp("a.b", "a\\rb")', 'true'],
    ['regexp("a b c", "abc", "x")', 'true'],
    ['regexp("abc$", "abc\\n")', 'true'],
    ['regexp("[[:digit:]]+", "x12")', 'true'],
    ['regexp("\\\\d{3}", "ab123")', 'true'],
    ['regexp("(?i)ABC", "abc")', 'true'],
    ['regexp("\\\\Aab", "ab")', 'true'],
    ['regexp("(", "a")', 'error'],
    ['regexp("[a", "a")', 'error'],
    ['regexp(1, "a")', 'error'],
    ['regexp("a", undefined)', 'undefined'],
    ['regexp(undefined, error)', 'error'],
    ['regexp("a", "a", undefined)', 'undefined'],
    ['regexp("a", "a", 1)', 'error'],
    ['regexp("a")', 'error'],
  ]);
});

describe('regexps, replace, replaceAll', () => {
  check([
    ['regexps("(\\\\w+)@(\\\\w+)", "mail user@host now", "\\\\2:\\\\1")', '"host:user"'],
    ['regexps("x", "abc", "y")', '""'],
    ['regexps("b", "abcb", "X", "f")', '"aXcb"'],
    ['regexps("b", "abcb", "X", "fg")', '"aXcX"'],
    ['replace("b", "abcb", "X")', '"aXcb"'],
    ['replace("x", "abc", "X")', '"abc"'],
    ['replaceAll("b", "abcb", "X")', '"aXcX"'],
    ['replaceAll("B", "abcb", "X", "i")', '"aXcX"'],
    ['replace("(a)", "abc", "[\\\\0\\\\1]")', '"[aa]bc"'],
    ['replace("a", "abc", "\\\\x")', '"\\\\xbc"'],
    ['replace("(a)|(b)", "abc", "\\\\2")', 'error'],
    ['replace("(", "abc", "x")', 'error'],
    ['replace("a", "abc", 1)', 'error'],
    ['replace("a", undefined, "x")', 'undefined'],
    ['replace("a", "abc")', 'error'],
  ]);
  it('an empty match at the end of the target is ERROR with "g" (implementation: PCRE bad offset)', () => {
    assert.equal(show('replaceAll("x*", "abc", "-")'), 'error');
  });
  it('empty matches elsewhere copy one character and move on', () => {
    assert.equal(show('replaceAll("x*", "", "-")'), 'error');
    assert.equal(show('replace("x*", "abc", "-")'), '"-abc"');
  });
});

describe('regexpMember', () => {
  check([
    ['regexpMember("^b", {"abc", "bcd"})', 'true'],
    ['regexpMember("^z", {"abc", "bcd"})', 'false'],
    ['regexpMember("^B", {"abc", "bcd"}, "i")', 'true'],
    ['regexpMember("^z", {"abc", undefined})', 'undefined'],
    ['regexpMember("^b", {undefined, "bcd"})', 'true'],
    ['regexpMember("^z", {"abc", 1})', 'error'],
    ['regexpMember("^a", {"abc", 1})', 'true'],
    ['regexpMember("a", "abc")', 'error'],
    ['regexpMember("a", undefined)', 'undefined'],
  ]);
  it('an invalid pattern never matches (implementation; the manual does not say)', () => {
    assert.equal(show('regexpMember("(", {"a"})'), 'false');
  });
});

describe('POSIX class names from the pattern are looked up safely (review finding)', () => {
  check([
    ['regexp("[[:alpha:]]+", "abc")', 'true'],
    ['regexp("[[:constructor:]]", "c")', 'error'],
    ['regexp("[[:toString:]]", "t")', 'error'],
    ['regexp("[[:__proto__:]]", "_")', 'error'],
    ['regexp("[[:hasOwnProperty:]]", "h")', 'error'],
  ]);
});
