/**
 * The SQLite queue against real database files in temporary directories:
 * the conformance suite, then what is particular to SQLite (pragmas, plans,
 * the files left behind).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cluster, change, runJobQueueConformance } from './job-queue.conformance.ts';
import { JobStatus, openJobQueue, type JobQueue } from './index.ts';
import * as sql from './sql.ts';
import { HtcError } from '../errors.ts';

runJobQueueConformance('sqlite (synchronous=FULL)', (path) => openJobQueue(path));
runJobQueueConformance('sqlite (synchronous=NORMAL)', (path) => openJobQueue(path, { synchronous: 'NORMAL' }));

describe('sqlite job queue', () => {
  let dir: string;
  let path: string;
  let q: JobQueue;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'htc-store-'));
    path = join(dir, 'queue.db');
    q = openJobQueue(path);
  });
  afterEach(() => {
    try {
      q.close();
    } catch {
      // already closed
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens in WAL mode with foreign keys on', () => {
    q.submitCluster(cluster(1), 1);
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
    }
  });

  it('reports a queue file it cannot open as FILE_UNREADABLE', () => {
    assert.throws(
      () => openJobQueue(join(dir, 'no-such-dir', 'queue.db')),
      (e) => e instanceof HtcError && e.code === 'FILE_UNREADABLE' && e.message.includes('no-such-dir'),
    );
  });

  it('keeps status_counts equal to a GROUP BY over procs', () => {
    const a = q.submitCluster(cluster(50), 1);
    const b = q.submitCluster(cluster(30, { owner: 'bob' }), 1);
    q.changeProcs(
      Array.from({ length: 20 }, (_, p) => change(a, p, JobStatus.Idle, p % 2 === 0 ? JobStatus.Running : JobStatus.Held)),
      2,
    );
    q.changeProcs([change(b, 0, JobStatus.Idle, JobStatus.Completed)], 3);
    q.moveToHistory([{ clusterId: b, procId: 0 }], ['[]'], 4);
    q.close();
    const raw = new Database(path, { readonly: true });
    try {
      const counted = raw
        .prepare('SELECT c.owner, p.status, count(*) AS n FROM procs p JOIN clusters c USING (cluster_id) GROUP BY c.owner, p.status ORDER BY 1, 2')
        .all();
      const kept = raw.prepare('SELECT owner, status, n FROM status_counts WHERE n > 0 ORDER BY 1, 2').all();
      assert.deepEqual(kept, counted);
    } finally {
      raw.close();
    }
  });

  it('plans listings on indexes, never a full sort', () => {
    q.close();
    const raw = new Database(path, { readonly: true });
    try {
      const plan = (text: string, params: Record<string, unknown> | unknown[]): string =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${text}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
      {
        const byStatus = plan(sql.PROCS_OF_STATUS, [1, 10]);
        assert.match(byStatus, /procs_by_status/);
        assert.doesNotMatch(byStatus, /TEMP B-TREE/);
        const byOwner = plan(sql.procsOfClustersQuery(true, false), { owner: 'a', mask: 2, limit: 10 });
        assert.match(byOwner, /clusters_by_owner/);
        assert.doesNotMatch(byOwner, /TEMP B-TREE/);
        const byCluster = plan(sql.procsOfClusterQuery(false, false), { clusterId: 1, mask: 2, limit: 10 });
        assert.match(byCluster, /PRIMARY KEY \(cluster_id=\?\)/);
        assert.doesNotMatch(byCluster, /TEMP B-TREE/);
        assert.doesNotMatch(plan(sql.historyQuery(false, false), { limit: 10 }), /TEMP B-TREE/);
        assert.doesNotMatch(plan(sql.historyQuery(true, false), { owner: 'a', limit: 10 }), /TEMP B-TREE/);
        assert.doesNotMatch(plan(sql.EVENTS_OF_JOB, [1, 0, 0, 10]), /TEMP B-TREE|SCAN job_events$/);
      }
    } finally {
      raw.close();
    }
  });
});
