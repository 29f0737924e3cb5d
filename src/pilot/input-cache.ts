/**
 * The pilot's cache of input files by content (SHA-256): jobs of one cluster
 * usually share their executable and some inputs, and fetching the same
 * bytes for every job costs more than running a short job. When the AP
 * knows an input's checksum (it learns it the first time it sends the
 * file), the claim says it, and a cached copy is used instead of a fetch.
 *
 * Invariants: a file enters the cache only after its transfer was verified
 * against the AP's checksum, and before the job could touch it; jobs get a
 * copy, never the cached file itself (a job that writes its input must not
 * change the next job's); the cache lives in the pilot's private execute
 * dir and goes with it; it holds at most MAX_ENTRIES files of at most
 * MAX_FILE_BYTES each, least recently used out first.
 */
import { constants } from 'node:fs';
import { copyFile, chmod, mkdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { InputFile } from '../protocol/pilot.ts';
import { HoldCode, SandboxError, type Sandbox } from './sandbox.ts';

const MAX_ENTRIES = 256;
const MAX_FILE_BYTES = 64 * 2 ** 20;

export class InputCache {
  /** sha256 → file in the cache, in least-recently-used order (Map keeps insertion order). */
  private readonly entries = new Map<string, string>();
  private ready: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  /** Puts a cached copy of `input` into the sandbox; the number of bytes, or undefined when not cached. */
  async place(input: InputFile, sandbox: Sandbox): Promise<number | undefined> {
    const cached = input.sha256 === null ? undefined : this.entries.get(input.sha256);
    if (cached === undefined) return undefined;
    // Opened as the sandbox opens inputs (no symlink anywhere on the way, never an existing file), then filled.
    const handle = await sandbox.openInputForWrite(input.name);
    await handle.close();
    const target = join(sandbox.dir, input.name);
    try {
      await copyFile(cached, target, constants.COPYFILE_FICLONE);
    } catch (error) {
      this.entries.delete(input.sha256!);
      await rm(target, { force: true });
      throw new SandboxError('IO', `input ${input.name}: copying it from the pilot's cache failed: ${(error as Error).message}`, HoldCode.TransferInputError);
    }
    if (input.executable) await chmod(target, 0o755);
    this.entries.delete(input.sha256!);
    this.entries.set(input.sha256!, cached);
    return input.size;
  }

  /** Keeps a verified input (just fetched into the sandbox, before the job ran) for later claims. */
  async keep(input: InputFile, sandbox: Sandbox): Promise<void> {
    if (input.sha256 === null || input.size > MAX_FILE_BYTES || this.entries.has(input.sha256)) return;
    await this.ensureDir();
    const file = join(this.dir, input.sha256);
    try {
      await copyFile(join(sandbox.dir, input.name), file, constants.COPYFILE_FICLONE);
      // The transfer was checked against what the AP sent; the claim's checksum is what the AP remembered.
      // They differ only if the file changed at the AP meanwhile: then it is not kept under the old name.
      if ((await sha256Of(file)) !== input.sha256) {
        await rm(file, { force: true });
        return;
      }
    } catch {
      await rm(file, { force: true });
      return; // a cache that cannot fill is only slower
    }
    this.entries.set(input.sha256, file);
    while (this.entries.size > MAX_ENTRIES) {
      const [oldest, path] = this.entries.entries().next().value as [string, string];
      this.entries.delete(oldest);
      await rm(path, { force: true });
    }
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
