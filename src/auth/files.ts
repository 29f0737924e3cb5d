/**
 * File helpers for authentication material kept in the AP directory: secret
 * files (signing key, TLS key) and small JSON state (the token registry).
 *
 * Invariants:
 * - A file written by `writeFileAtomic` is, after a crash at any moment,
 *   either its old content or its new content, never a mix: the data goes to
 *   a temporary file in the same directory, is fsynced, renamed over the
 *   target, and the directory is fsynced so that the rename is durable.
 * - `createFileOnce` never replaces an existing file: of two processes
 *   creating the same file at once, exactly one wins (link(2) is atomic and
 *   fails on an existing name) and both then read the winner's content.
 * - Secret files are created with mode 0600 from the first byte (the mode is
 *   given to open(2), not set afterwards), and `readSecretFile` refuses a
 *   secret that is a symlink, not a regular file, owned by another user, or
 *   readable or writable by group or others.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { HtcError } from '../errors.ts';

function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeSynced(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  // O_EXCL: a temporary name is never someone else's file (or a planted symlink).
  const handle = await fsp.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replace `path` with `data` atomically and durably (temp + fsync + rename + fsync dir). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await writeSynced(temp, data, mode);
    await fsp.rename(temp, path);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/**
 * Create `path` with `data` unless it exists. Returns true when this call
 * created it, false when the file was already there (its content is left alone).
 */
export async function createFileOnce(path: string, data: string | Uint8Array, mode = 0o600): Promise<boolean> {
  const temp = tempNameFor(path);
  try {
    await writeSynced(temp, data, mode);
    await fsp.link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fsp.rm(temp, { force: true });
  }
  await fsyncDirectory(dirname(path));
  return true;
}

/** Make `dir` (and parents) if missing, private to this user when this call creates it. */
export async function ensureDirectory(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** The process's uid, or undefined where there is none (Windows). */
export function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * Read a secret file, refusing one that others could have read or replaced.
 * Returns undefined when the file does not exist.
 */
export async function readSecretFile(path: string, what: string): Promise<string | undefined> {
  let stat;
  try {
    stat = await fsp.lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (stat.isSymbolicLink() || !stat.isFile()) {
    throw new HtcError('AUTH_MATERIAL_INVALID', `${what} ${path} is not a regular file (symlinks are refused)`);
  }
  const uid = ownUid();
  if (uid !== undefined && stat.uid !== uid) {
    throw new HtcError('AUTH_MATERIAL_INVALID', `${what} ${path} is owned by uid ${stat.uid}, not by this user (uid ${uid})`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new HtcError(
      'AUTH_MATERIAL_INVALID',
      `${what} ${path} is accessible to other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run 'chmod 600 ${path}' if its content is still secret, or remove it to make a new one`,
    );
  }
  // O_NOFOLLOW: the name checked above is the file read, not a symlink swapped in since.
  const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
