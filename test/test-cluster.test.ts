/**
 * The test cluster that `scripts/test-env.sh up` brings up (and `npm test`
 * runs against): real SLURM with four nodes and sshd on 127.0.0.1:2222 for
 * the non-root user the annex tests log in as. These tests check what the
 * annex front-end will rely on: a key login, one shared (ControlMaster)
 * connection for later commands, sbatch/squeue/scancel as that user, and
 * jobs running on several nodes as that user.
 *
 * The connection details come from the environment `scripts/test.sh` sets
 * (`scripts/test-env.sh env`); run alone, without them, the tests say so
 * and skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const env = {
  host: process.env.HTC_TEST_SSH_HOST,
  port: process.env.HTC_TEST_SSH_PORT,
  user: process.env.HTC_TEST_SSH_USER,
  key: process.env.HTC_TEST_SSH_KEY,
  knownHosts: process.env.HTC_TEST_SSH_KNOWN_HOSTS,
};
const missing = Object.values(env).some((v) => v === undefined || v === '');
const skip = missing ? 'the test cluster is not up: run scripts/test-env.sh up and export scripts/test-env.sh env (npm test does both)' : false;

let work = '';
let control = '';

function sshArgs(extra: string[] = []): string[] {
  return [
    '-p', env.port!, '-i', env.key!, '-o', `UserKnownHostsFile=${env.knownHosts!}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
    '-o', `ControlPath=${control}`, ...extra, `${env.user!}@${env.host!}`,
  ];
}

/** Runs a remote command over the shared connection; returns stdout, fails the test on an error. */
function remote(command: string): string {
  const r = spawnSync('ssh', [...sshArgs(), command], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `ssh ${command}: ${r.stderr}`);
  return r.stdout;
}

async function waitForState(jobId: string, wanted: readonly string[]): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const state = remote(`squeue -h -j ${jobId} -t all -o %T`).trim();
    if (wanted.includes(state)) return state;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${jobId} never reached ${wanted.join(' or ')}`);
}

before(() => {
  if (missing) return;
  work = mkdtempSync(join(tmpdir(), 'htc-cluster-'));
  control = join(work, 'cm.sock');
  // One login; every command below reuses it (what `htc annex create` does).
  const master = spawnSync('ssh', [...sshArgs(['-M', '-f', '-N', '-o', 'ControlPersist=60'])], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(master.status, 0, `ssh master: ${master.stderr}`);
});

after(() => {
  if (missing) return;
  spawnSync('ssh', [...sshArgs(['-O', 'exit'])], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

describe('the test cluster', { skip }, () => {
  it('logs in with a key as the non-root user, over one shared connection', () => {
    assert.equal(remote('id -un').trim(), env.user);
    const check = spawnSync('ssh', [...sshArgs(['-O', 'check'])], { encoding: 'utf8' });
    assert.equal(check.status, 0, 'the control master answers');
    assert.match(check.stderr, /Master running/);
  });

  it('runs a two-node batch job as that user, one task per node', async () => {
    const jobId = remote('sbatch --parsable -p debug -N 2 --ntasks-per-node=1 -t 1 -o cluster-test.%j --wrap "srun sh -c \'echo \\$SLURM_NODEID \\$(id -un)\'"').trim();
    assert.match(jobId, /^\d+$/);
    assert.equal(await waitForState(jobId, ['COMPLETED', 'FAILED', 'CANCELLED']), 'COMPLETED');
    const lines = remote(`cat cluster-test.${jobId}; rm -f cluster-test.${jobId}`).trim().split('\n').sort();
    assert.deepEqual(lines, [`0 ${env.user!}`, `1 ${env.user!}`]);
  });

  it('cancels a job with scancel', async () => {
    const jobId = remote('sbatch --parsable -p debug -N 1 -t 2 -o /dev/null --wrap "sleep 300"').trim();
    await waitForState(jobId, ['RUNNING']);
    remote(`scancel ${jobId}`);
    assert.equal(await waitForState(jobId, ['CANCELLED', 'COMPLETED', 'FAILED']), 'CANCELLED');
  });

  it('refuses a job over the partition limits at submit (EnforcePartLimits)', () => {
    const r = spawnSync('ssh', [...sshArgs(), 'sbatch -p debug -t 30 --wrap true'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /time limit|Requested time limit/i);
  });
});
