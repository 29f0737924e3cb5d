/**
 * Job queue (SQLite) benchmark: procs submitted per second through the
 * queue, for one cluster of 100,000 distinct procs and for 1,000 clusters of
 * 100 procs, with synchronous=FULL (an acknowledged submit survives a power
 * cut) and, to show what FULL costs, NORMAL; side by side with the baseline
 * of the same rows (cluster, procs, submit events, counts) written by plain
 * better-sqlite3 INSERTs on the same schema and pragmas, without the queue
 * layer, in the same run. The ratio is queue rate / baseline rate for the
 * 100,000-proc cluster with FULL.
 *
 * Then, at 1,000,000 procs in the queue: statusCounts() and
 * procs({ statuses: [Idle] }, 1000), against a GROUP BY over procs; and
 * changeProcs in batches of 100, and a 1,000,000-proc factory submit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { JobStatus, openJobQueue, type JobQueue, type NewCluster, type ProcChange } from '../src/store/index.ts';
import type { BenchResult } from './run.ts';
import { formatRate, measure } from './harness.ts';

type Sync = 'FULL' | 'NORMAL';

const CLUSTER_AD = '[ Cmd = "/usr/bin/analyze"; RequestMemory = 2048; RequestCpus = 1; Owner = "bench"; JobUniverse = 5 ]';

function diffs(n: number, offset = 0): string[] {
  return Array.from({ length: n }, (_, i) => {
    const p = i + offset;
    return `[ ProcId = ${i}; Arguments = "--input sample${p}.dat --seed ${p % 97}"; TransferInputFiles = "sample${p}.dat" ]`;
  });
}

function newCluster(procs: string[]): NewCluster {
  return { owner: 'bench', submittedAt: 1_700_000_000, clusterAd: CLUSTER_AD, procCount: procs.length, procs, factory: null, batchName: null, jobsetId: null };
}

let fileNo = 0;
function freshPath(dir: string): string {
  return join(dir, `q${fileNo++}.db`);
}

/** A database with the queue's schema, opened raw with the queue's pragmas. */
function rawDatabase(path: string, sync: Sync): Database.Database {
  openJobQueue(path).close();
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/** The baseline: the same rows by plain prepared INSERTs, one row per call. */
function plainInserter(db: Database.Database): (procs: readonly string[]) => void {
  const cluster = db.prepare(
    'INSERT INTO clusters (owner, submitted_at, cluster_ad, proc_count, materialized_count, factory, batch_name, jobset_id) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)',
  );
  const proc = db.prepare('INSERT INTO procs (cluster_id, proc_id, status, entered_status_at, diff) VALUES (?, ?, 1, ?, ?)');
  const event = db.prepare("INSERT INTO job_events (cluster_id, proc_id, time, kind, data) VALUES (?, ?, ?, 'submit', '{}')");
  const count = db.prepare('INSERT INTO status_counts (owner, status, n) VALUES (?, 1, ?) ON CONFLICT (owner, status) DO UPDATE SET n = n + excluded.n');
  return (procs) => {
    const id = Number(cluster.run('bench', 1_700_000_000, CLUSTER_AD, procs.length, procs.length).lastInsertRowid);
    for (let p = 0; p < procs.length; p++) {
      proc.run(id, p, 1_700_000_000, procs[p]);
      event.run(id, p, 1_700_000_000);
    }
    count.run('bench', procs.length);
  };
}

function seconds(fn: () => void): number {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

/** The best of `reps` runs of `once` (each on a fresh file), in procs/s. */
function best(reps: number, procs: number, once: () => number): number {
  let min = Infinity;
  for (let r = 0; r < reps; r++) min = Math.min(min, once());
  return procs / min;
}

function line(name: string, perSec: number): void {
  console.log(`${name}: ${formatRate(perSec)} procs/s`);
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'htc-bench-store-'));
  try {
    const big = diffs(100_000);
    const small = Array.from({ length: 1000 }, (_, c) => diffs(100, c * 100));
    const reps = 3;

    const queueOne = (sync: Sync): number =>
      best(reps, big.length, () => {
        const q = openJobQueue(freshPath(dir), { synchronous: sync });
        const s = seconds(() => q.submitCluster(newCluster(big), 1_700_000_000));
        q.close();
        return s;
      });
    const plainOne = (sync: Sync): number =>
      best(reps, big.length, () => {
        const db = rawDatabase(freshPath(dir), sync);
        const insert = db.transaction(plainInserter(db));
        const s = seconds(() => insert(big));
        db.close();
        return s;
      });
    const queueMany = (sync: Sync): number =>
      best(reps, 100_000, () => {
        const q = openJobQueue(freshPath(dir), { synchronous: sync });
        const s = seconds(() => {
          for (const procs of small) q.submitCluster(newCluster(procs), 1_700_000_000);
        });
        q.close();
        return s;
      });
    const plainMany = (sync: Sync, oneTransaction: boolean): number =>
      best(reps, 100_000, () => {
        const db = rawDatabase(freshPath(dir), sync);
        const insert = db.transaction(plainInserter(db));
        const all = db.transaction(() => {
          for (const procs of small) insert(procs);
        });
        const s = seconds(() => {
          if (oneTransaction) all();
          else for (const procs of small) insert(procs);
        });
        db.close();
        return s;
      });

    console.log('one cluster of 100,000 procs (one transaction):');
    const oneFull = queueOne('FULL');
    line('  queue, synchronous=FULL', oneFull);
    const oneFullBase = plainOne('FULL');
    line('  baseline, plain INSERTs, one transaction, FULL', oneFullBase);
    const oneNormal = queueOne('NORMAL');
    line('  queue, synchronous=NORMAL', oneNormal);
    const oneNormalBase = plainOne('NORMAL');
    line('  baseline, plain INSERTs, one transaction, NORMAL', oneNormalBase);

    console.log('1,000 clusters of 100 procs (one submitCluster each):');
    const manyFull = queueMany('FULL');
    line(`  queue, synchronous=FULL (${formatRate(manyFull / 100)} clusters/s)`, manyFull);
    const manyFullBase = plainMany('FULL', false);
    line('  baseline, plain INSERTs, one transaction per cluster, FULL', manyFullBase);
    const manyFullBaseOneTx = plainMany('FULL', true);
    line('  baseline, plain INSERTs, all in one transaction, FULL', manyFullBaseOneTx);
    const manyNormal = queueMany('NORMAL');
    line(`  queue, synchronous=NORMAL (${formatRate(manyNormal / 100)} clusters/s)`, manyNormal);

    // ---- a queue of 1,000,000 procs --------------------------------------------
    const path = freshPath(dir);
    let q: JobQueue = openJobQueue(path, { synchronous: 'NORMAL' });
    const fillSeconds = seconds(() => {
      for (let c = 0; c < 10; c++) q.submitCluster({ ...newCluster(diffs(100_000, c * 100_000)), owner: c % 2 === 0 ? 'bench' : 'other' }, 1_700_000_000);
    });
    console.log(`filled a queue of 1,000,000 procs (10 clusters, NORMAL) in ${fillSeconds.toFixed(1)} s`);
    q.close();
    q = openJobQueue(path); // FULL from here on, as the AP runs
    const changes = (from: number, n: number, status: typeof JobStatus.Running | typeof JobStatus.Held): ProcChange[] =>
      Array.from({ length: n }, (_, i): ProcChange => ({
        id: { clusterId: 1 + Math.floor((from + i) / 100_000), procId: (from + i) % 100_000 },
        expectStatus: JobStatus.Idle,
        status,
        set: status === JobStatus.Running ? { RemoteHost: `"slot${i}@node"`, NumJobStarts: '1' } : { HoldReason: '"bench"' },
        event: { kind: status === JobStatus.Running ? 'execute' : 'held', data: '{}' },
      }));
    let changed = 0;
    const changeSeconds = seconds(() => {
      for (let b = 0; b < 100; b++) changed += q.changeProcs(changes(b * 100, 100, JobStatus.Running), 1_700_000_100).length;
    });
    const changesPerSec = changed / changeSeconds;
    console.log(`changeProcs, 100 batches of 100 (Idle→Running, 2 attributes set), FULL: ${formatRate(changesPerSec)} changes/s`);
    // Holds spread over the queue, so a listing of Held walks a sparse status.
    for (let c = 0; c < 10; c++) q.changeProcs(changes(c * 100_000 + 50_000, 100, JobStatus.Held), 1_700_000_200);

    const counts = q.statusCounts();
    console.log(`at 1,000,000 procs: ${JSON.stringify(counts)}`);
    const raw = new Database(path, { readonly: true });
    const groupBy = raw.prepare('SELECT status, count(*) AS n FROM procs GROUP BY status');
    const statusCountsPerSec = await measure('  statusCounts()', () => q.statusCounts(), { minMs: 500 });
    const statusCountsOwnerPerSec = await measure("  statusCounts({ owner: 'bench' })", () => q.statusCounts({ owner: 'bench' }), { minMs: 500 });
    const groupByPerSec = await measure('  baseline: SELECT status, count(*) FROM procs GROUP BY status', () => groupBy.all(), { minMs: 2000, warmupMs: 200 });
    const idlePerSec = await measure('  procs({ statuses: [Idle] }, 1000)', () => q.procs({ statuses: [JobStatus.Idle] }, 1000), { minMs: 500 });
    const heldPerSec = await measure('  procs({ statuses: [Held, Running] }, 1000)', () => q.procs({ statuses: [JobStatus.Held, JobStatus.Running] }, 1000), { minMs: 500 });
    const ownerPerSec = await measure("  procs({ owner: 'other', statuses: [Idle] }, 1000)", () => q.procs({ owner: 'other', statuses: [JobStatus.Idle] }, 1000), {
      minMs: 500,
    });
    raw.close();
    const factorySeconds = seconds(() => q.submitCluster({ ...newCluster([]), procCount: 1_000_000, factory: 'queue 1000000' }, 1_700_000_300));
    console.log(`  submitCluster of a 1,000,000-proc factory cluster (0 materialized), FULL: ${(factorySeconds * 1000).toFixed(2)} ms`);
    q.close();

    const ms = (perSec: number): number => Number((1000 / perSec).toFixed(4));
    return {
      bench: 'store',
      baseline: 'plain better-sqlite3 INSERTs of the same rows, same schema and pragmas, one transaction',
      ratio: Number((oneFull / oneFullBase).toFixed(2)),
      oneCluster100kFullProcsPerSec: Math.round(oneFull),
      oneCluster100kFullBaselineProcsPerSec: Math.round(oneFullBase),
      oneCluster100kNormalProcsPerSec: Math.round(oneNormal),
      oneCluster100kNormalBaselineProcsPerSec: Math.round(oneNormalBase),
      clusters1000x100FullProcsPerSec: Math.round(manyFull),
      clusters1000x100FullClustersPerSec: Math.round(manyFull / 100),
      clusters1000x100FullBaselinePerClusterTxProcsPerSec: Math.round(manyFullBase),
      clusters1000x100FullBaselineOneTxProcsPerSec: Math.round(manyFullBaseOneTx),
      clusters1000x100NormalProcsPerSec: Math.round(manyNormal),
      changeProcsFullPerSec: Math.round(changesPerSec),
      at1MStatusCountsMs: ms(statusCountsPerSec),
      at1MStatusCountsOwnerMs: ms(statusCountsOwnerPerSec),
      at1MGroupByBaselineMs: ms(groupByPerSec),
      at1MProcsIdle1000Ms: ms(idlePerSec),
      at1MProcsHeldRunning1000Ms: ms(heldPerSec),
      at1MProcsOwnerIdle1000Ms: ms(ownerPerSec),
      factory1MSubmitMs: Number((factorySeconds * 1000).toFixed(2)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
