/**
 * A claim's sandbox: the private directory under the pilot's execute dir in
 * which one job's input files arrive, the job runs, and its outputs are
 * picked up, removed when the claim ends.
 *
 * Invariants:
 * - Every name that comes from the AP or the job is a relative path checked
 *   here before it is used; nothing the pilot writes or sends may leave the
 *   sandbox, through `..`, an absolute name, or a symbolic link the job (or a
 *   crafted input) placed anywhere on the way.
 * - Input files are created, never overwritten: parents are made one level at
 *   a time and refused when a level is a symbolic link, and the file itself is
 *   opened O_CREAT|O_EXCL|O_NOFOLLOW.
 * - Output files are resolved to their real path and sent only when that path
 *   is inside the sandbox; links that stay inside are allowed.
 * - Errors that end a claim are `ClaimError`s carrying the HTCondor hold code
 *   the job should be held with, so the connection loop can turn any of them
 *   into a `ClaimFailure` without knowing where it came from.
 *
 * The job runs as the pilot's own user, so a job that escapes could only
 * read what it can already read; the checks exist so that the AP never places
 * a file the job did not make (its user's /etc/passwd, another job's output).
 * A process that outlives the job (escaped its process group) could still swap
 * a directory for a link between the check and the open; the job's process
 * group is killed before outputs are collected, which makes that window small.
 */
import { constants, promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { checkSandboxName, type ClaimFailure } from '../protocol/pilot.ts';

/** HTCondor's HoldReasonCode values for what can go wrong on the execute side. */
export const HoldCode = {
  FailedToCreateProcess: 6,
  UnableToOpenOutput: 7,
  UnableToOpenInput: 8,
  TransferOutputError: 12,
  TransferInputError: 13,
  JobDurationExceeded: 46,
} as const;

/** The errno number of a Node error code ("ENOENT" → 2), HTCondor's hold subcode; 0 when unknown. */
export function errnoOf(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return 0;
  return (osConstants.errno as Record<string, number | undefined>)[code] ?? 0;
}

/** An error that ends a claim: its message becomes the job's HoldReason. */
export class ClaimError extends Error {
  readonly holdCode: number;
  readonly subcode: number;

  constructor(message: string, holdCode: number, subcode: number, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClaimError';
    this.holdCode = holdCode;
    this.subcode = subcode;
  }

  /** The `failed` report's failure. */
  failure(): ClaimFailure {
    return { reason: this.message, code: this.holdCode, subcode: this.subcode };
  }
}

export type SandboxErrorCode = 'UNSAFE_NAME' | 'OUTSIDE_SANDBOX' | 'NOT_FOUND' | 'EXISTS' | 'NOT_REGULAR' | 'IO';

export class SandboxError extends ClaimError {
  readonly code: SandboxErrorCode;

  constructor(code: SandboxErrorCode, message: string, holdCode: number, subcode = 0, options: { cause?: unknown } = {}) {
    super(message, holdCode, subcode, options);
    this.name = 'SandboxError';
    this.code = code;
  }
}

/** A file to send back: `name` is where the AP places it (sandbox-relative), `path` the real file here. */
export interface OutputFile {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

interface FileState {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

function checkedName(name: string, what: string, holdCode: number): string {
  try {
    return checkSandboxName(name, what);
  } catch (error) {
    throw new SandboxError('UNSAFE_NAME', (error as Error).message, holdCode, 0, { cause: error });
  }
}

/**
 * Open `name` inside the sandbox `root` (a real path) without following any
 * symbolic link: parent directories are checked one by one (and made, when
 * `flags` has O_CREAT), the file itself is opened with O_NOFOLLOW. `what`
 * names the file in errors ("input file", "the job's stdout").
 */
export async function openInSandbox(root: string, name: string, flags: number, what: string, holdCode: number, mode = 0o644): Promise<FileHandle> {
  const parts = checkedName(name, what, holdCode).split('/');
  const fileName = parts.pop()!;
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    if ((flags & constants.O_CREAT) !== 0) {
      await fsp.mkdir(dir, 0o755).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw ioError(what, name, error, holdCode);
      });
    }
    let stats;
    try {
      stats = await fsp.lstat(dir);
    } catch (error) {
      throw ioError(what, name, error, holdCode);
    }
    const shown = dir.slice(root.length + 1);
    if (stats.isSymbolicLink()) {
      throw new SandboxError('OUTSIDE_SANDBOX', `${what} ${JSON.stringify(name)} is inside ${JSON.stringify(shown)}, a symbolic link; refusing to follow it out of the job's sandbox`, holdCode, errnoOf({ code: 'ELOOP' }));
    }
    if (!stats.isDirectory()) {
      throw new SandboxError('NOT_REGULAR', `${what} ${JSON.stringify(name)} cannot be placed: ${JSON.stringify(shown)} is not a directory`, holdCode, errnoOf({ code: 'ENOTDIR' }));
    }
  }
  try {
    return await fsp.open(join(dir, fileName), flags | constants.O_NOFOLLOW, mode);
  } catch (error) {
    throw ioError(what, name, error, holdCode);
  }
}

function ioError(what: string, name: string, error: unknown, holdCode: number): SandboxError {
  const code = (error as NodeJS.ErrnoException).code;
  const subcode = errnoOf(error);
  const quoted = JSON.stringify(name);
  switch (code) {
    case 'EEXIST':
      return new SandboxError('EXISTS', `${what} ${quoted} already exists in the job's sandbox`, holdCode, subcode, { cause: error });
    case 'ELOOP':
      return new SandboxError('OUTSIDE_SANDBOX', `${what} ${quoted} is a symbolic link; refusing to follow it out of the job's sandbox`, holdCode, subcode, { cause: error });
    case 'ENOENT':
      return new SandboxError('NOT_FOUND', `${what} ${quoted} does not exist in the job's sandbox`, holdCode, subcode, { cause: error });
    case 'EISDIR':
      return new SandboxError('NOT_REGULAR', `${what} ${quoted} is a directory, not a file`, holdCode, subcode, { cause: error });
    default:
      return new SandboxError('IO', `${what} ${quoted}: ${(error as Error).message}`, holdCode, subcode, { cause: error });
  }
}

const OUTPUTS = 'transfer_output_files:';

function outputError(code: SandboxErrorCode, message: string, errnoCode: string, cause?: unknown): SandboxError {
  return new SandboxError(code, `${OUTPUTS} ${message}`, HoldCode.TransferOutputError, errnoOf({ code: errnoCode }), cause === undefined ? {} : { cause });
}

/**
 * A listed output name made plain: "./a//b" → "a/b". Absolute names and `..`
 * are refused rather than resolved: they name files the job's sandbox does
 * not hold.
 */
function plainOutputName(raw: string): string {
  const quoted = JSON.stringify(raw);
  if (raw.startsWith('/')) throw outputError('UNSAFE_NAME', `${quoted} is an absolute path; name a file inside the job's sandbox`, 'EINVAL');
  if (raw.includes('\0')) throw outputError('UNSAFE_NAME', `${quoted} contains a NUL character`, 'EINVAL');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw outputError('UNSAFE_NAME', `${quoted} contains "..", which leaves the job's sandbox`, 'EINVAL');
  if (parts.length === 0) throw outputError('UNSAFE_NAME', `${quoted} names no file`, 'EINVAL');
  return parts.join('/');
}

/**
 * The real path of a sandbox-relative name, resolving each symbolic link on
 * the way and refusing the first one that points out of the sandbox. `root`
 * is a real path, so the walk's current path stays real throughout.
 */
async function resolveInside(root: string, name: string): Promise<string> {
  const quoted = JSON.stringify(name);
  const parts = name.split('/');
  let current = root;
  for (let i = 0; i < parts.length; i++) {
    const next = join(current, parts[i]!);
    const shown = parts.slice(0, i + 1).join('/');
    let stats;
    try {
      stats = await fsp.lstat(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw outputError('NOT_FOUND', `${quoted} does not exist in the job's sandbox`, 'ENOENT', error);
      }
      throw outputError('IO', `${quoted}: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code ?? 'EIO', error);
    }
    if (!stats.isSymbolicLink()) {
      current = next;
      continue;
    }
    const target = await fsp.readlink(next);
    // A dangling link still has a destination to judge: where it would point.
    const real = await fsp.realpath(next).catch(() => resolve(dirname(next), target));
    if (!isInside(root, real)) {
      const where = shown === name ? `${quoted} is a symbolic link to ${target},` : `${quoted} is inside ${JSON.stringify(shown)}, a symbolic link to ${target},`;
      throw outputError('OUTSIDE_SANDBOX', `${where} outside the job's sandbox`, 'ELOOP');
    }
    current = real;
  }
  return current;
}

/**
 * The sandbox of one claim. Made by `create`, filled by `openInputForWrite`,
 * observed by `snapshot` before the job starts and `outputFiles` after it
 * ended, removed by `remove`.
 */
export class Sandbox {
  /** The sandbox's real path (symbolic links in the execute dir's path resolved). */
  readonly dir: string;
  readonly claimId: string;
  #before: Map<string, FileState> | null = null;

  private constructor(dir: string, claimId: string) {
    this.dir = dir;
    this.claimId = claimId;
  }

  /**
   * A fresh, private (0700) directory for `claimId` under `executeDir`. The
   * claim id is opaque text from the AP: only its safe characters appear in
   * the name, and a random suffix keeps two claims apart whatever they are.
   */
  static async create(executeDir: string, claimId: string): Promise<Sandbox> {
    await fsp.mkdir(executeDir, { recursive: true, mode: 0o700 });
    const safe = claimId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
    const made = await fsp.mkdtemp(join(executeDir, `claim_${safe}_`));
    // mkdtemp makes 0700 already; said again so that the invariant does not depend on it.
    await fsp.chmod(made, 0o700);
    return new Sandbox(await fsp.realpath(made), claimId);
  }

  /**
   * A new file for an input, opened for writing. The name is checked, its
   * parents made inside the sandbox, and an existing file (or a link) is
   * refused rather than overwritten. The caller closes the handle (a stream
   * from `handle.createWriteStream()` does that when it finishes).
   */
  openInputForWrite(name: string): Promise<FileHandle> {
    return openInSandbox(this.dir, name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 'input file', HoldCode.TransferInputError);
  }

  /** Record the top-level files present now (after inputs, before the job), for `outputFiles(null)`. */
  async snapshot(): Promise<void> {
    const before = new Map<string, FileState>();
    for (const [name, stats] of await this.#topLevelFiles()) before.set(name, { size: stats.size, mtimeNs: stats.mtimeNs, ino: stats.ino });
    this.#before = before;
  }

  async #topLevelFiles(): Promise<Map<string, BigIntStats>> {
    const files = new Map<string, BigIntStats>();
    for (const name of (await fsp.readdir(this.dir)).sort()) {
      const stats = await fsp.lstat(join(this.dir, name), { bigint: true }).catch(() => null);
      if (stats?.isFile() === true) files.set(name, stats);
    }
    return files;
  }

  /**
   * The files to send back after the job ended.
   *
   * - `outputs` null (HTCondor's default): every regular file at the top of
   *   the sandbox that is new or changed (size, modification time or inode)
   *   since `snapshot`. Directories and links are not sent, as in HTCondor.
   * - a list: each name, resolved inside the sandbox; a directory is sent
   *   with everything under it ("dir/" sends its contents without the
   *   directory itself, as HTCondor does). A name that is absolute, contains
   *   `..`, resolves outside the sandbox or does not exist is a SandboxError
   *   (the job is held with HoldReasonCode 12). Inside a listed directory, a
   *   link to a file in the sandbox is sent as that file, a link out of the
   *   sandbox is an error, and links to directories or to nothing are skipped
   *   (following them could loop).
   *
   * `exclude` names files sent on their own (the job's stdout and stderr).
   */
  async outputFiles(outputs: readonly string[] | null, options: { exclude?: readonly (string | null)[] } = {}): Promise<OutputFile[]> {
    const excluded = new Set(options.exclude?.filter((n): n is string => n !== null));
    const found = new Map<string, OutputFile>();
    const add = (file: OutputFile): void => {
      if (!excluded.has(file.name)) found.set(file.name, file);
    };
    if (outputs === null) {
      const before = this.#before;
      if (before === null) throw new Error('Sandbox.snapshot() must run before the job so that outputFiles(null) can tell new files from inputs');
      for (const [name, now] of await this.#topLevelFiles()) {
        const then = before.get(name);
        if (then === undefined || then.size !== now.size || then.mtimeNs !== now.mtimeNs || then.ino !== now.ino) {
          add({ name, path: join(this.dir, name), size: Number(now.size) });
        }
      }
      return [...found.values()];
    }
    for (const raw of outputs) {
      const name = plainOutputName(raw);
      const contentsOnly = raw.endsWith('/');
      const real = await resolveInside(this.dir, name);
      // A dangling link resolves to a path that is not there.
      const stats = await fsp.lstat(real).catch((error: unknown) => {
        throw outputError('NOT_FOUND', `${JSON.stringify(name)} does not exist in the job's sandbox`, 'ENOENT', error);
      });
      if (stats.isFile()) add({ name, path: real, size: stats.size });
      else if (stats.isDirectory()) await this.#addDirectory(real, contentsOnly ? '' : `${name}/`, name, add);
      else throw outputError('NOT_REGULAR', `${JSON.stringify(name)} is neither a regular file nor a directory`, 'EINVAL');
    }
    return [...found.values()];
  }

  async #addDirectory(dir: string, prefix: string, listed: string, add: (file: OutputFile) => void): Promise<void> {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const name = `${prefix}${entry.name}`;
      if (entry.isFile()) {
        add({ name, path, size: (await fsp.lstat(path)).size });
      } else if (entry.isDirectory()) {
        await this.#addDirectory(path, `${name}/`, listed, add);
      } else if (entry.isSymbolicLink()) {
        const target = await fsp.readlink(path);
        const real = await fsp.realpath(path).catch(() => null);
        if (real === null) continue;
        if (!isInside(this.dir, real)) {
          throw outputError('OUTSIDE_SANDBOX', `${JSON.stringify(name)} (in ${JSON.stringify(listed)}) is a symbolic link to ${target}, outside the job's sandbox`, 'ELOOP');
        }
        const stats = await fsp.stat(real);
        if (stats.isFile()) add({ name, path: real, size: stats.size });
      }
    }
  }

  /**
   * Remove the sandbox and everything in it; idempotent. fs.rm does not follow
   * links, so a link to a directory outside is removed, not its target. A job
   * that took away its own write permission on a directory is given it back
   * first (as the owner, the pilot may).
   */
  async remove(): Promise<void> {
    try {
      await fsp.rm(this.dir, { recursive: true, force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw error;
      await makeDirectoriesWritable(this.dir);
      await fsp.rm(this.dir, { recursive: true, force: true });
    }
  }
}

async function makeDirectoriesWritable(dir: string): Promise<void> {
  const stats = await fsp.lstat(dir).catch(() => null);
  if (stats === null || !stats.isDirectory()) return;
  await fsp.chmod(dir, 0o700);
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeDirectoriesWritable(join(dir, entry.name));
  }
}
