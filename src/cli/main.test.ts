/**
 * The CLI as users run it: a real `node bin/htc.js` process, so the tsx
 * loader, the error boundary and the exit codes are all exercised.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const bin = fileURLToPath(new URL('../../bin/htc.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function htc(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('htc CLI', () => {
  it('--version prints the package version and exits 0', () => {
    const r = htc('--version');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('an unknown command exits 2 with a message and no stack trace', () => {
    const r = htc('no-such-command');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^htc: error: unknown command 'no-such-command'/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  });

  it('an unknown option exits 2', () => {
    const r = htc('version', '--no-such-option');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--no-such-option'/);
  });

  it('version --json prints one JSON document', () => {
    const r = htc('version', '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const doc = JSON.parse(lines[0] ?? '') as unknown;
    assert.deepEqual(doc, { htc: pkg.version, node: process.versions.node });
  });

  it('version prints text by default', () => {
    const r = htc('version');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^htc:\s+\S+\nnode:\s+\S+\n$/);
  });
});
