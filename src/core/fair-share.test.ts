/** Fair share: exact half-life decay, owner order, persistence. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { DEFAULT_HALF_LIFE_SECONDS, FairShare } from './fair-share.ts';

const T0 = 1_700_000_000;
const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);

describe('decay', () => {
  it('halves usage every half-life (one day by default)', () => {
    const fs = new FairShare();
    assert.equal(fs.halfLifeSeconds, DEFAULT_HALF_LIFE_SECONDS);
    fs.charge('alice', 1000, T0);
    assert.equal(fs.usage('alice', T0), 1000);
    close(fs.usage('alice', T0 + 86_400), 500);
    close(fs.usage('alice', T0 + 2 * 86_400), 250);
    close(fs.usage('alice', T0 + 43_200), 1000 / Math.SQRT2);
    assert.equal(fs.usage('nobody', T0), 0);
  });
  it('is exact whatever the sequence of calls: usage is the sum of each charge decayed from its own time', () => {
    const h = 3600;
    const charges: [number, number][] = [[T0, 100], [T0 + 1800, 50], [T0 + 600, 30], [T0 + 7200, 10], [T0 + 7200, 5]];
    const expected = (t: number): number => charges.reduce((sum, [at, c]) => sum + c * 2 ** (-(t - at) / h), 0);
    // In order, out of order, with reads in between: all the same.
    for (const sequence of [charges, [...charges].reverse(), [charges[2]!, charges[0]!, charges[4]!, charges[1]!, charges[3]!]]) {
      const fs = new FairShare({ halfLifeSeconds: h });
      for (const [at, c] of sequence) {
        fs.charge('alice', c, at);
        fs.usage('alice', at + 123);
      }
      close(fs.usage('alice', T0 + 10_000), expected(T0 + 10_000));
      close(fs.usage('alice', T0 + 7200), expected(T0 + 7200));
    }
  });
  it('refuses a negative charge, a bad time and a bad half-life', () => {
    const isInternal = (e: unknown): boolean => e instanceof HtcError && e.code === 'INTERNAL';
    assert.throws(() => new FairShare().charge('alice', -1, T0), isInternal);
    assert.throws(() => new FairShare().charge('alice', Number.NaN, T0), isInternal);
    assert.throws(() => new FairShare().usage('alice', Number.NaN), isInternal);
    assert.throws(() => new FairShare({ halfLifeSeconds: 0 }), isInternal);
  });
});

describe('order', () => {
  it('puts the least usage first, ties by name', () => {
    const fs = new FairShare({ halfLifeSeconds: 100 });
    fs.charge('carol', 10, T0);
    fs.charge('bob', 400, T0 - 200); // 100 by T0
    fs.charge('alice', 100, T0);
    assert.deepEqual(fs.order(['carol', 'bob', 'alice', 'dave', 'carol'], T0), ['dave', 'carol', 'alice', 'bob']);
    // Later, bob's older usage has decayed below alice's.
    fs.charge('alice', 100, T0 + 1);
    assert.deepEqual(fs.order(['alice', 'bob'], T0 + 1), ['bob', 'alice']);
  });
});

describe('persistence', () => {
  it('round-trips through JSON text', () => {
    const fs = new FairShare({ halfLifeSeconds: 500 });
    fs.charge('alice', 1000, T0);
    fs.charge('bob', 10, T0 + 100);
    const back = FairShare.fromJSON(JSON.parse(JSON.stringify(fs)));
    assert.equal(back.halfLifeSeconds, 500);
    assert.deepEqual(back.owners().sort(), ['alice', 'bob']);
    for (const owner of ['alice', 'bob']) assert.equal(back.usage(owner, T0 + 900), fs.usage(owner, T0 + 900));
  });
  it('lets configuration override the stored half-life', () => {
    const fs = new FairShare({ halfLifeSeconds: 500 });
    fs.charge('alice', 1000, T0);
    const back = FairShare.fromJSON(fs.toJSON(), { halfLifeSeconds: 1000 });
    close(back.usage('alice', T0 + 1000), 500);
  });
  it('refuses malformed state', () => {
    const isBad = (e: unknown): boolean => e instanceof HtcError && e.code === 'STORE_INCOMPATIBLE';
    for (const data of [null, 3, {}, { halfLifeSeconds: 1, owners: {} }, { halfLifeSeconds: 1, owners: [{ owner: 'a', usage: -1, at: 0 }] }, { halfLifeSeconds: 1, owners: [{ owner: 'a', usage: 1, at: 0 }, { owner: 'a', usage: 1, at: 0 }] }]) {
      assert.throws(() => FairShare.fromJSON(data), isBad, JSON.stringify(data));
    }
  });
});
