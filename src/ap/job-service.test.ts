/**
 * The job service against a real queue in a temporary directory: who may
 * do what, submits from stored factories, late materialization, history.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { openJobQueue, type JobQueue } from '../store/index.ts';
import { SubmitDescription } from '../submit/index.ts';
import { JobService, type Caller } from './job-service.ts';

const root = mkdtempSync(join(tmpdir(), 'htc-job-service-'));
after(() => rmSync(root, { recursive: true, force: true }));

const alice: Caller = { user: 'alice', domain: 'ap.test', isAdministrator: false };
const bob: Caller = { user: 'bob', domain: 'ap.test', isAdministrator: false };
const owner: Caller = { user: 'apowner', domain: 'ap.test', isAdministrator: true };

function factory(text: string): string {
  return SubmitDescription.compile(text, join(root, 'job.sub'), { owner: 'whoever', now: 1, cwd: root, env: {} }).toFactory();
}

let queue: JobQueue;
let jobs: JobService;
let n = 0;
beforeEach(() => {
  queue = openJobQueue(join(root, `queue-${n++}.db`));
  jobs = new JobService(queue, () => 1_700_000_000);
});

function refusedWith(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof HtcError && e.code === code && message.test(e.message));
}

describe('authorization', () => {
  it('the job owner is the authenticated caller, whatever the submit said', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue\n') });
    const job = jobs.job(`${clusterId}.0`);
    assert.equal(job.summary.owner, 'alice');
    assert.match(job.ad, /"Owner":"alice"/);
    assert.match(job.ad, /"User":"alice@ap\.test"/);
  });

  it('users read every job but change only their own; the AP owner changes all', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue 2\n') });
    assert.equal(jobs.list(bob, { all: true }).jobs.length, 2, 'bob reads alice\'s jobs');
    assert.equal(jobs.list(bob, {}).jobs.length, 0, 'but they are not his');
    refusedWith(() => jobs.act(bob, { action: 'hold', ids: [`${clusterId}.0`] }), 'FORBIDDEN', /belongs to alice/);
    refusedWith(() => jobs.act(bob, { action: 'remove', ids: [String(clusterId)] }), 'FORBIDDEN', /belongs to alice/);
    assert.deepEqual(jobs.act(bob, { action: 'hold', constraint: 'true' }).changed, [], "a constraint selects among bob's own jobs only");
    refusedWith(() => jobs.edit(bob, { id: `${clusterId}.0`, attribute: 'Foo', expression: '1' }), 'FORBIDDEN', /belongs to alice/);
    assert.deepEqual(jobs.act(owner, { action: 'hold', ids: [`${clusterId}.1`] }).changed, [`${clusterId}.1`]);
    assert.deepEqual(jobs.act(alice, { action: 'release', ids: [`${clusterId}.1`] }).changed, [`${clusterId}.1`]);
  });

  it('a jobset can be joined only by its owner', () => {
    const first = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue\n'), jobset: { name: 's' } });
    refusedWith(() => jobs.submit(bob, { factory: factory('executable = /bin/true\nqueue\n'), jobset: { id: first.jobsetId! } }), 'NOT_FOUND', /no jobset/);
    assert.equal(jobs.jobset(bob, 's').owner, 'alice', 'everyone reads every jobset');
    refusedWith(() => jobs.removeJobset(bob, 's', undefined), 'FORBIDDEN', /belongs to alice/);
  });
});

describe('submit and late materialization', () => {
  it('makes procs ahead up to max_idle and the rest later, each once', () => {
    const { clusterId, procCount } = jobs.submit(alice, { factory: factory('executable = /bin/echo\narguments = $(Process)\nmax_idle = 3\nqueue 10\n') });
    assert.equal(procCount, 10);
    assert.equal(queue.cluster(clusterId)!.materializedCount, 3);
    assert.equal(jobs.materializeSome(100), 0, 'three idle already made');
    jobs.act(alice, { action: 'hold', ids: [`${clusterId}.0`, `${clusterId}.1`] });
    assert.equal(jobs.materializeSome(100), 2, 'two left Idle, two more are made');
    const args = jobs.list(alice, { long: true }).ads!.map((a) => /"Args":"(\d+)"/.exec(a)![1]);
    assert.deepEqual(args, ['0', '1', '2', '3', '4']);
    assert.deepEqual(jobs.list(alice, {}).pending, [{ clusterId, owner: 'alice', batchName: null, count: 5 }]);
  });

  it('adds the annex binding to Requirements', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue\n'), annexName: 'a1' });
    const ad = jobs.job(`${clusterId}.0`).ad;
    assert.match(ad, /TargetAnnexName":"a1"/);
    assert.match(ad, /TARGET\.AnnexName is MY\.TargetAnnexName/);
  });

  it('refuses a factory that is not one', () => {
    refusedWith(() => jobs.submit(alice, { factory: '{"version": 3}' }), 'BAD_REQUEST', /version 3/);
  });
});

describe('history', () => {
  it('removed jobs leave the queue with their whole ads', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue 2\n') });
    jobs.act(alice, { action: 'remove', ids: [String(clusterId)], reason: 'not needed' });
    const past = jobs.history(alice, {});
    assert.deepEqual(past.map((h) => [h.id, h.statusName]), [[`${clusterId}.1`, 'Removed'], [`${clusterId}.0`, 'Removed']]);
    assert.match(past[0]!.ad, /"RemoveReason":"not needed"/);
    refusedWith(() => jobs.job(`${clusterId}.0`), 'NOT_FOUND', /has left the queue \(Removed\)/);
  });
});

describe('a job that runs and exits (the path pilots will report through)', () => {
  it('completes and leaves for history; OnExitHold holds; OnExitRemove false requeues; LeaveJobInQueue keeps it', () => {
    const sub = (extra: string): number => jobs.submit(alice, { factory: factory(`executable = /bin/true\n${extra}\nqueue\n`) }).clusterId;
    const done = sub('');
    assert.equal(jobs.startJob(`${done}.0`, 'node1'), undefined);
    assert.equal(jobs.job(`${done}.0`).summary.statusName, 'Running');
    assert.equal(jobs.completeJob(`${done}.0`, { exitBySignal: false, exitCode: 0 }), undefined);
    assert.match(jobs.history(alice, {})[0]!.ad, /"ExitCode":0/);

    const held = sub('on_exit_hold = ExitCode != 0');
    jobs.startJob(`${held}.0`, 'node1');
    jobs.completeJob(`${held}.0`, { exitBySignal: false, exitCode: 3 });
    assert.equal(jobs.job(`${held}.0`).summary.statusName, 'Held');

    const again = sub('on_exit_remove = ExitCode == 0');
    jobs.startJob(`${again}.0`, 'node1');
    jobs.completeJob(`${again}.0`, { exitBySignal: false, exitCode: 1 });
    assert.equal(jobs.job(`${again}.0`).summary.statusName, 'Idle');

    const kept = sub('leave_in_queue = true');
    jobs.startJob(`${kept}.0`, 'node1');
    jobs.completeJob(`${kept}.0`, { exitBySignal: false, exitCode: 0 });
    assert.equal(jobs.job(`${kept}.0`).summary.statusName, 'Completed');

    assert.match(jobs.startJob(`${kept}.0`, 'node1') ?? '', /is not idle/);
    assert.match(jobs.completeJob(`${held}.0`, { exitBySignal: false, exitCode: 0 }) ?? '', /is not running/);
  });
});

describe('review regressions', () => {
  it('+Owner in a submit file does not change the owner, in the cluster or in a proc', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\n+Owner = "bob"\nMY.User = "bob@x"\nqueue\n') });
    assert.match(jobs.job(`${clusterId}.0`).ad, /"Owner":"alice"/);
    const perProc = jobs.submit(alice, { factory: factory('executable = /bin/true\n+Owner = "u$(Process)"\nqueue 2\n') });
    assert.match(jobs.job(`${perProc.clusterId}.1`).ad, /"Owner":"alice"/);
  });

  it('per-proc Requirements keep the annex binding', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nrequirements = Memory > $(Process)\nqueue 2\n'), annexName: 'a1' });
    assert.match(jobs.job(`${clusterId}.1`).ad, /Memory > 1\) && .*TARGET\.AnnexName is MY\.TargetAnnexName/);
  });

  it("refusing another user's cluster makes none of its procs", () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nmax_idle = 5\nqueue 500\n') });
    refusedWith(() => jobs.act(bob, { action: 'hold', ids: [String(clusterId)] }), 'FORBIDDEN', /belongs to alice/);
    assert.equal(queue.cluster(clusterId)!.materializedCount, 5);
  });

  it('finished jobs a crash left in the queue are swept to history at start', () => {
    const { clusterId } = jobs.submit(alice, { factory: factory('executable = /bin/true\nqueue 2\n') });
    queue.changeProcs([0, 1].map((p) => ({ id: { clusterId, procId: p }, expectStatus: 1, status: 3, set: {}, event: { kind: 'aborted', data: '{}' } })), 1);
    assert.equal(jobs.sweepFinished(), 2);
    assert.equal(jobs.history(alice, {}).length, 2);
  });

  it('listing an unknown job is an error', () => {
    refusedWith(() => jobs.list(alice, { ids: ['999'] }), 'NOT_FOUND', /no job 999/);
  });
});

describe('user log text', () => {
  it('names the AP in submit events and records holds in HTCondor form', () => {
    const named = new JobService(queue, () => 1_700_000_000, '<ap.test:/tmp/ap.sock>');
    const { clusterId } = named.submit(alice, { factory: factory('executable = /bin/true\nqueue\n') });
    named.act(alice, { action: 'hold', ids: [`${clusterId}.0`], reason: 'checking' });
    const log = named.jobLog(`${clusterId}.0`);
    assert.match(log, new RegExp(`^000 \\(${String(clusterId).padStart(3, '0')}\\.000\\.000\\) \\S+ \\S+ Job submitted from host: <ap\\.test:/tmp/ap\\.sock>\\n\\.\\.\\.\\n`));
    assert.match(log, /012 \(\d{3}\.000\.000\) \S+ \S+ Job was held\.\n\tchecking\n\tCode 1 Subcode 0\n\.\.\.\n$/);
  });
});
