/** The job state machine: every transition allowed and refused, and the attributes and events it produces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, parseClassAd, parseExpression, type ClassAd } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import { parseEventData } from './events.ts';
import { JobStatus, type JobSnapshot, type JobStatusCode } from './job.ts';
import {
  byUserReason,
  checkEditable,
  complete,
  evict,
  hold,
  HoldReasonCode,
  periodic,
  release,
  remove,
  start,
  toProcChange,
  type Transition,
  type TransitionResult,
} from './job-state.ts';

const NOW = 1_800_000_000;
const ALL: JobStatusCode[] = [1, 2, 3, 4, 5, 6];

function job(status: JobStatusCode, extra = ''): JobSnapshot {
  const ad = parseClassAd(`[ Owner = "alice"; ClusterId = 3; ProcId = 1; NumJobStarts = 0; NumJobCompletions = 0; RemoteWallClockTime = 0.0; ExitBySignal = false; ${extra} ]`);
  return { id: { clusterId: 3, procId: 1 }, status, ad };
}

function ok(r: TransitionResult): Transition {
  if (!r.ok) assert.fail(`refused: ${r.message}`);
  return r;
}

/** The job ad after the transition's attributes are set. */
function after(j: JobSnapshot, t: Transition): ClassAd {
  const ad = j.ad.copy();
  for (const [k, v] of Object.entries(t.set)) ad.set(k, parseExpression(v));
  return ad;
}

const value = (ad: ClassAd, name: string): unknown => evaluate(name, ad);

describe('hold', () => {
  for (const status of [JobStatus.Idle, JobStatus.Running, JobStatus.TransferringOutput]) {
    it(`holds a job that is ${status}`, () => {
      const j = job(status, 'JobCurrentStartDate = 1799999000; RemoteHost = "slot1@node"');
      const t = ok(hold(j, 'Via htc job hold (by user alice)', HoldReasonCode.UserRequest, 0, NOW));
      assert.equal(t.status, JobStatus.Held);
      assert.equal(t.from, status);
      const ad = after(j, t);
      assert.equal(value(ad, 'HoldReason'), 'Via htc job hold (by user alice)');
      assert.equal(value(ad, 'HoldReasonCode'), 1);
      assert.equal(value(ad, 'HoldReasonSubCode'), 0);
      assert.equal(value(ad, 'NumHolds'), 1);
      assert.equal(value(ad, 'NumHoldsByReason.UserRequest'), 1);
      assert.equal(value(ad, 'EnteredCurrentStatus'), NOW);
      assert.equal(value(ad, 'LastJobStatus'), status);
      assert.equal('JobStatus' in t.set, false, 'JobStatus travels in `status`');
      if (status === JobStatus.Idle) {
        assert.equal('LastVacateTime' in t.set, false);
      } else {
        assert.equal(value(ad, 'LastVacateTime'), NOW);
        assert.equal(value(ad, 'LastRemoteHost'), 'slot1@node');
        assert.equal(value(ad, 'RemoteHost =?= undefined'), true);
        assert.equal(value(ad, 'RemoteWallClockTime == 1000'), true);
      }
      assert.deepEqual(parseEventData(t.event.kind, t.event.data), { kind: 'held', data: { reason: 'Via htc job hold (by user alice)', code: 1, subcode: 0 } });
    });
  }
  it('counts holds by reason across holds', () => {
    const j = job(JobStatus.Idle, 'NumHolds = 2; NumHoldsByReason = [ UserRequest = 1; JobPolicy = 1 ]');
    const ad = after(j, ok(hold(j, 'policy', HoldReasonCode.JobPolicy, 7, NOW)));
    assert.equal(value(ad, 'NumHolds'), 3);
    assert.equal(value(ad, 'NumHoldsByReason.JobPolicy'), 2);
    assert.equal(value(ad, 'NumHoldsByReason.UserRequest'), 1);
    assert.equal(value(ad, 'HoldReasonSubCode'), 7);
  });
  it('refuses a held job', () => {
    const r = hold(job(JobStatus.Held), 'x', 1, 0, NOW);
    assert.deepEqual(r, { ok: false, id: { clusterId: 3, procId: 1 }, status: 5, code: 'already-held', message: 'job 3.1 is already held' });
  });
  it('refuses finished jobs', () => {
    for (const [status, word] of [[JobStatus.Completed, 'completed'], [JobStatus.Removed, 'removed']] as const) {
      const r = hold(job(status), 'x', 1, 0, NOW);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'finished');
      assert.equal(!r.ok && r.message, `job 3.1 is already ${word}`);
    }
  });
  it('throws on a code or subcode that is not a whole number', () => {
    assert.throws(() => hold(job(1), 'x', 1.5, 0, NOW), (e: unknown) => e instanceof HtcError && e.code === 'USAGE');
    assert.throws(() => hold(job(1), 'x', 1, -1, NOW), /subcode/);
  });
});

describe('release', () => {
  it('releases a held job to idle, keeping the hold as LastHold*', () => {
    const j = job(JobStatus.Held, 'HoldReason = "because"; HoldReasonCode = 3; HoldReasonSubCode = 42');
    const t = ok(release(j, 'Via htc job release (by user alice)', NOW));
    assert.equal(t.status, JobStatus.Idle);
    const ad = after(j, t);
    assert.equal(value(ad, 'LastHoldReason'), 'because');
    assert.equal(value(ad, 'LastHoldReasonCode'), 3);
    assert.equal(value(ad, 'LastHoldReasonSubCode'), 42);
    assert.equal(value(ad, 'ReleaseReason'), 'Via htc job release (by user alice)');
    assert.equal(value(ad, 'HoldReason =?= undefined && HoldReasonCode =?= undefined && HoldReasonSubCode =?= undefined'), true);
    assert.equal(value(ad, 'LastJobStatus'), 5);
    assert.deepEqual(parseEventData(t.event.kind, t.event.data), { kind: 'released', data: { reason: 'Via htc job release (by user alice)' } });
  });
  for (const status of ALL.filter((s) => s !== JobStatus.Held)) {
    it(`refuses a job that is ${status}`, () => {
      const r = release(job(status), 'x', NOW);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'not-held');
      assert.equal(!r.ok && r.message, 'job 3.1 is not held');
    });
  }
});

describe('remove', () => {
  for (const status of [JobStatus.Idle, JobStatus.Running, JobStatus.Held, JobStatus.TransferringOutput]) {
    it(`removes a job that is ${status}`, () => {
      const j = job(status, 'JobCurrentStartDate = 1799999990');
      const t = ok(remove(j, 'Via htc job remove (by user alice)', NOW));
      assert.equal(t.status, JobStatus.Removed);
      const ad = after(j, t);
      assert.equal(value(ad, 'RemoveReason'), 'Via htc job remove (by user alice)');
      assert.equal(t.event.kind, 'aborted');
      assert.deepEqual(JSON.parse(t.event.data), { reason: 'Via htc job remove (by user alice)' });
      assert.equal('LastVacateTime' in t.set, status === JobStatus.Running || status === JobStatus.TransferringOutput);
    });
  }
  for (const status of [JobStatus.Completed, JobStatus.Removed]) {
    it(`refuses a job that is ${status}`, () => {
      const r = remove(job(status), 'x', NOW);
      assert.equal(!r.ok && r.code, 'finished');
    });
  }
});

describe('start', () => {
  it('starts an idle job', () => {
    const j = job(JobStatus.Idle);
    const t = ok(start(j, { host: 'slot1_1@node7', slotName: 'slot1_1' }, NOW));
    assert.equal(t.status, JobStatus.Running);
    const ad = after(j, t);
    assert.equal(value(ad, 'JobCurrentStartDate'), NOW);
    assert.equal(value(ad, 'JobStartDate'), NOW);
    assert.equal(value(ad, 'NumJobStarts'), 1);
    assert.equal(value(ad, 'RemoteHost'), 'slot1_1@node7');
    assert.deepEqual(JSON.parse(t.event.data), { host: 'slot1_1@node7', slotName: 'slot1_1' });
    assert.equal(t.event.kind, 'execute');
  });
  it('keeps the first JobStartDate on later runs', () => {
    const j = job(JobStatus.Idle, 'JobStartDate = 5; NumJobStarts = 2');
    const t = ok(start(j, { host: 'h' }, NOW));
    assert.equal('JobStartDate' in t.set, false);
    assert.equal(value(after(j, t), 'NumJobStarts'), 3);
  });
  for (const status of ALL.filter((s) => s !== JobStatus.Idle)) {
    it(`refuses a job that is ${status}`, () => {
      const r = start(job(status), { host: 'h' }, NOW);
      assert.equal(!r.ok && r.code, 'not-idle');
      assert.match(!r.ok ? r.message : '', /^job 3\.1 is not idle \(it is /);
    });
  }
});

describe('evict', () => {
  for (const status of [JobStatus.Running, JobStatus.TransferringOutput]) {
    it(`puts a job that is ${status} back to idle`, () => {
      const j = job(status, 'JobCurrentStartDate = 1799999400; RemoteWallClockTime = 100.0; RemoteHost = "s@n"');
      const t = ok(evict(j, 'the slot lease expired', NOW));
      assert.equal(t.status, JobStatus.Idle);
      const ad = after(j, t);
      assert.equal(value(ad, 'RemoteWallClockTime == 700'), true);
      assert.equal(value(ad, 'LastVacateTime'), NOW);
      assert.equal(value(ad, 'VacateReason'), 'the slot lease expired');
      assert.equal(value(ad, 'LastRemoteHost'), 's@n');
      assert.equal(t.event.kind, 'evicted');
      assert.equal(JSON.parse(t.event.data).reason, 'the slot lease expired');
    });
  }
  for (const status of [JobStatus.Idle, JobStatus.Held, JobStatus.Completed, JobStatus.Removed]) {
    it(`refuses a job that is ${status}`, () => {
      const r = evict(job(status), 'x', NOW);
      assert.equal(!r.ok && r.code, 'not-running');
    });
  }
});

describe('complete', () => {
  it('completes a job whose OnExitRemove is true', () => {
    const j = job(JobStatus.Running, 'OnExitRemove = true; JobCurrentStartDate = 1799999000; CumulativeRemoteUserCpu = 5.0');
    const t = ok(complete(j, { exitBySignal: false, exitCode: 0, usage: { remoteUserCpu: 10, remoteSysCpu: 2, bytesSent: 100, bytesReceived: 50 } }, NOW));
    assert.equal(t.status, JobStatus.Completed);
    const ad = after(j, t);
    assert.equal(value(ad, 'ExitCode'), 0);
    assert.equal(value(ad, 'ExitBySignal'), false);
    assert.equal(value(ad, 'ExitSignal =?= undefined'), true);
    assert.equal(value(ad, 'CompletionDate'), NOW);
    assert.equal(value(ad, 'NumJobCompletions'), 1);
    assert.equal(value(ad, 'CumulativeRemoteUserCpu == 15'), true);
    assert.equal(value(ad, 'RemoteWallClockTime == 1000'), true);
    const e = parseEventData(t.event.kind, t.event.data);
    assert.equal(e?.kind, 'terminated');
    if (e?.kind === 'terminated') {
      assert.deepEqual(e.data.exit, { normal: true, returnValue: 0 });
      assert.deepEqual(e.data.runRemoteUsage, { user: 10, sys: 2 });
      assert.deepEqual(e.data.totalRemoteUsage, { user: 15, sys: 2 });
      assert.equal(e.data.bytesSent, 100);
      assert.equal(e.data.endedAt, NOW);
    }
  });
  it('completes by default (no OnExitRemove) and records a signal', () => {
    const j = job(JobStatus.TransferringOutput, 'ExitCode = 3');
    const t = ok(complete(j, { exitBySignal: true, signal: 9 }, NOW));
    assert.equal(t.status, JobStatus.Completed);
    const ad = after(j, t);
    assert.equal(value(ad, 'ExitBySignal'), true);
    assert.equal(value(ad, 'ExitSignal'), 9);
    assert.equal(value(ad, 'ExitCode =?= undefined'), true);
    assert.deepEqual(JSON.parse(t.event.data).exit, { normal: false, signal: 9 });
  });
  it('requeues (back to idle) when OnExitRemove is false', () => {
    const j = job(JobStatus.Running, 'OnExitRemove = ExitCode == 0');
    const t = ok(complete(j, { exitBySignal: false, exitCode: 2 }, NOW));
    assert.equal(t.status, JobStatus.Idle);
    assert.equal('CompletionDate' in t.set, false);
    assert.equal(t.event.kind, 'evicted');
    const d = JSON.parse(t.event.data);
    assert.deepEqual(d.requeuedAfter, { normal: true, returnValue: 2 });
    assert.equal(d.reason, "The job attribute OnExitRemove expression 'ExitCode == 0' evaluated to FALSE");
  });
  it('counts completions before applying max_retries-style policy', () => {
    const policy = 'OnExitRemove = NumJobCompletions > JobMaxRetries || ExitCode =?= 0; JobMaxRetries = 1';
    const first = job(JobStatus.Running, `${policy}; NumJobCompletions = 0`);
    assert.equal(ok(complete(first, { exitBySignal: false, exitCode: 1 }, NOW)).status, JobStatus.Idle);
    const second = job(JobStatus.Running, `${policy}; NumJobCompletions = 1`);
    assert.equal(ok(complete(second, { exitBySignal: false, exitCode: 1 }, NOW)).status, JobStatus.Completed);
  });
  it('holds with JobPolicy (3) and the reason and subcode when OnExitHold fires', () => {
    const j = job(JobStatus.Running, 'OnExitHold = ExitCode =!= 0; OnExitHoldReason = strcat("exit ", ExitCode); OnExitHoldSubCode = ExitCode');
    const t = ok(complete(j, { exitBySignal: false, exitCode: 4 }, NOW));
    assert.equal(t.status, JobStatus.Held);
    const ad = after(j, t);
    assert.equal(value(ad, 'HoldReason'), 'exit 4');
    assert.equal(value(ad, 'HoldReasonCode'), 3);
    assert.equal(value(ad, 'HoldReasonSubCode'), 4);
    assert.deepEqual(JSON.parse(t.event.data), { reason: 'exit 4', code: 3, subcode: 4 });
  });
  it('removes when PeriodicRemove fires at exit', () => {
    const j = job(JobStatus.Running, 'PeriodicRemove = ExitCode == 5');
    const t = ok(complete(j, { exitBySignal: false, exitCode: 5 }, NOW));
    assert.equal(t.status, JobStatus.Removed);
    assert.equal(value(after(j, t), 'RemoveReason'), "The job attribute PeriodicRemove expression 'ExitCode == 5' evaluated to TRUE");
    assert.equal(t.event.kind, 'aborted');
  });
  for (const status of [JobStatus.Idle, JobStatus.Held, JobStatus.Completed, JobStatus.Removed]) {
    it(`refuses a job that is ${status}`, () => {
      const r = complete(job(status), { exitBySignal: false, exitCode: 0 }, NOW);
      assert.equal(!r.ok && r.code, 'not-running');
    });
  }
  it('throws on a non-integer exit code', () => {
    assert.throws(() => complete(job(2), { exitBySignal: false, exitCode: 0.5 }, NOW), /exit code/);
  });
});

describe('periodic', () => {
  it('holds a running job whose PeriodicHold fires, with code 3 and its reason and subcode', () => {
    const j = job(JobStatus.Running, 'PeriodicHold = (time() - JobCurrentStartDate) > 60; JobCurrentStartDate = 1799999000; PeriodicHoldReason = "ran too long"; PeriodicHoldSubCode = 9');
    const t = periodic(j, NOW);
    assert.ok(t);
    assert.equal(t.status, JobStatus.Held);
    const ad = after(j, t);
    assert.equal(value(ad, 'HoldReason'), 'ran too long');
    assert.equal(value(ad, 'HoldReasonCode'), 3);
    assert.equal(value(ad, 'HoldReasonSubCode'), 9);
    assert.equal(periodic(j, 1799999010), undefined, 'time() is the given now');
  });
  it('releases a held job whose PeriodicRelease fires', () => {
    const t = periodic(job(JobStatus.Held, 'HoldReasonCode = 3; PeriodicRelease = NumHolds < 3; NumHolds = 1'), NOW);
    assert.equal(t?.status, JobStatus.Idle);
    assert.equal(t?.event.kind, 'released');
  });
  it('removes an idle job whose PeriodicRemove fires', () => {
    const t = periodic(job(JobStatus.Idle, 'PeriodicRemove = CurrentTime - QDate > 100; QDate = 1'), NOW);
    assert.equal(t?.status, JobStatus.Removed);
  });
  it('does nothing when no policy fires, or for a completed job', () => {
    assert.equal(periodic(job(JobStatus.Idle, 'PeriodicHold = false; PeriodicRemove = undefined'), NOW), undefined);
    assert.equal(periodic(job(JobStatus.Completed, 'PeriodicRemove = true'), NOW), undefined);
  });
});

describe('toProcChange and reasons', () => {
  it('maps a transition onto the store ProcChange fields', () => {
    const t = ok(start(job(JobStatus.Idle), { host: 'h' }, NOW));
    assert.deepEqual(toProcChange(t), { id: t.id, expectStatus: JobStatus.Idle, status: JobStatus.Running, set: t.set, event: t.event });
  });
  it('words user reasons as HTCondor does', () => {
    assert.equal(byUserReason('hold', 'alice'), 'Via htc job hold (by user alice)');
  });
});

describe('checkEditable', () => {
  it('allows ordinary attributes', () => {
    for (const a of ['RequestMemory', 'Requirements', 'TargetAnnexName', 'MyAttr_2', '_x', 'PeriodicHold']) assert.deepEqual(checkEditable(a), { ok: true }, a);
  });
  it('refuses HTCondor immutable attributes, in any case', () => {
    for (const a of ['ClusterId', 'procid', 'OWNER', 'MyType', 'TargetType', 'User']) {
      const r = checkEditable(a);
      assert.equal(!r.ok && r.reason, 'immutable', a);
    }
  });
  it('refuses secure attributes', () => {
    const r = checkEditable('AuthTokenSubject');
    assert.equal(!r.ok && r.reason, 'secure');
  });
  it('refuses attributes the state machine keeps', () => {
    for (const a of ['JobStatus', 'QDate', 'EnteredCurrentStatus', 'HoldReasonCode', 'NumJobStarts', 'CompletionDate', 'ExitCode', 'CurrentTime']) {
      const r = checkEditable(a);
      assert.equal(!r.ok && r.reason, 'managed', a);
      assert.match(!r.ok ? r.message : '', new RegExp(a, 'i'));
    }
  });
  it('refuses names that are not attribute names', () => {
    for (const a of ['', '1abc', 'a.b', 'a b', 'true', 'TARGET', 'my', 'x-y']) assert.equal(checkEditable(a).ok, false, a);
  });
});
