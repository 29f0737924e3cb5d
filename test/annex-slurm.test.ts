/**
 * Annexes on the test cluster, end to end, as a user would run them: the
 * real AP and CLI here, one SSH login as `hpcuser` to sshd on
 * 127.0.0.1:2222, the pilot executable copied to the login node, the
 * back-end submitting to the real SLURM, pilots on its nodes attaching to
 * the AP. Checked with SLURM's and the file system's own eyes (`squeue`,
 * `ls` over SSH): shutdown leaves no batch job and no pilot directory.
 *
 * Skips (saying why) without the test cluster; `npm test` brings it up.
 * Waits poll with a deadline and assert on states, never on durations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { htc, ok, waitFor as waitUntil } from './cli-site.ts';

/** Waits on the cluster poll more slowly and longer than on a local AP. */
const waitFor = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> => waitUntil(what, probe, timeoutMs, 300);

const e = process.env;
const missing = [e.HTC_TEST_SSH_HOST, e.HTC_TEST_SSH_PORT, e.HTC_TEST_SSH_USER, e.HTC_TEST_SSH_KEY, e.HTC_TEST_SSH_KNOWN_HOSTS].some((v) => v === undefined || v === '');
const skip = missing ? 'the test cluster is not up: run scripts/test-env.sh up and export scripts/test-env.sh env (npm test does both)' : false;

let work = '';

interface Site {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

function site(name: string, env: NodeJS.ProcessEnv = {}): Site {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return { dir, env: { ...process.env, HTC_DIR: join(dir, 'ap'), HTC_CONFIG_DIR: join(dir, 'config'), ...env } };
}

/** A user's site file (HTC_CONFIG_DIR/systems/NAME.json): the test cluster's login on `port`, with one queue. */
function userSystem(s: Site, name: string, port: string, queue: string): void {
  mkdirSync(join(s.dir, 'config', 'systems'), { recursive: true });
  writeFileSync(
    join(s.dir, 'config', 'systems', `${name}.json`),
    JSON.stringify({
      name, supported: true, batchSystem: 'slurm', loginHost: e.HTC_TEST_SSH_HOST, loginPort: Number(port), loginName: e.HTC_TEST_SSH_USER,
      defaultQueue: queue, requiresProject: false, scratch: '$HOME/htc-annex-scratch', slurm: { queueOption: 'partition' },
      queues: [{ name: queue, allocation: 'node', maxNodes: 4, coresPerNode: 4, ramPerNodeMb: 1000, maxDurationSeconds: 600 }],
    }),
  );
}

/** The options that point the CLI at the test cluster's key and pinned host key. */
const LOGIN = ['--identity-file', e.HTC_TEST_SSH_KEY ?? '', '--known-hosts', e.HTC_TEST_SSH_KNOWN_HOSTS ?? ''];

/** A command on the login node as hpcuser, over its own connection (the test's eyes, not htc's). */
function remote(command: string): string {
  const r = spawnSync('ssh', ['-p', e.HTC_TEST_SSH_PORT!, '-i', e.HTC_TEST_SSH_KEY!, '-o', `UserKnownHostsFile=${e.HTC_TEST_SSH_KNOWN_HOSTS!}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${e.HTC_TEST_SSH_USER!}@${e.HTC_TEST_SSH_HOST!}`, command], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `ssh ${command}: ${r.stderr}`);
  return r.stdout;
}

/** SLURM jobs of the test user named like an annex's. */
function annexJobs(name: string): string[] {
  return remote(`squeue -h -u ${e.HTC_TEST_SSH_USER!} -n htc-annex-${name} -o %i`).split('\n').filter((l) => l.trim() !== '');
}

function slurmState(jobId: string): string {
  return remote(`squeue -h -j ${jobId} -t all -o %T 2>/dev/null || true`).trim();
}

/** Pilot directories of an annex on the login node. */
function pilotDirs(name: string): string[] {
  return remote(`ls -d htc-annex-scratch/${name}.* 2>/dev/null || true`).split('\n').filter((l) => l.trim() !== '');
}

type Ad = Record<string, unknown>;
interface RequestView {
  requestId: string;
  state: string;
  jobId: string | null;
  pilotDir: string | null;
  endReason: string | null;
  slurm: { state: string; reason: string } | null;
}
interface AnnexView {
  name: string;
  requests: RequestView[];
  slots: { requestId: string | null; cpus: number; slotName: string }[];
}

function status(s: Site, name: string): AnnexView {
  const all = JSON.parse(ok(s, ['annex', 'status', name, '--json', ...LOGIN])) as AnnexView[];
  assert.equal(all.length, 1);
  return all[0]!;
}

function completedOf(s: Site, clusterId: number): Ad[] {
  return (JSON.parse(ok(s, ['job', 'history', '--json'])) as Ad[]).filter((a) => a.ClusterId === clusterId && a.JobStatus === 4);
}

function jobsOf(s: Site, clusterId: number): Ad[] {
  return (JSON.parse(ok(s, ['job', 'list', '--json'])) as Ad[]).filter((a) => a.ClusterId === clusterId);
}

function workload(s: Site, jobs: number, seconds: number): void {
  writeFileSync(join(s.dir, 'work.sh'), `#!/bin/sh\nsleep ${seconds}\nread line < input.txt\necho "$line / job $1 on $(hostname) as $(id -un)" > result.txt\n`);
  chmodSync(join(s.dir, 'work.sh'), 0o755);
  writeFileSync(join(s.dir, 'input.txt'), 'from the submitter\n');
  mkdirSync(join(s.dir, 'results'), { recursive: true });
  writeFileSync(
    join(s.dir, 'work.sub'),
    [
      'executable = work.sh',
      'arguments = $(Process)',
      'transfer_input_files = input.txt',
      'transfer_output_files = result.txt',
      'transfer_output_remaps = "result.txt = results/result.$(Process).txt"',
      `queue ${jobs}`,
      '',
    ].join('\n'),
  );
}

before(() => {
  if (missing) return;
  work = mkdtempSync(join(tmpdir(), 'htc-slurm-'));
});

after(() => {
  if (missing) return;
  for (const name of readdirSync(work)) {
    // Masters the CLI left open (ControlPersist), and APs.
    const sockets = join(work, name, 'ap', 'ssh');
    try {
      for (const sock of readdirSync(sockets)) spawnSync('ssh', ['-o', `ControlPath=${join(sockets, sock)}`, '-O', 'exit', 'x'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // none
    }
    try {
      const access = JSON.parse(readFileSync(join(work, name, 'ap', 'access.json'), 'utf8')) as { pid: number };
      process.kill(access.pid, 'SIGKILL');
    } catch {
      // not running
    }
  }
  // Whatever a failed test left on the cluster.
  spawnSync('ssh', ['-p', e.HTC_TEST_SSH_PORT!, '-i', e.HTC_TEST_SSH_KEY!, '-o', `UserKnownHostsFile=${e.HTC_TEST_SSH_KNOWN_HOSTS!}`, '-o', 'BatchMode=yes', `${e.HTC_TEST_SSH_USER!}@${e.HTC_TEST_SSH_HOST!}`, `scancel -u ${e.HTC_TEST_SSH_USER!}; rm -rf htc-annex-scratch/t-*`], { stdio: 'ignore', timeout: 30_000 });
  rmSync(work, { recursive: true, force: true });
});

describe('an annex on the test cluster (SLURM over SSH)', { skip }, () => {
  it('runs a workload on 2 nodes, shows pending then active, and leaves no batch job and no pilot directory', async () => {
    const s = site('basic');
    ok(s, ['ap', 'start']);
    workload(s, 12, 0.2);
    ok(s, ['job', 'submit', 'work.sub', '--annex-name', 't-basic']);
    // Every node busy: the annex's batch job must wait, so "pending" is seen for sure.
    const blocker = remote('sbatch --parsable -N 4 --exclusive -p debug -t 5 --wrap "sleep 300"').trim();
    await waitFor('the blocker to run', () => slurmState(blocker) === 'RUNNING');

    // An empty cache on the login node: this create copies the pilot executable (and says so).
    remote('rm -rf .cache/htc-annex');
    const run = htc(s, ['annex', 'create', 't-basic', 'debug@test-cluster', '--nodes', '2', '--lifetime', '300', '--idle-time', '60', '--yes', '--json', ...LOGIN]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^Copying the pilot executable \(\d+\.\d MB\)\.\.\.\nCopied in [\d.]+ s\.\n$/);
    const created = JSON.parse(run.stdout) as { requestId: string; jobId: string; pilotDir: string; executableCopied: boolean };
    assert.equal(created.executableCopied, true);
    assert.match(remote('ls .cache/htc-annex'), /^htc-pilot-[0-9a-f]{16}\n$/, 'one complete copy, no temporary file left');
    assert.match(created.jobId, /^\d+$/);
    assert.deepEqual(annexJobs('t-basic'), [created.jobId]);
    const pending = status(s, 't-basic');
    assert.equal(pending.requests[0]!.state, 'requested');
    assert.equal(pending.requests[0]!.slurm?.state, 'PENDING');
    assert.equal(pending.requests[0]!.jobId, created.jobId);
    assert.match(ok(s, ['annex', 'status', 't-basic', ...LOGIN]), new RegExp(`1 pending, 0 active.*SLURM job ${created.jobId} PENDING`, 's'));
    // The pilot directory is made and private, with the token readable only by its owner.
    assert.match(remote(`stat -c %a ${created.pilotDir} ${created.pilotDir}/pilot.json`), /^700\n600\n$/);

    remote(`scancel ${blocker}`);
    await waitFor('2 pilots to attach', () => status(s, 't-basic').slots.length === 2);
    const active = status(s, 't-basic');
    assert.equal(active.requests[0]!.state, 'running');
    assert.equal(active.requests[0]!.slurm?.state, 'RUNNING');
    assert.deepEqual(active.slots.map((x) => x.cpus), [4, 4], 'each pilot offers its whole node');

    await waitFor('12 completed jobs', () => completedOf(s, 1).length === 12);
    for (let p = 0; p < 12; p++) {
      assert.match(readFileSync(join(s.dir, 'results', `result.${p}.txt`), 'utf8'), new RegExp(`^from the submitter / job ${p} on \\S+ as ${e.HTC_TEST_SSH_USER!}\\n$`));
    }
    const ads = completedOf(s, 1);
    assert.ok(ads.every((a) => a.MachineAttrAnnexName0 === 't-basic' && a.NumJobStarts === 1));

    const shut = JSON.parse(ok(s, ['annex', 'shutdown', 't-basic', '--json', ...LOGIN])) as { pilotsTold: number; left: string[]; checked: string[] };
    assert.equal(shut.pilotsTold, 2);
    assert.deepEqual(shut.left, []);
    assert.deepEqual(shut.checked, [`${e.HTC_TEST_SSH_USER!}@${e.HTC_TEST_SSH_HOST!}:${e.HTC_TEST_SSH_PORT!}`], 'the shutdown checked where the batch job was');
    assert.deepEqual(annexJobs('t-basic'), [], 'no SLURM job of the annex is left');
    assert.deepEqual(pilotDirs('t-basic'), [], 'no pilot directory is left');
    const retired = status(s, 't-basic');
    assert.equal(retired.requests[0]!.state, 'retired');
    assert.match(retired.requests[0]!.endReason ?? '', /shut down/);
    ok(s, ['ap', 'stop']);
  });

  it('shows what SLURM said when it refuses the batch job, and keeps no request record', () => {
    const s = site('refused');
    // A site whose catalog names a partition SLURM does not have.
    userSystem(s, 'wrong-cluster', e.HTC_TEST_SSH_PORT!, 'nope');
    ok(s, ['ap', 'start']);
    const r = htc(s, ['annex', 'create', 't-refused', 'nope@wrong-cluster', '--lifetime', '300', '--idle-time', '60', '--yes', '--allow-empty', ...LOGIN]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /Error while trying to run annex create: SLURM refused the batch job on hpcuser@127\.0\.0\.1:2222: sbatch: error: .*[Pp]artition/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(pilotDirs('t-refused'), [], 'the pilot directory went with the refused job');
    assert.equal((JSON.parse(ok(s, ['job', 'list', '--json'])) as Ad[]).length, 0, 'no request record is left in the queue');
    const view = status(s, 't-refused');
    assert.equal(view.requests[0]!.state, 'retired');
    assert.match(view.requests[0]!.endReason ?? '', /SLURM refused/);
    // The name is free again.
    assert.match(htc(s, ['annex', 'create', 't-refused', 'debug@test-cluster', '--lifetime', '300', '--idle-time', '60', '--test']).stderr, /^$/);
    ok(s, ['ap', 'stop']);
  });

  it('says clearly when the login fails: an unknown host, a refused key', () => {
    const s = site('badlogin');
    ok(s, ['ap', 'start']);
    const unknown = htc(s, ['annex', 'create', 't-bad', 'debug@test-cluster', '--yes', '--allow-empty', '--lifetime', '300', '--idle-time', '60', '--login-host', 'no-such-host.invalid', ...LOGIN]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /could not log in to hpcuser@no-such-host\.invalid:2222/);
    const key = join(s.dir, 'other_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    const refused = htc(s, ['annex', 'create', 't-bad', 'debug@test-cluster', '--yes', '--allow-empty', '--lifetime', '300', '--idle-time', '60', '--identity-file', key, '--known-hosts', e.HTC_TEST_SSH_KNOWN_HOSTS!]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /could not log in to hpcuser@127\.0\.0\.1:2222/);
    assert.equal((JSON.parse(ok(s, ['job', 'list', '--json'])) as Ad[]).length, 0, 'nothing was recorded');
    assert.deepEqual(annexJobs('t-bad'), []);
    ok(s, ['ap', 'stop']);
  });

  it('puts the jobs of a pilot whose batch job is cancelled back in the queue, and they finish on another', async () => {
    const s = site('scancel', { HTC_SLOT_LEASE_SECONDS: '3', HTC_JOB_LEASE_SECONDS: '4', HTC_HEARTBEAT_SECONDS: '0.5' });
    ok(s, ['ap', 'start']);
    workload(s, 4, 8);
    ok(s, ['job', 'submit', 'work.sub', '--annex-name', 't-cancel']);
    const first = JSON.parse(ok(s, ['annex', 'create', 't-cancel', 'debug@test-cluster', '--lifetime', '300', '--idle-time', '60', '--yes', '--json', ...LOGIN])) as { jobId: string; requestId: string };
    await waitFor('4 jobs running on the first pilot', () => jobsOf(s, 1).filter((a) => a.JobStatus === 2).length === 4);
    const second = JSON.parse(ok(s, ['annex', 'add', 't-cancel', 'debug@test-cluster', '--lifetime', '300', '--idle-time', '60', '--yes', '--json', ...LOGIN])) as { jobId: string; requestId: string; executableCopied: boolean };
    assert.notEqual(second.jobId, first.jobId);
    assert.equal(second.executableCopied, false, 'the cached executable is reused');
    await waitFor('the second pilot to attach', () => status(s, 't-cancel').slots.length === 2);

    remote(`scancel ${first.jobId}`);
    const after = await waitFor('the first pilot to go', () => {
      const v = status(s, 't-cancel');
      return v.slots.length === 1 && v.slots[0]!.requestId === second.requestId ? v : undefined;
    });
    // Every job that runs now runs on the pilot that is alive.
    const alive = after.slots[0]!.slotName.split('@')[1];
    for (const job of jobsOf(s, 1)) if (job.JobStatus === 2) assert.equal(String(job.RemoteHost).split('@')[1], alive, 'no job shows running on a dead pilot');
    await waitFor('4 completed jobs', () => completedOf(s, 1).length === 4, 180_000);
    assert.ok(completedOf(s, 1).every((a) => a.NumJobStarts === 2), 'each job ran again after its pilot was cancelled');
    // The cancelled request is settled from squeue's view: retired, with SLURM's word for it.
    const cancelled = status(s, 't-cancel').requests.find((r) => r.requestId === first.requestId)!;
    assert.equal(cancelled.state, 'retired');
    assert.match(cancelled.endReason ?? '', new RegExp(`SLURM job ${first.jobId} (ended: CANCELLED|is no longer known)`));
    ok(s, ['annex', 'shutdown', 't-cancel', ...LOGIN]);
    assert.deepEqual(annexJobs('t-cancel'), []);
    assert.deepEqual(pilotDirs('t-cancel'), []);
    ok(s, ['ap', 'stop']);
  });

  it('ends a pilot at its lifetime before SLURM would, and an idle pilot by itself; their batch jobs end and their directories go', async () => {
    const s = site('ends');
    ok(s, ['ap', 'start']);
    const idle = JSON.parse(ok(s, ['annex', 'create', 't-idle', 'debug@test-cluster', '--lifetime', '300', '--idle-time', '3', '--yes', '--allow-empty', '--json', ...LOGIN])) as { jobId: string; pilotDir: string };
    const lifetime = JSON.parse(ok(s, ['annex', 'create', 't-life', 'debug@test-cluster', '--lifetime', '20', '--idle-time', '20', '--yes', '--allow-empty', '--json', ...LOGIN])) as { jobId: string; pilotDir: string };
    // A job keeps the lifetime pilot busy, so only its lifetime can end it.
    workload(s, 1, 600);
    ok(s, ['job', 'submit', 'work.sub', '--annex-name', 't-life']);
    await waitFor('the idle pilot to end and its batch job with it', () => ['COMPLETED', ''].includes(slurmState(idle.jobId)));
    assert.deepEqual(pilotDirs('t-idle'), []);
    await waitFor('the lifetime pilot to end', () => ['COMPLETED', ''].includes(slurmState(lifetime.jobId)), 120_000);
    assert.deepEqual(pilotDirs('t-life'), []);
    // Status settles both requests from squeue: their batch jobs are over.
    for (const name of ['t-idle', 't-life']) {
      const view = status(s, name);
      assert.equal(view.requests[0]!.state, 'retired');
      assert.match(view.requests[0]!.endReason ?? '', /ended: COMPLETED|no longer known/);
    }
    const job = jobsOf(s, 3)[0]!; // clusters 1 and 2 are the two annex requests
    assert.equal(job.JobStatus, 1, `the job it ran went back to the queue: ${JSON.stringify(job)}`);
    ok(s, ['ap', 'stop']);
  });

  it('logs in with a second factor once: one TOTP prompt serves create, status and shutdown', { skip: e.HTC_TEST_MFA_PORT === undefined || e.HTC_TEST_MFA_SECRET === undefined ? 'no second-factor sshd (scripts/test-env.sh up starts it)' : false }, async () => {
    const s = site('mfa');
    // The same cluster behind the sshd that asks for a TOTP code after the key: a user's site file.
    userSystem(s, 'mfa-cluster', e.HTC_TEST_MFA_PORT!, 'debug');
    // The user's answer to the prompt: an askpass program (as a terminal would be); it notes each prompt.
    const prompts = join(s.dir, 'prompts.txt');
    const askpass = join(s.dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${prompts}'\nexec oathtool --totp -b "$(cat '${e.HTC_TEST_MFA_SECRET!}')"\n`);
    chmodSync(askpass, 0o755);
    const withFactor: Site = { dir: s.dir, env: { ...s.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' } };
    ok(s, ['ap', 'start']);

    // Without a way to answer (no terminal, no askpass), the login fails clearly rather than hang.
    const refused = htc(s, ['annex', 'login', 'mfa-cluster', ...LOGIN]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /could not log in to hpcuser@127\.0\.0\.1:\d+/);

    const created = JSON.parse(ok(withFactor, ['annex', 'create', 't-mfa', 'debug@mfa-cluster', '--lifetime', '300', '--idle-time', '60', '--yes', '--allow-empty', '--json', ...LOGIN])) as { jobId: string };
    await waitFor('the pilot to attach', () => status(withFactor, 't-mfa').slots.length === 1);
    assert.equal(status(withFactor, 't-mfa').requests[0]!.slurm?.state, 'RUNNING', 'status asked squeue over the same login');
    ok(withFactor, ['annex', 'shutdown', 't-mfa', ...LOGIN]);
    assert.deepEqual(annexJobs('t-mfa'), []);
    assert.equal(slurmState(created.jobId).replace('COMPLETED', 'CANCELLED') || 'CANCELLED', 'CANCELLED');
    assert.deepEqual(pilotDirs('t-mfa'), []);
    const asked = readFileSync(prompts, 'utf8');
    assert.equal(asked.match(/TOTP code:/g)?.length, 1, `one prompt for the whole campaign, got: ${asked}`);
    assert.match(asked, /Simulated MFA/);
    ok(s, ['ap', 'stop']);
  });
});
