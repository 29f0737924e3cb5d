/**
 * The SLURM back-end (slurm-backend.sh) run by a real POSIX sh, here, with a
 * stand-in `sbatch` on PATH: its progress lines, its exit code per cause,
 * the scratch template's expansion (variables only), and that a failure
 * after the pilot directory was made leaves no directory. The real sbatch
 * runs it in test/annex-slurm.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKEND_FAILURES, BACKEND_SCRIPT, isPilotDir, parseBackendOutput } from './slurm-system.ts';

let work = '';
let bin = '';
let exe = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'htc-backend-'));
  bin = join(work, 'bin');
  mkdirSync(bin);
  exe = join(work, 'htc-pilot');
  writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A stand-in sbatch: prints `answer` and exits `code`; records its working directory and arguments. */
function fakeSbatch(answer: string, code = 0): void {
  writeFileSync(join(bin, 'sbatch'), `#!/bin/sh\npwd > "${work}/sbatch-cwd"\necho "$@" > "${work}/sbatch-args"\necho '${answer}'\nexit ${code}\n`);
  chmodSync(join(bin, 'sbatch'), 0o755);
}

function backend(args: string[], input: string, env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', ['-c', BACKEND_SCRIPT, 'htc-annex-backend', ...args], {
    input,
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: work, USER: 'tester', ...env },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const INPUT = '{"token":"secret"}\n#!/bin/sh\n#SBATCH --nodes=2\nsrun true\n';

describe('the SLURM back-end script', () => {
  it('makes a private pilot directory, writes the config and batch script, links the executable and submits from there', () => {
    fakeSbatch('4242');
    const r = backend(['$HOME/scratch', 'ann', 'req-1', exe], INPUT);
    assert.equal(r.status, 0, r.stderr);
    const out = parseBackendOutput(r.stdout);
    const dir = join(work, 'scratch', 'ann.req-1');
    assert.deepEqual({ pilotDir: out.pilotDir, jobId: out.jobId }, { pilotDir: dir, jobId: '4242' });
    assert.match(out.pid ?? '', /^\d+$/);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'pilot.json')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'pilot.json'), 'utf8'), '{"token":"secret"}\n');
    assert.equal(readFileSync(join(dir, 'batch.sh'), 'utf8'), '#!/bin/sh\n#SBATCH --nodes=2\nsrun true\n');
    assert.ok(lstatSync(join(dir, 'htc-pilot')).isSymbolicLink());
    assert.equal(readlinkSync(join(dir, 'htc-pilot')), exe);
    assert.equal(readFileSync(join(work, 'sbatch-cwd'), 'utf8').trim(), dir);
    assert.equal(readFileSync(join(work, 'sbatch-args'), 'utf8').trim(), '--parsable batch.sh');
    assert.ok(isPilotDir(dir, { annexName: 'ann', requestId: 'req-1' }));
  });

  it('takes the job id from the last line, before a cluster name', () => {
    fakeSbatch('sbatch: warning: something\n77;cluster2');
    const r = backend(['$HOME/scratch', 'ann', 'req-2', exe], INPUT);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parseBackendOutput(r.stdout).jobId, '77');
  });

  it('expands ${NAME} and $NAME in the scratch template and nothing else', () => {
    fakeSbatch('1');
    const r = backend(['${SCR}/x/$USER', 'ann', 'req-3', exe], INPUT, { SCR: join(work, 's2') });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parseBackendOutput(r.stdout).pilotDir, join(work, 's2', 'x', 'tester', 'ann.req-3'));
    const hostile = backend(['$HOME/$(touch pwned)', 'ann', 'req-4', exe], INPUT);
    assert.equal(hostile.status, 2);
    assert.match(hostile.stderr, /cannot expand/);
    assert.equal(existsSync(join(work, 'pwned')), false);
    // Only the environment: not the script's own variables, and a "${" must close.
    assert.equal(backend(['/tmp/$scratch_template', 'ann', 'req-5', exe], INPUT).status, 3);
    const unclosed = backend(['${HOME/s', 'ann', 'req-6', exe], INPUT);
    assert.equal(unclosed.status, 2);
    assert.match(unclosed.stderr, /without its/);
    const empty = backend(['$EMPTY/s', 'ann', 'req-7', exe], INPUT, { EMPTY: '' });
    assert.equal(empty.status, 3);
    assert.match(empty.stderr, /\$EMPTY is empty/);
  });

  it('exits with a code per cause, each with words for the user, and leaves no pilot directory', () => {
    fakeSbatch('1');
    const cases: [string[], string, number, RegExp][] = [
      [['$HOME/s', 'ann'], INPUT, 2, /usage/],
      [['$HOME/s', 'bad name', 'r', exe], INPUT, 2, /bad annex name/],
      [['$NOPE/s', 'ann', 'r5', exe], INPUT, 3, /\$NOPE is not set/],
      [['/proc/htc-cannot', 'ann', 'r6', exe], INPUT, 3, /cannot create it|not a writable/],
      [['$HOME/s', 'ann', 'r7', join(work, 'missing')], INPUT, 5, /missing or not executable/],
      [['$HOME/s', 'ann', 'r8', exe], '', 2, /no pilot configuration/],
    ];
    for (const [args, input, code, message] of cases) {
      const r = backend(args, input);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(BACKEND_FAILURES[code] !== undefined);
    }
    assert.equal(existsSync(join(work, 's', 'ann.r7')), false);
    assert.equal(existsSync(join(work, 's', 'ann.r8')), false);
    // The same request twice: the directory exists, nothing is overwritten.
    fakeSbatch('9');
    assert.equal(backend(['$HOME/s', 'ann', 'twice', exe], INPUT).status, 0);
    const again = backend(['$HOME/s', 'ann', 'twice', exe], INPUT);
    assert.equal(again.status, 4);
  });

  it('passes on what sbatch said when it refuses the job, and removes the pilot directory', () => {
    fakeSbatch('sbatch: error: invalid partition specified: nope', 1);
    const r = backend(['$HOME/s', 'ann', 'refused', exe], INPUT);
    assert.equal(r.status, 7);
    assert.match(r.stderr, /invalid partition specified: nope/);
    assert.equal(parseBackendOutput(r.stdout).pilotDir, join(work, 's', 'ann.refused'));
    assert.equal(existsSync(join(work, 's', 'ann.refused')), false);
  });

  it('says so when there is no sbatch', () => {
    // A PATH with the tools the script uses and no sbatch (this machine may have a real one in /usr/bin).
    const tools = join(work, 'tools');
    mkdirSync(tools);
    for (const tool of ['mkdir', 'sed', 'ln', 'cat', 'hostname', 'tail', 'rm', 'printenv']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(tools, tool));
    }
    const r = spawnSync('/bin/sh', ['-c', BACKEND_SCRIPT, 'htc-annex-backend', '$HOME/s', 'ann', 'nosbatch', exe], { input: INPUT, encoding: 'utf8', env: { PATH: tools, HOME: work } });
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, /sbatch: not found/);
    assert.equal(existsSync(join(work, 's', 'ann.nosbatch')), false);
  });
});
