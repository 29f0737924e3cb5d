import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('envV1ToV2 and mergeEnvironment', () => {
  check([
    ['envV1ToV2("A=1;B=two words")', '"A=1 B=\'two words\'"'],
    ['envV1ToV2("")', '""'],
    ['envV1ToV2(undefined)', 'undefined'],
    ['envV1ToV2("novalue")', 'error'],
    ['envV1ToV2(1)', 'error'],
    ['envV1ToV2()', 'error'],
    ['mergeEnvironment("A=1 B=2", "B=3 C=\'x y\'")', '"A=1 B=3 C=\'x y\'"'],
    ['mergeEnvironment(undefined, "A=1")', '"A=1"'],
    ['mergeEnvironment()', '""'],
    ['mergeEnvironment("A=\'it\'\'s\'")', '"A=\'it\'\'s\'"'],
    ['mergeEnvironment("A=\'open")', 'error'],
    ['mergeEnvironment(1)', 'error'],
  ]);
});

describe('userHome (no configuration: lookup disabled, as HTCondor by default)', () => {
  check([
    ['userHome("root")', 'undefined'],
    ['userHome("root", "/home/default")', '"/home/default"'],
    ['userHome(undefined)', 'undefined'],
    ['userHome(1)', 'error'],
    ['userHome(1, "/d")', '"/d"'],
    ['userHome()', 'error'],
  ]);
});

describe('userMap (no map sets configured)', () => {
  check([
    ['userMap("groups", "alice")', 'undefined'],
    ['userMap("groups", "alice", "g1")', 'undefined'],
    ['userMap("groups", "alice", "g1", "dflt")', '"dflt"'],
    ['userMap("groups", error)', 'error'],
    ['userMap("groups", 1)', 'undefined'],
    ['userMap("groups")', 'error'],
  ]);
});

describe('function names', () => {
  it('are case-insensitive', () => {
    assert.equal(show('STRCAT("a", "b")'), '"ab"');
    assert.equal(show('IfThenElse(true, 1, 2)'), '1');
  });
  it('unknown functions are ERROR', () => {
    assert.equal(show('noSuchFunction(1)'), 'error');
  });
});
