/**
 * File-system authentication with real files: the challenge directory's
 * mode, a directory made by this process authenticating as the current user,
 * and every refusal (missing, regular file, symlink, loose mode, reuse,
 * staleness, forged challenge). As root, a directory handed to another uid
 * authenticates as that user via /etc/passwd.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HtcError, type ErrorCode } from '../errors.ts';
import { answerChallenge, createChallenge, ensureChallengeDir, parsePasswd, userNameForUid, verifyChallenge } from './local-auth.ts';

const dirs: string[] = [];
function apDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htc-fsauth-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HtcError, `expected HtcError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('challenge directory', () => {
  it('is <apdir>/auth, owned by this user, mode 1733', async () => {
    const ap = apDir();
    const dir = await ensureChallengeDir(ap);
    assert.equal(dir, join(ap, 'auth'));
    const stat = statSync(dir);
    assert.equal(stat.mode & 0o7777, 0o1733);
    assert.equal(stat.uid, process.getuid?.());
    assert.equal(await ensureChallengeDir(ap), dir, 'a second call accepts the existing directory');
  });

  it('a challenge directory without the sticky bit is refused', async () => {
    const dir = join(apDir(), 'auth');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    await rejectsWith(createChallenge(dir), 'AUTH_MATERIAL_INVALID', /sticky/);
  });
});

describe('local authentication', () => {
  it('a directory created by this process authenticates as the current user', async () => {
    const dir = await ensureChallengeDir(apDir());
    const challenge = await createChallenge(dir, { domain: 'AP.Example.org' });
    assert.match(challenge.path, /\/auth\/htc-fs-[0-9a-f]{32}$/);
    assert.ok(challenge.nonce.length >= 20);
    await answerChallenge(challenge.path, dir);
    const identity = await verifyChallenge(challenge);
    assert.deepEqual(identity, { user: userInfo().username, domain: 'ap.example.org' });
    assert.ok(!existsSync(challenge.path), 'the AP removes the directory');
  });

  it('the domain defaults to the host name', async () => {
    const dir = await ensureChallengeDir(apDir());
    const challenge = await createChallenge(dir);
    await answerChallenge(challenge.path);
    assert.equal((await verifyChallenge(challenge)).domain, hostname().toLowerCase());
  });

  it('a missing answer is refused', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()));
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /was not created/);
  });

  it('a regular file is refused (only directories prove ownership)', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()));
    writeFileSync(challenge.path, '', { mode: 0o600 });
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /not a directory/);
    assert.ok(!existsSync(challenge.path), 'refused entries are removed too');
  });

  it('a symlink is refused, even to a directory of the right owner', async () => {
    const ap = apDir();
    const challenge = await createChallenge(await ensureChallengeDir(ap));
    const target = join(ap, 'mine');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, challenge.path);
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /symbolic link/);
    assert.ok(existsSync(target), 'the symlink target is left alone');
  });

  it('a directory others could write (and so rename) is refused', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()));
    mkdirSync(challenge.path);
    chmodSync(challenge.path, 0o770);
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /group or other permissions/);
  });

  it('a challenge is used once', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()));
    await answerChallenge(challenge.path);
    await verifyChallenge(challenge);
    await answerChallenge(challenge.path);
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /already used/);
  });

  it('a failed attempt also consumes the challenge', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()));
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /not created/);
    await answerChallenge(challenge.path);
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /already used/);
  });

  it('a stale challenge is refused', async () => {
    const challenge = await createChallenge(await ensureChallengeDir(apDir()), { timeoutMs: 5 });
    await sleep(20);
    await answerChallenge(challenge.path);
    await rejectsWith(verifyChallenge(challenge), 'AUTH_FAILED', /expired/);
    assert.ok(!existsSync(challenge.path));
  });

  it('a forged challenge (path not the one issued, or unknown nonce) is refused', async () => {
    const dir = await ensureChallengeDir(apDir());
    const real = await createChallenge(dir);
    const other = await createChallenge(dir);
    await answerChallenge(other.path);
    await rejectsWith(verifyChallenge({ ...real, path: other.path }), 'AUTH_FAILED', /unknown or already used/);
    await rejectsWith(verifyChallenge({ ...other, nonce: 'made-up' }), 'AUTH_FAILED', /unknown/);
  });

  it('the client creates only challenge paths, and only where expected', async () => {
    const dir = await ensureChallengeDir(apDir());
    await rejectsWith(answerChallenge(join(dir, 'not-a-challenge')), 'AUTH_FAILED', /not an htc challenge path/);
    const challenge = await createChallenge(dir);
    await rejectsWith(answerChallenge(challenge.path, '/elsewhere'), 'AUTH_FAILED', /not in \/elsewhere/);
    await answerChallenge(challenge.path, dir);
    await rejectsWith(answerChallenge(challenge.path, dir), 'AUTH_FAILED', /already exists/);
    assert.equal(statSync(challenge.path).mode & 0o777, 0o700);
  });

  it('as root: a directory owned by another uid authenticates as that user', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async () => {
    const users = parsePasswd(await import('node:fs').then((fs) => fs.readFileSync('/etc/passwd', 'utf8')));
    const [uid, name] = [...users].find(([u]) => u !== 0) ?? [];
    if (uid === undefined || name === undefined) return;
    const dir = await ensureChallengeDir(apDir());
    const challenge = await createChallenge(dir, { domain: 'ap' });
    await answerChallenge(challenge.path);
    chownSync(challenge.path, uid, 0);
    assert.deepEqual(await verifyChallenge(challenge), { user: name, domain: 'ap' });
  });
});

describe('uid to user name', () => {
  it('parses /etc/passwd, first entry wins, skipping comments and NIS lines', () => {
    const text = '# comment\nroot:x:0:0:root:/root:/bin/bash\n+nis::::::\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbroken\n';
    assert.deepEqual([...parsePasswd(text)], [
      [0, 'root'],
      [1000, 'alice'],
    ]);
  });

  it('knows this process and unknown uids', async () => {
    assert.equal(await userNameForUid(process.getuid?.() ?? -1), userInfo().username);
    assert.equal(await userNameForUid(2_000_000_123), undefined);
  });
});
