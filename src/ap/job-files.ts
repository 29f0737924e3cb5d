/**
 * Files the access point touches on a job's behalf: the user log it appends
 * events to and the output files `htc job out|err` reads. The AP runs as its
 * own user, not the job's, so a path a job names must not let its owner make
 * the AP write or read someone else's file:
 *
 * - a job of the AP's own user: its files are that user's, used as named;
 * - a job of another user: only an existing regular file owned by that user
 *   is appended to or read, opened without following a final symlink and
 *   checked after opening (fstat), so a link swapped in between is caught.
 *
 * Uids come from /etc/passwd (and `getent` for directory services).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parsePasswd } from '../auth/index.ts';
import { HtcError } from '../errors.ts';

export const ownUid = process.getuid?.() ?? -1;
const ownName = userInfo().username;
const uidCache = new Map<string, number | undefined>();

/** The uid of a local user name, or undefined if there is none. */
export function uidOf(user: string): number | undefined {
  if (user === ownName) return ownUid;
  if (uidCache.has(user)) return uidCache.get(user);
  let uid: number | undefined;
  try {
    // auth's parser (uid -> first name, as getpwuid reads it), looked at the other way.
    for (const [id, name] of parsePasswd(readFileSync('/etc/passwd', 'utf8'))) {
      if (name === user) {
        uid = id;
        break;
      }
    }
  } catch {
    // no /etc/passwd: try getent below
  }
  if (uid === undefined && /^[A-Za-z0-9._-]+$/.test(user)) {
    try {
      const entry = execFileSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 2000 }).split(':');
      if (entry[2] !== undefined) uid = Number(entry[2]);
    } catch {
      // unknown user
    }
  }
  uidCache.set(user, uid);
  return uid;
}

/** Opens `path` for the job owner `owner` with `flags`, applying the rule above; throws HtcError with the reason. */
export function openForOwner(path: string, owner: string, flags: number, what: string): number {
  const uid = uidOf(owner);
  if (uid === undefined) throw new HtcError('FORBIDDEN', `${what} ${path}: the job's owner ${owner} is not a user on this machine`);
  const sameUser = uid === ownUid;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named as a log or output must not block the AP (it is refused below).
    fd = openSync(path, flags | constants.O_NONBLOCK | (sameUser ? 0 : constants.O_NOFOLLOW));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HtcError('NOT_FOUND', `${what} ${path} does not exist`);
    if (code === 'ENXIO') throw new HtcError('FORBIDDEN', `${what} ${path} is a FIFO, not a regular file`);
    if (code === 'ELOOP') throw new HtcError('FORBIDDEN', `${what} ${path} is a symbolic link; the access point does not follow it for another user's job`);
    throw new HtcError('FORBIDDEN', `${what} ${path}: ${(error as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || (!sameUser && stat.uid !== uid)) {
    closeSync(fd);
    throw new HtcError('FORBIDDEN', `${what} ${path} is not a regular file${sameUser ? '' : ` owned by ${owner}`}`);
  }
  return fd;
}

/** Appends `text` to a job's user log; for another user's job only to a file that user owns and that exists. */
export function appendUserLog(path: string, owner: string, text: string): void {
  const create = uidOf(owner) === ownUid ? constants.O_CREAT : 0;
  const fd = openForOwner(path, owner, constants.O_WRONLY | constants.O_APPEND | create, 'user log');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The last `maxBytes` of a job's output file, under the same rule. */
export function readJobFile(path: string, owner: string, maxBytes: number, what: string): string {
  const fd = openForOwner(path, owner, constants.O_RDONLY, what);
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    return (start > 0 ? `[... ${start} earlier bytes not shown ...]\n` : '') + buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
