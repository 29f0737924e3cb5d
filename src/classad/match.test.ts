/** Matchmaking: symmetric Requirements and Rank, as HTCondor's MatchClassAd. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTINS, parseClassAd, rank, requirementsHold, symmetricMatch } from './index.ts';

const job = (requirements: string, extra = ''): ReturnType<typeof parseClassAd> =>
  parseClassAd(`[ Owner = "alice"; RequestMemory = 1024; Requirements = ${requirements}; ${extra} ]`);
const slot = (requirements: string, extra = ''): ReturnType<typeof parseClassAd> =>
  parseClassAd(`[ Memory = 2048; Arch = "X86_64"; Requirements = ${requirements}; ${extra} ]`);

describe('symmetric match', () => {
  it('holds when both sides hold against each other', () => {
    assert.deepEqual(symmetricMatch(job('TARGET.Memory >= MY.RequestMemory'), slot('TARGET.Owner == "Alice"'), BUILTINS), {
      match: true, jobRequirements: true, machineRequirements: true,
    });
  });

  it('fails when either side fails, and says which', () => {
    assert.deepEqual(symmetricMatch(job('TARGET.Memory >= 4096'), slot('true'), BUILTINS), {
      match: false, jobRequirements: false, machineRequirements: true,
    });
    assert.deepEqual(symmetricMatch(job('true'), slot('TARGET.Owner == "bob"'), BUILTINS), {
      match: false, jobRequirements: true, machineRequirements: false,
    });
  });

  it('an unscoped name missing in MY is looked up in TARGET', () => {
    assert.equal(symmetricMatch(job('Memory >= RequestMemory'), slot('true'), BUILTINS).match, true);
  });

  it('UNDEFINED, ERROR, a missing Requirements and non-boolean types do not hold', () => {
    for (const r of ['TARGET.NoSuchAttr > 1', '1/0', '"yes"', '1.0', '{true}']) {
      assert.equal(requirementsHold(job(r), slot('true'), BUILTINS), false, r);
    }
    const noRequirements = parseClassAd('[ Owner = "alice" ]');
    assert.equal(symmetricMatch(noRequirements, slot('true'), BUILTINS).match, false);
  });

  it('a non-zero integer holds on its own (HTCondor EvalMatchExpr), zero does not', () => {
    assert.equal(requirementsHold(job('5'), slot('true'), BUILTINS), true);
    assert.equal(requirementsHold(job('0'), slot('true'), BUILTINS), false);
  });

  it('a real counts inside the symmetric && but not on its own (implementation, not the manual)', () => {
    const result = symmetricMatch(job('1.0'), slot('true'), BUILTINS);
    assert.equal(result.jobRequirements, false);
    assert.equal(result.match, true);
  });
});

describe('rank', () => {
  it('is evaluated with MY = the ranking ad and TARGET = the other', () => {
    const j = job('true', 'Rank = TARGET.Memory / 1024');
    assert.equal(rank(j, slot('true'), BUILTINS), 2);
  });
  it('is 0 when missing or not a number', () => {
    assert.equal(rank(job('true'), slot('true'), BUILTINS), 0);
    assert.equal(rank(job('true', 'Rank = "high"'), slot('true'), BUILTINS), 0);
    assert.equal(rank(job('true', 'Rank = TARGET.Nope'), slot('true'), BUILTINS), 0);
  });
});
