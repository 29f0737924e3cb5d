/** Job statuses and ids: HTCondor's numbers (the store keeps the same list). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatJobId, isFinished, JobStatus, statusName } from './job.ts';

describe('JobStatus', () => {
  it("has HTCondor's numbers", () => {
    assert.deepEqual(JobStatus, { Idle: 1, Running: 2, Removed: 3, Completed: 4, Held: 5, TransferringOutput: 6 });
  });
  it('names statuses and knows the finished ones', () => {
    assert.equal(statusName(JobStatus.TransferringOutput), 'transferring output');
    assert.deepEqual(Object.values(JobStatus).filter(isFinished), [3, 4]);
  });
  it('formats ids as cluster.proc', () => {
    assert.equal(formatJobId({ clusterId: 1, procId: 0 }), '1.0');
  });
});
