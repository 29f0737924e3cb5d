/**
 * The JobQueue conformance suite: what every implementation of
 * src/store/job-queue.ts must do, written against the interface only. An
 * implementation's test file calls `runJobQueueConformance` with a way to
 * open a queue at a path (the same path again = the same queue, reopened).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseClassAd, printClassAd } from '../classad/index.ts';
import { JobStatus, type JobQueue, type JobStatusCode, type NewCluster, type ProcChange, type StatusCounts } from './job-queue.ts';

export type OpenQueue = (path: string) => JobQueue;

const { Idle, Running, Removed, Completed, Held, TransferringOutput } = JobStatus;

/** A cluster of `n` procs all materialized, each diff naming its proc. */
export function cluster(n: number, overrides: Partial<NewCluster> = {}): NewCluster {
  return {
    owner: 'alice',
    submittedAt: 1000,
    clusterAd: '[ Cmd = "/bin/sleep"; Args = "1" ]',
    procCount: n,
    procs: Array.from({ length: n }, (_, p) => `[ ProcId = ${p}; Item = "item-${p}" ]`),
    factory: null,
    batchName: null,
    jobsetId: null,
    ...overrides,
  };
}

export function change(clusterId: number, procId: number, expectStatus: JobStatusCode, status: JobStatusCode, set: Record<string, string> = {}, kind = 'changed'): ProcChange {
  return { id: { clusterId, procId }, expectStatus, status, set, event: { kind, data: JSON.stringify({ procId }) } };
}

const ZERO: StatusCounts = { idle: 0, running: 0, held: 0, completed: 0, removed: 0, transferringOutput: 0 };

const KEY_OF: Record<number, keyof StatusCounts> = {
  [Idle]: 'idle',
  [Running]: 'running',
  [Held]: 'held',
  [Completed]: 'completed',
  [Removed]: 'removed',
  [TransferringOutput]: 'transferringOutput',
};

/** Status counts computed the slow way, from the listing. */
export function countedByListing(q: JobQueue, owner?: string): StatusCounts {
  const counts: Record<keyof StatusCounts, number> = { ...ZERO };
  for (const p of q.procs(owner === undefined ? {} : { owner })) counts[KEY_OF[p.status]!]++;
  return counts;
}

/** A tiny deterministic PRNG (mulberry32) so failures replay. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function runJobQueueConformance(name: string, open: OpenQueue): void {
  describe(`JobQueue conformance: ${name}`, () => {
    let dir: string;
    let path: string;
    let q: JobQueue;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'htc-store-'));
      path = join(dir, 'queue.db');
      q = open(path);
    });
    afterEach(() => {
      try {
        q.close();
      } catch {
        // closed by the test
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const reopen = (): JobQueue => {
      q.close();
      q = open(path);
      return q;
    };

    describe('submitCluster', () => {
      it('stores the cluster, its procs Idle since now, and a submit event per proc', () => {
        assert.equal(q.nextClusterId(), 1);
        const id = q.submitCluster(cluster(3, { batchName: 'b1' }), 2000);
        assert.equal(id, 1);
        assert.equal(q.nextClusterId(), 2);
        assert.deepEqual(q.cluster(id), {
          clusterId: 1,
          owner: 'alice',
          submittedAt: 1000,
          clusterAd: '[ Cmd = "/bin/sleep"; Args = "1" ]',
          procCount: 3,
          materializedCount: 3,
          factory: null,
          batchName: 'b1',
          jobsetId: null,
        });
        assert.deepEqual(q.proc({ clusterId: 1, procId: 2 }), { clusterId: 1, procId: 2, status: Idle, enteredStatusAt: 2000, diff: '[ ProcId = 2; Item = "item-2" ]' });
        assert.equal(q.proc({ clusterId: 1, procId: 3 }), undefined);
        const events = q.events({});
        assert.deepEqual(
          events.map((e) => [e.clusterId, e.procId, e.time, e.kind, e.data]),
          [0, 1, 2].map((p) => [1, p, 2000, 'submit', '{}']),
        );
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 3 });
      });

      it('assigns increasing ids from 1, as nextClusterId said', () => {
        for (let i = 1; i <= 5; i++) {
          assert.equal(q.nextClusterId(), i);
          assert.equal(q.submitCluster(cluster(1), 1), i);
        }
      });

      it('stores a factory cluster of a million procs as its cluster row alone', () => {
        const id = q.submitCluster(cluster(0, { procCount: 1_000_000, factory: 'queue 1000000' }), 1);
        const c = q.cluster(id);
        assert.equal(c?.procCount, 1_000_000);
        assert.equal(c?.materializedCount, 0);
        assert.equal(c?.factory, 'queue 1000000');
        assert.deepEqual(q.procs(), []);
        assert.deepEqual(q.events({}), []);
        assert.deepEqual(q.statusCounts(), ZERO);
      });

      it('keeps procs given with a factory as materialized', () => {
        const id = q.submitCluster({ ...cluster(2), procCount: 10, factory: 'f' }, 1);
        assert.equal(q.cluster(id)?.materializedCount, 2);
        assert.equal(q.procs({ clusterId: id }).length, 2);
      });

      it('refuses inconsistent clusters and changes nothing', () => {
        q.submitCluster(cluster(1), 1);
        assert.throws(() => q.submitCluster({ ...cluster(3), procCount: 2 }, 1));
        assert.throws(() => q.submitCluster({ ...cluster(1), procCount: 2 }, 1), /factory/);
        assert.throws(() => q.submitCluster(cluster(0), 1));
        assert.throws(() => q.submitCluster(cluster(1, { jobsetId: 99 }), 1), /jobset/);
        assert.equal(q.nextClusterId(), 2);
        assert.equal(q.clusters().length, 1);
        assert.equal(q.events({}).length, 1);
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 1 });
      });

      it('keeps ad text exactly: quotes, escapes, new lines, non-ASCII', () => {
        const tricky = ['[ A = "say \\"hi\\"" ]', '[ B = "line\nbreak\ttab" ]', '[ C = "ünï\u00e7ødé ✓ 🚀" ]', '[ D = "back\\\\slash" ]', "[ E = \"it's\" ]"];
        const id = q.submitCluster({ ...cluster(0), procCount: tricky.length, procs: tricky, clusterAd: '[ Note = "🚀\n" ]' }, 1);
        assert.deepEqual(
          q.procs({ clusterId: id }).map((p) => p.diff),
          tricky,
        );
        assert.equal(q.cluster(id)?.clusterAd, '[ Note = "🚀\n" ]');
        const f = q.submitCluster({ ...cluster(0), procCount: 2, factory: 'f' }, 1);
        q.materializeProcs(f, 0, tricky.slice(2, 4), 2);
        assert.deepEqual(
          q.procs({ clusterId: f }).map((p) => p.diff),
          tricky.slice(2, 4),
        );
      });

      it('records the jobset', () => {
        const js = q.createJobset('sweep', 'alice', 5);
        const id = q.submitCluster(cluster(1, { jobsetId: js }), 1);
        assert.equal(q.cluster(id)?.jobsetId, js);
      });
    });

    describe('materializeProcs', () => {
      it('adds procs in order, Idle with submit events, up to procCount', () => {
        const id = q.submitCluster(cluster(0, { procCount: 5, factory: 'f' }), 1);
        q.materializeProcs(id, 0, ['[ ProcId = 0 ]', '[ ProcId = 1 ]'], 7);
        q.materializeProcs(id, 2, ['[ ProcId = 2 ]', '[ ProcId = 3 ]', '[ ProcId = 4 ]'], 8);
        assert.equal(q.cluster(id)?.materializedCount, 5);
        assert.deepEqual(
          q.procs({ clusterId: id }).map((p) => [p.procId, p.status, p.enteredStatusAt, p.diff]),
          [0, 1, 2, 3, 4].map((p) => [p, Idle, p < 2 ? 7 : 8, `[ ProcId = ${p} ]`]),
        );
        assert.deepEqual(
          q.events({}).map((e) => [e.procId, e.kind, e.time]),
          [0, 1, 2, 3, 4].map((p) => [p, 'submit', p < 2 ? 7 : 8]),
        );
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 5 });
      });

      it('refuses a gap, an overlap, too many procs or an unknown cluster, changing nothing', () => {
        const id = q.submitCluster(cluster(0, { procCount: 3, factory: 'f' }), 1);
        q.materializeProcs(id, 0, ['[ ProcId = 0 ]'], 1);
        assert.throws(() => q.materializeProcs(id, 2, ['[ ProcId = 2 ]'], 1));
        assert.throws(() => q.materializeProcs(id, 0, ['[ ProcId = 0 ]'], 1));
        assert.throws(() => q.materializeProcs(id, 1, ['[]', '[]', '[]'], 1));
        assert.throws(() => q.materializeProcs(id + 1, 0, ['[]'], 1));
        assert.equal(q.cluster(id)?.materializedCount, 1);
        assert.equal(q.procs().length, 1);
        assert.equal(q.events({}).length, 1);
      });
    });

    describe('changeProcs', () => {
      it('finishes procs straight into history in one step, fenced by status', () => {
        const id = q.submitCluster(cluster(3), 10);
        q.changeProcs([change(id, 0, Idle, Running, {}, 'execute'), change(id, 1, Idle, Running, {}, 'execute')], 11);
        const applied = q.finishProcs(
          [
            { change: change(id, 0, Running, Completed, { ExitCode: '0' }, 'terminated'), wholeAd: '[ProcId = 0; ExitCode = 0]' },
            { change: change(id, 2, Running, Completed, {}, 'terminated'), wholeAd: '[ProcId = 2]' }, // still Idle: skipped
          ],
          20,
          'crash',
        );
        assert.deepEqual(applied.map((c) => c.id.procId), [0]);
        assert.equal(q.proc({ clusterId: id, procId: 0 }), undefined);
        assert.deepEqual(q.history({ clusterId: id, procId: 0 }), [{ id: { clusterId: id, procId: 0 }, completedAt: 20, status: Completed, owner: 'alice', ad: '[ProcId = 0; ExitCode = 0]' }]);
        assert.equal(q.events({ id: { clusterId: id, procId: 0 } }).at(-1)?.kind, 'terminated');
        assert.equal(q.proc({ clusterId: id, procId: 2 })?.status, Idle);
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 1, running: 1 });
        assert.throws(() => q.finishProcs([{ change: change(id, 1, Running, Idle, {}, 'evicted'), wholeAd: '[]' }], 21), /does not finish/);
      });

      it('counts a cluster\'s procs by status', () => {
        const id = q.submitCluster(cluster(3), 10);
        q.changeProcs([change(id, 2, Idle, Held, { HoldReason: '"x"' }, 'held')], 11);
        assert.equal(q.countProcs(id, [Idle]), 2);
        assert.equal(q.countProcs(id, [Idle, Held]), 3);
        assert.equal(q.countProcs(id, [Running]), 0);
        assert.equal(q.countProcs(id + 1000, [Idle]), 0);
      });

      it('applies changes and history moves asked for at crash durability like any other', () => {
        const id = q.submitCluster(cluster(2), 10);
        assert.equal(q.changeProcs([change(id, 0, Idle, Running, { NumJobStarts: '1' }, 'execute')], 20, 'crash').length, 1);
        assert.equal(q.changeProcs([change(id, 0, Running, Completed, {}, 'terminated')], 21, 'crash').length, 1);
        assert.equal(q.moveToHistory([{ clusterId: id, procId: 0 }], ['[ProcId = 0]'], 22, 'crash'), 1);
        assert.equal(q.proc({ clusterId: id, procId: 0 }), undefined);
        assert.equal(q.history({ clusterId: id, procId: 0 })[0]?.status, Completed);
        // A later change at the default durability still works on the same connection.
        assert.equal(q.changeProcs([change(id, 1, Idle, Held, { HoldReason: '"x"' }, 'held')], 23).length, 1);
      });

      it('applies a change whose expected status holds: status, time, differences, event, counts', () => {
        const id = q.submitCluster(cluster(2), 10);
        const applied = q.changeProcs([change(id, 1, Idle, Running, { RemoteHost: '"slot1@node1"', NumJobStarts: '1' }, 'execute')], 20);
        assert.equal(applied.length, 1);
        const p = q.proc({ clusterId: id, procId: 1 });
        assert.equal(p?.status, Running);
        assert.equal(p?.enteredStatusAt, 20);
        const diff = parseClassAd(p.diff);
        assert.equal(printClassAd(diff), '[ ProcId = 1; Item = "item-1"; RemoteHost = "slot1@node1"; NumJobStarts = 1 ]');
        assert.equal(q.proc({ clusterId: id, procId: 0 })?.status, Idle);
        const last = q.events({ id: { clusterId: id, procId: 1 } }).at(-1);
        assert.equal(last?.kind, 'execute');
        assert.equal(last?.time, 20);
        assert.equal(last?.data, '{"procId":1}');
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 1, running: 1 });
      });

      it('skips a change whose expected status no longer holds (fencing) and a missing proc', () => {
        const id = q.submitCluster(cluster(2), 10);
        q.changeProcs([change(id, 0, Idle, Running)], 11);
        const applied = q.changeProcs(
          [change(id, 0, Idle, Held, { HoldReason: '"stale"' }), change(id, 5, Idle, Running), change(id + 1, 0, Idle, Running), change(id, 1, Idle, Held)],
          12,
        );
        assert.deepEqual(applied.map((c) => c.id), [{ clusterId: id, procId: 1 }]);
        const p0 = q.proc({ clusterId: id, procId: 0 });
        assert.equal(p0?.status, Running);
        assert.equal(p0?.enteredStatusAt, 11);
        assert.ok(!p0?.diff.includes('HoldReason'));
        assert.equal(q.events({ id: { clusterId: id, procId: 0 } }).length, 2);
        assert.deepEqual(q.statusCounts(), { ...ZERO, running: 1, held: 1 });
      });

      it('applies changes in order: a later change sees an earlier one in the same call', () => {
        const id = q.submitCluster(cluster(1), 10);
        const applied = q.changeProcs([change(id, 0, Idle, Running), change(id, 0, Running, Completed, { ExitCode: '0' }), change(id, 0, Idle, Held)], 30);
        assert.equal(applied.length, 2);
        assert.equal(q.proc({ clusterId: id, procId: 0 })?.status, Completed);
        assert.deepEqual(q.statusCounts(), { ...ZERO, completed: 1 });
      });

      it('keeps the entered-status time for an edit that keeps the status, and overwrites attributes case-insensitively', () => {
        const id = q.submitCluster(cluster(1), 10);
        q.changeProcs([change(id, 0, Idle, Idle, { item: '"edited"', Prio: '1 + 2' }, 'edited')], 40);
        const p = q.proc({ clusterId: id, procId: 0 });
        assert.equal(p?.enteredStatusAt, 10);
        assert.equal(p?.diff, '[ ProcId = 0; Item = "edited"; Prio = 1 + 2 ]');
      });

      it('throws on an unparsable expression and changes nothing, not even earlier changes of the call', () => {
        const id = q.submitCluster(cluster(2), 10);
        assert.throws(() => q.changeProcs([change(id, 0, Idle, Running), change(id, 1, Idle, Running, { Bad: '1 +' })], 20));
        assert.equal(q.proc({ clusterId: id, procId: 0 })?.status, Idle);
        assert.equal(q.events({}).length, 2);
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 2 });
        assert.throws(() => q.changeProcs([change(id, 0, Idle, 9 as JobStatusCode)], 20));
      });
    });

    describe('listing', () => {
      it('filters procs by owner, cluster, jobset and statuses, in job-id order, up to a limit', () => {
        const js = q.createJobset('sweep', 'bob', 1);
        const a1 = q.submitCluster(cluster(4), 1);
        const b1 = q.submitCluster(cluster(3, { owner: 'bob', jobsetId: js }), 1);
        const a2 = q.submitCluster(cluster(2), 1);
        const b2 = q.submitCluster(cluster(2, { owner: 'bob' }), 1);
        q.changeProcs([change(a1, 1, Idle, Running), change(b1, 0, Idle, Held), change(a2, 0, Idle, Running), change(b2, 1, Idle, Held), change(a1, 3, Idle, Held)], 2);
        const ids = (ps: { clusterId: number; procId: number }[]): string[] => ps.map((p) => `${p.clusterId}.${p.procId}`);
        assert.equal(q.procs().length, 11);
        assert.deepEqual(ids(q.procs({}, 3)), ['1.0', '1.1', '1.2']);
        assert.deepEqual(ids(q.procs({ owner: 'bob' })), ['2.0', '2.1', '2.2', '4.0', '4.1']);
        assert.deepEqual(ids(q.procs({ owner: 'bob', statuses: [Held] })), ['2.0', '4.1']);
        assert.deepEqual(ids(q.procs({ jobsetId: js })), ['2.0', '2.1', '2.2']);
        assert.deepEqual(ids(q.procs({ jobsetId: js, owner: 'alice' })), []);
        assert.deepEqual(ids(q.procs({ clusterId: a1, statuses: [Running, Held] })), ['1.1', '1.3']);
        assert.deepEqual(ids(q.procs({ clusterId: a1, owner: 'bob' })), []);
        assert.deepEqual(ids(q.procs({ statuses: [Held, Running] })), ['1.1', '1.3', '2.0', '3.0', '4.1']);
        assert.deepEqual(ids(q.procs({ statuses: [Held, Running] }, 2)), ['1.1', '1.3']);
        assert.deepEqual(ids(q.procs({ statuses: [Held] })), ['1.3', '2.0', '4.1']);
        assert.deepEqual(ids(q.procs({ statuses: [] })), []);
        assert.deepEqual(ids(q.procs({ owner: 'alice', statuses: [Idle] }, 2)), ['1.0', '1.2']);
        assert.deepEqual(ids(q.procs({}, 0)), []);
        assert.deepEqual(
          q.clusters().map((c) => c.clusterId),
          [a1, b1, a2, b2],
        );
        assert.deepEqual(
          q.clusters({ owner: 'bob' }).map((c) => c.clusterId),
          [b1, b2],
        );
        assert.deepEqual(
          q.clusters({ jobsetId: js }).map((c) => c.clusterId),
          [b1],
        );
        assert.deepEqual(q.clusters({ owner: 'alice', jobsetId: js }), []);
        assert.deepEqual(q.statusCounts({ owner: 'bob' }), { ...ZERO, idle: 3, held: 2 });
        assert.deepEqual(q.statusCounts({ owner: 'alice' }), { ...ZERO, idle: 3, running: 2, held: 1 });
        assert.deepEqual(q.statusCounts({ owner: 'nobody' }), ZERO);
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 6, running: 2, held: 3 });
      });

      it('lists jobsets, optionally one owner\'s, with increasing ids', () => {
        assert.equal(q.createJobset('a', 'alice', 1), 1);
        assert.equal(q.createJobset('b', 'bob', 2), 2);
        assert.equal(q.createJobset('c', 'alice', 3), 3);
        assert.deepEqual(q.jobsets({ owner: 'alice' }), [
          { jobsetId: 1, name: 'a', owner: 'alice', submittedAt: 1 },
          { jobsetId: 3, name: 'c', owner: 'alice', submittedAt: 3 },
        ]);
        assert.equal(q.jobsets().length, 3);
      });

      it('returns events of one job or after a seq, in order, up to a limit', () => {
        const id = q.submitCluster(cluster(2), 1);
        q.changeProcs([change(id, 1, Idle, Running, {}, 'execute')], 2);
        q.changeProcs([change(id, 1, Running, Completed, {}, 'terminated')], 3);
        const all = q.events({});
        assert.deepEqual(
          all.map((e) => e.kind),
          ['submit', 'submit', 'execute', 'terminated'],
        );
        assert.ok(all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq));
        assert.deepEqual(
          q.events({ afterSeq: all[1]!.seq }).map((e) => e.kind),
          ['execute', 'terminated'],
        );
        assert.deepEqual(
          q.events({ afterSeq: all[0]!.seq }, 1).map((e) => e.kind),
          ['submit'],
        );
        assert.deepEqual(
          q.events({ id: { clusterId: id, procId: 1 } }).map((e) => e.kind),
          ['submit', 'execute', 'terminated'],
        );
        assert.deepEqual(
          q.events({ id: { clusterId: id, procId: 1 }, afterSeq: all[2]!.seq }).map((e) => e.kind),
          ['terminated'],
        );
        assert.deepEqual(q.events({ afterSeq: all[3]!.seq }), []);
      });
    });

    describe('moveToHistory', () => {
      it('moves finished procs only, with their whole ad, and lists history newest first', () => {
        const id = q.submitCluster(cluster(4), 1);
        q.changeProcs([change(id, 0, Idle, Removed), change(id, 1, Idle, Running), change(id, 2, Idle, Running), change(id, 2, Running, Completed)], 2);
        const ad = (p: number): string => `[ ClusterId = ${id}; ProcId = ${p}; Owner = "alice" ]`;
        assert.equal(q.moveToHistory([{ clusterId: id, procId: 0 }], [ad(0)], 10), 1);
        const moved = q.moveToHistory(
          [
            { clusterId: id, procId: 1 },
            { clusterId: id, procId: 2 },
            { clusterId: id, procId: 3 },
            { clusterId: id, procId: 0 },
            { clusterId: 99, procId: 0 },
          ],
          [ad(1), ad(2), ad(3), ad(0), ad(0)],
          20,
        );
        assert.equal(moved, 1);
        assert.equal(q.proc({ clusterId: id, procId: 0 }), undefined);
        assert.equal(q.proc({ clusterId: id, procId: 1 })?.status, Running);
        assert.deepEqual(q.history(), [
          { id: { clusterId: id, procId: 2 }, completedAt: 20, status: Completed, owner: 'alice', ad: ad(2) },
          { id: { clusterId: id, procId: 0 }, completedAt: 10, status: Removed, owner: 'alice', ad: ad(0) },
        ]);
        assert.equal(q.history({}, 1).length, 1);
        assert.equal(q.history({ owner: 'bob' }).length, 0);
        assert.equal(q.history({ owner: 'alice', clusterId: id }).length, 2);
        assert.deepEqual(q.history({ clusterId: id, procId: 2 }).map((h) => h.id), [{ clusterId: id, procId: 2 }]);
        assert.deepEqual(q.history({ clusterId: id, procId: 1 }), [], 'a job still in the queue has no history');
        assert.deepEqual(q.statusCounts(), { ...ZERO, idle: 1, running: 1 });
        assert.ok(q.cluster(id) !== undefined, 'the cluster stays while procs remain');
        assert.throws(() => q.moveToHistory([{ clusterId: id, procId: 1 }], [], 30));
      });

      it('deletes the cluster when its last proc leaves, and never reuses its id, even after reopening', () => {
        q.submitCluster(cluster(1), 1);
        const id = q.submitCluster(cluster(2, { owner: 'bob' }), 1);
        q.changeProcs([change(id, 0, Idle, Completed), change(id, 1, Idle, Removed)], 2);
        assert.equal(q.moveToHistory([{ clusterId: id, procId: 0 }], ['[ a = 0 ]'], 3), 1);
        assert.ok(q.cluster(id) !== undefined);
        assert.equal(q.moveToHistory([{ clusterId: id, procId: 1 }], ['[ a = 1 ]'], 3), 1);
        assert.equal(q.cluster(id), undefined);
        assert.deepEqual(
          q.clusters().map((c) => c.clusterId),
          [1],
        );
        assert.equal(q.history({ owner: 'bob', clusterId: id }).length, 2);
        assert.equal(q.nextClusterId(), id + 1);
        reopen();
        assert.equal(q.nextClusterId(), id + 1);
        assert.equal(q.submitCluster(cluster(1), 4), id + 1);
      });

      it('keeps a factory cluster whose materialized procs all left while procs remain to be made', () => {
        const id = q.submitCluster(cluster(1, { procCount: 3, factory: 'f' }), 1);
        q.changeProcs([change(id, 0, Idle, Completed)], 2);
        q.moveToHistory([{ clusterId: id, procId: 0 }], ['[]'], 3);
        assert.equal(q.cluster(id)?.materializedCount, 1);
        q.materializeProcs(id, 1, ['[ ProcId = 1 ]', '[ ProcId = 2 ]'], 4);
        q.changeProcs([change(id, 1, Idle, Removed), change(id, 2, Idle, Removed)], 5);
        assert.equal(q.moveToHistory([{ clusterId: id, procId: 1 }, { clusterId: id, procId: 2 }], ['[]', '[]'], 6), 2);
        assert.equal(q.cluster(id), undefined);
      });
    });

    it('keeps everything across close and reopen', () => {
      const js = q.createJobset('s', 'alice', 1);
      const id = q.submitCluster(cluster(3, { jobsetId: js, factory: 'f', procCount: 5 }), 1);
      q.changeProcs([change(id, 0, Idle, Running, { X: '1' })], 2);
      const before = { c: q.cluster(id), p: q.procs(), e: q.events({}), s: q.statusCounts(), j: q.jobsets() };
      reopen();
      assert.deepEqual({ c: q.cluster(id), p: q.procs(), e: q.events({}), s: q.statusCounts(), j: q.jobsets() }, before);
    });

    it('keeps statusCounts equal to the listing through a random sequence of operations', () => {
      const rand = prng(20261122);
      const owners = ['alice', 'bob', 'carol'];
      const statuses = Object.values(JobStatus);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      for (let step = 0; step < 300; step++) {
        const r = rand();
        const live = q.procs();
        if (r < 0.15 || live.length === 0) {
          const n = 1 + Math.floor(rand() * 5);
          const factory = rand() < 0.3;
          q.submitCluster(cluster(factory ? Math.floor(n / 2) : n, { owner: pick(owners), procCount: n, factory: factory ? 'f' : null }), step);
        } else if (r < 0.25) {
          const c = pick(q.clusters().filter((c) => c.materializedCount < c.procCount));
          if (c !== undefined) q.materializeProcs(c.clusterId, c.materializedCount, ['[]'], step);
        } else if (r < 0.85) {
          const changes = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => {
            const p = pick(live);
            return change(p.clusterId, p.procId, rand() < 0.8 ? p.status : pick(statuses), pick(statuses), { Step: String(step) });
          });
          q.changeProcs(changes, step);
        } else {
          const ps = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(live));
          q.moveToHistory(
            ps.map((p) => ({ clusterId: p.clusterId, procId: p.procId })),
            ps.map(() => '[]'),
            step,
          );
        }
        if (step % 25 === 0 || step === 299) {
          assert.deepEqual(q.statusCounts(), countedByListing(q));
          for (const o of owners) assert.deepEqual(q.statusCounts({ owner: o }), countedByListing(q, o));
          for (const c of q.clusters()) {
            const inQueue = q.procs({ clusterId: c.clusterId }).length;
            const inHistory = q.history({ clusterId: c.clusterId }).length;
            assert.equal(inQueue + inHistory, c.materializedCount);
            assert.ok(inQueue > 0 || c.materializedCount < c.procCount, `cluster ${c.clusterId} should have been deleted`);
          }
        }
      }
    });
  });
}
