/**
 * Access point benchmark, against the real daemon: `node bin/htc.js ap start
 * --foreground` in a child process (so its memory is read from
 * /proc/PID/status apart from this process), driven through ApClient as the
 * CLI drives it (the client compiles the submit file and sends the factory).
 *
 *   1. submits per second through the client:
 *      a. one `queue 100000` cluster of distinct procs, as submitted (the AP
 *         makes DEFAULT_MATERIALIZE_AHEAD procs at submit and keeps that many
 *         made ahead while idle), and with `max_idle = 100000` (all 100,000
 *         made and durable before the submit is acknowledged);
 *      b. 1,000 clusters of 100 procs, one after the other, one client;
 *   2. time to accept `queue 1000000` (late materialization), on a fresh AP;
 *   3. AP memory per idle job at 1,000,000 jobs: VmRSS after the submit has
 *      settled minus VmRSS of the idle AP before, over 1,000,000;
 *   4. `job list` at that size: client.list({ all: true }) (the summary
 *      request) and `node bin/htc.js job list --all` end to end.
 *
 * Baseline, in the same run: the same 100,000 rows (cluster, procs with the
 * differences the AP stored, submit events, status count) written by plain
 * better-sqlite3 INSERTs in one transaction into a fresh database with the
 * queue's schema and pragmas (synchronous=FULL). ratio = AP rate / baseline
 * rate for the 100,000-proc cluster made at submit (max_idle = 100000):
 * what the client, HTTP API, submit compilation and queue layer cost on top
 * of the raw database.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { openJobQueue } from '../src/store/index.ts';
import { SubmitDescription } from '../src/submit/index.ts';
import type { BenchResult } from './run.ts';
import { formatRate } from './harness.ts';

import { ApProcess, BIN, cpuSeconds, mib, quiet, sleep } from './ap-process.ts';
/** A submit file as the client compiles it (`htc job submit` does the same with the user's environment). */
export function factoryOf(text: string, dir: string): { factory: string; compileMs: number } {
  const start = performance.now();
  const description = SubmitDescription.compile(text, join(dir, 'job.sub'), { owner: userInfo().username, now: Math.floor(Date.now() / 1000), cwd: dir, env: {} });
  const factory = description.toFactory();
  return { factory, compileMs: performance.now() - start };
}

function submitText(procs: number, extra: readonly string[] = []): string {
  return [
    'executable = /bin/sleep',
    'arguments = "--input sample$(Process).dat --seed $(Process)"',
    'request_memory = 512M',
    'request_cpus = 1',
    ...extra,
    `queue ${procs}`,
  ].join('\n');
}

/** Reads the AP's queue read-only (WAL: no waiting on the AP's writes). */
function materializedCount(db: Database.Database, clusterId: number): number {
  const row = db.prepare('SELECT materialized_count AS n FROM clusters WHERE cluster_id = ?').get(clusterId) as { n: number } | undefined;
  return row?.n ?? 0;
}

/** Polls until the cluster's materialized count has not changed for `quietMs`, or `maxMs` have passed. */
async function settle(db: Database.Database, clusterId: number, quietMs: number, maxMs: number): Promise<{ count: number; lastChangeMs: number; waitedMs: number }> {
  const start = performance.now();
  let count = materializedCount(db, clusterId);
  let lastChange = start;
  for (;;) {
    await sleep(50);
    const now = performance.now();
    const n = materializedCount(db, clusterId);
    if (n !== count) {
      count = n;
      lastChange = now;
    }
    if (now - lastChange >= quietMs || now - start >= maxMs) return { count, lastChangeMs: lastChange - start, waitedMs: now - start };
  }
}

/** The baseline: the rows of one submitted cluster, by plain prepared INSERTs (one row per call) in one transaction. */
function plainInsert(path: string, cluster: { owner: string; submittedAt: number; clusterAd: string; procCount: number }, diffs: readonly string[]): number {
  openJobQueue(path).close(); // the queue's schema
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const insertCluster = db.prepare(
    'INSERT INTO clusters (owner, submitted_at, cluster_ad, proc_count, materialized_count, factory, batch_name, jobset_id) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)',
  );
  const insertProc = db.prepare('INSERT INTO procs (cluster_id, proc_id, status, entered_status_at, diff) VALUES (?, ?, 1, ?, ?)');
  const insertEvent = db.prepare("INSERT INTO job_events (cluster_id, proc_id, time, kind, data) VALUES (?, ?, ?, 'submit', '{}')");
  const insertCount = db.prepare('INSERT INTO status_counts (owner, status, n) VALUES (?, 1, ?)');
  const all = db.transaction(() => {
    const id = Number(insertCluster.run(cluster.owner, cluster.submittedAt, cluster.clusterAd, cluster.procCount, diffs.length).lastInsertRowid);
    for (let p = 0; p < diffs.length; p++) {
      insertProc.run(id, p, cluster.submittedAt, diffs[p]);
      insertEvent.run(id, p, cluster.submittedAt);
    }
    insertCount.run(cluster.owner, diffs.length);
  });
  const start = performance.now();
  all.immediate();
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return seconds;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<BenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'htc-bench-ap-'));
  const started = new Set<ApProcess>();
  const killAll = (): void => {
    for (const ap of started) ap.killNow();
  };
  process.once('exit', killAll);
  const readers: Database.Database[] = [];
  try {
    // ---- 1. submit rates, on one AP -----------------------------------------
    const dirA = join(root, 'ap-rates');
    let ap = await ApProcess.start(dirA, started);
    const rssStartA = ap.memory();
    console.log(`AP started (pid ${ap.pid}), idle RSS ${mib(rssStartA.rssKiB)}`);

    // b. 1,000 clusters of 100 procs (first, so no factory cluster is in the AP's queue yet).
    const small = submitText(100);
    let smallCompileMs = 0;
    const manyStart = performance.now();
    for (let c = 0; c < 1000; c++) {
      const { factory, compileMs } = factoryOf(small, root);
      smallCompileMs += compileMs;
      await ap.client.submit({ factory });
    }
    const manySeconds = (performance.now() - manyStart) / 1000;
    const manyPerSec = 100_000 / manySeconds;
    console.log(
      `1,000 clusters of 100 procs (sequential submits, one client): ${manySeconds.toFixed(2)} s = ${formatRate(manyPerSec)} procs/s, ` +
        `${formatRate(1000 / manySeconds)} clusters/s (client-side compile ${(smallCompileMs / 1000).toFixed(2)} ms/cluster)`,
    );

    await quiet(ap.pid);
    const reader = new Database(join(dirA, 'queue.db'), { readonly: true });
    readers.push(reader);

    // a. one cluster of 100,000 distinct procs, as submitted (default materialization).
    const big = factoryOf(submitText(100_000), root);
    let t0 = performance.now();
    const bigDefault = await ap.client.submit({ factory: big.factory });
    const bigDefaultAckMs = performance.now() - t0;
    const madeAtAck = materializedCount(reader, bigDefault.clusterId);
    const bigDefaultBusy = await quiet(ap.pid);
    const bigDefaultSettled = await settle(reader, bigDefault.clusterId, 2000, 20_000);
    const bigDefaultPending = (await ap.client.list({ all: true, ids: [String(bigDefault.clusterId)] })).pending.reduce((n, p) => n + p.count, 0);
    console.log(
      `one cluster of 100,000 procs (queue 100000, default materialization): acknowledged in ${bigDefaultAckMs.toFixed(0)} ms ` +
        `(client-side compile ${big.compileMs.toFixed(1)} ms) with ${madeAtAck} procs made = ${formatRate(100_000 / (bigDefaultAckMs / 1000))} procs accepted/s; ` +
        `AP busy ${(bigDefaultBusy.busyMs / 1000).toFixed(1)} s after the ack (${bigDefaultBusy.cpuSeconds.toFixed(1)} s CPU); ` +
        `then ${bigDefaultSettled.count} made, ${bigDefaultPending} pending (made as idle ones start)`,
    );

    // a'. the same 100,000 procs, all made at submit (max_idle = 100000).
    const bigAll = factoryOf(submitText(100_000, ['max_idle = 100000']), root);
    t0 = performance.now();
    const bigAllResult = await ap.client.submit({ factory: bigAll.factory });
    const bigAllAckMs = performance.now() - t0;
    const ackedAt = { at: performance.now(), cpu: cpuSeconds(ap.pid) };
    const bigAllMade = materializedCount(reader, bigAllResult.clusterId);
    // The AP writes the new events to user logs 20 ms after a submit; a request arriving then waits for it.
    await sleep(50);
    t0 = performance.now();
    await ap.client.status();
    const statusAfterBigMs = performance.now() - t0;
    const bigAllBusy = await quiet(ap.pid, 600, 60_000, ackedAt);
    const bigAllPerSec = 100_000 / ((bigAllAckMs + bigAll.compileMs) / 1000);
    console.log(
      `one cluster of 100,000 procs (max_idle = 100000: all made at submit): acknowledged in ${bigAllAckMs.toFixed(0)} ms ` +
        `(+ client-side compile ${bigAll.compileMs.toFixed(1)} ms) with ${bigAllMade} procs made and durable = ${formatRate(bigAllPerSec)} procs/s; ` +
        `a status() sent 50 ms after the ack took ${statusAfterBigMs.toFixed(0)} ms; AP busy ${(bigAllBusy.busyMs / 1000).toFixed(1)} s after the ack ` +
        `(${bigAllBusy.cpuSeconds.toFixed(1)} s CPU: writing user logs)`,
    );

    // The same rows, by plain INSERTs.
    const clusterRow = reader.prepare('SELECT owner, submitted_at AS submittedAt, cluster_ad AS clusterAd, proc_count AS procCount FROM clusters WHERE cluster_id = ?').get(bigAllResult.clusterId) as {
      owner: string;
      submittedAt: number;
      clusterAd: string;
      procCount: number;
    };
    const diffs = (reader.prepare('SELECT diff FROM procs WHERE cluster_id = ? ORDER BY proc_id').pluck().all(bigAllResult.clusterId) as string[]);
    const baselineRuns = [1, 2, 3].map((i) => plainInsert(join(root, `baseline${i}.db`), clusterRow, diffs));
    const baselineSeconds = median(baselineRuns);
    const baselinePerSec = diffs.length / baselineSeconds;
    console.log(
      `baseline, the same ${diffs.length} rows by plain better-sqlite3 INSERTs, one transaction, FULL: ${(baselineSeconds * 1000).toFixed(0)} ms ` +
        `(median of 3) = ${formatRate(baselinePerSec)} procs/s`,
    );
    const rssEndA = ap.memory();
    console.log(`AP after 200,000 procs made in ${1002} clusters: RSS ${mib(rssEndA.rssKiB)} (peak ${mib(rssEndA.hwmKiB)})`);
    reader.close();
    readers.length = 0;
    await ap.stop(started);

    // ---- 2-4. a fresh AP with a 1,000,000-proc cluster ------------------------------
    const dirB = join(root, 'ap-million');
    ap = await ApProcess.start(dirB, started);
    // Warm up the request paths (code loaded and compiled once, not per job), then let it idle.
    const warm = factoryOf(submitText(10), root);
    await ap.client.submit({ factory: warm.factory });
    await ap.client.list({ all: true });
    await ap.client.status();
    await quiet(ap.pid, 1000);
    const idle = ap.memory();
    console.log(`fresh AP (pid ${ap.pid}) with 10 jobs, idle: RSS ${mib(idle.rssKiB)} (anon ${mib(idle.anonKiB)}, file ${mib(idle.fileKiB)})`);

    const million = factoryOf(submitText(1_000_000), root);
    t0 = performance.now();
    const millionResult = await ap.client.submit({ factory: million.factory });
    const millionAckMs = performance.now() - t0;
    const millionBusy = await quiet(ap.pid);
    console.log(
      `queue 1000000 accepted in ${millionAckMs.toFixed(0)} ms (+ client-side compile ${million.compileMs.toFixed(1)} ms; aim < 1000 ms); ` +
        `AP busy ${(millionBusy.busyMs / 1000).toFixed(1)} s after the ack (${millionBusy.cpuSeconds.toFixed(1)} s CPU)`,
    );
    const readerB = new Database(join(dirB, 'queue.db'), { readonly: true });
    readers.push(readerB);
    const settled = await settle(readerB, millionResult.clusterId, 3000, 30_000);
    const statusAfter = await ap.client.status();
    await quiet(ap.pid, 1000);
    const loaded = ap.memory();
    const perJobBytes = ((loaded.rssKiB - idle.rssKiB) * 1024) / 1_000_000;
    const dbBytes = ['queue.db', 'queue.db-wal'].reduce((n, f) => n + (existsSync(join(dirB, f)) ? statSync(join(dirB, f)).size : 0), 0);
    console.log(
      `after the submit settled (${(settled.waitedMs / 1000).toFixed(1)} s): ${settled.count} of 1,000,000 procs made, status says ${statusAfter.jobs.idle} idle; ` +
        `RSS ${mib(loaded.rssKiB)} (anon ${mib(loaded.anonKiB)}, file ${mib(loaded.fileKiB)}, peak ${mib(loaded.hwmKiB)}); ` +
        `${perJobBytes.toFixed(1)} bytes/idle job (aim <= 300); queue.db + WAL ${(dbBytes / 2 ** 20).toFixed(1)} MiB on disk`,
    );

    // 4. job list at that size.
    const listMs: number[] = [];
    let listed = { jobs: 0, pending: 0 };
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      const list = await ap.client.list({ all: true });
      listMs.push(performance.now() - t0);
      listed = { jobs: list.jobs.length, pending: list.pending.reduce((n, p) => n + p.count, 0) };
    }
    const afterList = ap.memory();
    console.log(
      `client.list({ all: true }) at 1,000,010 jobs (${listed.jobs} made, ${listed.pending} pending): ` +
        `${listMs.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(listMs).toFixed(0)} ms; aim < 1000 ms); AP RSS after ${mib(afterList.rssKiB)}`,
    );
    const cli = (args: readonly string[]): { ms: number; stdout: string } => {
      const start = performance.now();
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
      const ms = performance.now() - start;
      if (r.status !== 0) throw new Error(`htc ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return { ms, stdout: r.stdout };
    };
    const versionMs = median([0, 1, 2].map(() => cli(['version']).ms));
    const cliRuns = [0, 1, 2].map(() => cli(['job', 'list', '--all', '--dir', dirB]));
    const cliMs = median(cliRuns.map((r) => r.ms));
    const total = /^Total for query: .*$/m.exec(cliRuns[0]!.stdout)?.[0] ?? '(no total line)';
    console.log(`node bin/htc.js job list --all, end to end: ${cliRuns.map((r) => r.ms.toFixed(0)).join(', ')} ms (median ${cliMs.toFixed(0)} ms; \`htc version\` alone: ${versionMs.toFixed(0)} ms): ${total}`);

    readerB.close();
    readers.length = 0;
    await ap.stop(started);

    return {
      bench: 'ap',
      baseline: 'plain better-sqlite3 INSERTs of the same 100,000 rows into a fresh database (queue schema, FULL), one transaction',
      ratio: Number((bigAllPerSec / baselinePerSec).toFixed(3)),
      oneCluster100kAllMadeProcsPerSec: Math.round(bigAllPerSec),
      oneCluster100kAllMadeAckMs: Math.round(bigAllAckMs),
      oneCluster100kAllMadeBusyAfterAckMs: Math.round(bigAllBusy.busyMs),
      oneCluster100kAllMadeStatusAfterAckMs: Math.round(statusAfterBigMs),
      oneCluster100kBaselineProcsPerSec: Math.round(baselinePerSec),
      oneCluster100kBaselineMs: Math.round(baselineSeconds * 1000),
      oneCluster100kDefaultAckMs: Math.round(bigDefaultAckMs),
      oneCluster100kDefaultMadeAtAck: madeAtAck,
      oneCluster100kDefaultMadeAfterSettle: bigDefaultSettled.count,
      oneCluster100kCompileMs: Number(big.compileMs.toFixed(1)),
      clusters1000x100Seconds: Number(manySeconds.toFixed(2)),
      clusters1000x100ProcsPerSec: Math.round(manyPerSec),
      clusters1000x100ClustersPerSec: Math.round(1000 / manySeconds),
      queue1MAcceptMs: Math.round(millionAckMs),
      queue1MBusyAfterAckMs: Math.round(millionBusy.busyMs),
      queue1MCompileMs: Number(million.compileMs.toFixed(1)),
      at1MMadeProcs: settled.count,
      at1MIdleRssMiB: Number((idle.rssKiB / 1024).toFixed(1)),
      at1MRssMiB: Number((loaded.rssKiB / 1024).toFixed(1)),
      at1MPeakRssMiB: Number((loaded.hwmKiB / 1024).toFixed(1)),
      at1MBytesPerIdleJob: Number(perJobBytes.toFixed(1)),
      at1MListSummaryMs: Math.round(median(listMs)),
      at1MListJobs: listed.jobs,
      at1MListPending: listed.pending,
      at1MCliJobListMs: Math.round(cliMs),
      cliVersionMs: Math.round(versionMs),
    };
  } finally {
    for (const db of readers) db.close();
    for (const ap of [...started]) await ap.stop(started).catch(() => ap.killNow());
    process.off('exit', killAll);
    rmSync(root, { recursive: true, force: true });
  }
}
