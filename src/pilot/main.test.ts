/**
 * `htc-pilot`'s command line, in process (pilotMain with buffers for
 * stdout/stderr): help and version, and every argument mistake as one
 * `htc-pilot: error:` line with exit 2. The built executable is tested in
 * src/annex/pilot-executable.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PILOT_VERSION, pilotMain } from './main.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function main(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await pilotMain(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, stdout, stderr };
}

describe('pilotMain', () => {
  it('--version prints the package version and exits 0', async () => {
    assert.equal(PILOT_VERSION, pkg.version);
    for (const flag of ['--version', '-V']) {
      const r = await main(flag);
      assert.deepEqual(r, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await main('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: htc-pilot --config FILE \[--work-dir DIR\]/);
    assert.match(r.stdout, /--work-dir DIR/);
    assert.equal(r.stderr, '');
  });

  const mistakes: [string[], RegExp][] = [
    [[], /--config FILE is required/],
    [['--config'], /--config needs a value/],
    [['--config='], /--config needs a value/],
    [['--config', '--work-dir', 'x'], /--config needs a value/],
    [['--config', 'a.json', '--config', 'b.json'], /--config is given twice/],
    [['--work-dir', 'w'], /--config FILE is required/],
    [['--cofnig', 'a.json'], /unknown option --cofnig/],
    [['--cofnig=a.json'], /unknown option --cofnig/],
    [['a.json'], /unexpected argument "a\.json"/],
    [['--config', '/nonexistent/pilot.json'], /--config \/nonexistent\/pilot\.json: no such file/],
  ];
  for (const [argv, message] of mistakes) {
    it(`[${argv.join(' ')}]: one error line, exit 2`, async () => {
      const r = await main(...argv);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^htc-pilot: error: [^\n]+\n$/);
      assert.match(r.stderr, message);
    });
  }
});
