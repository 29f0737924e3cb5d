/**
 * The pilot's configuration file (parsePilotConfig, loadPilotConfig): the
 * form annex front-ends have always written (executeDir, endTime) is read as
 * before; `lifetimeSeconds` counts from loading; a caller's work dir
 * (`--work-dir`) replaces executeDir and removeOnExit; every mistake is an
 * HtcError naming the file and the field.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { HtcError, type ErrorCode } from '../errors.ts';
import { loadPilotConfig, parsePilotConfig } from './index.ts';

const FINGERPRINT = Array.from({ length: 32 }, () => 'ab').join(':');
const NOW_MS = 1_700_000_000_500;

/** A config file's text: the fields every config has, plus `fields` (undefined removes one). */
function configText(fields: Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = { url: 'https://ap.example.org:9618', fingerprint: FINGERPRINT, token: 'tok', annexName: 'a1', requestId: 'r1', ...fields };
  return JSON.stringify(base);
}

function throwsUsage(f: () => unknown, message: RegExp, code: ErrorCode = 'USAGE'): void {
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof HtcError, `expected an HtcError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('parsePilotConfig', () => {
  it('reads a config as annex front-ends write it for local pilots (executeDir, removeOnExit, endTime)', () => {
    const c = parsePilotConfig(configText({ executeDir: '/scratch/p/execute', removeOnExit: '/scratch/p', idleSeconds: 120, endTime: 1_700_003_600, endMarginSeconds: 30, resources: { cpus: 4 } }), 'pilot.json', { now: NOW_MS });
    assert.equal(c.executeDir, '/scratch/p/execute');
    assert.equal(c.removeOnExit, '/scratch/p');
    assert.equal(c.endTime, 1_700_003_600);
    assert.equal(c.idleSeconds, 120);
    assert.equal(c.endMarginSeconds, 30);
    assert.deepEqual(c.resources, { cpus: 4 });
    assert.equal(c.fingerprint, FINGERPRINT);
  });

  it('keeps the defaults: no end time, idle 300 s, margin 60 s, nothing removed at exit', () => {
    const c = parsePilotConfig(configText({ executeDir: '/x' }), 'pilot.json');
    assert.equal(c.endTime, null);
    assert.equal(parsePilotConfig(configText({ executeDir: '/x', endTime: null }), 'pilot.json').endTime, null);
    assert.equal(c.idleSeconds, 300);
    assert.equal(c.endMarginSeconds, 60);
    assert.equal(c.removeOnExit, null);
  });

  it('counts lifetimeSeconds from when the config is loaded, in whole seconds (rounded down: never late)', () => {
    const c = parsePilotConfig(configText({ executeDir: '/x', lifetimeSeconds: 3600 }), 'pilot.json', { now: NOW_MS });
    assert.equal(c.endTime, 1_700_003_600);
    assert.equal(parsePilotConfig(configText({ executeDir: '/x', lifetimeSeconds: 0.25 }), 'pilot.json', { now: NOW_MS }).endTime, 1_700_000_000);
    // Loaded later (the batch job waited in the queue): ends later.
    assert.equal(parsePilotConfig(configText({ executeDir: '/x', lifetimeSeconds: 3600 }), 'pilot.json', { now: NOW_MS + 7_200_000 }).endTime, 1_700_010_800);
  });

  it('counts lifetimeSeconds from the real clock when not told the time', () => {
    const before = Math.floor(Date.now() / 1000);
    const end = parsePilotConfig(configText({ executeDir: '/x', lifetimeSeconds: 600 }), 'pilot.json').endTime!;
    assert.ok(end >= before + 600 && end <= Math.floor(Date.now() / 1000) + 600, `endTime ${end}`);
  });

  it('rounds a fractional endTime down to the whole seconds the protocol carries', () => {
    assert.equal(parsePilotConfig(configText({ executeDir: '/x', endTime: 1_700_003_600.9 }), 'pilot.json').endTime, 1_700_003_600);
  });

  it('refuses a bad lifetimeSeconds, and endTime together with lifetimeSeconds, naming the field', () => {
    for (const bad of [0, -5, '3600', true, {}]) {
      throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', lifetimeSeconds: bad }), 'p.json'), /^p\.json: "lifetimeSeconds" must be a number > 0$/);
    }
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', endTime: 1_700_003_600, lifetimeSeconds: 60 }), 'p.json'), /^p\.json: give "endTime" or "lifetimeSeconds", not both$/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', endTime: 'soon' }), 'p.json'), /"endTime" must be a number >= 0/);
  });

  it('puts sandboxes in WORK_DIR/execute and removes WORK_DIR when given a work dir, whatever the file says', () => {
    const withDirs = parsePilotConfig(configText({ executeDir: '/from/file', removeOnExit: '/from', lifetimeSeconds: 60 }), 'pilot.json', { workDir: '/scratch/a1.r1/node-3' });
    assert.equal(withDirs.executeDir, '/scratch/a1.r1/node-3/execute');
    assert.equal(withDirs.removeOnExit, '/scratch/a1.r1/node-3');
    // One config for several nodes: no executeDir in the file at all.
    const shared = parsePilotConfig(configText({ lifetimeSeconds: 60 }), 'pilot.json', { workDir: 'node-0' });
    assert.equal(shared.executeDir, join(resolve('node-0'), 'execute'));
    assert.equal(shared.removeOnExit, resolve('node-0'));
  });

  it('refuses a config with neither executeDir nor a work dir, naming the field and the way out', () => {
    throwsUsage(() => parsePilotConfig(configText({ lifetimeSeconds: 60 }), 'p.json'), /^p\.json: "executeDir" must be a non-empty string \(or give the pilot --work-dir DIR\)$/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '' }), 'p.json'), /"executeDir"/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x' }), 'p.json', { workDir: '' }), /^--work-dir: /);
  });

  it('names the file and field of other mistakes, as before', () => {
    throwsUsage(() => parsePilotConfig('{', 'p.json'), /^p\.json: not JSON/);
    throwsUsage(() => parsePilotConfig('[1]', 'p.json', { workDir: '/w' }), /"url" must be a non-empty string/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', url: 'http://ap' }), 'p.json'), /"url" must be the access point's https:\/\/ address/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', token: undefined }), 'p.json'), /^p\.json: "token" must be a non-empty string$/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', resources: { cpus: 1.5 } }), 'p.json'), /"resources\.cpus" must be a whole number/);
    throwsUsage(() => parsePilotConfig(configText({ executeDir: '/x', fingerprint: 'ab' }), 'p.json'), /^p\.json: "fingerprint": "ab" is not a SHA-256 certificate fingerprint/);
  });
});

describe('loadPilotConfig', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'htc-pilot-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file and passes the work dir on', () => {
    const file = join(dir, 'pilot.json');
    writeFileSync(file, configText({ lifetimeSeconds: 60 }));
    const c = loadPilotConfig(file, { workDir: join(dir, 'node-1') });
    assert.equal(c.executeDir, join(dir, 'node-1', 'execute'));
    assert.equal(c.annexName, 'a1');
  });

  it('names a missing file, a directory, and a bad file by its path', () => {
    throwsUsage(() => loadPilotConfig(join(dir, 'missing.json')), /^--config .*missing\.json: no such file$/, 'FILE_NOT_FOUND');
    throwsUsage(() => loadPilotConfig(dir), /: is a directory, not a file$/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"url": 1}');
    throwsUsage(() => loadPilotConfig(bad, { workDir: '/w' }), new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: "url" must be a non-empty string$`));
  });
});
