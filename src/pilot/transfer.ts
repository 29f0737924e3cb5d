/**
 * Moves a claim's files between the AP and the sandbox over HTTPS, the
 * pilot's side of the two routes in the pilot protocol:
 *
 *   GET /v1/pilot/claims/CLAIM/inputs/INDEX    body, then SHA-256 as a trailer
 *   PUT /v1/pilot/claims/CLAIM/outputs?name=N  body, SHA-256 in a header
 *
 * Invariants:
 * - A file counts as transferred only when its size and SHA-256 match what
 *   the sender declared; a partial or damaged input is removed, never left
 *   for the job to read.
 * - Files are streamed, never held in memory, and each request carries the
 *   annex token over the caller's agent (pinned to the AP's certificate), so
 *   the token goes to no other server.
 * - Failures are TransferErrors carrying the hold code of their direction
 *   (13 for inputs, 12 for outputs) and a sentence naming the file; a
 *   connection that goes silent for `timeoutMs` fails rather than hangs.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import { request } from 'node:https';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SHA256_TRAILER, type InputFile } from '../protocol/pilot.ts';
import { ClaimError, HoldCode, errnoOf, type Sandbox } from './sandbox.ts';

interface FailureDetails {
  readonly status?: number;
  readonly subcode?: number;
  readonly transient?: boolean;
  readonly cause?: unknown;
}

/**
 * A transfer that failed. `status` is the AP's HTTP status when it answered
 * with an error; `transient` says trying again may succeed (the connection
 * failed, the AP was unavailable, or the bytes arrived damaged), as opposed to
 * an answer that will not change (no such claim or file, a refused name).
 */
export class TransferError extends ClaimError {
  readonly status: number | null;
  readonly transient: boolean;

  constructor(message: string, holdCode: number, details: FailureDetails = {}) {
    super(message, holdCode, details.subcode ?? 0, details.cause === undefined ? {} : { cause: details.cause });
    this.name = 'TransferError';
    this.status = details.status ?? null;
    this.transient = details.transient ?? false;
  }
}

/** Whether a failed fetchInput/sendOutput is worth trying again (see TransferError.transient). */
export function isTransient(error: unknown): boolean {
  return error instanceof TransferError && error.transient;
}

/** Statuses that describe the AP's state at the moment, not the request. */
function transientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Where and as whom to transfer: one claim on one AP. */
export interface TransferTarget {
  /** The AP's base address, `https://host:port`. */
  readonly url: string;
  /** An agent pinned to the AP's certificate (createPinnedAgent). */
  readonly agent: https.Agent;
  /** The annex token. */
  readonly token: string;
  readonly claimId: string;
  /** Fail after this long without any data moving; 60 s by default. */
  readonly timeoutMs?: number;
  /** Abort the transfer (the claim was vacated meanwhile). */
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** An error body larger than this is not an error message; it is cut. */
const MAX_ERROR_BODY = 64 * 1024;

function claimUrl(target: TransferTarget, rest: string): string {
  return `${target.url.replace(/\/+$/, '')}/v1/pilot/claims/${encodeURIComponent(target.claimId)}/${rest}`;
}

/** Send one request; resolves with the response (any status), rejects when no response came. */
function exchange(target: TransferTarget, method: string, url: string, headers: Record<string, string | number>, body: Readable | null): Promise<IncomingMessage> {
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      agent: target.agent,
      headers: { ...headers, authorization: `Bearer ${target.token}` },
      ...(target.signal === undefined ? {} : { signal: target.signal }),
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no data moved for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.once('response', resolve);
    req.once('error', reject);
    if (body === null) {
      req.end();
    } else {
      // A failure while sending shows up as the request's error (or, if the AP answered first, not at all).
      pipeline(body, req).catch(() => undefined);
    }
  });
}

/** The AP's error sentence from a non-2xx response (`{error: {code, message}}`), or what can be said without one. */
async function apErrorMessage(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (size < MAX_ERROR_BODY) chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // The body broke off; the status alone still says something.
  }
  const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return `${parsed.error.message} (HTTP ${res.statusCode})`;
  } catch {
    // not JSON: a proxy's page, or nothing
  }
  return `the access point answered HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
}

function aborted(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'AbortError';
}

/** A failure of the file being written (the GET sends no body, so a failed write is the disk's). */
function isDiskError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return e.syscall === 'write' || ['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG', 'EIO'].includes(e.code ?? '');
}

/** A connection failure worth another try: not a cancellation, not a server that fails the certificate pin. */
function transientNetwork(error: unknown): boolean {
  return !aborted(error) && (error as NodeJS.ErrnoException | undefined)?.code !== 'ERR_HTC_CERT_PIN';
}

function networkReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (aborted(error)) return 'the transfer was cancelled';
  return e.code !== undefined && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
}

/**
 * Fetch one input file into the sandbox. Resolves with its size in bytes;
 * rejects with a TransferError (network, HTTP status, size or checksum) or a
 * SandboxError (the name is unsafe or already taken), both holding the job
 * with code 13.
 */
export async function fetchInput(options: TransferTarget & { readonly input: InputFile; readonly sandbox: Sandbox }): Promise<number> {
  const { input, sandbox } = options;
  const what = `input file ${JSON.stringify(input.name)}`;
  const fail = (reason: string, details: FailureDetails = {}): TransferError =>
    new TransferError(`cannot transfer ${what} from the access point: ${reason}`, HoldCode.TransferInputError, details);

  let res: IncomingMessage;
  try {
    res = await exchange(options, 'GET', claimUrl(options, `inputs/${input.index}`), {}, null);
  } catch (error) {
    throw fail(networkReason(error), { subcode: errnoOf(error), transient: transientNetwork(error), cause: error });
  }
  if (res.statusCode !== 200) {
    const status = res.statusCode ?? 0;
    throw fail(await apErrorMessage(res), { status, transient: transientStatus(status) });
  }

  const handle = await sandbox.openInputForWrite(input.name).catch((error: unknown) => {
    res.destroy();
    throw error;
  });
  const path = join(sandbox.dir, input.name);
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      // Stop at once rather than fill the scratch disk with a file larger than announced.
      if (bytes > input.size) return callback(fail(`the access point sent more than the announced ${input.size} bytes`, { transient: true }));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    if (input.executable) await handle.chmod(0o755);
    await pipeline(res, meter, handle.createWriteStream());
    // A short body or a changed file on the AP's side: another try may well succeed.
    if (bytes !== input.size) throw fail(`received ${bytes} bytes, the access point announced ${input.size}`, { transient: true });
    const expected = res.trailers[SHA256_TRAILER];
    // Not a glitch: something between the AP and the pilot drops trailers, or the AP speaks another protocol.
    if (expected === undefined) throw fail(`the access point sent no SHA-256 (${SHA256_TRAILER} trailer) after the file`);
    const actual = hash.digest('hex');
    if (actual !== expected.toLowerCase()) throw fail(`the file arrived damaged (SHA-256 ${actual}, the access point sent ${expected})`, { transient: true });
    return bytes;
  } catch (error) {
    await fsp.rm(path, { force: true });
    if (error instanceof ClaimError) throw error;
    // The scratch disk, not the network: full or over quota stays so for a while.
    if (isDiskError(error)) throw fail(`cannot write it into the job's sandbox: ${(error as Error).message}`, { subcode: errnoOf(error), cause: error });
    throw fail(`the connection broke off after ${bytes} of ${input.size} bytes: ${networkReason(error)}`, { subcode: errnoOf(error), transient: transientNetwork(error), cause: error });
  } finally {
    // Closed by the write stream when it finished; this covers failing before it was made.
    await handle.close().catch(() => undefined);
  }
}

/** SHA-256 (hex) of the first `size` bytes of an open file. */
async function sha256Of(handle: fsp.FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size > 0) {
    for await (const chunk of handle.createReadStream({ start: 0, end: size - 1, autoClose: false }) as AsyncIterable<Buffer>) hash.update(chunk);
  }
  return hash.digest('hex');
}

/**
 * Send one output file to the AP, which places it under `name`. `path` is the
 * file in the sandbox (from Sandbox.outputFiles); it is opened without
 * following a final symbolic link, and what is hashed and sent is that one
 * open file, so a file swapped afterwards is not what goes. Resolves with the
 * bytes sent; rejects with a TransferError holding the job with code 12.
 */
export async function sendOutput(options: TransferTarget & { readonly name: string; readonly path: string }): Promise<number> {
  const what = `output file ${JSON.stringify(options.name)}`;
  const fail = (reason: string, details: FailureDetails = {}): TransferError =>
    new TransferError(`cannot transfer ${what} to the access point: ${reason}`, HoldCode.TransferOutputError, details);

  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(options.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ELOOP' ? `${options.path} is a symbolic link, which is not followed` : code === 'ENOENT' ? `${options.path} does not exist` : (error as Error).message;
    throw fail(reason, { subcode: errnoOf(error), cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw fail(`${options.path} is not a regular file`, { subcode: errnoOf({ code: 'EINVAL' }) });
    // The size is fixed once: a file still growing (a leftover process) is sent as it was.
    const size = stats.size;
    const sha256 = await sha256Of(handle, size);
    const body = size === 0 ? Readable.from([]) : handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
    let res: IncomingMessage;
    try {
      res = await exchange(
        options,
        'PUT',
        claimUrl(options, `outputs?name=${encodeURIComponent(options.name)}`),
        { 'content-type': 'application/octet-stream', 'content-length': size, [SHA256_TRAILER]: sha256 },
        body,
      );
    } catch (error) {
      throw fail(networkReason(error), { subcode: errnoOf(error), transient: transientNetwork(error), cause: error });
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw fail(await apErrorMessage(res), { status, transient: transientStatus(status) });
    res.resume();
    return size;
  } finally {
    await handle.close();
  }
}
