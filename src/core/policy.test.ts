/** Job policy: truth tables (true/false/undefined/error and numbers), order, reasons, leave_in_queue. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR, parseClassAd, real, UNDEFINED, type Value } from '../classad/index.ts';
import { JobStatus, type JobSnapshot, type JobStatusCode } from './job.ts';
import { exitDecision, HoldReasonCode, holdCodeLabel, leaveInQueue, periodicDecision, policyFires, policyNumber } from './policy.ts';

const NOW = 1_800_000_000;

function job(status: JobStatusCode, attrs: string): JobSnapshot {
  return { id: { clusterId: 9, procId: 0 }, status, ad: parseClassAd(`[ Owner = "bob"; ${attrs} ]`) };
}
const exited = (attrs: string): JobSnapshot => job(JobStatus.Running, `ExitBySignal = false; ExitCode = 1; ${attrs}`);

/** Expressions and whether a policy with that value fires. */
const TRUTH: [string, boolean][] = [
  ['true', true],
  ['false', false],
  ['undefined', false],
  ['error', false],
  ['NoSuchAttribute > 3', false], // UNDEFINED
  ['"yes"', false], // a string is not a number
  ['1', true],
  ['0', false],
  ['-2', true],
  ['0.5', false], // HTCondor truncates reals to integers
  ['1.5', true],
  ['{1}', false],
  ['1 / 0', false], // ERROR
];

describe('policy values', () => {
  const cases: [Value, number | undefined][] = [[true, 1], [false, 0], [7, 1], [0, 0], [real(2.9), 2], [real(-0.2), 0], [UNDEFINED, undefined], [ERROR, undefined], ['1', undefined]];
  for (const [v, n] of cases) {
    it(`reads ${String(v instanceof Object ? JSON.stringify(v) : v)} as ${n}`, () => {
      assert.equal(policyNumber(v), n);
      assert.equal(policyFires(v), n !== undefined && n !== 0);
    });
  }
});

describe('PeriodicHold truth table', () => {
  for (const [expr, fires] of TRUTH) {
    it(`${expr} ${fires ? 'holds' : 'does not hold'}`, () => {
      const d = periodicDecision(job(JobStatus.Idle, `PeriodicHold = ${expr}`), NOW);
      assert.equal(d.action, fires ? 'hold' : 'none');
    });
  }
  it('uses code 3 and the default reason text', () => {
    const d = periodicDecision(job(JobStatus.Running, 'PeriodicHold = NumJobStarts > 2; NumJobStarts = 3'), NOW);
    assert.deepEqual(d, {
      action: 'hold',
      firing: { expression: 'PeriodicHold', source: 'job', text: 'NumJobStarts > 2' },
      reason: "The job attribute PeriodicHold expression 'NumJobStarts > 2' evaluated to TRUE",
      code: HoldReasonCode.JobPolicy,
      subcode: 0,
    });
  });
  it('takes PeriodicHoldReason and PeriodicHoldSubCode when they evaluate', () => {
    const d = periodicDecision(job(JobStatus.Idle, 'PeriodicHold = true; PeriodicHoldReason = strcat("too ", "big"); PeriodicHoldSubCode = 40 + 2'), NOW);
    assert.equal(d.action === 'hold' && d.reason, 'too big');
    assert.equal(d.action === 'hold' && d.subcode, 42);
  });
  it('falls back to the default text when PeriodicHoldReason is not a string', () => {
    const d = periodicDecision(job(JobStatus.Idle, 'PeriodicHold = true; PeriodicHoldReason = 5; PeriodicHoldSubCode = "x"'), NOW);
    assert.equal(d.action === 'hold' && d.reason, "The job attribute PeriodicHold expression 'true' evaluated to TRUE");
    assert.equal(d.action === 'hold' && d.subcode, 0);
  });
  it('is not checked for held or completed jobs', () => {
    assert.equal(periodicDecision(job(JobStatus.Held, 'PeriodicHold = true; HoldReasonCode = 3'), NOW).action, 'none');
    assert.equal(periodicDecision(job(JobStatus.Completed, 'PeriodicHold = true'), NOW).action, 'none');
  });
  it('sees the snapshot status, time() and CurrentTime as now', () => {
    const j = job(JobStatus.Running, 'JobStatus = 1; PeriodicHold = JobStatus == 2 && time() == CurrentTime && CurrentTime == 1800000000');
    assert.equal(periodicDecision(j, NOW).action, 'hold');
    assert.equal(periodicDecision(j, NOW + 1).action, 'none');
  });
});

describe('PeriodicRelease truth table', () => {
  for (const [expr, fires] of TRUTH) {
    it(`${expr} ${fires ? 'releases' : 'does not release'}`, () => {
      const d = periodicDecision(job(JobStatus.Held, `HoldReasonCode = 3; PeriodicRelease = ${expr}`), NOW);
      assert.equal(d.action, fires ? 'release' : 'none');
    });
  }
  it('never releases a job its user held (HoldReasonCode 1)', () => {
    assert.equal(periodicDecision(job(JobStatus.Held, 'HoldReasonCode = 1; PeriodicRelease = true'), NOW).action, 'none');
  });
  it('is only checked for held jobs', () => {
    assert.equal(periodicDecision(job(JobStatus.Idle, 'PeriodicRelease = true'), NOW).action, 'none');
  });
});

describe('PeriodicRemove truth table', () => {
  for (const [expr, fires] of TRUTH) {
    it(`${expr} ${fires ? 'removes' : 'does not remove'}`, () => {
      const d = periodicDecision(job(JobStatus.Idle, `PeriodicRemove = ${expr}`), NOW);
      assert.equal(d.action, fires ? 'remove' : 'none');
    });
  }
  it('is checked for held and completed jobs, not for removed ones', () => {
    assert.equal(periodicDecision(job(JobStatus.Held, 'HoldReasonCode = 1; PeriodicRemove = true'), NOW).action, 'remove');
    assert.equal(periodicDecision(job(JobStatus.Completed, 'PeriodicRemove = true'), NOW).action, 'remove');
    assert.equal(periodicDecision(job(JobStatus.Removed, 'PeriodicRemove = true'), NOW).action, 'none');
  });
});

describe('order of periodic policies', () => {
  it('hold wins over remove', () => {
    assert.equal(periodicDecision(job(JobStatus.Idle, 'PeriodicHold = true; PeriodicRemove = true'), NOW).action, 'hold');
  });
  it('release wins over remove for held jobs', () => {
    assert.equal(periodicDecision(job(JobStatus.Held, 'HoldReasonCode = 3; PeriodicRelease = true; PeriodicRemove = true'), NOW).action, 'release');
  });
  it('a job expression wins over the system one; the system one fires with code 26', () => {
    const j = job(JobStatus.Idle, 'PeriodicHold = true');
    const d1 = periodicDecision(j, NOW, { periodicHold: 'true' });
    assert.equal(d1.action === 'hold' && d1.code, 3);
    const d2 = periodicDecision(job(JobStatus.Idle, 'PeriodicHold = false; RequestMemory = 9000'), NOW, { periodicHold: 'RequestMemory > 8192', periodicHoldReason: '"memory"', periodicHoldSubCode: '2' });
    assert.deepEqual(d2, { action: 'hold', firing: { expression: 'SYSTEM_PERIODIC_HOLD', source: 'system', text: 'RequestMemory > 8192' }, reason: 'memory', code: 26, subcode: 2 });
    const d3 = periodicDecision(job(JobStatus.Idle, ''), NOW, { periodicRemove: 'true' });
    assert.equal(d3.action === 'remove' && d3.reason, "The system macro SYSTEM_PERIODIC_REMOVE expression 'true' evaluated to TRUE");
  });
});

describe('OnExitHold truth table', () => {
  for (const [expr, fires] of TRUTH) {
    it(`${expr} ${fires ? 'holds' : 'does not hold'} at exit`, () => {
      const d = exitDecision(exited(`OnExitHold = ${expr}; OnExitRemove = true`), NOW);
      assert.equal(d.action, fires ? 'hold' : 'complete');
    });
  }
  it('uses OnExitHoldReason and OnExitHoldSubCode', () => {
    const d = exitDecision(exited('OnExitHold = ExitCode == 1; OnExitHoldReason = "bad exit"; OnExitHoldSubCode = ExitCode'), NOW);
    assert.equal(d.action === 'hold' && `${d.reason}/${d.code}/${d.subcode}`, 'bad exit/3/1');
  });
  it('comes after the periodic policies', () => {
    assert.equal(exitDecision(exited('PeriodicRemove = true; OnExitHold = true'), NOW).action, 'remove');
    assert.equal(exitDecision(exited('PeriodicHold = true; OnExitHold = false'), NOW).action, 'hold');
  });
});

describe('OnExitRemove truth table', () => {
  // Only a value that is a number equal to 0 keeps the job (HTCondor): absent, UNDEFINED and ERROR remove it.
  const table: [string | undefined, 'complete' | 'requeue'][] = [
    [undefined, 'complete'],
    ['true', 'complete'],
    ['false', 'requeue'],
    ['undefined', 'complete'],
    ['error', 'complete'],
    ['NoSuchAttribute == 0', 'complete'],
    ['"no"', 'complete'],
    ['0', 'requeue'],
    ['0.5', 'requeue'],
    ['3', 'complete'],
    ['ExitCode == 0', 'requeue'],
    ['ExitCode == 1', 'complete'],
  ];
  for (const [expr, action] of table) {
    it(`${expr ?? '(absent)'} → ${action}`, () => {
      const d = exitDecision(exited(expr === undefined ? '' : `OnExitRemove = ${expr}`), NOW);
      assert.equal(d.action, action);
      if (d.action === 'requeue' && expr !== '0.5') assert.equal(d.reason, `The job attribute OnExitRemove expression '${expr}' evaluated to FALSE`);
    });
  }
});

describe('leave_in_queue', () => {
  for (const [expr, stays] of TRUTH) {
    it(`LeaveJobInQueue = ${expr}: ${stays ? 'stays in the queue' : 'goes to history'}`, () => {
      assert.equal(leaveInQueue(job(JobStatus.Completed, `LeaveJobInQueue = ${expr}`), NOW), stays);
    });
  }
  it('goes to history when absent', () => {
    assert.equal(leaveInQueue(job(JobStatus.Completed, ''), NOW), false);
  });
  it('evaluates with the job status and now (the spooled-job idiom)', () => {
    const expr = 'LeaveJobInQueue = JobStatus == 4 && (CompletionDate =?= UNDEFINED || CompletionDate == 0 || ((time() - CompletionDate) < 864000))';
    const done = job(JobStatus.Completed, `${expr}; CompletionDate = ${NOW - 100}`);
    assert.equal(leaveInQueue(done, NOW), true);
    assert.equal(leaveInQueue(done, NOW + 864000), false);
    assert.equal(leaveInQueue(job(JobStatus.Removed, expr), NOW), false);
  });
  it('a completed job whose PeriodicRemove fires leaves anyway', () => {
    assert.equal(leaveInQueue(job(JobStatus.Completed, 'LeaveJobInQueue = true; PeriodicRemove = true'), NOW), false);
  });
});

describe('hold codes', () => {
  it('has HTCondor numbers and labels', () => {
    assert.equal(HoldReasonCode.UserRequest, 1);
    assert.equal(HoldReasonCode.JobPolicy, 3);
    assert.equal(HoldReasonCode.SubmittedOnHold, 15);
    assert.equal(HoldReasonCode.SystemPolicy, 26);
    assert.equal(holdCodeLabel(15), 'SubmittedOnHold');
    assert.equal(holdCodeLabel(999), undefined);
  });
});
