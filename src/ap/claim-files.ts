/**
 * Sandbox files of claims, on the access point's side: which files a claim
 * sends (inputs expanded at match time), and the two streaming routes
 * pilots use:
 *
 *   GET /v1/pilot/claims/CLAIM/inputs/INDEX   the file, chunked, with its
 *                                             SHA-256 as a trailer
 *   PUT /v1/pilot/claims/CLAIM/outputs?name=N a file back, with its SHA-256
 *                                             in a header, written atomically
 *
 * Invariants: only the pilot holding the claim (its annex token) moves the
 * claim's files; inputs are read and outputs written under job-files.ts's
 * ownership rule (a job reads only what its owner owns); an output lands
 * only where the job's plan puts it (outputDestination), through a
 * temporary file renamed into place once its checksum matches, so a broken
 * transfer never leaves half a file under the real name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Stats, constants, createReadStream, fstatSync, lstatSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { hasScope, type TokenIssuer } from '../auth/index.ts';
import { PlanError, outputDestination, type ExecutionPlan } from '../core/index.ts';
import { HtcError } from '../errors.ts';
import { SHA256_TRAILER } from '../protocol/pilot.ts';
import { openForOwner, ownUid, uidOf } from './job-files.ts';
import type { Claim } from './scheduler.ts';

/** One file a claim sends into its sandbox. */
export interface ClaimInput {
  readonly source: string;
  readonly name: string;
  readonly size: number;
  readonly executable: boolean;
  /** Known from an earlier transfer of the same file (same inode, size and mtime), for pilots' caches. */
  readonly sha256: string | null;
}

/**
 * Checksums of files sent before, by path, valid while the file's inode,
 * size and modification time stay the same. Learned while streaming (no
 * extra read); bounded, oldest forgotten first.
 */
const MAX_REMEMBERED_CHECKSUMS = 10_000;
const checksums = new Map<string, { key: string; sha256: string }>();

function statKey(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

function rememberedChecksum(path: string, st: Stats): string | null {
  const known = checksums.get(path);
  return known !== undefined && known.key === statKey(st) ? known.sha256 : null;
}

function rememberChecksum(path: string, st: Stats, sha256: string): void {
  checksums.delete(path);
  checksums.set(path, { key: statKey(st), sha256 });
  if (checksums.size > MAX_REMEMBERED_CHECKSUMS) checksums.delete(checksums.keys().next().value!);
}

/** Files in one input directory at most (a runaway directory would stall the AP). */
const MAX_FILES_PER_DIRECTORY = 100_000;

/** A plan's inputs as files: directories walked, sizes known. Missing or foreign files are PlanErrors (the job is held). */
export function expandInputs(plan: ExecutionPlan): ClaimInput[] {
  const sameUser = uidOf(plan.owner) === ownUid;
  const ownerUid = uidOf(plan.owner);
  const out: ClaimInput[] = [];
  const look = (path: string, what: string): Stats => {
    let st: Stats;
    try {
      st = sameUser ? statSync(path) : lstatSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new PlanError(`${what} ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`);
    }
    if (!sameUser && st.isSymbolicLink()) throw new PlanError(`${what} ${path} is a symbolic link; the access point does not follow links for another user's job`);
    if (!sameUser && st.uid !== ownerUid) throw new PlanError(`${what} ${path} is not owned by ${plan.owner}`);
    return st;
  };
  for (const input of plan.inputs) {
    const what = input.executable ? 'executable' : input.name === '_condor_stdin' ? 'input (stdin)' : 'transfer_input_files:';
    const st = look(input.source, what);
    if (st.isFile()) {
      if (input.contentsOnly) throw new PlanError(`${what} ${input.source}/ names a directory's contents, but it is a file`);
      out.push({ source: input.source, name: input.name, size: st.size, executable: input.executable, sha256: rememberedChecksum(input.source, st) });
      continue;
    }
    if (!st.isDirectory() || input.executable) throw new PlanError(`${what} ${input.source} is not a regular file`);
    let count = 0;
    const walk = (dir: string, prefix: string): void => {
      for (const entry of readdirSync(dir).sort()) {
        const path = `${dir}/${entry}`;
        const name = prefix === '' ? entry : `${prefix}/${entry}`;
        const s = look(path, what);
        if (s.isDirectory()) walk(path, name);
        else if (s.isFile()) {
          if (++count > MAX_FILES_PER_DIRECTORY) throw new PlanError(`${what} ${input.source} has more than ${MAX_FILES_PER_DIRECTORY} files`);
          out.push({ source: path, name, size: s.size, executable: false, sha256: rememberedChecksum(path, s) });
        }
      }
    };
    walk(input.source, input.contentsOnly ? '' : input.name);
  }
  return out;
}

export interface ClaimFilesContext {
  readonly tokens: TokenIssuer;
  readonly claimFor: (claimId: string, identity: { annexName: string; owner: string }) => Claim | undefined;
}

const ROUTE = /^\/pilot\/claims\/([^/]+)\/(inputs\/(\d+)|outputs)$/;

/**
 * Serves the sandbox routes; returns false for any other path (the JSON API
 * takes it). Errors are thrown as HtcError for the API's one error mapping.
 */
export async function serveClaimFiles(ctx: ClaimFilesContext, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<boolean> {
  const m = ROUTE.exec(path);
  if (m === null) return false;
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ') !== true) throw new HtcError('AUTH_FAILED', 'a pilot needs its annex token');
  const claims = ctx.tokens.verifySync(header.slice(7));
  if (!hasScope(claims, 'ADVERTISE_STARTD') || claims.annex === undefined) throw new HtcError('FORBIDDEN', 'this token is not an annex token (ADVERTISE_STARTD, bound to an annex)');
  const owner = claims.annex.owner.replace(/@.*$/, '');
  const claimId = decodeURIComponent(m[1]!);
  const claim = ctx.claimFor(claimId, { annexName: claims.annex.name, owner });
  if (claim === undefined) throw new HtcError('CLAIM_NOT_ACTIVE', `claim ${claimId} is not active for annex ${claims.annex.name}`);
  if (m[3] !== undefined) {
    if (req.method !== 'GET') throw new HtcError('BAD_REQUEST', 'inputs are read with GET');
    await sendInput(claim, Number(m[3]), res);
  } else {
    if (req.method !== 'PUT') throw new HtcError('BAD_REQUEST', 'outputs are sent with PUT');
    const name = query.get('name');
    if (name === null || name === '') throw new HtcError('BAD_REQUEST', 'the query parameter "name" is required');
    const expected = req.headers[SHA256_TRAILER];
    if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/.test(expected)) throw new HtcError('BAD_REQUEST', `the ${SHA256_TRAILER} header (hex SHA-256 of the file) is required`);
    const bytes = await receiveOutput(claim, name, expected, req);
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
  return true;
}

async function sendInput(claim: Claim, index: number, res: ServerResponse): Promise<void> {
  const input = claim.inputs[index];
  if (input === undefined) throw new HtcError('NOT_FOUND', `claim ${claim.claimId} has no input ${index}`);
  const fd = openForOwner(input.source, claim.owner, constants.O_RDONLY, 'input');
  const before = fstatSync(fd);
  const hash = createHash('sha256');
  const stream = createReadStream('', { fd, highWaterMark: 256 * 1024 });
  stream.on('data', (chunk) => hash.update(chunk));
  // Chunked, so the checksum can follow the body as a trailer (one pass over the file).
  res.writeHead(200, { 'content-type': 'application/octet-stream', trailer: SHA256_TRAILER });
  stream.once('end', () => {
    const sha256 = hash.digest('hex');
    rememberChecksum(input.source, before, sha256);
    res.addTrailers({ [SHA256_TRAILER]: sha256 });
  });
  await pipeline(stream, res);
}

async function receiveOutput(claim: Claim, name: string, expected: string, req: IncomingMessage): Promise<number> {
  const where = outputDestination(claim.plan, name);
  if ('refused' in where) throw new HtcError('FORBIDDEN', where.refused);
  if (uidOf(claim.owner) !== ownUid) {
    throw new HtcError('FORBIDDEN', `the access point runs as another user than ${claim.owner} and does not write files for them; run your own access point`);
  }
  const dest = where.path;
  const dir = dirname(dest);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new HtcError('NOT_FOUND', `cannot write output ${name} to ${dest}: the directory ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new HtcError('FORBIDDEN', `cannot write output ${name} to ${dest}: ${dir} is not a directory`);
  const tmp = `${dir}/.${randomBytes(6).toString('hex')}.htc-part`;
  let handle: FileHandle;
  try {
    handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new HtcError('FORBIDDEN', `cannot write output ${name} to ${dest}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    // The stream owns the file handle: it closes it when done or destroyed, and nothing else does.
    await pipeline(req, handle.createWriteStream());
    const actual = hash.digest('hex');
    if (actual !== expected) throw new HtcError('BAD_REQUEST', `output ${name} arrived damaged (SHA-256 ${actual}, sent as ${expected})`);
    let existing;
    try {
      existing = lstatSync(dest);
    } catch {
      existing = undefined;
    }
    if (existing?.isDirectory() === true) throw new HtcError('CONFLICT', `cannot write output ${name}: ${dest} is a directory`);
    renameSync(tmp, dest);
    return bytes;
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
