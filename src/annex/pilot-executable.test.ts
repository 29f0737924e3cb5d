/**
 * The self-contained pilot executable, built for real (once for this file,
 * a few seconds) into a temporary cache: it is an executable file whose
 * sha256 and size are what the builder says; it runs with no Node on PATH
 * and no node_modules around (`--version`, argument errors as one line and
 * exit 2); a second call takes it from the cache; and a real run against an
 * access point that is not there starts the pilot, logs the refused
 * connection, and ends by itself at the end of its short lifetime,
 * removing its work dir.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPilotExecutable, bundlePilot, defaultPilotCacheDir, type PilotExecutable } from './pilot-executable.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const tmp = mkdtempSync(join(os.tmpdir(), 'htc-pilot-exe-'));
const cacheDir = join(tmp, 'cache');
/** An empty directory as the whole PATH: there is no node (nor anything else) to find. */
const emptyPath = join(tmp, 'empty-path');
const progress: string[] = [];
let exe: PilotExecutable;

after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the executable with a bare environment, from a directory with no node_modules. */
function runExe(args: readonly string[], timeoutMs = 15_000): SpawnSyncReturns<string> {
  const r = spawnSync(exe.path, args, { cwd: tmp, env: { PATH: emptyPath }, encoding: 'utf8', timeout: timeoutMs });
  if (r.error !== undefined) throw r.error;
  return r;
}

function oneErrorLine(r: SpawnSyncReturns<string>, message: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^htc-pilot: error: [^\n]+\n$/);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\bat .*:\d+:\d+/, 'no stack trace');
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the pilot executable', () => {
  before(async () => {
    mkdirSync(emptyPath);
    exe = await buildPilotExecutable({ cacheDir, onProgress: (m) => progress.push(m) });
  }, { timeout: 180_000 });

  it('is built into the cache as an executable file whose sha256 and size are the ones returned', () => {
    assert.equal(exe.built, true);
    assert.equal(dirname(dirname(exe.path)), cacheDir);
    assert.match(exe.path, /\/[0-9a-f]{64}\/htc-pilot$/);
    accessSync(exe.path, constants.X_OK);
    assert.equal(statSync(exe.path).mode & 0o777, 0o755);
    const bytes = readFileSync(exe.path);
    assert.equal(exe.bytes, bytes.length);
    assert.equal(exe.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.ok(exe.bytes > 10e6, `a Node runtime is inside (${exe.bytes} bytes)`);
    // Nothing half-built is left next to it, and the build said what it did.
    assert.deepEqual(readdirSync(cacheDir), [dirname(exe.path).split('/').pop()]);
    assert.match(progress.join('\n'), /building the pilot executable/);
    assert.match(progress.at(-1)!, /^built .*htc-pilot \(\d+\.\d MB\)$/);
  });

  it('--version prints the version and exits 0, with no node on PATH', () => {
    const r = runExe(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.version}\n`);
    assert.equal(r.stderr, '', 'no experimental-feature warning either');
    // Also as the brief's batch jobs run it: `env -i PATH=/usr/bin:/bin`.
    const viaEnv = spawnSync('env', ['-i', 'PATH=/usr/bin:/bin', exe.path, '--version'], { cwd: tmp, encoding: 'utf8', timeout: 15_000 });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout, `${pkg.version}\n`);
  });

  it('with no arguments exits 2 with one error line and no stack trace', () => {
    oneErrorLine(runExe([]), /--config FILE is required/);
  });

  it('names a config file that is not there', () => {
    oneErrorLine(runExe(['--config', '/nonexistent']), /--config \/nonexistent: no such file/);
  });

  it('names the field of a config file that is wrong', () => {
    const file = join(tmp, 'no-execute-dir.json');
    writeFileSync(file, JSON.stringify({ url: 'https://127.0.0.1:1', fingerprint: 'ab'.repeat(32), token: 't', annexName: 'a', lifetimeSeconds: 60 }));
    oneErrorLine(runExe(['--config', file]), /no-execute-dir\.json: "executeDir" must be a non-empty string \(or give the pilot --work-dir DIR\)/);
  });

  it('comes from the cache the second time: same path and bytes, nothing built', { timeout: 60_000 }, async () => {
    const again = await buildPilotExecutable({ cacheDir, onProgress: (m) => assert.fail(`a cache hit reports no progress, got: ${m}`) });
    assert.deepEqual(again, { ...exe, built: false });
  });

  it('runs the pilot: an access point that is not there is logged, and the pilot ends at its lifetime and removes its work dir', { timeout: 60_000 }, async () => {
    const port = await closedPort();
    const config = join(tmp, 'pilot.json');
    writeFileSync(config, JSON.stringify({
      url: `https://127.0.0.1:${port}`, fingerprint: 'ab'.repeat(32), token: 'not-a-token', annexName: 'exe-test', requestId: 'r1',
      idleSeconds: 60, lifetimeSeconds: 2, endMarginSeconds: 0,
    }), { mode: 0o600 });
    const workDir = join(tmp, 'pilot-dir', 'node-0');
    const started = Date.now();
    const r = runExe(['--config', config, '--work-dir', workDir], 30_000);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.signal, null, `killed by ${r.signal} (timeout?); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`pilot: connection to https://127\\.0\\.0\\.1:${port} \\(attempt 1\\): connect ECONNREFUSED`));
    assert.match(r.stderr, /pilot: ending: its lifetime is ending\n/);
    assert.match(r.stderr, /pilot: ended \(its lifetime is ending\)\n$/);
    assert.doesNotMatch(r.stderr, /not-a-token/, 'the token is never logged');
    assert.ok(seconds < 15, `ended by itself after ${seconds} s`);
    assert.equal(existsSync(workDir), false, 'the work dir is removed');
  });
});

describe('bundlePilot', () => {
  it('holds only the pilot, the wire protocol, pin.ts, errors.ts, ws and the version: pure JS, no native addon', async () => {
    const { code, inputs } = await bundlePilot();
    const allowed = /^(src\/pilot\/(?!.*\.test\.ts$)[^/]+\.ts|src\/protocol\/[^/]+\.ts|src\/auth\/pin\.ts|src\/errors\.ts|node_modules\/ws\/.+\.m?js|package\.json)$/;
    assert.deepEqual(inputs.filter((f) => !allowed.test(f)), []);
    assert.ok(inputs.includes('src/pilot/main.ts') && inputs.includes('node_modules/ws/lib/websocket.js'), inputs.join(' '));
    assert.doesNotMatch(code, /bufferutil|utf-8-validate|\.node['"]/, 'ws is bundled with its native helpers switched off');
  });
});

describe('defaultPilotCacheDir', () => {
  it('is under $XDG_CACHE_HOME when it is an absolute path, else ~/.cache', () => {
    const saved = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = '/xdg/cache';
      assert.equal(defaultPilotCacheDir(), '/xdg/cache/htc/pilot');
      process.env.XDG_CACHE_HOME = 'relative';
      assert.equal(defaultPilotCacheDir(), join(os.homedir(), '.cache', 'htc', 'pilot'));
      delete process.env.XDG_CACHE_HOME;
      assert.equal(defaultPilotCacheDir(), join(os.homedir(), '.cache', 'htc', 'pilot'));
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });
});
