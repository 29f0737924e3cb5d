/**
 * Migrations against real database files: applied once each, in order,
 * transactionally; a newer or foreign database refused before any write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HtcError } from '../errors.ts';
import { cluster } from './job-queue.conformance.ts';
import { openJobQueue } from './index.ts';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations.ts';

function ledger(path: string): { version: number; name: string; applied_at: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[];
  } finally {
    db.close();
  }
}

function isIncompatible(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof HtcError && e.code === 'STORE_INCOMPATIBLE' && pattern.test(e.message);
}

describe('migrations', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'htc-store-mig-'));
    path = join(dir, 'queue.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are numbered 1, 2, 3, ... with distinct names', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
    assert.equal(new Set(MIGRATIONS.map((m) => m.name)).size, MIGRATIONS.length);
  });

  it('bring a new database to the newest version and record each once', () => {
    openJobQueue(path).close();
    const rows = ledger(path);
    assert.deepEqual(
      rows.map((r) => [r.version, r.name]),
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
  });

  it('are idempotent on reopen: nothing applied again, data kept', () => {
    const q = openJobQueue(path);
    q.submitCluster(cluster(2), 1);
    q.close();
    const before = ledger(path);
    for (let i = 0; i < 3; i++) {
      const again = openJobQueue(path);
      assert.equal(again.procs().length, 2);
      again.close();
    }
    assert.deepEqual(ledger(path), before);
  });

  it('apply only the missing ones to an older database, each in its own transaction', () => {
    openJobQueue(path).close();
    const db = new Database(path);
    try {
      const next: Migration[] = [
        ...MIGRATIONS,
        { version: MIGRATIONS.length + 1, name: 'add-notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)' },
        { version: MIGRATIONS.length + 2, name: 'broken', sql: 'CREATE TABLE half (id INTEGER); THIS IS NOT SQL' },
      ];
      assert.throws(() => migrate(db, next), /syntax error/);
      // The good one stays applied; the broken one left nothing behind.
      assert.equal(schemaVersion(db), MIGRATIONS.length + 1);
      assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'notes'").get());
      assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half'").get(), undefined);
      assert.deepEqual(migrate(db, next.slice(0, -1)), []);
    } finally {
      db.close();
    }
  });

  it('refuse a database whose schema is newer than the code, writing nothing', () => {
    openJobQueue(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(MIGRATIONS.length + 1, 'from-the-future', 0);
    db.close();
    const bytes = readFileSync(path);
    assert.throws(() => openJobQueue(path), isIncompatible(/newer than this htc knows/));
    assert.deepEqual(readFileSync(path), bytes);
  });

  it('refuse a database whose known version has another name', () => {
    openJobQueue(path).close();
    const db = new Database(path);
    db.prepare('UPDATE schema_migrations SET name = ? WHERE version = 1').run('someone-else');
    db.close();
    assert.throws(() => openJobQueue(path), isIncompatible(/"someone-else"/));
  });

  it('refuse an SQLite database that is not an htc queue, and a file that is not SQLite', () => {
    const db = new Database(path);
    db.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY)');
    db.close();
    assert.throws(() => openJobQueue(path), isIncompatible(/not an htc job queue.*photos/));
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text that is long enough '.repeat(20));
    assert.throws(() => openJobQueue(junk), isIncompatible(/not an SQLite database/));
  });
});
