/**
 * Runs of jobs on pilots against a real SQLite queue and a real JobService:
 * jobs are submitted from submit descriptions, started under claims, and
 * ended by pilot reports (done, vacated, failed) or lease expiry, with the
 * claim fencing every change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { evaluateAttr, isReal, parseClassAd, unparse, type ClassAd } from '../classad/index.ts';
import type { DoneMessage, FailedMessage, RunUsage, VacatedMessage } from '../protocol/pilot.ts';
import { JobStatus, openJobQueue, type JobId, type JobQueue } from '../store/index.ts';
import { SubmitDescription } from '../submit/index.ts';
import { JobRuns, type ClaimStart } from './job-runs.ts';
import { JobService, type Caller } from './job-service.ts';

const root = mkdtempSync(join(tmpdir(), 'htc-job-runs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const me: Caller = { user: userInfo().username, domain: 'ap.test', isAdministrator: false };
const T0 = 1_700_000_000;

let queue: JobQueue;
let jobs: JobService;
let runs: JobRuns;
let now: number;
let n = 0;
beforeEach(() => {
  now = T0;
  queue = openJobQueue(join(root, `queue-${n++}.db`));
  jobs = new JobService(queue, () => now, 'ap.test');
  runs = new JobRuns(queue, jobs, () => now);
});
afterEach(() => queue.close());

/** Submits `body` + `queue COUNT` as the current user; returns the cluster id. */
function submit(body: string, count = 1): number {
  const text = `${body}\nqueue ${count}\n`;
  const factory = SubmitDescription.compile(text, join(root, 'job.sub'), { owner: me.user, now, cwd: root, env: {} }).toFactory();
  return jobs.submit(me, { factory }).clusterId;
}

const idOf = (clusterId: number, procId = 0): JobId => ({ clusterId, procId });
const key = (id: JobId): string => `${id.clusterId}.${id.procId}`;

function claimStart(id: JobId, claimId: string, extra: Partial<ClaimStart> = {}): ClaimStart {
  return { id, claimId, slotName: 'slot1_1@node1.example', annexName: 'annex-a', requestCpus: 4, ...extra };
}

/** The job's ad as it is now (fails if it left the queue). */
function adOf(id: JobId): ClassAd {
  const job = runs.snapshot(id);
  assert.ok(job !== undefined, `job ${key(id)} is not in the queue`);
  return job.ad;
}

/** An attribute as new-syntax text ("<absent>" when missing). */
function attr(ad: ClassAd, name: string): string {
  const node = ad.get(name);
  return node === undefined ? '<absent>' : unparse(node);
}

/** A real-valued attribute's value (HTCondor writes these as reals: 40.0, not 40). */
function real(ad: ClassAd, name: string): number {
  const v = evaluateAttr(ad, name);
  assert.ok(isReal(v), `${name} is not a real: ${attr(ad, name)}`);
  return v.v;
}

const usage: RunUsage = { userCpuSeconds: 12.5, sysCpuSeconds: 0.25, memoryPeakMb: 100.2, wallSeconds: 30, bytesReceived: 2048, bytesSent: 512 };

function done(id: JobId, claimId: string, exit: DoneMessage['exit'] = { exitBySignal: false, exitCode: 0 }, u: RunUsage = usage): DoneMessage {
  return { type: 'done', claimId, jobId: key(id), exit, usage: u };
}
function vacated(id: JobId, claimId: string, u: RunUsage | null = usage): VacatedMessage {
  return { type: 'vacated', claimId, jobId: key(id), reason: 'the pilot reached its end time', usage: u };
}
function failed(id: JobId, claimId: string, u: RunUsage | null = null): FailedMessage {
  return { type: 'failed', claimId, jobId: key(id), failure: { reason: 'cannot run "condor_exec.exe": permission denied', code: 6, subcode: 13 }, usage: u };
}

/** Starts `id` under `claimId` (asserting it was recorded). */
function started(id: JobId, claimId: string): void {
  assert.deepEqual(runs.startClaims([claimStart(id, claimId)]), new Set([claimId]));
}

describe('startClaims', () => {
  it('moves Idle → Running and records the claim, the slot and the annex', () => {
    const id = idOf(submit('executable = /bin/true'));
    now = T0 + 5;
    assert.deepEqual(runs.startClaims([claimStart(id, 'claim-a')]), new Set(['claim-a']));
    const job = runs.snapshot(id)!;
    assert.equal(job.status, JobStatus.Running);
    assert.equal(attr(job.ad, 'ClaimId'), '"claim-a"');
    assert.equal(attr(job.ad, 'RemoteHost'), '"slot1_1@node1.example"');
    assert.equal(attr(job.ad, 'MachineAttrAnnexName0'), '"annex-a"');
    assert.equal(attr(job.ad, 'CpusProvisioned'), '4');
    assert.equal(attr(job.ad, 'NumJobStarts'), '1');
    assert.equal(attr(job.ad, 'JobCurrentStartDate'), String(T0 + 5));
    assert.equal(attr(job.ad, 'JobStartDate'), String(T0 + 5));
    assert.equal(queue.proc(id)!.enteredStatusAt, T0 + 5);
    assert.deepEqual(queue.events({ id }).map((e) => e.kind), ['submit', 'execute']);
    assert.equal(runs.isCurrent(id, 'claim-a'), true);
  });

  it('records nothing for a job that is not idle (held, already running) or not in the queue', () => {
    const cluster = submit('executable = /bin/true', 3);
    const [idle, held, running] = [idOf(cluster, 0), idOf(cluster, 1), idOf(cluster, 2)];
    jobs.act(me, { action: 'hold', ids: [key(held)] });
    started(running, 'first');
    const heldDiff = queue.proc(held)!.diff;
    const recorded = runs.startClaims([
      claimStart(held, 'c-held'),
      claimStart(running, 'c-again'),
      claimStart(idOf(cluster + 1), 'c-missing'),
      claimStart(idOf(cluster, 7), 'c-no-proc'),
      claimStart(idle, 'c-idle'),
    ]);
    assert.deepEqual(recorded, new Set(['c-idle']));
    assert.equal(runs.snapshot(held)!.status, JobStatus.Held);
    assert.equal(queue.proc(held)!.diff, heldDiff, 'the held job is untouched');
    assert.equal(attr(adOf(running), 'ClaimId'), '"first"', 'the running job keeps its claim');
    assert.equal(attr(adOf(running), 'NumJobStarts'), '1');
    assert.equal(runs.isCurrent(running, 'c-again'), false);
    assert.equal(attr(adOf(idle), 'ClaimId'), '"c-idle"');
  });

  it('an empty batch records nothing', () => {
    assert.deepEqual(runs.startClaims([]), new Set());
  });

  it(
    'a claim id is stored as the exact string (control characters included)',
    () => {
      const id = idOf(submit('executable = /bin/true'));
      const claimId = 'pilot\u0001-claim';
      assert.deepEqual(runs.startClaims([claimStart(id, claimId)]), new Set([claimId]));
      assert.equal(runs.isCurrent(id, claimId), true);
    },
  );
});

describe('finishClaims', () => {
  it('done: the job completes, leaves the queue for history exactly once; a second done is refused', () => {
    const cluster = submit('executable = /bin/true');
    const id = idOf(cluster);
    started(id, 'c1');
    now = T0 + 40;
    assert.deepEqual(runs.finishClaims([done(id, 'c1')]), [{ claimId: 'c1', refused: null, requeued: false }]);
    assert.equal(runs.snapshot(id), undefined);
    assert.equal(queue.proc(id), undefined);
    const history = queue.history({ clusterId: cluster });
    assert.equal(history.length, 1);
    assert.equal(history[0]!.status, JobStatus.Completed);
    assert.equal(history[0]!.completedAt, T0 + 40);
    const ad = parseClassAd(history[0]!.ad);
    assert.equal(attr(ad, 'JobStatus'), '4');
    assert.equal(attr(ad, 'ExitCode'), '0');
    assert.equal(attr(ad, 'ExitBySignal'), 'false');
    assert.equal(attr(ad, 'CompletionDate'), String(T0 + 40));
    assert.equal(attr(ad, 'ClaimId'), 'undefined');
    assert.equal(attr(ad, 'LastRemoteHost'), '"slot1_1@node1.example"');
    assert.equal(real(ad, 'RemoteWallClockTime'), 40);

    now = T0 + 41;
    const again = runs.finishClaims([done(id, 'c1')]);
    assert.equal(again.length, 1);
    assert.equal(again[0]!.claimId, 'c1');
    assert.equal(again[0]!.requeued, false);
    assert.match(again[0]!.refused ?? '', new RegExp(`^job ${cluster}\\.0 is no longer in the queue$`));
    assert.equal(queue.history({ clusterId: cluster }).length, 1, 'still exactly one history record');
  });

  it('usage lands in MemoryUsage, ResidentSetSize, LastRunWallSeconds, RemoteUserCpu/SysCpu and the byte counts', () => {
    const id = idOf(submit('executable = /bin/true\nleave_in_queue = true'));
    started(id, 'c1');
    runs.finishClaims([done(id, 'c1', { exitBySignal: true, signal: 9 })]);
    const ad = adOf(id);
    assert.equal(attr(ad, 'MemoryUsage'), '101');
    assert.equal(attr(ad, 'ResidentSetSize'), '102605');
    assert.equal(real(ad, 'LastRunWallSeconds'), 30);
    assert.equal(real(ad, 'RemoteUserCpu'), 12.5);
    assert.equal(real(ad, 'RemoteSysCpu'), 0.25);
    assert.equal(real(ad, 'CumulativeRemoteUserCpu'), 12.5);
    assert.equal(real(ad, 'BytesSent'), 512);
    assert.equal(real(ad, 'BytesRecvd'), 2048);
    assert.equal(attr(ad, 'ExitBySignal'), 'true');
    assert.equal(attr(ad, 'ExitSignal'), '9');
    assert.equal(attr(ad, 'ExitCode'), 'undefined');
  });

  it('LeaveJobInQueue = true keeps the completed job in the queue (and out of history)', () => {
    const cluster = submit('executable = /bin/true\nleave_in_queue = true');
    const id = idOf(cluster);
    started(id, 'c1');
    assert.deepEqual(runs.finishClaims([done(id, 'c1')]), [{ claimId: 'c1', refused: null, requeued: false }]);
    assert.equal(runs.snapshot(id)!.status, JobStatus.Completed);
    assert.equal(attr(adOf(id), 'ClaimId'), 'undefined');
    assert.deepEqual(queue.history({ clusterId: cluster }), []);
    assert.equal(runs.isCurrent(id, 'c1'), false);
    assert.deepEqual(runs.finishClaims([done(id, 'c1')]), [{ claimId: 'c1', refused: `job ${cluster}.0 is not running here any more`, requeued: false }]);
  });

  it('LeaveJobInQueue = JobStatus == 4 is evaluated with the job as completed', () => {
    const cluster = submit('executable = /bin/true\nleave_in_queue = JobStatus == 4');
    const id = idOf(cluster);
    started(id, 'c1');
    runs.finishClaims([done(id, 'c1')]);
    assert.equal(runs.snapshot(id)?.status, JobStatus.Completed);
    assert.deepEqual(queue.history({ clusterId: cluster }), []);
  });

  it('done with an exit policy: OnExitRemove false requeues (requeued), OnExitHold holds', () => {
    const again = idOf(submit('executable = /bin/true\non_exit_remove = ExitCode == 0'));
    const held = idOf(submit('executable = /bin/true\non_exit_hold = ExitCode != 0'));
    started(again, 'c-again');
    started(held, 'c-held');
    const outcomes = runs.finishClaims([done(again, 'c-again', { exitBySignal: false, exitCode: 1 }), done(held, 'c-held', { exitBySignal: false, exitCode: 2 })]);
    assert.deepEqual(outcomes, [{ claimId: 'c-again', refused: null, requeued: true }, { claimId: 'c-held', refused: null, requeued: false }]);
    assert.equal(runs.snapshot(again)!.status, JobStatus.Idle);
    assert.equal(attr(adOf(again), 'ClaimId'), 'undefined');
    assert.equal(attr(adOf(again), 'NumJobCompletions'), '1');
    assert.equal(runs.snapshot(held)!.status, JobStatus.Held);
    assert.equal(attr(adOf(held), 'HoldReasonCode'), '3');
    assert.deepEqual(queue.history(), []);
  });

  it('a report under another claim id is refused as stale and changes nothing', () => {
    const cluster = submit('executable = /bin/true');
    const id = idOf(cluster);
    started(id, 'current');
    const diff = queue.proc(id)!.diff;
    assert.deepEqual(runs.finishClaims([done(id, 'old-claim')]), [
      { claimId: 'old-claim', refused: `claim old-claim is stale: job ${cluster}.0 runs under another claim now`, requeued: false },
    ]);
    assert.deepEqual(runs.finishClaims([vacated(id, 'old-claim'), failed(id, 'old-claim')]).map((o) => o.refused), [
      `claim old-claim is stale: job ${cluster}.0 runs under another claim now`,
      `claim old-claim is stale: job ${cluster}.0 runs under another claim now`,
    ]);
    assert.equal(runs.snapshot(id)!.status, JobStatus.Running);
    assert.equal(queue.proc(id)!.diff, diff);
    assert.equal(runs.isCurrent(id, 'current'), true);
  });

  it('reports for jobs not running, not in the queue, or with a malformed job id are refused', () => {
    const cluster = submit('executable = /bin/true', 2);
    const idle = idOf(cluster, 0);
    const held = idOf(cluster, 1);
    started(held, 'c-held');
    jobs.act(me, { action: 'hold', ids: [key(held)] });
    assert.deepEqual(runs.finishClaims([
      done(idle, 'c0'),
      vacated(held, 'c-held'),
      done(idOf(cluster + 5), 'c5'),
      { ...done(idle, 'cx'), jobId: 'x.y' },
    ]), [
      { claimId: 'c0', refused: `job ${cluster}.0 is not running here any more`, requeued: false },
      { claimId: 'c-held', refused: `job ${cluster}.1 is not running here any more`, requeued: false },
      { claimId: 'c5', refused: `job ${cluster + 5}.0 is no longer in the queue`, requeued: false },
      { claimId: 'cx', refused: '"x.y" is not a job id', requeued: false },
    ]);
    assert.equal(runs.snapshot(idle)!.status, JobStatus.Idle);
    assert.equal(runs.snapshot(held)!.status, JobStatus.Held);
  });

  it('vacated: back to Idle (requeued) with NumJobStarts kept; the next start counts on', () => {
    const id = idOf(submit('executable = /bin/true'));
    now = T0 + 10;
    started(id, 'c1');
    now = T0 + 25;
    assert.deepEqual(runs.finishClaims([vacated(id, 'c1')]), [{ claimId: 'c1', refused: null, requeued: true }]);
    const ad = adOf(id);
    assert.equal(runs.snapshot(id)!.status, JobStatus.Idle);
    assert.equal(attr(ad, 'NumJobStarts'), '1');
    assert.equal(attr(ad, 'ClaimId'), 'undefined');
    assert.equal(attr(ad, 'RemoteHost'), 'undefined');
    assert.equal(attr(ad, 'LastRemoteHost'), '"slot1_1@node1.example"');
    assert.equal(attr(ad, 'VacateReason'), '"the pilot reached its end time"');
    assert.equal(attr(ad, 'LastVacateTime'), String(T0 + 25));
    assert.equal(real(ad, 'RemoteWallClockTime'), 15);
    assert.equal(attr(ad, 'MemoryUsage'), '101');
    assert.equal(runs.isCurrent(id, 'c1'), false);
    assert.deepEqual(queue.events({ id }).map((e) => e.kind), ['submit', 'execute', 'evicted']);

    started(id, 'c2');
    assert.equal(attr(adOf(id), 'NumJobStarts'), '2');
    assert.equal(attr(adOf(id), 'JobStartDate'), String(T0 + 10), 'the first start date stays');
  });

  it('vacated without usage sets no usage attributes', () => {
    const id = idOf(submit('executable = /bin/true'));
    started(id, 'c1');
    runs.finishClaims([vacated(id, 'c1', null)]);
    assert.equal(attr(adOf(id), 'MemoryUsage'), '<absent>');
    assert.equal(attr(adOf(id), 'LastRunWallSeconds'), '<absent>');
  });

  it('failed: the job is held with the failure\'s reason, code and subcode', () => {
    const cluster = submit('executable = /bin/true');
    const id = idOf(cluster);
    started(id, 'c1');
    assert.deepEqual(runs.finishClaims([failed(id, 'c1', { ...usage, memoryPeakMb: 7 })]), [{ claimId: 'c1', refused: null, requeued: false }]);
    const ad = adOf(id);
    assert.equal(runs.snapshot(id)!.status, JobStatus.Held);
    assert.equal(attr(ad, 'HoldReason'), '"cannot run \\"condor_exec.exe\\": permission denied"');
    assert.equal(attr(ad, 'HoldReasonCode'), '6');
    assert.equal(attr(ad, 'HoldReasonSubCode'), '13');
    assert.equal(attr(ad, 'NumHolds'), '1');
    assert.equal(attr(ad, 'ClaimId'), 'undefined');
    assert.equal(attr(ad, 'MemoryUsage'), '7');
    assert.equal(runs.isCurrent(id, 'c1'), false);
    assert.deepEqual(queue.history(), []);
    assert.deepEqual(runs.finishClaims([failed(id, 'c1')]), [{ claimId: 'c1', refused: `job ${cluster}.0 is not running here any more`, requeued: false }]);
  });

  it('two reports for the same job in one batch: the first counts, the second is refused', () => {
    const cluster = submit('executable = /bin/true');
    const id = idOf(cluster);
    started(id, 'c1');
    const outcomes = runs.finishClaims([done(id, 'c1'), vacated(id, 'c1')]);
    assert.equal(outcomes.length, 2);
    const byRefusal = [...outcomes].sort((a, b) => (a.refused === null ? -1 : b.refused === null ? 1 : 0));
    assert.deepEqual(byRefusal, [
      { claimId: 'c1', refused: null, requeued: false },
      { claimId: 'c1', refused: `job ${cluster}.0 was reported twice in one batch`, requeued: false },
    ]);
    assert.equal(queue.proc(id), undefined, 'the done counted: the job completed');
    assert.equal(queue.history({ clusterId: cluster }).length, 1);
    assert.deepEqual(queue.events({ id }).map((e) => e.kind), ['submit', 'execute', 'terminated'], 'one terminated event');
  });

  it('one batch records reports for several jobs together', () => {
    const cluster = submit('executable = /bin/true', 3);
    const ids = [0, 1, 2].map((p) => idOf(cluster, p));
    runs.startClaims(ids.map((id, i) => claimStart(id, `c${i}`)));
    const outcomes = runs.finishClaims([done(ids[0]!, 'c0'), vacated(ids[1]!, 'c1'), failed(ids[2]!, 'c2')]);
    assert.deepEqual(outcomes, [
      { claimId: 'c0', refused: null, requeued: false },
      { claimId: 'c1', refused: null, requeued: true },
      { claimId: 'c2', refused: null, requeued: false },
    ]);
    assert.deepEqual(ids.map((id) => runs.snapshot(id)?.status), [undefined, JobStatus.Idle, JobStatus.Held]);
    assert.deepEqual(queue.history().map((h) => key(h.id)), [`${cluster}.0`]);
  });

  it('an empty batch changes nothing', () => {
    assert.deepEqual(runs.finishClaims([]), []);
  });

  it(
    'a report whose job id is written with a leading zero is recorded or refused consistently, never half-applied',
    () => {
      const cluster = submit('executable = /bin/true');
      const id = idOf(cluster);
      started(id, 'c1');
      const outcomes = runs.finishClaims([{ ...done(id, 'c1'), jobId: `0${cluster}.0` }]);
      assert.equal(outcomes.length, 1);
      if (outcomes[0]!.refused === null) {
        assert.equal(queue.proc(id), undefined, 'recorded: the job left the queue');
        assert.equal(queue.history({ clusterId: cluster }).length, 1);
      } else {
        assert.equal(runs.snapshot(id)?.status, JobStatus.Running, 'refused: the job still runs under its claim');
      }
    },
  );
  it(
    'a vacated report whose job id has a leading zero: the outcome agrees with what was recorded',
    () => {
      const cluster = submit('executable = /bin/true');
      const id = idOf(cluster);
      started(id, 'c1');
      const [outcome] = runs.finishClaims([{ ...vacated(id, 'c1'), jobId: `0${cluster}.0` }]);
      const status = runs.snapshot(id)?.status;
      if (outcome!.refused === null) assert.deepEqual([status, outcome!.requeued], [JobStatus.Idle, true]);
      else assert.equal(status, JobStatus.Running, `refused (${outcome!.refused}) but the job is ${status}`);
    },
  );
});

describe('expireClaims', () => {
  it('requeues a running job only while its claim still matches', () => {
    const cluster = submit('executable = /bin/true', 2);
    const [a, b] = [idOf(cluster, 0), idOf(cluster, 1)];
    started(a, 'ca');
    now = T0 + 100;
    assert.deepEqual(runs.expireClaims([{ id: a, claimId: 'someone-else', reason: 'lease' }, { id: b, claimId: 'cb', reason: 'lease' }]), []);
    assert.equal(runs.snapshot(a)!.status, JobStatus.Running);
    assert.equal(attr(adOf(a), 'ClaimId'), '"ca"');

    assert.deepEqual(runs.expireClaims([{ id: a, claimId: 'ca', reason: 'the job lease of claim ca ran out' }]), [a]);
    const ad = adOf(a);
    assert.equal(runs.snapshot(a)!.status, JobStatus.Idle);
    assert.equal(attr(ad, 'ClaimId'), 'undefined');
    assert.equal(attr(ad, 'VacateReason'), '"the job lease of claim ca ran out"');
    assert.equal(attr(ad, 'NumJobStarts'), '1');
    assert.equal(real(ad, 'RemoteWallClockTime'), 100);

    assert.deepEqual(runs.expireClaims([{ id: a, claimId: 'ca', reason: 'again' }]), [], 'already requeued');
    assert.deepEqual(runs.finishClaims([done(a, 'ca')]).map((o) => o.refused), [`job ${cluster}.0 is not running here any more`]);
    assert.deepEqual(runs.expireClaims([{ id: idOf(cluster + 1), claimId: 'x', reason: 'gone' }]), []);
  });

  it('a job started again under a new claim is not requeued by the old claim\'s expiry', () => {
    const id = idOf(submit('executable = /bin/true'));
    started(id, 'old');
    runs.finishClaims([vacated(id, 'old')]);
    started(id, 'new');
    assert.deepEqual(runs.expireClaims([{ id, claimId: 'old', reason: 'lease' }]), []);
    assert.equal(runs.isCurrent(id, 'new'), true);
  });
});

describe('holdUnstartable', () => {
  it('holds idle jobs with TransferInputError (13) unless told another code; skips missing and held jobs', () => {
    const cluster = submit('executable = /bin/true', 3);
    const [a, b, c] = [0, 1, 2].map((p) => idOf(cluster, p)) as [JobId, JobId, JobId];
    jobs.act(me, { action: 'hold', ids: [key(c)] });
    const count = runs.holdUnstartable([
      { id: a, reason: 'transfer_input_files: "../x" names no file' },
      { id: b, reason: 'cannot plan', code: 6 },
      { id: c, reason: 'already held' },
      { id: idOf(cluster + 9), reason: 'gone' },
    ]);
    assert.equal(count, 2);
    assert.equal(runs.snapshot(a)!.status, JobStatus.Held);
    assert.equal(attr(adOf(a), 'HoldReason'), '"transfer_input_files: \\"../x\\" names no file"');
    assert.equal(attr(adOf(a), 'HoldReasonCode'), '13');
    assert.equal(attr(adOf(a), 'HoldReasonSubCode'), '0');
    assert.equal(attr(adOf(b), 'HoldReasonCode'), '6');
    assert.match(attr(adOf(c), 'HoldReason'), /^"Via htc job hold/);
    assert.equal(runs.holdUnstartable([]), 0);
  });
});

describe('runningClaims and isCurrent', () => {
  it('lists running jobs with their claim ids, in job order', () => {
    const cluster = submit('executable = /bin/true', 3);
    const ids = [0, 1, 2].map((p) => idOf(cluster, p));
    assert.deepEqual(runs.runningClaims(), []);
    runs.startClaims([claimStart(ids[2]!, 'c2'), claimStart(ids[0]!, 'c0')]);
    assert.deepEqual(runs.runningClaims(), [{ id: ids[0], claimId: 'c0' }, { id: ids[2], claimId: 'c2' }]);
    runs.finishClaims([done(ids[0]!, 'c0')]);
    assert.deepEqual(runs.runningClaims(), [{ id: ids[2], claimId: 'c2' }]);
  });

  it('a running job without a ClaimId (started by another path) is listed with an undefined claim', () => {
    const cluster = submit('executable = /bin/true');
    assert.equal(jobs.startJob(`${cluster}.0`, 'node1'), undefined);
    assert.deepEqual(runs.runningClaims(), [{ id: idOf(cluster), claimId: undefined }]);
  });

  it('isCurrent: only while the job runs under that very claim', () => {
    const cluster = submit('executable = /bin/true');
    const id = idOf(cluster);
    assert.equal(runs.isCurrent(id, 'c1'), false, 'idle');
    started(id, 'c1');
    assert.equal(runs.isCurrent(id, 'c1'), true);
    assert.equal(runs.isCurrent(id, 'c2'), false);
    assert.equal(runs.isCurrent(idOf(cluster, 1), 'c1'), false, 'no such proc');
    jobs.act(me, { action: 'hold', ids: [key(id)] });
    assert.equal(runs.isCurrent(id, 'c1'), false, 'held by its owner: the pilot must stop it');
    jobs.act(me, { action: 'remove', ids: [key(id)] });
    assert.equal(runs.isCurrent(id, 'c1'), false, 'removed');
    assert.equal(runs.snapshot(id), undefined);
  });
});
