/**
 * The queue database's schema, as numbered migrations, and the runner that
 * applies them when a queue is opened.
 *
 * Invariants:
 * - Migration N is applied exactly once, in its own IMMEDIATE transaction
 *   together with its row in `schema_migrations`: a crash leaves the schema
 *   at N-1 or N, never in between, and two processes opening the same file
 *   at once cannot both apply it (the second sees the row and skips).
 * - Released migrations are never edited or renumbered: a change to the
 *   schema is a new migration appended to MIGRATIONS.
 * - A database whose schema is newer than this code (a version it does not
 *   know, or a known version under another name) is refused with
 *   STORE_INCOMPATIBLE before anything is written, so an older htc never
 *   touches a queue a newer htc has migrated.
 *
 * The SQL is kept in this module (not in .sql files read at run time) so it
 * travels with the code however the AP is packaged.
 */
import type Database from 'better-sqlite3';
import { HtcError } from '../errors.ts';

export interface Migration {
  /** 1, 2, 3, ...: contiguous, never reused. */
  readonly version: number;
  /** A short name, recorded with the version (a mismatch means another schema). */
  readonly name: string;
  readonly sql: string;
}

/**
 * Times are seconds since the epoch (the interface's numbers, stored as
 * given). Statuses are HTCondor's JobStatus numbers.
 */
const INITIAL = `
-- Named groups of clusters. AUTOINCREMENT: an id is never handed out twice.
CREATE TABLE jobsets (
  jobset_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL,
  owner        TEXT    NOT NULL,
  submitted_at NUMERIC NOT NULL
);
CREATE INDEX jobsets_by_owner ON jobsets (owner);

-- One row per cluster while any of its procs is in the queue or still to be
-- materialized. AUTOINCREMENT keeps the highest id ever given in
-- sqlite_sequence, so ids increase from 1 and are never reused, even after
-- the newest cluster's row is deleted.
CREATE TABLE clusters (
  cluster_id         INTEGER PRIMARY KEY AUTOINCREMENT,
  owner              TEXT    NOT NULL,
  submitted_at       NUMERIC NOT NULL,
  cluster_ad         TEXT    NOT NULL,
  proc_count         INTEGER NOT NULL CHECK (proc_count >= 1),
  materialized_count INTEGER NOT NULL CHECK (materialized_count BETWEEN 0 AND proc_count),
  factory            TEXT,
  batch_name         TEXT,
  jobset_id          INTEGER REFERENCES jobsets (jobset_id)
);
CREATE INDEX clusters_by_owner ON clusters (owner);
CREATE INDEX clusters_by_jobset ON clusters (jobset_id) WHERE jobset_id IS NOT NULL;

-- Materialized procs still in the queue: small rows (the differences only),
-- clustered by job id. procs_by_status is (status, cluster_id, proc_id):
-- the procs of one status come out in job-id order without sorting.
CREATE TABLE procs (
  cluster_id        INTEGER NOT NULL REFERENCES clusters (cluster_id),
  proc_id           INTEGER NOT NULL CHECK (proc_id >= 0),
  status            INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),
  entered_status_at NUMERIC NOT NULL,
  diff              TEXT    NOT NULL,
  PRIMARY KEY (cluster_id, proc_id)
) WITHOUT ROWID;
CREATE INDEX procs_by_status ON procs (status);

-- Number of procs per owner and status, kept equal to
-- SELECT owner, status, count(*) FROM procs JOIN clusters ... GROUP BY owner, status
-- by every transaction that inserts, deletes or changes the status of procs.
CREATE TABLE status_counts (
  owner  TEXT    NOT NULL,
  status INTEGER NOT NULL,
  n      INTEGER NOT NULL CHECK (n >= 0),
  PRIMARY KEY (owner, status)
) WITHOUT ROWID;

-- Every job's events, in the order they happened; seq is never reused, so a
-- watcher can resume after the last seq it saw. Events outlive their procs
-- (user logs are written from them after the job leaves the queue).
CREATE TABLE job_events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  cluster_id INTEGER NOT NULL,
  proc_id    INTEGER NOT NULL,
  time       NUMERIC NOT NULL,
  kind       TEXT    NOT NULL,
  data       TEXT    NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (cluster_id, proc_id);

-- Finished jobs with their whole ad (rows are large: a rowid table).
CREATE TABLE history (
  cluster_id   INTEGER NOT NULL,
  proc_id      INTEGER NOT NULL,
  completed_at NUMERIC NOT NULL,
  status       INTEGER NOT NULL,
  owner        TEXT    NOT NULL,
  ad           TEXT    NOT NULL,
  PRIMARY KEY (cluster_id, proc_id)
);
CREATE INDEX history_by_time ON history (completed_at, cluster_id, proc_id);
CREATE INDEX history_by_owner ON history (owner, completed_at, cluster_id, proc_id);
`;

/** Every migration this code knows, oldest first. Append only. */
export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'initial', sql: INITIAL }];

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

function incompatible(file: string, message: string): HtcError {
  return new HtcError('STORE_INCOMPATIBLE', `job queue ${file}: ${message}`);
}

/**
 * Brings the database up to the newest migration in `migrations`; returns the
 * versions it applied (none when the schema is current). Throws
 * STORE_INCOMPATIBLE, having written nothing, when the database is not an
 * htc queue or its schema is newer than `migrations`.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new HtcError('INTERNAL', `migration ${m.name} is numbered ${m.version}, expected ${i + 1}`);
  });
  const file = db.name;
  const hasLedger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
  if (!hasLedger) {
    const other = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1").get() as { name: string } | undefined;
    if (other !== undefined) throw incompatible(file, `not an htc job queue (it has a table "${other.name}" but no schema_migrations)`);
  }

  const applied: number[] = [];
  const applyOne = db.transaction((m: Migration) => {
    db.exec(LEDGER);
    // Re-read inside the write lock: another process may have migrated meanwhile.
    checkKnown(db, file, migrations);
    if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version) !== undefined) return;
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Math.floor(Date.now() / 1000));
    applied.push(m.version);
  });

  const current = hasLedger ? checkKnown(db, file, migrations) : 0;
  for (const m of migrations) if (m.version > current) applyOne.immediate(m);
  return applied;
}

/** The schema's version; throws when the database holds a migration this code does not know. */
function checkKnown(db: Database.Database, file: string, migrations: readonly Migration[]): number {
  const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
  let current = 0;
  for (const row of rows) {
    const known = migrations[row.version - 1];
    if (known === undefined || known.version !== row.version) {
      throw incompatible(
        file,
        `its schema is version ${rows.at(-1)?.version}, newer than this htc knows (${migrations.length}); upgrade htc to use it`,
      );
    }
    if (known.name !== row.name) throw incompatible(file, `its schema version ${row.version} is "${row.name}", this htc's is "${known.name}"`);
    current = Math.max(current, row.version);
  }
  return current;
}

/** The schema version of an open database (0 before any migration). */
export function schemaVersion(db: Database.Database): number {
  const hasLedger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
  if (!hasLedger) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}
