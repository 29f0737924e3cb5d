import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InputFile } from '../protocol/pilot.ts';
import { InputCache } from './input-cache.ts';
import { Sandbox } from './sandbox.ts';

const root = mkdtempSync(join(tmpdir(), 'htc-input-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

let claims = 0;
async function sandbox(): Promise<Sandbox> {
  return Sandbox.create(root, `claim-${++claims}`);
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

function input(name: string, text: string, options: { executable?: boolean; sha256?: string | null } = {}): InputFile {
  return { index: 0, name, size: Buffer.byteLength(text), executable: options.executable ?? false, sha256: options.sha256 === undefined ? sha(text) : options.sha256 };
}

/** What fetchInput leaves: the verified file in the sandbox. */
function fetched(box: Sandbox, name: string, text: string): void {
  writeFileSync(join(box.dir, name), text);
}

describe('the input cache', () => {
  it('places nothing it has not kept, then a copy of what it kept', async () => {
    const cache = new InputCache(join(root, 'cache1'));
    const first = await sandbox();
    const exe = input('condor_exec.exe', '#!/bin/sh\necho hi\n', { executable: true });
    assert.equal(await cache.place(exe, first), undefined);
    fetched(first, 'condor_exec.exe', '#!/bin/sh\necho hi\n');
    await cache.keep(exe, first);
    const second = await sandbox();
    assert.equal(await cache.place(exe, second), exe.size);
    assert.equal(readFileSync(join(second.dir, 'condor_exec.exe'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(statSync(join(second.dir, 'condor_exec.exe')).mode & 0o777, 0o755, 'the executable is executable');
  });

  it("gives each job its own copy: one job's writes never reach the next", async () => {
    const cache = new InputCache(join(root, 'cache2'));
    const data = input('data.txt', 'original\n');
    const a = await sandbox();
    fetched(a, 'data.txt', 'original\n');
    await cache.keep(data, a);
    const b = await sandbox();
    await cache.place(data, b);
    writeFileSync(join(b.dir, 'data.txt'), 'changed by the job\n');
    const c = await sandbox();
    await cache.place(data, c);
    assert.equal(readFileSync(join(c.dir, 'data.txt'), 'utf8'), 'original\n');
  });

  it('keeps nothing under a checksum its content does not have, nor inputs without one', async () => {
    const cache = new InputCache(join(root, 'cache3'));
    const claimed = input('x', 'what the AP remembered\n');
    const a = await sandbox();
    fetched(a, 'x', 'what the file holds now\n');
    await cache.keep(claimed, a);
    assert.equal(await cache.place(claimed, await sandbox()), undefined);
    const unknown = input('y', 'y\n', { sha256: null });
    const b = await sandbox();
    fetched(b, 'y', 'y\n');
    await cache.keep(unknown, b);
    assert.equal(await cache.place(unknown, await sandbox()), undefined);
  });

  it('places through the sandbox rules: an existing file is not overwritten', async () => {
    const cache = new InputCache(join(root, 'cache4'));
    const data = input('d', 'd\n');
    const a = await sandbox();
    fetched(a, 'd', 'd\n');
    await cache.keep(data, a);
    const b = await sandbox();
    writeFileSync(join(b.dir, 'd'), 'already here\n');
    await assert.rejects(cache.place(data, b), /d/);
  });
});
