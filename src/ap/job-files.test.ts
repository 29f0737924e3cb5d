/**
 * The AP touches a job's files as its own user: for another user's job only
 * that user's regular files, never through a symlink. Cases with another
 * uid need root (CI runs as root); they are skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { appendUserLog, readJobFile, uidOf } from './job-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'htc-job-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const me = userInfo().username;
const other = uidOf('nobody') !== undefined ? 'nobody' : undefined;
const asRoot = process.getuid?.() === 0 && other !== undefined;

const forbidden = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof HtcError && e.code === 'FORBIDDEN' && message.test(e.message));
};

describe('job files', () => {
  it("the AP's own user's jobs: files are created and read as named", () => {
    const log = join(dir, 'mine.log');
    appendUserLog(log, me, 'one\n');
    appendUserLog(log, me, 'two\n');
    assert.equal(readFileSync(log, 'utf8'), 'one\ntwo\n');
    assert.equal(readJobFile(log, me, 1024, 'output'), 'one\ntwo\n');
    assert.equal(readJobFile(log, me, 4, 'output'), '[... 4 earlier bytes not shown ...]\ntwo\n');
  });

  it('a FIFO is refused at once, never waited on', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    forbidden(() => appendUserLog(fifo, me, 'x'), /FIFO|not a regular file/);
    forbidden(() => readJobFile(fifo, me, 10, 'output'), /not a regular file/);
  });

  it('an unknown owner is refused', () => {
    forbidden(() => appendUserLog(join(dir, 'x.log'), 'no-such-user-htc', 'x'), /not a user on this machine/);
  });

  it("another user's job: only that user's existing regular file, never a symlink", { skip: !asRoot && 'needs root and a "nobody" user' }, () => {
    const theirs = join(dir, 'theirs.log');
    writeFileSync(theirs, '');
    chownSync(theirs, uidOf(other!)!, -1);
    appendUserLog(theirs, other!, 'event\n');
    assert.equal(readFileSync(theirs, 'utf8'), 'event\n');

    const secret = join(dir, 'ap-secret');
    writeFileSync(secret, 'token key');
    forbidden(() => appendUserLog(secret, other!, 'x'), /not a regular file owned by nobody/);
    forbidden(() => readJobFile(secret, other!, 1024, 'output'), /not a regular file owned by nobody/);

    const link = join(dir, 'link.log');
    symlinkSync(secret, link);
    forbidden(() => appendUserLog(link, other!, 'x'), /symbolic link/);
    forbidden(() => readJobFile(link, other!, 1024, 'output'), /symbolic link/);
    assert.throws(() => appendUserLog(join(dir, 'new.log'), other!, 'x'), (e: unknown) => e instanceof HtcError && e.code === 'NOT_FOUND');
    assert.equal(readFileSync(secret, 'utf8'), 'token key');
  });
});
