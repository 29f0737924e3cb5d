/** The annex binding transform: clauses, the user's requirements kept intact, idempotence. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTINS, parseClassAd, parseExpression, requirementsHold, unparse, type ClassAd } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import { ANNEX_BINDING, annexRequirements, annexTarget, NOT_ON_ANNEX, userRequirements, withAnnexRequirements } from './transforms.ts';

const job = (attrs: string): ClassAd => parseClassAd(`[ Owner = "alice"; ${attrs} ]`);
const again = (ad: ClassAd): ClassAd => withAnnexRequirements(ad, 'alice');

describe('annex binding', () => {
  it('binds a job with TargetAnnexName to that annex and its owner', () => {
    assert.equal(annexRequirements(job('TargetAnnexName = "a1"; Requirements = OpSys == "LINUX" && Memory > 10'), 'alice'), `(OpSys == "LINUX" && Memory > 10) && ${ANNEX_BINDING}`);
  });
  it('does not double parentheses the user already wrote', () => {
    assert.equal(annexRequirements(job('TargetAnnexName = "a1"; Requirements = (OpSys == "LINUX")'), 'alice'), `(OpSys == "LINUX") && ${ANNEX_BINDING}`);
  });
  it('keeps a low-precedence user expression intact', () => {
    const text = annexRequirements(job('TargetAnnexName = "a1"; Requirements = Memory > 10 || HasGpu'), 'alice');
    assert.equal(text, `(Memory > 10 || HasGpu) && ${ANNEX_BINDING}`);
  });
  it('stands alone without user requirements', () => {
    assert.equal(annexRequirements(job('TargetAnnexName = "a1"'), 'alice'), ANNEX_BINDING);
  });
  it('keeps jobs without TargetAnnexName off annex slots', () => {
    assert.equal(annexRequirements(job('Requirements = true'), 'alice'), `(true) && ${NOT_ON_ANNEX}`);
    assert.equal(annexRequirements(job(''), 'alice'), NOT_ON_ANNEX);
    assert.equal(annexRequirements(job('TargetAnnexName = undefined'), 'alice'), NOT_ON_ANNEX);
  });
  it('lets a job opt in to annex slots with AllowAnnexSlots = true only', () => {
    assert.equal(annexRequirements(job('AllowAnnexSlots = true; Requirements = Memory > 1'), 'alice'), '(Memory > 1)');
    assert.equal(annexRequirements(job('AllowAnnexSlots = true'), 'alice'), 'true');
    assert.equal(annexRequirements(job('AllowAnnexSlots = 1'), 'alice'), NOT_ON_ANNEX);
    assert.equal(annexRequirements(job('AllowAnnexSlots = "true"'), 'alice'), NOT_ON_ANNEX);
  });
  it('refuses a TargetAnnexName that is not a non-empty string', () => {
    for (const v of ['""', '3', 'error']) {
      assert.throws(() => annexRequirements(job(`TargetAnnexName = ${v}`), 'alice'), (e: unknown) => e instanceof HtcError && e.code === 'CLASSAD_INVALID', v);
    }
  });
  it('refuses to bind a job whose Owner is not the submitter', () => {
    assert.throws(() => annexRequirements(job('TargetAnnexName = "a1"'), 'mallory'), (e: unknown) => e instanceof HtcError && e.code === 'INTERNAL');
  });
  it('reads the target', () => {
    assert.deepEqual(annexTarget(job('')), { kind: 'no-annex', allowAnnexSlots: false });
    assert.deepEqual(annexTarget(job('AllowAnnexSlots = true')), { kind: 'no-annex', allowAnnexSlots: true });
    assert.deepEqual(annexTarget(job('TargetAnnexName = strcat("a", "1")')), { kind: 'annex', name: 'a1' });
  });
});

describe('idempotence', () => {
  const cases = ['TargetAnnexName = "a1"; Requirements = OpSys == "LINUX"', 'TargetAnnexName = "a1"', 'Requirements = Memory > 1', '', 'AllowAnnexSlots = true; Requirements = x', 'Requirements = (a) && (b)'];
  for (const attrs of cases) {
    it(`applying twice adds the clause once: [ ${attrs} ]`, () => {
      const once = again(job(attrs));
      const twice = again(once);
      assert.equal(annexRequirements(twice, 'alice'), annexRequirements(once, 'alice'));
      assert.equal(annexRequirements(once, 'alice'), annexRequirements(job(attrs), 'alice'));
    });
  }
  it('re-targets when TargetAnnexName changes or goes away', () => {
    const bound = again(job('TargetAnnexName = "a1"; Requirements = Memory > 1'));
    const unbound = bound.copy();
    unbound.delete('TargetAnnexName');
    assert.equal(annexRequirements(unbound, 'alice'), `(Memory > 1) && ${NOT_ON_ANNEX}`);
    const rebound = again(again(unbound)).set('TargetAnnexName', parseExpression('"a2"'));
    assert.equal(annexRequirements(rebound, 'alice'), `(Memory > 1) && ${ANNEX_BINDING}`);
  });
  it('keeps the user’s own copy of a clause written in the middle', () => {
    const user = `${NOT_ON_ANNEX} && Memory > 1`;
    // The user's part is written back by the ClassAd printer (which spells =!= as isnt).
    assert.equal(annexRequirements(job(`Requirements = ${user}`), 'alice'), `(${unparse(parseExpression(user))}) && ${NOT_ON_ANNEX}`);
  });
  it('userRequirements strips only our trailing terms', () => {
    assert.equal(userRequirements(parseExpression(ANNEX_BINDING)), undefined);
    assert.equal(userRequirements(undefined), undefined);
  });
});

describe('matching with the transformed requirements', () => {
  const slot = (attrs: string): ClassAd => parseClassAd(`[ Memory = 100; ${attrs} ]`);
  const runsOn = (j: ClassAd, s: ClassAd): boolean => requirementsHold(again(j), s, BUILTINS);
  it('a bound job matches only its own annex of its own owner', () => {
    const j = job('TargetAnnexName = "a1"; Requirements = Memory > 10');
    assert.equal(runsOn(j, slot('IsAnnex = true; AnnexName = "a1"; AnnexOwner = "alice"')), true);
    assert.equal(runsOn(j, slot('IsAnnex = true; AnnexName = "a2"; AnnexOwner = "alice"')), false);
    assert.equal(runsOn(j, slot('IsAnnex = true; AnnexName = "a1"; AnnexOwner = "mallory"')), false);
    assert.equal(runsOn(j, slot('')), false);
  });
  it('an unbound job runs on ordinary slots only, unless it opts in', () => {
    assert.equal(runsOn(job('Requirements = Memory > 10'), slot('')), true);
    assert.equal(runsOn(job('Requirements = Memory > 10'), slot('IsAnnex = true; AnnexName = "a1"; AnnexOwner = "alice"')), false);
    assert.equal(runsOn(job('AllowAnnexSlots = true; Requirements = Memory > 10'), slot('IsAnnex = true; AnnexName = "a1"; AnnexOwner = "alice"')), true);
  });
});
