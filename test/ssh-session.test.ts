/**
 * The shared SSH connection against the test cluster's sshd (127.0.0.1:2222,
 * user hpcuser): one login, then commands and copies over it with their
 * arguments intact, exit statuses passed through, and a clear error once
 * the connection is gone. Skips (saying why) when the test cluster is not
 * up; `npm test` brings it up.
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SshSession } from '../src/annex/ssh-session.ts';
import { HtcError } from '../src/errors.ts';

const BIN = fileURLToPath(new URL('../bin/htc.js', import.meta.url));
const e = process.env;
const missing = [e.HTC_TEST_SSH_HOST, e.HTC_TEST_SSH_PORT, e.HTC_TEST_SSH_USER, e.HTC_TEST_SSH_KEY, e.HTC_TEST_SSH_KNOWN_HOSTS].some((v) => v === undefined || v === '');
const skip = missing ? 'the test cluster is not up: run scripts/test-env.sh up and export scripts/test-env.sh env (npm test does both)' : false;

let work = '';
let session: SshSession;

before(async () => {
  if (missing) return;
  work = mkdtempSync(join(tmpdir(), 'htc-ssh-'));
  session = new SshSession(
    { host: e.HTC_TEST_SSH_HOST!, port: Number(e.HTC_TEST_SSH_PORT), loginName: e.HTC_TEST_SSH_USER!, identityFile: e.HTC_TEST_SSH_KEY!, knownHostsFile: e.HTC_TEST_SSH_KNOWN_HOSTS! },
    join(work, 'ssh'),
  );
  await session.open({ interactive: false, persistSeconds: 120 });
});

after(() => {
  if (missing) return;
  session.close();
  rmSync(work, { recursive: true, force: true });
});

describe('an SSH session to the test cluster', { skip }, () => {
  it('logs in once and runs commands over that connection, arguments intact', () => {
    assert.ok(session.isOpen());
    assert.equal(session.run(['id', '-un']).stdout.trim(), e.HTC_TEST_SSH_USER);
    const args = ['two words', "it's", '$(id)', '`id`', 'a;b', '', '*', 'line\nbreak'];
    const r = session.run(['printf', '%s\\0', ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), args);
  });

  it('passes the remote exit status and standard input through', () => {
    assert.equal(session.run(['sh', '-c', 'exit 3']).status, 3);
    assert.equal(session.run(['cat'], { input: 'through stdin\n' }).stdout, 'through stdin\n');
  });

  it('copies a file over the same connection', () => {
    const local = join(work, 'payload.txt');
    writeFileSync(local, 'pilot bytes\n');
    const remote = `htc-ssh-test-${process.pid}.txt`;
    session.copyTo(local, remote);
    assert.equal(session.run(['cat', remote]).stdout, 'pilot bytes\n');
    assert.equal(session.run(['rm', '-f', remote]).status, 0);
  });

  it('streams a file to a remote command, counting the bytes, and says so when the local file cannot be read', async () => {
    const local = join(work, 'stream.bin');
    writeFileSync(local, Buffer.alloc(3 * 2 ** 20, 7));
    const counts: number[] = [];
    const r = await session.send(['sh', '-c', 'wc -c'], createReadStream(local), (sent) => counts.push(sent));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(3 * 2 ** 20));
    assert.equal(counts.at(-1), 3 * 2 ** 20);
    await assert.rejects(session.send(['cat'], createReadStream(join(work, 'missing.bin'))), (error: unknown) => error instanceof HtcError && error.code === 'SSH_FAILED' && /reading the local file/.test(error.message));
  });

  it('htc annex login opens the connection later annex commands reuse', () => {
    const dir = join(work, 'ap');
    const r = spawnSync(process.execPath, [BIN, 'annex', 'login', 'test-cluster', '--identity-file', e.HTC_TEST_SSH_KEY!, '--known-hosts', e.HTC_TEST_SSH_KNOWN_HOSTS!, '--dir', dir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, r.stderr);
    const login = JSON.parse(r.stdout) as { login: string; controlPath: string };
    assert.equal(login.login, `${e.HTC_TEST_SSH_USER!}@127.0.0.1:2222`);
    const reuse = new SshSession({ host: '127.0.0.1', port: 2222, loginName: e.HTC_TEST_SSH_USER!, knownHostsFile: e.HTC_TEST_SSH_KNOWN_HOSTS! }, join(dir, 'ssh'));
    assert.equal(reuse.controlPath, login.controlPath);
    assert.ok(reuse.isOpen(), 'the connection is up for later commands');
    assert.equal(reuse.run(['id', '-un']).stdout.trim(), e.HTC_TEST_SSH_USER, 'a later command needs no key: it rides the login');
    reuse.close();
  });

  it('says the connection is gone instead of prompting or hanging once it closed', async () => {
    const other = new SshSession(session.target, join(work, 'ssh-2'));
    await other.open({ interactive: false, persistSeconds: 60 });
    assert.equal(other.run(['true']).status, 0);
    other.close();
    assert.throws(() => other.run(['true']), (error: unknown) => error instanceof HtcError && error.code === 'SSH_DISCONNECTED' && /log in again with "htc annex login"/.test(error.message));
  });
});
