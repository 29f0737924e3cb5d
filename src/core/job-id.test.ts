/** Job references: `12` and `12.3`, and clear refusals of anything else. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { formatJobId, formatJobRef, parseJobRef, parseJobRefs, refMatches, refToJobId } from './job-id.ts';

describe('parseJobRef', () => {
  it('reads a cluster', () => {
    assert.deepEqual(parseJobRef('12'), { kind: 'cluster', clusterId: 12 });
  });
  it('reads a cluster.proc, proc 0 included', () => {
    assert.deepEqual(parseJobRef('12.3'), { kind: 'proc', clusterId: 12, procId: 3 });
    assert.deepEqual(parseJobRef('7.0'), { kind: 'proc', clusterId: 7, procId: 0 });
  });
  it('accepts leading zeros as HTCondor does', () => {
    assert.deepEqual(parseJobRef('012.003'), { kind: 'proc', clusterId: 12, procId: 3 });
  });
  for (const bad of ['', ' 12', '12 ', 'abc', '12.', '.3', '12.3.4', '-1', '+1', '1e3', '12.x', '0', '0.1', '2147483648', '1.2147483648', '12,3', 'alice']) {
    it(`refuses ${JSON.stringify(bad)} with a USAGE error naming it`, () => {
      assert.throws(
        () => parseJobRef(bad),
        (e: unknown) => e instanceof HtcError && e.code === 'USAGE' && e.message.includes(JSON.stringify(bad)) && e.message.includes('CLUSTER.PROC'),
      );
    });
  }
  it('accepts the largest id', () => {
    assert.deepEqual(parseJobRef('2147483647.2147483647'), { kind: 'proc', clusterId: 2147483647, procId: 2147483647 });
  });
  it('parses several, failing on the first bad one', () => {
    assert.deepEqual(parseJobRefs(['1', '2.5']), [{ kind: 'cluster', clusterId: 1 }, { kind: 'proc', clusterId: 2, procId: 5 }]);
    assert.throws(() => parseJobRefs(['1', 'x', 'y']), /"x"/);
  });
});

describe('formatting and matching', () => {
  it('formats ids and references', () => {
    assert.equal(formatJobId({ clusterId: 12, procId: 3 }), '12.3');
    assert.equal(formatJobRef({ kind: 'cluster', clusterId: 12 }), '12');
    assert.equal(formatJobRef(parseJobRef('12.3')), '12.3');
  });
  it('matches a cluster reference against every proc of it', () => {
    const c = parseJobRef('12');
    assert.equal(refMatches(c, { clusterId: 12, procId: 0 }), true);
    assert.equal(refMatches(c, { clusterId: 12, procId: 9 }), true);
    assert.equal(refMatches(c, { clusterId: 13, procId: 0 }), false);
  });
  it('matches a proc reference against that proc only', () => {
    const p = parseJobRef('12.3');
    assert.equal(refMatches(p, { clusterId: 12, procId: 3 }), true);
    assert.equal(refMatches(p, { clusterId: 12, procId: 4 }), false);
    assert.deepEqual(refToJobId(p), { clusterId: 12, procId: 3 });
    assert.equal(refToJobId(parseJobRef('12')), undefined);
  });
});
