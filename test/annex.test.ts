/**
 * Local annexes end to end: the real access point and CLI, and real pilot
 * processes started by `htc annex create NAME local@local`. Jobs run, their
 * outputs come back, annexes end and leave nothing behind; and the faults
 * of the issue: a pilot killed mid-job, a pilot stopped past its lease, the
 * AP killed mid-run, and outputs that point outside the sandbox.
 *
 * Leases are shortened through the environment (HTC_*_SECONDS) so the fault
 * tests take seconds; waits poll with a deadline and assert on states, never
 * on durations.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { createPinnedAgent } from '../src/auth/pin.ts';
import { ApClient } from '../src/client/index.ts';
import { isAlive } from '../src/processes.ts';
import { PILOT_PROTOCOL_VERSION, frameText, parseApMessage, type ApMessage } from '../src/protocol/pilot.ts';
import { htc, ok, sleep, waitFor } from './cli-site.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'htc.js');
let work = '';

interface Site {
  readonly dir: string;
  readonly ap: string;
  readonly scratch: string;
  readonly env: NodeJS.ProcessEnv;
}

function site(name: string, env: NodeJS.ProcessEnv = {}): Site {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const ap = join(dir, 'ap');
  const scratch = join(dir, 'scratch');
  return { dir, ap, scratch, env: { ...process.env, HTC_DIR: ap, HTC_LOCAL_SCRATCH: scratch, ...env } };
}

type Ad = Record<string, unknown>;

function history(s: Site): Ad[] {
  return JSON.parse(ok(s, ['job', 'history', '--json'])) as Ad[];
}

function jobs(s: Site): Ad[] {
  return JSON.parse(ok(s, ['job', 'list', '--json'])) as Ad[];
}

function completedOf(s: Site, clusterId: number): Ad[] {
  return history(s).filter((a) => a.ClusterId === clusterId && a.JobStatus === 4);
}

function createAnnex(s: Site, name: string, extra: string[]): { pids: number[]; requestId: string } {
  return JSON.parse(ok(s, ['annex', 'create', name, 'local@local', '--json', '--yes', ...extra])) as { pids: number[]; requestId: string };
}

const FAST_LEASES = { HTC_SLOT_LEASE_SECONDS: '2', HTC_JOB_LEASE_SECONDS: '3', HTC_HEARTBEAT_SECONDS: '0.5' };

before(() => {
  work = mkdtempSync(join(tmpdir(), 'htc-annex-e2e-'));
});

after(() => {
  // Whatever a failed test left running: pilots (their process groups) and APs.
  for (const name of readdirSync(work)) {
    const scratch = join(work, name, 'scratch');
    if (existsSync(scratch)) {
      for (const entry of readdirSync(scratch, { recursive: true }) as string[]) {
        if (!entry.endsWith('launch.json')) continue;
        const record = JSON.parse(readFileSync(join(scratch, entry), 'utf8')) as { pids: number[] };
        for (const pid of record.pids) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    try {
      const access = JSON.parse(readFileSync(join(work, name, 'ap', 'access.json'), 'utf8')) as { pid: number };
      process.kill(access.pid, 'SIGKILL');
    } catch {
      // not running
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('a local annex', () => {
  it('runs the jobs bound to it, brings their outputs back, and leaves nothing behind at shutdown', async () => {
    const s = site('basic');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'input.txt'), 'from the submitter\n');
    writeFileSync(join(s.dir, 'work.sh'), '#!/bin/sh\nread line < input.txt\necho "$line / job $1" > result.txt\necho "out $1"\necho "err $1" >&2\n');
    chmodSync(join(s.dir, 'work.sh'), 0o755);
    mkdirSync(join(s.dir, 'results'));
    writeFileSync(
      join(s.dir, 'work.sub'),
      [
        'executable = work.sh',
        'arguments = $(Process)',
        'transfer_input_files = input.txt',
        'transfer_output_files = result.txt',
        'transfer_output_remaps = "result.txt = results/result.$(Process).txt"',
        'output = out.$(Process)',
        'error = err.$(Process)',
        'log = work.log',
        'queue 6',
        '',
      ].join('\n'),
    );
    writeFileSync(join(s.dir, 'plain.sub'), 'executable = /bin/true\nqueue\n');
    assert.match(ok(s, ['job', 'submit', 'work.sub', '--annex-name', 'nightly']), /6 job\(s\) submitted to cluster 1/);
    ok(s, ['job', 'submit', 'plain.sub']); // no annex: must never run on the annex
    ok(s, ['job', 'submit', 'plain.sub', '--annex-name', 'other']); // another annex: same
    writeFileSync(join(s.dir, 'optin.sub'), 'executable = /bin/true\n+AllowAnnexSlots = true\nqueue\n');
    ok(s, ['job', 'submit', 'optin.sub']); // no annex, but its owner allows annex slots: runs there

    const { pids } = createAnnex(s, 'nightly', ['--nodes', '2', '--cpus', '2', '--idle-time', '60', '--lifetime', '600']);
    assert.equal(pids.length, 2);
    const explain = (): string =>
      JSON.stringify({ jobs: jobs(s).map((a) => [a.ClusterId, a.ProcId, a.JobStatus, a.HoldReason ?? null]), annex: JSON.parse(ok(s, ['annex', 'status', 'nightly', '--json'])) as unknown, log: readFileSync(join(s.ap, 'ap.log'), 'utf8').slice(-2000) });
    await waitFor('6 completed jobs', () => completedOf(s, 1).length === 6, 120_000, 200, explain);
    await waitFor('the opted-in job to complete', () => completedOf(s, 4).length === 1);

    for (let p = 0; p < 6; p++) {
      assert.equal(readFileSync(join(s.dir, 'results', `result.${p}.txt`), 'utf8'), `from the submitter / job ${p}\n`);
      assert.equal(readFileSync(join(s.dir, `out.${p}`), 'utf8'), `out ${p}\n`);
      assert.equal(readFileSync(join(s.dir, `err.${p}`), 'utf8'), `err ${p}\n`);
    }
    assert.ok(!existsSync(join(s.dir, 'result.txt')), 'the remapped output is only where the remap puts it');
    const done = completedOf(s, 1);
    for (const ad of done) {
      assert.equal(ad.ExitCode, 0);
      assert.equal(ad.NumJobStarts, 1);
      assert.equal(ad.MachineAttrAnnexName0, 'nightly');
      assert.match(String(ad.LastRemoteHost), /^slot1_\d+@/);
    }
    const used = JSON.parse(ok(s, ['job', 'resources', '1.0', '--json'])) as { starts: number; memoryPeakMb: number | null; wallSeconds: number; statusName: string; lastHost: string };
    assert.equal(used.statusName, 'Completed');
    assert.equal(used.starts, 1);
    assert.equal(typeof used.memoryPeakMb, 'number');
    assert.ok(used.wallSeconds >= 0);
    assert.match(used.lastHost, /^slot1_\d+@/);
    assert.match(ok(s, ['job', 'resources', '1.0']), /^cpu:\s+[\d.]+ s user, [\d.]+ s system$/m);
    const log = readFileSync(join(s.dir, 'work.log'), 'utf8');
    assert.equal(log.match(/^001 \(001\.\d{3}\.000\)/gm)?.length, 6, 'one execute event per job');
    assert.equal(log.match(/^005 \(001\.\d{3}\.000\)/gm)?.length, 6, 'one terminated event per job');

    const status = JSON.parse(ok(s, ['annex', 'status', 'nightly', '--json'])) as { slots: { cpus: number }[]; requests: { state: string }[] }[];
    assert.equal(status[0]!.slots.length, 2);
    assert.deepEqual(status[0]!.slots.map((x) => x.cpus), [2, 2]);
    assert.equal(status[0]!.requests[0]!.state, 'running');
    const left = jobs(s).filter((a) => a.JobUniverse !== 12);
    assert.equal(left.length, 2, 'the job without an annex and the one for another annex stay');
    assert.ok(left.every((a) => a.JobStatus === 1));

    const shut = JSON.parse(ok(s, ['annex', 'shutdown', 'nightly', '--json'])) as { pilotsTold: number; killed: number };
    assert.equal(shut.pilotsTold, 2);
    assert.equal(shut.killed, 0, 'the pilots ended on their own');
    for (const pid of pids) assert.ok(!isAlive(pid), `pilot ${pid} has ended`);
    assert.deepEqual(readdirSync(join(s.scratch, readdirSync(s.scratch)[0]!)), [], 'no pilot directory is left');
    const annexHistory = history(s).filter((a) => a.JobUniverse === 12);
    assert.equal(annexHistory.length, 1, 'the annex request is in history');
    assert.equal(annexHistory[0]!.hpc_annex_name, 'nightly');
    assert.equal(annexHistory[0]!.hpc_annex_system, 'local');
    assert.equal(typeof annexHistory[0]!.hpc_annex_start_time, 'number');
    // For an hour after, status still shows the request, retired, and why.
    const retired = JSON.parse(ok(s, ['annex', 'status', 'nightly', '--json'])) as { slots: unknown[]; requests: { state: string; endReason: string }[] }[];
    assert.equal(retired[0]!.slots.length, 0);
    assert.equal(retired[0]!.requests[0]!.state, 'retired');
    assert.match(retired[0]!.requests[0]!.endReason, /shut down by/);
    const gone = htc(s, ['annex', 'status', 'never-made']);
    assert.equal(gone.status, 2);
    assert.match(gone.stderr, /there is no annex named never-made/);
    ok(s, ['ap', 'stop']);
  });

  it('holds jobs whose files point outside the sandbox, with the reason', async () => {
    const s = site('escape');
    ok(s, ['ap', 'start']);
    const submit = (name: string, lines: string[]): void => {
      writeFileSync(join(s.dir, name), `${lines.join('\n')}\nqueue\n`);
      ok(s, ['job', 'submit', name, '--annex-name', 'x']);
    };
    submit('dotdot.sub', ['executable = /bin/true', 'transfer_output_files = ../secret']);
    submit('absolute.sub', ['executable = /bin/true', 'transfer_output_files = /etc/passwd']);
    submit('remap.sub', ['executable = /bin/true', 'transfer_output_files = a', 'transfer_output_remaps = "../a = b"']);
    writeFileSync(join(s.dir, 'link.sh'), '#!/bin/sh\nln -s /etc/passwd out.txt\n');
    chmodSync(join(s.dir, 'link.sh'), 0o755);
    submit('symlink.sub', ['executable = link.sh', 'transfer_output_files = out.txt']);
    submit('missing.sub', ['executable = /bin/true', 'transfer_input_files = no-such-file.txt']);
    createAnnex(s, 'x', ['--cpus', '2', '--idle-time', '30']);
    const held = await waitFor('five held jobs', () => {
      const h = jobs(s).filter((a) => a.JobStatus === 5);
      return h.length === 5 ? h : undefined;
    });
    const reason = (cluster: number): string => String(held.find((a) => a.ClusterId === cluster)?.HoldReason);
    assert.match(reason(1), /transfer_output_files: "\.\.\/secret" points outside the job's sandbox/);
    assert.match(reason(2), /transfer_output_files: "\/etc\/passwd" is an absolute path/);
    assert.match(reason(3), /transfer_output_remaps: "\.\.\/a" points outside the job's sandbox/);
    assert.match(reason(4), /out\.txt.*symbolic link.*outside the job's sandbox/);
    assert.match(reason(5), /no-such-file\.txt does not exist/);
    assert.ok(!existsSync(join(s.dir, 'out.txt')));
    ok(s, ['annex', 'shutdown', 'x']);
    ok(s, ['ap', 'stop']);
  });

  it('runs late-materialized jobs as they are made', async () => {
    const s = site('late');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'late.sub'), 'executable = /bin/echo\narguments = $(Process)\noutput = late.$(Process).out\nmax_materialize = 4\nqueue 20\n');
    ok(s, ['job', 'submit', 'late.sub', '--annex-name', 'lm']);
    createAnnex(s, 'lm', ['--cpus', '2', '--idle-time', '30']);
    await waitFor('20 completed jobs', () => completedOf(s, 1).length === 20);
    for (let p = 0; p < 20; p++) assert.equal(readFileSync(join(s.dir, `late.${p}.out`), 'utf8'), `${p}\n`);
    ok(s, ['annex', 'shutdown', 'lm']);
    ok(s, ['ap', 'stop']);
  });

  it('vacates its job back to the queue and ends before its lifetime is over', async () => {
    const s = site('lifetime');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'long.sub'), 'executable = /bin/sleep\narguments = 300\nlog = long.log\nqueue\n');
    ok(s, ['job', 'submit', 'long.sub', '--annex-name', 'short']);
    const { pids } = createAnnex(s, 'short', ['--cpus', '1', '--idle-time', '5', '--lifetime', '5']);
    await waitFor('the job to run', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 2);
    await waitFor('the pilot to end', () => !isAlive(pids[0]!), 30_000);
    const job = jobs(s).find((a) => a.ClusterId === 1)!;
    assert.equal(job.JobStatus, 1, 'the job is idle again');
    assert.equal(job.NumJobStarts, 1);
    assert.match(String(job.VacateReason), /the pilot is ending \(its lifetime is ending\)/);
    await waitFor('the evicted event in the user log', () => /^004 \(001\.000\.000\)/m.test(readFileSync(join(s.dir, 'long.log'), 'utf8')));
    await waitFor('its directory to go', () => readdirSync(join(s.scratch, readdirSync(s.scratch)[0]!)).filter((e) => e.startsWith('pilot-')).length === 0);
    ok(s, ['ap', 'stop']);
  });

  it('matches an idle job again once an edit lets it', async () => {
    const s = site('edit');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'big.sub'), 'executable = /bin/true\nrequirements = TARGET.Memory > 1000000000\nqueue\n');
    ok(s, ['job', 'submit', 'big.sub', '--annex-name', 'ed']);
    createAnnex(s, 'ed', ['--cpus', '1', '--idle-time', '60']);
    await waitFor('the pilot to attach', () => (JSON.parse(ok(s, ['annex', 'status', 'ed', '--json'])) as { slots: unknown[] }[])[0]!.slots.length === 1);
    await sleep(500);
    assert.equal(jobs(s).find((a) => a.ClusterId === 1)?.JobStatus, 1, 'no slot has that much memory: it stays idle');
    ok(s, ['job', 'edit', '1.0', 'Requirements', 'TARGET.Memory > 1']);
    await waitFor('the edited job to complete', () => completedOf(s, 1).length === 1);
    ok(s, ['annex', 'shutdown', 'ed']);
    ok(s, ['ap', 'stop']);
  });

  it('ends by itself when idle and removes its directory', async () => {
    const s = site('idle');
    ok(s, ['ap', 'start']);
    const empty = htc(s, ['annex', 'create', 'lazy', 'local@local', '--yes', '--cpus', '1']);
    assert.equal(empty.status, 2, 'an annex no job targets is refused');
    assert.match(empty.stderr, /no job of yours targets annex lazy: submit jobs with --annex-name lazy first \(or give --allow-empty/);
    const unconfirmed = htc(s, ['annex', 'create', 'lazy', 'local@local', '--allow-empty', '--cpus', '1']);
    assert.equal(unconfirmed.status, 2);
    assert.match(unconfirmed.stderr, /This will request 1 node for 1 hour for an annex named lazy from the queue local on the system local\. annex create asks for confirmation: run it in a terminal, or add --yes/);
    const { pids } = createAnnex(s, 'lazy', ['--allow-empty', '--cpus', '1', '--idle-time', '2', '--lifetime', '600']);
    await waitFor('the idle pilot to end', () => !isAlive(pids[0]!), 30_000);
    await waitFor('its directory to go', () => readdirSync(join(s.scratch, readdirSync(s.scratch)[0]!)).filter((e) => e.startsWith('pilot-')).length === 0);
    ok(s, ['ap', 'stop']);
  });
});

describe('annex requests checked before anything starts', () => {
  it('--test validates against the catalog with no access point: silent and 0 when valid, 1 and the reason when not', () => {
    const s = site('validate');
    for (const valid of [['x', 'GPU@bridges2', '--gpus', 'v100-16:8'], ['x', 'debug@perlmutter', '--project', 'm42', '--lifetime', '1800'], ['x', 'local@local', '--cpus', '2']]) {
      const r = htc(s, ['annex', 'create', ...valid, '--test']);
      assert.equal(r.status, 0, `${valid.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout + r.stderr, '', 'nothing is printed for a valid request');
    }
    const cases: [string[], RegExp][] = [
      [['x', 'GPU@bridges2'], /^Error while trying to run annex create: queue GPU on bridges2 has GPUs of types v100-32, v100-16/],
      [['x', 'debug@perlmutter', '--project', 'm42'], /^Error while trying to run annex create: --lifetime 3600: queue debug on perlmutter allows at most 1800 seconds/],
      [['x', 'perlmutter'], /^Error while trying to run annex create: "perlmutter": the argument must have the form queue@system/],
      [['x', 'nosuch@bridges2'], /^Error while trying to run annex create: .*nosuch/],
    ];
    for (const [args, message] of cases) {
      const r = htc(s, ['annex', 'create', ...args, '--test']);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, message);
    }
    const systems = JSON.parse(ok(s, ['annex', 'systems', '--json'])) as { name: string }[];
    for (const name of ['local', 'test-cluster', 'perlmutter', 'delta', 'expanse', 'anvil', 'bridges2']) assert.ok(systems.some((x) => x.name === name), name);
    assert.match(ok(s, ['annex', 'systems']), /^bridges2\s+GPU-shared/m);
  });

  it('--dry-run shows every step and the batch script, with no login and no access point', () => {
    const s = site('dry-run');
    // The login host does not exist: a dry run that tried to log in would fail.
    const r = htc(s, ['annex', 'create', 'x', 'debug@test-cluster', '--nodes', '2', '--lifetime', '300', '--idle-time', '60', '--dry-run', '--login-host', 'no-such-host.invalid']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^1\. Log in to hpcuser@no-such-host\.invalid:2222 once/m);
    assert.match(r.stdout, /make \$HOME\/htc-annex-scratch\/x\.<request-id>/);
    assert.match(r.stdout, /^#SBATCH --partition=debug$/m);
    assert.match(r.stdout, /^#SBATCH --nodes=2$/m);
    assert.match(r.stdout, /^#SBATCH --time=10$/m, 'lifetime + margin, within the queue limit');
    assert.match(r.stdout, /^srun /m);
    const perlmutter = htc(s, ['annex', 'create', 'x', 'debug@perlmutter', '--project', 'm42', '--lifetime', '1800', '--dry-run']);
    assert.equal(perlmutter.status, 0, perlmutter.stderr);
    for (const line of ['--qos=debug', '--account=m42', '--constraint=cpu', '--time=30']) assert.match(perlmutter.stdout, new RegExp(`^#SBATCH ${line}$`, 'm'));
    assert.doesNotMatch(perlmutter.stdout, /--partition/);
    // Validation still comes first.
    const invalid = htc(s, ['annex', 'create', 'x', 'debug@perlmutter', '--dry-run']);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /^Error while trying to run annex create: /);
  });
});

describe('annex binding on the wire', () => {
  it("a pilot of another annex cannot report, or adopt, a job it does not run, even knowing its claim id", async () => {
    const s = site('forgery');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'slow.sub'), 'executable = /bin/sleep\narguments = 30\nqueue\n');
    ok(s, ['job', 'submit', 'slow.sub', '--annex-name', 'victim']);
    createAnnex(s, 'victim', ['--cpus', '1', '--idle-time', '60']);
    await waitFor('the job to run', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 2);
    assert.equal(jobs(s).find((a) => a.ClusterId === 1)?.ClaimId, undefined, 'the claim id is not shown to users');
    // Suppose the claim id leaked anyway (read here from the queue itself).
    const db = new Database(join(s.ap, 'queue.db'), { readonly: true });
    const diff = (db.prepare('SELECT diff FROM procs WHERE cluster_id = 1 AND proc_id = 0').get() as { diff: string }).diff;
    db.close();
    const claimId = /ClaimId = "([^"]+)"/.exec(diff)?.[1];
    assert.ok(claimId !== undefined);
    // Another annex of the same user: a token for it is all the forger has.
    const client = ApClient.open(s.ap);
    const other = await client.createAnnex({ name: 'other', system: 'local', queue: 'local', nodes: 1, cpus: 1, memoryMb: null, gpus: null, lifetimeSeconds: 600, idleSeconds: 60, add: false, allowEmpty: true });
    client.close();
    const ws = new WebSocket(`${other.url.replace('https', 'wss')}/v1/pilot`, { agent: createPinnedAgent(other.fingerprint), headers: { authorization: `Bearer ${other.token}` } });
    const messages: ApMessage[] = [];
    ws.on('message', (data) => messages.push(parseApMessage(frameText(data))));
    await new Promise((resolve) => ws.once('open', resolve));
    const usage = { userCpuSeconds: 0, sysCpuSeconds: 0, memoryPeakMb: 0, wallSeconds: 0, bytesReceived: 0, bytesSent: 0 };
    ws.send(JSON.stringify({
      type: 'hello', version: PILOT_PROTOCOL_VERSION, pilotId: '00000000-0000-4000-8000-00000000f0f0', hostname: 'forger', resources: { cpus: 1, memoryMb: 1000, diskKb: 1000000, gpus: 0 },
      attributes: {}, start: 'true', endTime: null, running: [{ claimId, jobId: '1.0' }], reports: [],
    }));
    ws.send(JSON.stringify({ type: 'done', claimId, jobId: '1.0', exit: { exitBySignal: false, exitCode: 0 }, usage }));
    const ack = await waitFor('the answer to the forged report', () => messages.find((m) => m.type === 'ack'), 10_000);
    const welcome = messages.find((m) => m.type === 'welcome');
    ws.terminate();
    assert.ok(welcome?.type === 'welcome' && welcome.stale.includes(claimId), 'the claim is not adopted: it is stale for this pilot');
    assert.ok(ack.type === 'ack' && ack.refused !== null, 'the forged report is refused');
    const job = jobs(s).find((a) => a.ClusterId === 1);
    assert.equal(job?.JobStatus, 2, 'the job still runs on its own pilot');
    assert.equal(completedOf(s, 1).length, 0);
    const status = JSON.parse(ok(s, ['annex', 'status', 'victim', '--json'])) as { slots: { busyCpus: number }[] }[];
    assert.equal(status[0]!.slots[0]!.busyCpus, 1, "the victim's pilot still counts the job's cpu");
    ok(s, ['annex', 'shutdown', 'victim']);
    ok(s, ['annex', 'shutdown', 'other']);
    ok(s, ['ap', 'stop']);
  });
});

describe('faults', () => {
  it('a batch system ending the pilot signals its job too: the job is vacated, not finished', async () => {
    const s = site('batch-kill');
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'slow.sub'), 'executable = /bin/sleep\narguments = 300\nqueue\n');
    ok(s, ['job', 'submit', 'slow.sub', '--annex-name', 'b']);
    const { pids } = createAnnex(s, 'b', ['--cpus', '1', '--idle-time', '60']);
    await waitFor('the job to run', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 2);
    // As scancel does: SIGTERM to every process of the batch job, the job's first (the worst order for the pilot).
    const jobGroups = (readdirSync(s.scratch, { recursive: true }) as string[]).filter((p) => /(^|\/)\.jobs\/\d+$/.test(p)).map((p) => Number(p.split('/').pop()));
    assert.equal(jobGroups.length, 1);
    process.kill(-jobGroups[0]!, 'SIGTERM');
    process.kill(pids[0]!, 'SIGTERM');
    await waitFor('the pilot to end', () => !isAlive(pids[0]!), 30_000);
    const job = await waitFor('the job back in the queue', () => jobs(s).find((a) => a.ClusterId === 1 && a.JobStatus === 1));
    assert.match(String(job.VacateReason), /the pilot is ending \(received SIGTERM\)/);
    assert.equal(completedOf(s, 1).length, 0, 'not recorded as finished');
    ok(s, ['annex', 'shutdown', 'b']);
    ok(s, ['ap', 'stop']);
  });

  it('a pilot killed mid-job: its slot goes and the job runs again elsewhere', async () => {
    const s = site('sigkill', FAST_LEASES);
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'slow.sub'), 'executable = /bin/sh\narguments = "-c \'sleep 2; echo done\'"\noutput = slow.out\nqueue\n');
    ok(s, ['job', 'submit', 'slow.sub', '--annex-name', 'k']);
    const first = createAnnex(s, 'k', ['--cpus', '1', '--idle-time', '60']);
    await waitFor('the job to run', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 2);
    process.kill(first.pids[0]!, 'SIGKILL');
    await waitFor('the slot to disappear', () => (JSON.parse(ok(s, ['annex', 'status', 'k', '--json'])) as { slots: unknown[] }[])[0]!.slots.length === 0);
    ok(s, ['annex', 'add', 'k', 'local@local', '--yes', '--cpus', '1', '--idle-time', '60']);
    const done = await waitFor('the job to complete on the second pilot', () => completedOf(s, 1)[0]);
    assert.equal(done.NumJobStarts, 2, 'it started twice');
    assert.equal(done.NumJobCompletions, 1, 'and completed once');
    assert.equal(readFileSync(join(s.dir, 'slow.out'), 'utf8'), 'done\n');
    ok(s, ['annex', 'shutdown', 'k']);
    ok(s, ['ap', 'stop']);
  });

  it('a pilot stopped past its lease: its late report is refused and the job completes once', async () => {
    const s = site('sigstop', FAST_LEASES);
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'slow.sub'), 'executable = /bin/sh\narguments = "-c \'sleep 2; echo done\'"\noutput = slow.out\nqueue\n');
    ok(s, ['job', 'submit', 'slow.sub', '--annex-name', 'st']);
    const first = createAnnex(s, 'st', ['--cpus', '1', '--idle-time', '60']);
    await waitFor('the job to run', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 2);
    process.kill(first.pids[0]!, 'SIGSTOP');
    await waitFor('the job to be idle again after the job lease', () => jobs(s).find((a) => a.ClusterId === 1)?.JobStatus === 1, 30_000);
    ok(s, ['annex', 'add', 'st', 'local@local', '--yes', '--cpus', '1', '--idle-time', '60']);
    const done = await waitFor('the job to complete on the second pilot', () => completedOf(s, 1)[0]);
    process.kill(first.pids[0]!, 'SIGCONT');
    await waitFor('the stale report to be refused', () => /refused (a (done|vacated|failed) report|stale claim)/.test(readFileSync(join(s.ap, 'ap.log'), 'utf8')), 30_000);
    await sleep(500);
    assert.equal(completedOf(s, 1).length, 1, 'the job is in history once');
    assert.equal(done.NumJobCompletions, 1);
    assert.equal(jobs(s).filter((a) => a.ClusterId === 1).length, 0, 'and no longer in the queue');
    assert.equal(readFileSync(join(s.dir, 'slow.out'), 'utf8'), 'done\n');
    ok(s, ['annex', 'shutdown', 'st']);
    ok(s, ['ap', 'stop']);
  });

  it('the access point killed mid-run: pilots reconnect, running jobs finish and are recorded once', async () => {
    // No --listen: the AP takes the port it had before, which the pilots know.
    const s = site('apkill', { HTC_HEARTBEAT_SECONDS: '0.5' });
    ok(s, ['ap', 'start']);
    writeFileSync(join(s.dir, 'slow.sub'), 'executable = /bin/sh\narguments = "-c \'sleep 3; echo $(Process)\'"\noutput = slow.$(Process).out\nqueue 2\n');
    ok(s, ['job', 'submit', 'slow.sub', '--annex-name', 'ak']);
    createAnnex(s, 'ak', ['--cpus', '2', '--idle-time', '60']);
    await waitFor('both jobs to run', () => jobs(s).filter((a) => a.ClusterId === 1 && a.JobStatus === 2).length === 2);
    const access = JSON.parse(readFileSync(join(s.ap, 'access.json'), 'utf8')) as { pid: number };
    process.kill(access.pid, 'SIGKILL');
    await waitFor('the AP to be gone', () => !isAlive(access.pid));
    const restart = spawn(process.execPath, [bin, 'ap', 'start'], { cwd: s.dir, env: s.env, stdio: 'ignore' });
    await new Promise((r) => restart.once('exit', r));
    await waitFor('both jobs to complete', () => completedOf(s, 1).length === 2, 90_000);
    const done = completedOf(s, 1);
    assert.deepEqual(done.map((a) => a.NumJobStarts), [1, 1], 'neither job was started again');
    assert.deepEqual(done.map((a) => a.NumJobCompletions), [1, 1]);
    for (let p = 0; p < 2; p++) assert.equal(readFileSync(join(s.dir, `slow.${p}.out`), 'utf8'), `${p}\n`);
    const log = readFileSync(join(s.ap, 'ap.log'), 'utf8');
    assert.match(log, /waiting up to \d+ s for pilots to report 2 running job\(s\)/);
    ok(s, ['annex', 'shutdown', 'ak']);
    ok(s, ['ap', 'stop']);
  });
});
