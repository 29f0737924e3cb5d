/**
 * The job queue on SQLite (better-sqlite3, synchronous): DESIGN.md decision 2.
 *
 * Durability. The database is in WAL mode. Every mutating operation is one
 * IMMEDIATE transaction: it takes the write lock up front (so it never fails
 * half way for want of it), and either commits whole or rolls back whole,
 * including when it throws. With synchronous=FULL (the default) the WAL is
 * fsynced at every commit: once an operation returns, its effect survives
 * `kill -9` of the AP and a power cut. With synchronous=NORMAL it still
 * survives `kill -9` (the WAL is written before the commit returns; only the
 * fsync is deferred) but a power cut may lose the last commits; never
 * corruption. bench/store.bench.ts measures what FULL costs. A caller may
 * ask for one change at the lesser durability ('crash') on a FULL queue:
 * that commit alone is not fsynced (pilots' run reports, decision 0006).
 *
 * Invariants kept by every transaction here:
 * - A cluster's procs 0..materialized_count-1 are each either in `procs` or
 *   in `history`, never both; procs >= materialized_count are not stored
 *   (the AP makes them from `factory` with materializeProcs).
 * - A cluster row exists while any of its procs is in the queue or still to
 *   be materialized; the transaction that moves its last proc to history
 *   deletes it. Cluster ids increase from 1 and are never reused.
 * - status_counts equals the per-owner, per-status count of `procs`.
 * - Every proc inserted gets a 'submit' event; every applied change its event.
 *
 * Statements are prepared once per connection (the fixed ones when the queue
 * opens, the filter-shaped ones on first use) and kept.
 */
import Database from 'better-sqlite3';
import { parseClassAd, parseExpression, printClassAd } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import {
  JobStatus,
  type ClusterRecord,
  type JobEvent,
  type JobFilter,
  type JobId,
  type Durability,
  type JobQueue,
  type JobStatusCode,
  type NewCluster,
  type ProcChange,
  type ProcRecord,
  type StatusCounts,
} from './job-queue.ts';
import { migrate } from './migrations.ts';
import * as sql from './sql.ts';

export interface OpenJobQueueOptions {
  /**
   * SQLite's synchronous setting. Default 'FULL': an acknowledged operation
   * survives a power cut. 'NORMAL' survives a crash of the AP but may lose
   * the last commits on a power cut (faster on slow fsync).
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long to wait for another connection's write lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the queue database at `path` and brings its
 * schema up to date. Throws STORE_INCOMPATIBLE for a file that is not an
 * htc queue or whose schema is newer than this code, FILE_UNREADABLE when
 * the file cannot be opened (no such directory, no permission).
 */
export function openJobQueue(path: string, options: OpenJobQueueOptions = {}): JobQueue {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new HtcError('FILE_UNREADABLE', `job queue ${path}: cannot open: ${(error as Error).message}`, { cause: error });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma('foreign_keys = ON');
    // After a large transaction (a 100,000-proc submit) the WAL shrinks back to this at the next checkpoint.
    db.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
    migrate(db);
    return new SqliteJobQueue(db, options.synchronous ?? 'FULL');
  } catch (error) {
    db.close();
    if (error instanceof HtcError) throw error;
    if ((error as { code?: unknown }).code === 'SQLITE_NOTADB') {
      throw new HtcError('STORE_INCOMPATIBLE', `job queue ${path}: not an SQLite database`, { cause: error });
    }
    throw error;
  }
}

const ALL_STATUSES_MASK = Object.values(JobStatus).reduce((mask, s) => mask | (1 << s), 0);
const FINISHED: ReadonlySet<number> = new Set([JobStatus.Completed, JobStatus.Removed]);

function invalid(message: string): HtcError {
  return new HtcError('INTERNAL', `job queue: ${message}`);
}

function checkId(what: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw invalid(`${what} must be an integer >= ${min}, got ${n}`);
}

function checkStatus(status: number): void {
  if (!Number.isInteger(status) || !(ALL_STATUSES_MASK & (1 << status))) throw invalid(`unknown job status ${status}`);
}

/** SQLite's LIMIT: -1 is none. */
function sqlLimit(limit: number | undefined): number {
  if (limit === undefined) return -1;
  if (!Number.isSafeInteger(limit) || limit < 0) throw invalid(`limit must be an integer >= 0, got ${limit}`);
  return limit;
}

function compareIds(a: ProcRecord, b: ProcRecord): number {
  return a.clusterId - b.clusterId || a.procId - b.procId;
}

class SqliteJobQueue implements JobQueue {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  private readonly insertCluster: Database.Statement;
  private readonly insertProcs: Database.Statement;
  private readonly insertSubmitEvents: Database.Statement;
  private readonly setMaterialized: Database.Statement;
  private readonly addStatusCount: Database.Statement;
  private readonly insertStatusCount: Database.Statement;
  private readonly procForChange: Database.Statement;
  private readonly updateProc: Database.Statement;
  private readonly updateDiff: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly insertHistory: Database.Statement;
  private readonly deleteProc: Database.Statement;
  private readonly deleteClusterIfDone: Database.Statement;
  private readonly insertJobset: Database.Statement;
  private readonly jobsetExists: Database.Statement;
  private readonly clusterById: Database.Statement;
  private readonly nextId: Database.Statement;
  private readonly procById: Database.Statement;

  private readonly submitTx: (cluster: NewCluster, now: number) => number;
  private readonly materializeTx: (clusterId: number, from: number, diffs: readonly string[], now: number) => void;
  private readonly changeTx: (changes: readonly ProcChange[], now: number) => ProcChange[];
  private readonly historyTx: (ids: readonly JobId[], wholeAds: readonly string[], now: number) => number;
  private readonly finishTx: (finishes: readonly { readonly change: ProcChange; readonly wholeAd: string }[], now: number) => ProcChange[];
  private readonly abandonTx: (clusterId: number) => number;
  private readonly jobsetTx: (name: string, owner: string, now: number) => number;

  constructor(db: Database.Database, private readonly synchronous: 'FULL' | 'NORMAL') {
    this.db = db;
    this.insertCluster = db.prepare(sql.INSERT_CLUSTER);
    this.insertProcs = db.prepare(sql.INSERT_PROCS_FROM_JSON);
    this.insertSubmitEvents = db.prepare(sql.INSERT_SUBMIT_EVENTS);
    this.setMaterialized = db.prepare(sql.SET_MATERIALIZED);
    this.addStatusCount = db.prepare(sql.ADD_STATUS_COUNT);
    this.insertStatusCount = db.prepare(sql.INSERT_STATUS_COUNT);
    this.procForChange = db.prepare(sql.PROC_FOR_CHANGE);
    this.updateProc = db.prepare(sql.UPDATE_PROC);
    this.updateDiff = db.prepare(sql.UPDATE_DIFF);
    this.insertEvent = db.prepare(sql.INSERT_EVENT);
    this.insertHistory = db.prepare(sql.INSERT_HISTORY);
    this.deleteProc = db.prepare(sql.DELETE_PROC);
    this.deleteClusterIfDone = db.prepare(sql.DELETE_CLUSTER_IF_DONE);
    this.insertJobset = db.prepare(sql.INSERT_JOBSET);
    this.jobsetExists = db.prepare(sql.JOBSET_EXISTS);
    this.clusterById = db.prepare(sql.CLUSTER);
    this.nextId = db.prepare(sql.NEXT_CLUSTER_ID);
    this.procById = db.prepare(sql.PROC);

    const immediate = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => {
      const tx = db.transaction(fn);
      return (...args: A) => tx.immediate(...args);
    };
    this.submitTx = immediate((cluster: NewCluster, now: number) => this.doSubmit(cluster, now));
    this.materializeTx = immediate((clusterId: number, from: number, diffs: readonly string[], now: number) =>
      this.doMaterialize(clusterId, from, diffs, now),
    );
    this.changeTx = immediate((changes: readonly ProcChange[], now: number) => this.doChange(changes, now));
    this.historyTx = immediate((ids: readonly JobId[], wholeAds: readonly string[], now: number) => this.doMoveToHistory(ids, wholeAds, now));
    this.finishTx = immediate((finishes: readonly { readonly change: ProcChange; readonly wholeAd: string }[], now: number) => this.doFinish(finishes, now));
    const truncate = db.prepare(sql.TRUNCATE_FACTORY);
    const deleteCluster = db.prepare(sql.DELETE_CLUSTER);
    this.abandonTx = immediate((clusterId: number) => {
      const c = this.cluster(clusterId);
      if (c === undefined) throw invalid(`no cluster ${clusterId}`);
      const unmade = c.procCount - c.materializedCount;
      if (unmade === 0) return 0;
      if (c.materializedCount === 0) deleteCluster.run(clusterId);
      else {
        truncate.run(clusterId);
        this.deleteClusterIfDone.run({ clusterId });
      }
      return unmade;
    });
    this.jobsetTx = immediate((name: string, owner: string, now: number) => Number(this.insertJobset.run(name, owner, now).lastInsertRowid));
  }

  /** A statement prepared on first use of its text and kept. */
  private stmt(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (s === undefined) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  /**
   * What SQLite's AUTOINCREMENT will give the next cluster row: one more than
   * the highest id ever given (sqlite_sequence) or present. Holds until the
   * next submitCluster as long as this connection is the only writer.
   */
  nextClusterId(): number {
    return (this.nextId.get() as { next: number }).next;
  }

  /**
   * One transaction: the cluster row, its procs 0..procs.length-1 (Idle,
   * entered now) and a 'submit' event for each. The id is the highest ever
   * given plus one. A factory cluster with no procs materialized writes the
   * cluster row only, whatever its procCount. Returns once durable.
   */
  submitCluster(cluster: NewCluster, now: number): number {
    checkId('procCount', cluster.procCount, 1);
    if (cluster.procs.length > cluster.procCount) throw invalid(`${cluster.procs.length} procs given for a cluster of ${cluster.procCount}`);
    if (cluster.factory === null && cluster.procs.length !== cluster.procCount) {
      throw invalid(`a cluster without a factory needs all ${cluster.procCount} procs, got ${cluster.procs.length}`);
    }
    return this.submitTx(cluster, now);
  }

  private doSubmit(c: NewCluster, now: number): number {
    if (c.jobsetId !== null && this.jobsetExists.get(c.jobsetId) === undefined) throw invalid(`no jobset ${c.jobsetId}`);
    const info = this.insertCluster.run(c.owner, c.submittedAt, c.clusterAd, c.procCount, c.procs.length, c.factory, c.batchName, c.jobsetId);
    const clusterId = Number(info.lastInsertRowid);
    this.addProcs(clusterId, c.owner, 0, c.procs, now);
    return clusterId;
  }

  /** Inserts Idle procs from..from+diffs.length-1 with their submit events and counts them. */
  private addProcs(clusterId: number, owner: string, from: number, diffs: readonly string[], now: number): void {
    if (diffs.length === 0) return;
    this.insertProcs.run({ clusterId, from, now, diffs: JSON.stringify(diffs) });
    this.insertSubmitEvents.run({ clusterId, from, to: from + diffs.length, now });
    this.addCount(owner, JobStatus.Idle, diffs.length);
  }

  /**
   * One transaction: procs `from..from+diffs.length-1` of a factory cluster,
   * Idle with submit events. `from` must be the cluster's materializedCount
   * (procs are made in order, each once) and the procs must fit procCount;
   * otherwise it throws and nothing changes.
   */
  materializeProcs(clusterId: number, from: number, diffs: readonly string[], now: number): void {
    this.materializeTx(clusterId, from, diffs, now);
  }

  private doMaterialize(clusterId: number, from: number, diffs: readonly string[], now: number): void {
    const c = this.cluster(clusterId);
    if (c === undefined) throw invalid(`no cluster ${clusterId}`);
    if (from !== c.materializedCount) throw invalid(`cluster ${clusterId} has ${c.materializedCount} procs materialized; cannot add from ${from}`);
    if (from + diffs.length > c.procCount) throw invalid(`cluster ${clusterId} has ${c.procCount} procs; cannot materialize up to ${from + diffs.length}`);
    if (diffs.length === 0) return;
    this.addProcs(clusterId, c.owner, from, diffs, now);
    this.setMaterialized.run(from + diffs.length, clusterId);
  }

  cluster(clusterId: number): ClusterRecord | undefined {
    return this.clusterById.get(clusterId) as ClusterRecord | undefined;
  }

  proc(id: JobId): ProcRecord | undefined {
    return this.procById.get(id.clusterId, id.procId) as ProcRecord | undefined;
  }

  clusters(filter: { owner?: string; jobsetId?: number } = {}): ClusterRecord[] {
    const s = this.stmt(sql.clustersQuery(filter.owner !== undefined, filter.jobsetId !== undefined));
    return s.all(pick({ owner: filter.owner, jobsetId: filter.jobsetId })) as ClusterRecord[];
  }

  /**
   * Plans: one cluster → its primary key; an owner or jobset → their
   * clusters in id order, each by primary key; statuses alone → one ordered
   * walk of procs_by_status per status, merged; nothing → the primary key.
   * Each stops at `limit` rows without sorting the table.
   */
  procs(filter: JobFilter = {}, limit?: number): ProcRecord[] {
    const max = sqlLimit(limit);
    let mask = ALL_STATUSES_MASK;
    if (filter.statuses !== undefined) {
      mask = 0;
      for (const s of filter.statuses) {
        checkStatus(s);
        mask |= 1 << s;
      }
      if (mask === 0 || max === 0) return [];
    }
    const byOwner = filter.owner !== undefined;
    const byJobset = filter.jobsetId !== undefined;
    if (filter.clusterId !== undefined) {
      const s = this.stmt(sql.procsOfClusterQuery(byOwner, byJobset));
      return s.all(pick({ clusterId: filter.clusterId, owner: filter.owner, jobsetId: filter.jobsetId, mask, limit: max })) as ProcRecord[];
    }
    if (byOwner || byJobset) {
      const s = this.stmt(sql.procsOfClustersQuery(byOwner, byJobset));
      return s.all(pick({ owner: filter.owner, jobsetId: filter.jobsetId, mask, limit: max })) as ProcRecord[];
    }
    if (mask === ALL_STATUSES_MASK) return this.stmt(sql.ALL_PROCS).all(max) as ProcRecord[];
    const byStatus = this.stmt(sql.PROCS_OF_STATUS);
    const statuses = Object.values(JobStatus).filter((s) => mask & (1 << s));
    if (statuses.length === 1) return byStatus.all(statuses[0], max) as ProcRecord[];
    const merged = statuses.flatMap((s) => byStatus.all(s, max) as ProcRecord[]).sort(compareIds);
    return max < 0 ? merged : merged.slice(0, max);
  }

  countProcs(clusterId: number, statuses: readonly JobStatusCode[]): number {
    let mask = 0;
    for (const s of statuses) {
      checkStatus(s);
      mask |= 1 << s;
    }
    return (this.stmt(sql.COUNT_PROCS_OF_CLUSTER).get(clusterId, mask) as { n: number }).n;
  }

  /**
   * One transaction, the changes in order (a later change sees the earlier
   * ones). A change applies only if the proc exists and its status is
   * `expectStatus` (fencing: a stale report changes nothing); it then sets
   * the status, the attributes in `set` in the proc's differences, and
   * appends its event. entered_status_at becomes `now` when the status
   * changes (an edit that keeps the status keeps the time, as HTCondor's
   * EnteredCurrentStatus). An unparsable `set` expression throws and nothing
   * changes. Returns the changes applied.
   */
  changeProcs(changes: readonly ProcChange[], now: number, durability: Durability = 'power-loss'): ProcChange[] {
    for (const ch of changes) checkStatus(ch.status);
    if (changes.length === 0) return [];
    return this.withDurability(durability, () => this.changeTx(changes, now));
  }

  /**
   * Runs one transaction with its commit fsynced or not. SQLite applies the
   * synchronous setting at commit time, per connection, so switching it
   * around a transaction makes that one commit skip the fsync; the WAL stays
   * consistent, and the next synced commit makes it durable too.
   */
  private withDurability<T>(durability: Durability, fn: () => T): T {
    if (durability === 'power-loss' || this.synchronous === 'NORMAL') return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private doChange(changes: readonly ProcChange[], now: number): ProcChange[] {
    const applied: ProcChange[] = [];
    const deltas = new Counts();
    for (const ch of changes) {
      const { clusterId, procId } = ch.id;
      const row = this.procForChange.get(clusterId, procId) as { status: number; diff: string; owner: string } | undefined;
      if (row === undefined || row.status !== ch.expectStatus) continue;
      let diff = row.diff;
      const names = Object.keys(ch.set);
      if (names.length > 0) {
        const ad = parseClassAd(row.diff);
        for (const name of names) ad.set(name, parseExpression(ch.set[name]!));
        diff = printClassAd(ad);
      }
      if (ch.status !== row.status) {
        this.updateProc.run(ch.status, now, diff, clusterId, procId);
        deltas.add(row.owner, row.status, -1);
        deltas.add(row.owner, ch.status, 1);
      } else if (diff !== row.diff) {
        this.updateDiff.run(diff, clusterId, procId);
      }
      this.insertEvent.run(clusterId, procId, now, ch.event.kind, ch.event.data);
      applied.push(ch);
    }
    deltas.apply((owner, status, n) => this.addCount(owner, status, n));
    return applied;
  }

  /** Adds n to status_counts (the caller's transaction). */
  private addCount(owner: string, status: number, n: number): void {
    if (this.addStatusCount.run({ owner, status, n }).changes === 0) this.insertStatusCount.run({ owner, status, n });
  }

  /** Counts kept by every write (status_counts): constant time at any queue size. */
  statusCounts(filter: { owner?: string } = {}): StatusCounts {
    const rows = (
      filter.owner === undefined ? this.stmt(sql.STATUS_COUNTS).all() : this.stmt(sql.STATUS_COUNTS_OF_OWNER).all(filter.owner)
    ) as { status: number; n: number }[];
    const n = (s: number): number => rows.find((r) => r.status === s)?.n ?? 0;
    return {
      idle: n(JobStatus.Idle),
      running: n(JobStatus.Running),
      held: n(JobStatus.Held),
      completed: n(JobStatus.Completed),
      removed: n(JobStatus.Removed),
      transferringOutput: n(JobStatus.TransferringOutput),
    };
  }

  /**
   * One transaction: each listed proc that is Completed or Removed leaves
   * `procs` for `history` with `wholeAds[i]` (the AP's whole ad of it),
   * completed at `now`; others (absent, already moved, not finished) are
   * skipped. A cluster whose last proc leaves and which has nothing left to
   * materialize is deleted (its id stays used). Returns how many moved.
   */
  /** One transaction; see the interface. `now` is unused: no proc existed to record an event for. */
  abandonUnmaterialized(clusterId: number, _now: number): number {
    return this.abandonTx(clusterId);
  }

  moveToHistory(ids: readonly JobId[], wholeAds: readonly string[], now: number, durability: Durability = 'power-loss'): number {
    if (ids.length !== wholeAds.length) throw invalid(`moveToHistory: ${ids.length} ids but ${wholeAds.length} ads`);
    if (ids.length === 0) return 0;
    return this.withDurability(durability, () => this.historyTx(ids, wholeAds, now));
  }

  finishProcs(finishes: readonly { readonly change: ProcChange; readonly wholeAd: string }[], now: number, durability: Durability = 'power-loss'): ProcChange[] {
    for (const f of finishes) {
      checkStatus(f.change.status);
      if (!FINISHED.has(f.change.status)) throw invalid(`finishProcs: status ${f.change.status} does not finish a job`);
    }
    if (finishes.length === 0) return [];
    return this.withDurability(durability, () => this.finishTx(finishes, now));
  }

  private doFinish(finishes: readonly { readonly change: ProcChange; readonly wholeAd: string }[], now: number): ProcChange[] {
    const applied: ProcChange[] = [];
    const deltas = new Counts();
    const touched = new Set<number>();
    for (const { change: ch, wholeAd } of finishes) {
      const { clusterId, procId } = ch.id;
      const row = this.procForChange.get(clusterId, procId) as { status: number; owner: string } | undefined;
      if (row === undefined || row.status !== ch.expectStatus) continue;
      this.insertEvent.run(clusterId, procId, now, ch.event.kind, ch.event.data);
      this.insertHistory.run(clusterId, procId, now, ch.status, row.owner, wholeAd);
      this.deleteProc.run(clusterId, procId);
      deltas.add(row.owner, row.status, -1);
      touched.add(clusterId);
      applied.push(ch);
    }
    deltas.apply((owner, status, n) => this.addCount(owner, status, n));
    for (const clusterId of touched) this.deleteClusterIfDone.run({ clusterId });
    return applied;
  }

  private doMoveToHistory(ids: readonly JobId[], wholeAds: readonly string[], now: number): number {
    const deltas = new Counts();
    const touched = new Set<number>();
    let moved = 0;
    ids.forEach(({ clusterId, procId }, i) => {
      const row = this.procForChange.get(clusterId, procId) as { status: number; owner: string } | undefined;
      if (row === undefined || !FINISHED.has(row.status)) return;
      this.insertHistory.run(clusterId, procId, now, row.status, row.owner, wholeAds[i]);
      this.deleteProc.run(clusterId, procId);
      deltas.add(row.owner, row.status, -1);
      touched.add(clusterId);
      moved++;
    });
    deltas.apply((owner, status, n) => this.addCount(owner, status, n));
    for (const clusterId of touched) this.deleteClusterIfDone.run({ clusterId });
    return moved;
  }

  history(filter: { owner?: string; clusterId?: number; procId?: number } = {}, limit?: number): { id: JobId; completedAt: number; status: JobStatusCode; owner: string; ad: string }[] {
    const byProc = filter.clusterId !== undefined && filter.procId !== undefined;
    const s = this.stmt(sql.historyQuery(filter.owner !== undefined, filter.clusterId !== undefined, byProc));
    const rows = s.all(pick({ owner: filter.owner, clusterId: filter.clusterId, procId: byProc ? filter.procId : undefined, limit: sqlLimit(limit) })) as {
      clusterId: number;
      procId: number;
      completedAt: number;
      status: JobStatusCode;
      owner: string;
      ad: string;
    }[];
    return rows.map((r) => ({ id: { clusterId: r.clusterId, procId: r.procId }, completedAt: r.completedAt, status: r.status, owner: r.owner, ad: r.ad }));
  }

  /** In seq order (the order they were written); `afterSeq` excludes it and older. */
  events(filter: { id?: JobId; afterSeq?: number }, limit?: number): JobEvent[] {
    const after = filter.afterSeq ?? 0;
    const max = sqlLimit(limit);
    if (filter.id !== undefined) return this.stmt(sql.EVENTS_OF_JOB).all(filter.id.clusterId, filter.id.procId, after, max) as JobEvent[];
    return this.stmt(sql.EVENTS_AFTER).all(after, max) as JobEvent[];
  }

  /** One transaction; ids increase from 1 and are never reused. */
  createJobset(name: string, owner: string, now: number): number {
    return this.jobsetTx(name, owner, now);
  }

  jobsets(filter: { owner?: string } = {}): { jobsetId: number; name: string; owner: string; submittedAt: number }[] {
    const s = filter.owner === undefined ? this.stmt(sql.JOBSETS) : this.stmt(sql.JOBSETS_OF_OWNER);
    return (filter.owner === undefined ? s.all() : s.all(filter.owner)) as { jobsetId: number; name: string; owner: string; submittedAt: number }[];
  }

  /** Closes the connection (SQLite checkpoints the WAL). The queue is unusable afterwards. */
  close(): void {
    this.db.close();
  }
}

/** Named parameters without the undefined ones (the statement of that filter's shape does not name them). */
function pick(params: Record<string, string | number | undefined>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

/** Per-(owner, status) count changes gathered over a transaction, written once each at its end. */
class Counts {
  private readonly deltas = new Map<string, { owner: string; status: number; n: number }>();

  add(owner: string, status: number, n: number): void {
    const key = `${status}\u0000${owner}`;
    const d = this.deltas.get(key);
    if (d === undefined) this.deltas.set(key, { owner, status, n });
    else d.n += n;
  }

  apply(add: (owner: string, status: number, n: number) => void): void {
    for (const d of this.deltas.values()) if (d.n !== 0) add(d.owner, d.status, d.n);
  }
}
