/**
 * The SQL of the queue's operations, apart from the TypeScript that runs it
 * (sqlite-job-queue.ts prepares each text once per connection). Columns are
 * aliased to the interface's field names so rows need no mapping.
 *
 * Status filters are a bit mask (`(1 << status) & mask`): one statement
 * serves every set of statuses, and being an expression it keeps the planner
 * from choosing procs_by_status where walking one cluster or one owner's
 * clusters is the better plan.
 */

export const CLUSTER_COLUMNS = `c.cluster_id AS clusterId, c.owner, c.submitted_at AS submittedAt, c.cluster_ad AS clusterAd,
  c.proc_count AS procCount, c.materialized_count AS materializedCount, c.factory, c.batch_name AS batchName, c.jobset_id AS jobsetId`;

export const PROC_COLUMNS = 'p.cluster_id AS clusterId, p.proc_id AS procId, p.status, p.entered_status_at AS enteredStatusAt, p.diff';

// ---- writes -----------------------------------------------------------------

export const INSERT_CLUSTER = `INSERT INTO clusters (owner, submitted_at, cluster_ad, proc_count, materialized_count, factory, batch_name, jobset_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Idle procs `from..from+n-1` of a cluster from a JSON array of their
 * differences, in one statement (one call into SQLite for the whole batch).
 */
export const INSERT_PROCS_FROM_JSON = `INSERT INTO procs (cluster_id, proc_id, status, entered_status_at, diff)
  SELECT @clusterId, @from + key, 1, @now, value FROM json_each(@diffs)`;

/** A 'submit' event for each proc `from..to-1`, in proc order. */
export const INSERT_SUBMIT_EVENTS = `WITH RECURSIVE ids(p) AS (SELECT @from UNION ALL SELECT p + 1 FROM ids WHERE p + 1 < @to)
  INSERT INTO job_events (cluster_id, proc_id, time, kind, data) SELECT @clusterId, p, @now, 'submit', '{}' FROM ids`;

export const SET_MATERIALIZED = 'UPDATE clusters SET materialized_count = ? WHERE cluster_id = ?';

/**
 * Adds n (negative to take away) to an owner's count of a status; when no
 * row changed, INSERT_STATUS_COUNT makes it. (Not an upsert: SQLite checks
 * n >= 0 on the row to insert before it sees the conflict.)
 */
export const ADD_STATUS_COUNT = 'UPDATE status_counts SET n = n + @n WHERE owner = @owner AND status = @status';
export const INSERT_STATUS_COUNT = 'INSERT INTO status_counts (owner, status, n) VALUES (@owner, @status, @n)';

export const PROC_FOR_CHANGE = `SELECT p.status, p.diff, c.owner FROM procs p JOIN clusters c ON c.cluster_id = p.cluster_id
  WHERE p.cluster_id = ? AND p.proc_id = ?`;

export const UPDATE_PROC = 'UPDATE procs SET status = ?, entered_status_at = ?, diff = ? WHERE cluster_id = ? AND proc_id = ?';

export const UPDATE_DIFF = 'UPDATE procs SET diff = ? WHERE cluster_id = ? AND proc_id = ?';

export const INSERT_EVENT = 'INSERT INTO job_events (cluster_id, proc_id, time, kind, data) VALUES (?, ?, ?, ?, ?)';

export const INSERT_HISTORY = 'INSERT INTO history (cluster_id, proc_id, completed_at, status, owner, ad) VALUES (?, ?, ?, ?, ?, ?)';

export const DELETE_PROC = 'DELETE FROM procs WHERE cluster_id = ? AND proc_id = ?';

/** Deletes the cluster when all its procs exist or existed and none is left in the queue. */
export const DELETE_CLUSTER_IF_DONE = `DELETE FROM clusters WHERE cluster_id = @clusterId AND materialized_count = proc_count
  AND NOT EXISTS (SELECT 1 FROM procs WHERE cluster_id = @clusterId)`;

export const INSERT_JOBSET = 'INSERT INTO jobsets (name, owner, submitted_at) VALUES (?, ?, ?)';

/** A factory cluster keeps only its made procs. */
export const TRUNCATE_FACTORY = 'UPDATE clusters SET proc_count = materialized_count, factory = NULL WHERE cluster_id = ?';

export const DELETE_CLUSTER = 'DELETE FROM clusters WHERE cluster_id = ?';

// ---- reads ------------------------------------------------------------------

export const JOBSET_EXISTS = 'SELECT 1 FROM jobsets WHERE jobset_id = ?';

/** AUTOINCREMENT's rule: max(highest id ever given, highest id present) + 1. */
export const NEXT_CLUSTER_ID = `SELECT max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'clusters'), 0),
    coalesce((SELECT max(cluster_id) FROM clusters), 0)) + 1 AS next`;

export const CLUSTER = `SELECT ${CLUSTER_COLUMNS} FROM clusters c WHERE c.cluster_id = ?`;

export const PROC = `SELECT ${PROC_COLUMNS} FROM procs p WHERE p.cluster_id = ? AND p.proc_id = ?`;

export function clustersQuery(byOwner: boolean, byJobset: boolean): string {
  const where = [byOwner ? 'c.owner = @owner' : '', byJobset ? 'c.jobset_id = @jobsetId' : ''].filter((w) => w !== '');
  return `SELECT ${CLUSTER_COLUMNS} FROM clusters c ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.cluster_id`;
}

/** Procs of one cluster (with optional owner/jobset checks), walking its primary key in order. */
export function procsOfClusterQuery(byOwner: boolean, byJobset: boolean): string {
  const where = ['p.cluster_id = @clusterId', '((1 << p.status) & @mask) <> 0'];
  if (byOwner) where.push('c.owner = @owner');
  if (byJobset) where.push('c.jobset_id = @jobsetId');
  return `SELECT ${PROC_COLUMNS} FROM procs p JOIN clusters c ON c.cluster_id = p.cluster_id
    WHERE ${where.join(' AND ')} ORDER BY p.proc_id LIMIT @limit`;
}

/**
 * Procs of an owner's or a jobset's clusters: the clusters in id order (by
 * their index), each cluster's procs by primary key, so the result needs no
 * sort and stops at the limit. CROSS JOIN fixes that loop order.
 */
export function procsOfClustersQuery(byOwner: boolean, byJobset: boolean): string {
  const where = ['((1 << p.status) & @mask) <> 0'];
  if (byOwner) where.push('c.owner = @owner');
  if (byJobset) where.push('c.jobset_id = @jobsetId');
  return `SELECT ${PROC_COLUMNS} FROM clusters c CROSS JOIN procs p ON p.cluster_id = c.cluster_id
    WHERE ${where.join(' AND ')} ORDER BY c.cluster_id, p.proc_id LIMIT @limit`;
}

/** How many procs of one cluster have one of the statuses in @mask (counted on the primary key, no rows made). */
export const COUNT_PROCS_OF_CLUSTER = 'SELECT count(*) AS n FROM procs WHERE cluster_id = ? AND ((1 << status) & ?) <> 0';

/** Procs of one status in job-id order, straight from procs_by_status. */
export const PROCS_OF_STATUS = `SELECT ${PROC_COLUMNS} FROM procs p INDEXED BY procs_by_status
  WHERE p.status = ? ORDER BY p.cluster_id, p.proc_id LIMIT ?`;

/** Every proc in job-id order (the primary key). */
export const ALL_PROCS = `SELECT ${PROC_COLUMNS} FROM procs p ORDER BY p.cluster_id, p.proc_id LIMIT ?`;

export const STATUS_COUNTS = 'SELECT status, sum(n) AS n FROM status_counts GROUP BY status';
export const STATUS_COUNTS_OF_OWNER = 'SELECT status, n FROM status_counts WHERE owner = ?';

export function historyQuery(byOwner: boolean, byCluster: boolean, byProc = false): string {
  const where = [byOwner ? 'owner = @owner' : '', byCluster ? 'cluster_id = @clusterId' : '', byProc ? 'proc_id = @procId' : ''].filter((w) => w !== '');
  return `SELECT cluster_id AS clusterId, proc_id AS procId, completed_at AS completedAt, status, owner, ad FROM history
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY completed_at DESC, cluster_id DESC, proc_id DESC LIMIT @limit`;
}

const EVENT_COLUMNS = 'seq, cluster_id AS clusterId, proc_id AS procId, time, kind, data';

export const EVENTS_OF_JOB = `SELECT ${EVENT_COLUMNS} FROM job_events
  WHERE cluster_id = ? AND proc_id = ? AND seq > ? ORDER BY seq LIMIT ?`;

export const EVENTS_AFTER = `SELECT ${EVENT_COLUMNS} FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?`;

export const JOBSETS = 'SELECT jobset_id AS jobsetId, name, owner, submitted_at AS submittedAt FROM jobsets ORDER BY jobset_id';
export const JOBSETS_OF_OWNER = `SELECT jobset_id AS jobsetId, name, owner, submitted_at AS submittedAt FROM jobsets
  WHERE owner = ? ORDER BY jobset_id`;
