/**
 * File transfer against a real HTTPS server on 127.0.0.1 with a self-signed
 * certificate, reached through a pinned agent: inputs (good, executable,
 * damaged, no checksum, wrong size, AP errors, a broken connection, an
 * unsafe name) and outputs (good, empty, the AP refusing, a symbolic link
 * refused before anything is sent), plus which failures are worth a retry.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPinnedAgent } from '../auth/pin.ts';
import { ensureTlsMaterial } from '../auth/tls.ts';
import { SHA256_TRAILER, type InputFile } from '../protocol/pilot.ts';
import { HoldCode, Sandbox, SandboxError } from './sandbox.ts';
import { TransferError, fetchInput, isTransient, sendOutput } from './transfer.ts';

const TOKEN = 'annex-token-for-tests';
const CLAIM = 'claim/1 #a';
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htc-transfer-'));
  dirs.push(dir);
  return dir;
}

/** What the stand-in AP serves as input INDEX. */
interface Served {
  readonly body: Buffer;
  /** The trailer to send; undefined: the right checksum; null: none. */
  readonly trailer?: string | null;
  readonly status?: number;
  /** Cut the connection after this many bytes. */
  readonly cutAfter?: number;
}

const served = new Map<number, Served>();
const received = new Map<string, { body: Buffer; headers: IncomingMessage['headers']; url: string }>();
const requests: { method: string; url: string; authorization: string | undefined }[] = [];
let server: https.Server;
let url: string;
let agent: https.Agent;

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return sendError(res, 401, 'AUTH_FAILED', 'a pilot needs its annex token');
  const parsed = new URL(req.url ?? '/', 'https://ap');
  const m = /^\/v1\/pilot\/claims\/([^/]+)\/(?:inputs\/(\d+)|outputs)$/.exec(parsed.pathname);
  if (m === null || decodeURIComponent(m[1]!) !== CLAIM) return sendError(res, 404, 'NOT_FOUND', `no route ${parsed.pathname}`);
  if (m[2] !== undefined) {
    const file = served.get(Number(m[2]));
    if (file === undefined) return sendError(res, 404, 'NOT_FOUND', `claim ${CLAIM} has no input ${m[2]}`);
    if (file.status !== undefined) return sendError(res, file.status, 'AP_NOT_RUNNING', 'the access point is starting');
    res.writeHead(200, { 'content-type': 'application/octet-stream', trailer: SHA256_TRAILER });
    if (file.cutAfter !== undefined) {
      res.write(file.body.subarray(0, file.cutAfter), () => res.destroy());
      return;
    }
    res.write(file.body);
    if (file.trailer !== null) res.addTrailers({ [SHA256_TRAILER]: file.trailer ?? sha256(file.body) });
    res.end();
    return;
  }
  const name = parsed.searchParams.get('name') ?? '';
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (name.startsWith('refused')) return sendError(res, 403, 'FORBIDDEN', `output ${name} is not one of the job's outputs`);
    if (sha256(body) !== req.headers[SHA256_TRAILER]) return sendError(res, 400, 'BAD_REQUEST', `output ${name} arrived damaged`);
    received.set(name, { body, headers: req.headers, url: req.url ?? '' });
    const answer = JSON.stringify({ bytes: body.length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
}

before(async () => {
  const tls = await ensureTlsMaterial(tempDir());
  server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  agent = createPinnedAgent(tls.fingerprint);
});
after(async () => {
  agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function input(index: number, name: string, size: number, executable = false): InputFile {
  return { index, name, size, executable, sha256: null };
}

async function fetchInto(sandbox: Sandbox, file: InputFile): Promise<number> {
  return fetchInput({ url, agent, token: TOKEN, claimId: CLAIM, input: file, sandbox });
}

async function transferError(promise: Promise<unknown>, message: RegExp): Promise<TransferError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('the transfer succeeded'),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof TransferError, `not a TransferError: ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

describe('fetchInput', () => {
  it('streams a file into the sandbox with the token, verifying size and checksum; marks executables', async () => {
    const body = Buffer.alloc(300_000, 'x');
    served.set(0, { body });
    served.set(1, { body: Buffer.from('#!/bin/sh\necho hi\n') });
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    assert.equal(await fetchInto(sandbox, input(0, 'data/big.bin', body.length)), body.length);
    assert.deepEqual(readFileSync(join(sandbox.dir, 'data/big.bin')), body);
    assert.equal(await fetchInto(sandbox, input(1, 'job.sh', 18, true)), 18);
    assert.equal(statSync(join(sandbox.dir, 'job.sh')).mode & 0o777, 0o755);
    const last = requests.at(-1)!;
    assert.equal(last.method, 'GET');
    assert.equal(last.url, `/v1/pilot/claims/${encodeURIComponent(CLAIM)}/inputs/1`);
    assert.equal(last.authorization, `Bearer ${TOKEN}`);
  });

  it('a checksum mismatch fails, removes the partial file, and may be retried', async () => {
    served.set(2, { body: Buffer.from('hello'), trailer: sha256('something else') });
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    const error = await transferError(fetchInto(sandbox, input(2, 'in.txt', 5)), /^cannot transfer input file "in.txt" from the access point: the file arrived damaged \(SHA-256 [0-9a-f]{64}, the access point sent [0-9a-f]{64}\)$/);
    assert.equal(error.holdCode, HoldCode.TransferInputError);
    assert.equal(isTransient(error), true);
    assert.equal(existsSync(join(sandbox.dir, 'in.txt')), false);
  });

  it('a missing checksum trailer or a size other than announced fails', async () => {
    served.set(3, { body: Buffer.from('hello'), trailer: null });
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    await transferError(fetchInto(sandbox, input(3, 'a.txt', 5)), /the access point sent no SHA-256 \(x-htc-sha256 trailer\) after the file/);
    served.set(4, { body: Buffer.from('hello') });
    await transferError(fetchInto(sandbox, input(4, 'b.txt', 9)), /received 5 bytes, the access point announced 9/);
    await transferError(fetchInto(sandbox, input(4, 'c.txt', 2)), /the access point sent more than the announced 2 bytes/);
    assert.equal(existsSync(join(sandbox.dir, 'b.txt')) || existsSync(join(sandbox.dir, 'c.txt')), false);
  });

  it('an AP error response gives its message; a 404 is final, a 503 worth a retry', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    const missing = await transferError(fetchInto(sandbox, input(99, 'x.txt', 1)), /^cannot transfer input file "x.txt" from the access point: claim claim\/1 #a has no input 99 \(HTTP 404\)$/);
    assert.equal(missing.status, 404);
    assert.equal(isTransient(missing), false);
    served.set(5, { body: Buffer.alloc(0), status: 503 });
    const busy = await transferError(fetchInto(sandbox, input(5, 'y.txt', 0)), /the access point is starting \(HTTP 503\)/);
    assert.equal(isTransient(busy), true);
    assert.equal(existsSync(join(sandbox.dir, 'x.txt')), false);
  });

  it('a connection broken mid-file fails as transient and leaves no partial file', async () => {
    served.set(6, { body: Buffer.alloc(100_000, 'y'), cutAfter: 10_000 });
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    const error = await transferError(fetchInto(sandbox, input(6, 'cut.bin', 100_000)), /^cannot transfer input file "cut.bin" from the access point: the connection broke off after \d+ of 100000 bytes: /);
    assert.equal(isTransient(error), true);
    assert.equal(existsSync(join(sandbox.dir, 'cut.bin')), false);
  });

  it('an unsafe name is refused by the sandbox, and nothing is written', async () => {
    served.set(7, { body: Buffer.from('evil') });
    const root = tempDir();
    const sandbox = await Sandbox.create(join(root, 'execute'), CLAIM);
    symlinkSync(root, join(sandbox.dir, 'up'));
    await assert.rejects(fetchInto(sandbox, input(7, 'up/evil.txt', 4)), (error: unknown) => {
      assert.ok(error instanceof SandboxError);
      assert.equal(error.holdCode, HoldCode.TransferInputError);
      return true;
    });
    assert.equal(existsSync(join(root, 'evil.txt')), false);
    assert.equal(isTransient(new Error('not a transfer error')), false);
  });
});

describe('sendOutput', () => {
  async function send(name: string, path: string): Promise<number> {
    return sendOutput({ url, agent, token: TOKEN, claimId: CLAIM, name, path });
  }

  it('sends a file with its checksum, length and the token, under its name', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    const body = Buffer.alloc(200_000, 'z');
    writeFileSync(join(sandbox.dir, 'result.bin'), body);
    assert.equal(await send('out dir/result.bin', join(sandbox.dir, 'result.bin')), body.length);
    const got = received.get('out dir/result.bin')!;
    assert.deepEqual(got.body, body);
    assert.equal(got.headers[SHA256_TRAILER], sha256(body));
    assert.equal(got.headers['content-length'], String(body.length));
    assert.equal(got.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(got.url, `/v1/pilot/claims/${encodeURIComponent(CLAIM)}/outputs?name=out%20dir%2Fresult.bin`);
  });

  it('sends an empty file', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    writeFileSync(join(sandbox.dir, 'empty.txt'), '');
    assert.equal(await send('empty.txt', join(sandbox.dir, 'empty.txt')), 0);
    assert.equal(received.get('empty.txt')!.body.length, 0);
  });

  it('an AP refusal becomes a TransferError with its message (hold code 12)', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    writeFileSync(join(sandbox.dir, 'x.txt'), 'x');
    const error = await transferError(send('refused.txt', join(sandbox.dir, 'x.txt')), /^cannot transfer output file "refused.txt" to the access point: output refused.txt is not one of the job's outputs \(HTTP 403\)$/);
    assert.equal(error.holdCode, HoldCode.TransferOutputError);
    assert.equal(error.status, 403);
    assert.equal(isTransient(error), false);
  });

  it('refuses a symbolic link before sending anything', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    symlinkSync('/etc/passwd', join(sandbox.dir, 'passwd'));
    const before = requests.length;
    const error = await transferError(send('passwd', join(sandbox.dir, 'passwd')), /passwd is a symbolic link, which is not followed/);
    assert.equal(error.holdCode, HoldCode.TransferOutputError);
    assert.equal(requests.length, before);
    assert.equal(received.has('passwd'), false);
  });

  it('a server that fails the certificate pin gets nothing, and the failure is final', async () => {
    const sandbox = await Sandbox.create(tempDir(), CLAIM);
    writeFileSync(join(sandbox.dir, 'x.txt'), 'x');
    const wrongPin = createPinnedAgent('00'.repeat(32));
    const before = requests.length;
    try {
      const error = await transferError(sendOutput({ url, agent: wrongPin, token: TOKEN, claimId: CLAIM, name: 'pinned.txt', path: join(sandbox.dir, 'x.txt') }), /is not the pinned/);
      assert.equal(isTransient(error), false);
    } finally {
      wrongPin.destroy();
    }
    assert.equal(requests.length, before);
  });
});
