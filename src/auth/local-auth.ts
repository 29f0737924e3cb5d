/**
 * File-system authentication of local clients (HTCondor's FS method), used on
 * the AP's Unix socket: the AP names a fresh path, the client creates a
 * directory there, and the AP takes the directory's owner as the client's
 * user. The kernel, not the client, says who created it.
 *
 * Where challenges live: `<apdir>/auth`, made by the AP with mode 1733 (like
 * /tmp, sticky, but not listable by others). Not /tmp itself (HTCondor's
 * default), because /tmp is often private to a service or a login
 * (systemd PrivateTmp, pam_namespace), so the AP and its client would not see
 * the same /tmp; and any local user who can reach the AP's socket can reach
 * its directory. The sticky bit stops users from renaming or deleting each
 * other's entries; the AP, owning the directory, can delete every entry.
 *
 * Invariants:
 * - Only a directory is accepted, never a regular file: a regular file owned
 *   by someone else can be hard-linked, or renamed in from any directory the
 *   attacker can write, without any permission on the file itself. A
 *   directory cannot be hard-linked, and moving it to another parent needs
 *   write permission on it, so the directory must also have no group or other
 *   permission bits (mode 0700 or narrower, which also bounds ACLs: their mask
 *   is the group bits).
 * - Symlinks and other types are refused (lstat, never stat).
 * - A challenge is used at most once: `verifyChallenge` consumes it before
 *   looking at the file, so a second call with the same challenge fails, and
 *   it fails after `timeoutMs` (default 60 s) whatever the file says.
 * - The entry is removed after every verification attempt, successful or not.
 * - The challenge directory must be a real directory owned by this process's
 *   user with the sticky bit set; anything else is refused.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { HtcError } from '../errors.ts';
import { ownUid } from './files.ts';
import { checkDomain, makeIdentity, type Identity } from './identity.ts';

/** The challenge directory's name inside the AP directory. */
export const CHALLENGE_DIR = 'auth';
const DEFAULT_TIMEOUT_MS = 60_000;
const FORGET_AFTER_MS = 10 * 60_000;
const NAME_PREFIX = 'htc-fs-';
const NAME = /^htc-fs-[0-9a-f]{32}$/;

export interface ChallengeOptions {
  /** The domain of identities this challenge proves. Default: the host name (lower case). */
  readonly domain?: string;
  /** How long the client has to answer. Default 60 s. */
  readonly timeoutMs?: number;
}

/** What the AP keeps; send `path` and `nonce` to the client. */
export interface Challenge {
  readonly path: string;
  readonly nonce: string;
  readonly domain: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

interface Pending {
  readonly path: string;
  readonly expiresAt: number;
}

/** Challenges issued and not yet verified, by nonce (insertion order = issue order). */
const pending = new Map<string, Pending>();

function refuse(reason: string): HtcError {
  return new HtcError('AUTH_FAILED', `local authentication failed: ${reason}`);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Make (if needed) and check the challenge directory of an AP directory: `<apDir>/auth`, mode 1733. */
export async function ensureChallengeDir(apDir: string): Promise<string> {
  const dir = join(resolve(apDir), CHALLENGE_DIR);
  try {
    await fsp.mkdir(dir, { mode: 0o700 });
    // mkdir's mode passes through the umask; set the real one explicitly.
    await fsp.chmod(dir, 0o1733);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  await checkChallengeDir(dir);
  await removeLeftovers(dir, Date.now() - FORGET_AFTER_MS);
  return dir;
}

/** Remove challenge entries last changed before `before` (answers that came too late, or never verified). */
async function removeLeftovers(dir: string, before: number): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    if (!NAME.test(name)) continue;
    const path = join(dir, name);
    try {
      if ((await fsp.lstat(path)).mtimeMs < before) await removeEntry(path);
    } catch (_error) {
      // Gone already.
    }
  }
}

async function checkChallengeDir(dir: string): Promise<void> {
  const stat = await fsp.lstat(dir);
  const uid = ownUid();
  if (!stat.isDirectory()) throw new HtcError('AUTH_MATERIAL_INVALID', `challenge directory ${dir} is not a directory`);
  if (uid !== undefined && stat.uid !== uid) {
    throw new HtcError('AUTH_MATERIAL_INVALID', `challenge directory ${dir} is owned by uid ${stat.uid}, not by the AP's user (uid ${uid})`);
  }
  if ((stat.mode & 0o1000) === 0) {
    throw new HtcError('AUTH_MATERIAL_INVALID', `challenge directory ${dir} lacks the sticky bit; run 'chmod 1733 ${dir}'`);
  }
}

/** Forget challenges expired long ago (kept a while so that a late answer hears "expired"). */
function sweepExpired(now: number): void {
  for (const [nonce, entry] of pending) {
    if (entry.expiresAt + FORGET_AFTER_MS > now) break;
    pending.delete(nonce);
  }
}

/** Name a fresh path in `dir` (a checked challenge directory) for a client to create. */
export async function createChallenge(dir: string, options: ChallengeOptions = {}): Promise<Challenge> {
  const absolute = resolve(dir);
  await checkChallengeDir(absolute);
  const now = Date.now();
  sweepExpired(now);
  const challenge: Challenge = {
    path: join(absolute, `${NAME_PREFIX}${randomBytes(16).toString('hex')}`),
    nonce: randomBytes(16).toString('base64url'),
    domain: checkDomain(options.domain ?? hostname()),
    expiresAt: now + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  };
  pending.set(challenge.nonce, { path: challenge.path, expiresAt: challenge.expiresAt });
  return challenge;
}

/** Remove whatever is at `path` (the AP owns the sticky directory, so it may); best effort. */
async function removeEntry(path: string): Promise<void> {
  try {
    const stat = await fsp.lstat(path);
    if (stat.isDirectory()) await fsp.rmdir(path);
    else await fsp.unlink(path);
  } catch (_error) {
    // Missing already, or a non-empty directory of another user: nothing more to do here.
  }
}

/** The AP's side: check the client's answer and return who the client is. */
export async function verifyChallenge(challenge: Challenge): Promise<Identity> {
  const entry = pending.get(challenge.nonce);
  // Consume first: whatever happens below, this challenge never verifies again.
  pending.delete(challenge.nonce);
  if (entry === undefined || entry.path !== challenge.path) throw refuse('unknown or already used challenge');
  try {
    if (Date.now() >= entry.expiresAt) throw refuse('the challenge expired before it was answered');
    let stat;
    try {
      stat = await fsp.lstat(entry.path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw refuse(`${entry.path} was not created`);
      throw error;
    }
    if (stat.isSymbolicLink()) throw refuse(`${entry.path} is a symbolic link`);
    if (!stat.isDirectory()) throw refuse(`${entry.path} is not a directory (create it with mkdir)`);
    if ((stat.mode & 0o077) !== 0) {
      throw refuse(`${entry.path} has group or other permissions (mode ${(stat.mode & 0o777).toString(8)}); create it with mode 0700`);
    }
    const user = await userNameForUid(stat.uid);
    if (user === undefined) throw refuse(`uid ${stat.uid} has no user name`);
    return makeIdentity(user, challenge.domain);
  } finally {
    await removeEntry(entry.path);
  }
}

/**
 * The client's side: create the directory the AP named. When `expectedDir` is
 * given (the client knows the AP directory's challenge directory), refuse a
 * path elsewhere, so an impostor AP cannot make the client create directories
 * at will.
 */
export async function answerChallenge(path: string, expectedDir?: string): Promise<void> {
  if (!NAME.test(basename(path))) throw refuse(`${JSON.stringify(path)} is not an htc challenge path`);
  if (expectedDir !== undefined && resolve(dirname(path)) !== resolve(expectedDir)) {
    throw refuse(`challenge path ${path} is not in ${expectedDir}`);
  }
  try {
    await fsp.mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw refuse(`${path} already exists`);
    throw error;
  }
}

/** Parse /etc/passwd text: uid → user name (the first entry wins, as getpwuid does). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const fields = line.split(':');
    const name = fields[0];
    const uidText = fields[2];
    if (name === undefined || name === '' || uidText === undefined || !/^\d+$/.test(uidText)) continue;
    const uid = Number(uidText);
    if (!users.has(uid)) users.set(uid, name);
  }
  return users;
}

function getentPasswd(uid: number): Promise<string | undefined> {
  return new Promise((done) => {
    execFile('getent', ['passwd', String(uid)], { timeout: 5000 }, (error, stdout) => {
      if (error !== null) {
        done(undefined);
        return;
      }
      done(parsePasswd(stdout).get(uid));
    });
  });
}

/**
 * The user name of a uid: the process's own through os.userInfo, others from
 * /etc/passwd, then from `getent passwd` (users from LDAP/SSSD, common on
 * clusters, are not in /etc/passwd). Undefined when there is none.
 */
export async function userNameForUid(uid: number, passwdPath = '/etc/passwd'): Promise<string | undefined> {
  if (uid === ownUid()) return userInfo().username;
  let text: string | undefined;
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch (_error) {
    text = undefined;
  }
  return (text === undefined ? undefined : parsePasswd(text).get(uid)) ?? getentPasswd(uid);
}
