/**
 * Jobs as real processes in real sandboxes: exit codes and signals, argument
 * vectors kept intact, the environment (base, thread counts, GPUs, the job's
 * own winning), stdin/stdout/stderr files, CPU and memory usage, vacating a
 * process group including a grandchild, leftovers killed at exit, the allowed
 * duration, and start failures as JobStartErrors with clear reasons.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { JobSpec } from '../protocol/pilot.ts';
import { JobStartError, jobEnvironment, killAllJobs, overrunFailure, parseChildCpuTicks, runJob, signalNumber } from './job-process.ts';
import { HoldCode, Sandbox, SandboxError } from './sandbox.ts';

const sandboxes: Sandbox[] = [];
const roots: string[] = [];
async function newSandbox(): Promise<Sandbox> {
  const root = mkdtempSync(join(tmpdir(), 'htc-job-'));
  roots.push(root);
  const sandbox = await Sandbox.create(root, 'claim');
  sandboxes.push(sandbox);
  return sandbox;
}
after(async () => {
  for (const sandbox of sandboxes) await sandbox.remove();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function spec(fields: Partial<JobSpec>): JobSpec {
  return {
    jobId: '1.0',
    owner: 'someone',
    executable: '/bin/sh',
    arguments: [],
    environment: {},
    inputs: [],
    stdin: null,
    stdout: null,
    stderr: null,
    outputs: null,
    request: { cpus: 1, memoryMb: 128, diskKb: 1024, gpus: 0 },
    maxRuntimeSeconds: null,
    ...fields,
  };
}

/** A shell job: `sh -c SCRIPT` with stdout and stderr kept in the sandbox. */
function shell(script: string, fields: Partial<JobSpec> = {}): JobSpec {
  return spec({ executable: '/bin/sh', arguments: ['-c', script], stdout: '_condor_stdout', stderr: '_condor_stderr', ...fields });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is dead for our purpose.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Whether `pid` has died within a generous bound. Signals are delivered
 * asynchronously: a process signalled a moment ago may not have run yet.
 */
async function diesSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Wait until a file has content (a job's way of saying it got somewhere). */
async function contentOf(path: string): Promise<string> {
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('exit', () => {
  it('reports exit codes', async () => {
    const sandbox = await newSandbox();
    for (const code of [0, 3, 255]) {
      const result = await (await runJob(shell(`exit ${code}`), sandbox.dir)).done;
      assert.deepEqual(result.exit, { exitBySignal: false, exitCode: code });
      assert.equal(result.vacated, false);
      assert.equal(result.overran, false);
    }
  });

  it('reports death by a signal with its number', async () => {
    const sandbox = await newSandbox();
    const killed = await (await runJob(shell('kill -KILL $$'), sandbox.dir)).done;
    assert.deepEqual(killed.exit, { exitBySignal: true, signal: 9 });
    const terminated = await (await runJob(shell('kill -TERM $$'), sandbox.dir)).done;
    assert.deepEqual(terminated.exit, { exitBySignal: true, signal: signalNumber('SIGTERM') });
  });
});

describe('what the job sees', () => {
  it('its arguments exactly, spaces and quotes included, with the sandbox as working directory', async () => {
    const sandbox = await newSandbox();
    const args = ['one two', '', "it's", '$HOME', '*'];
    const result = await (await runJob(shell('for a in "$@"; do printf "[%s]\\n" "$a"; done; pwd', { arguments: ['-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done; pwd', 'job', ...args] }), sandbox.dir)).done;
    assert.equal(result.exit.exitBySignal, false);
    assert.equal(readFileSync(join(sandbox.dir, '_condor_stdout'), 'utf8'), `${args.map((a) => `[${a}]`).join('\n')}\n${sandbox.dir}\n`);
  });

  it('a small environment: PATH, scratch dir, thread counts, GPUs; the job\'s own variables win; nothing else of the pilot\'s', async () => {
    const sandbox = await newSandbox();
    process.env.HTC_TEST_PILOT_SECRET = 'must not leak';
    try {
      const job = shell('env', { environment: { MY_VAR: 'a b=c', OMP_NUM_THREADS: '7' }, request: { cpus: 3, memoryMb: 1, diskKb: 1, gpus: 1 } });
      await (await runJob(job, sandbox.dir, { gpuIds: ['GPU-1234'] })).done;
    } finally {
      delete process.env.HTC_TEST_PILOT_SECRET;
    }
    const env = new Map(
      readFileSync(join(sandbox.dir, '_condor_stdout'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    assert.equal(env.get('MY_VAR'), 'a b=c');
    assert.equal(env.get('OMP_NUM_THREADS'), '7');
    assert.equal(env.get('MKL_NUM_THREADS'), '3');
    assert.equal(env.get('_CONDOR_SCRATCH_DIR'), sandbox.dir);
    assert.equal(env.get('TMPDIR'), sandbox.dir);
    assert.equal(env.get('CUDA_VISIBLE_DEVICES'), 'GPU-1234');
    assert.equal(env.get('PATH'), process.env.PATH);
    assert.equal(env.has('HTC_TEST_PILOT_SECRET'), false);
  });

  it('no GPUs given: CUDA_VISIBLE_DEVICES is left unset; an empty list hides all', () => {
    assert.equal(jobEnvironment(spec({}), '/s').CUDA_VISIBLE_DEVICES, undefined);
    assert.equal(jobEnvironment(spec({}), '/s', { gpuIds: [] }).CUDA_VISIBLE_DEVICES, '');
  });

  it('stdin from a sandbox file; stdout and stderr into sandbox files, or one file for both', async () => {
    const sandbox = await newSandbox();
    writeFileSync(join(sandbox.dir, 'in.txt'), 'line one\nline two\n');
    const script = 'while read l; do echo "out: $l"; echo "err: $l" >&2; done';
    await (await runJob(shell(script, { stdin: 'in.txt', stdout: 'logs/out.txt', stderr: 'logs/err.txt' }), sandbox.dir)).done;
    assert.equal(readFileSync(join(sandbox.dir, 'logs/out.txt'), 'utf8'), 'out: line one\nout: line two\n');
    assert.equal(readFileSync(join(sandbox.dir, 'logs/err.txt'), 'utf8'), 'err: line one\nerr: line two\n');
    await (await runJob(shell(script, { stdin: 'in.txt', stdout: 'both.txt', stderr: 'both.txt' }), sandbox.dir)).done;
    assert.equal(readFileSync(join(sandbox.dir, 'both.txt'), 'utf8'), 'out: line one\nerr: line one\nout: line two\nerr: line two\n');
  });

  it('stdout through a planted link is refused before the job starts (the job is held, nothing is written outside)', async () => {
    const sandbox = await newSandbox();
    const outside = join(roots.at(-1)!, 'outside.txt');
    writeFileSync(outside, 'untouched');
    symlinkSync(outside, join(sandbox.dir, '_condor_stdout'));
    await assert.rejects(runJob(shell('echo overwritten'), sandbox.dir), (error: unknown) => {
      assert.ok(error instanceof SandboxError);
      assert.equal(error.holdCode, HoldCode.UnableToOpenOutput);
      assert.match(error.message, /the job's output \(stdout\) "_condor_stdout" is a symbolic link/);
      return true;
    });
    assert.equal(readFileSync(outside, 'utf8'), 'untouched');
  });
});

describe('usage', () => {
  it('counts the CPU time of a busy loop, split into user and system', async () => {
    const sandbox = await newSandbox();
    const result = await (await runJob(shell('i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'), sandbox.dir)).done;
    assert.ok(result.usage.userCpuSeconds + result.usage.sysCpuSeconds > 0, JSON.stringify(result.usage));
    assert.ok(result.usage.userCpuSeconds >= 0 && result.usage.sysCpuSeconds >= 0);
    assert.ok(result.usage.wallSeconds > 0);
  });

  it("does not count a busy job's CPU in a sleeping job that ran beside it", async () => {
    const busy = await runJob(shell('i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done'), (await newSandbox()).dir);
    const sleeper = await runJob(shell('sleep 0.3; while kill -0 ' + String(busy.pid) + ' 2>/dev/null; do sleep 0.1; done; sleep 0.3'), (await newSandbox()).dir);
    const [b, s] = await Promise.all([busy.done, sleeper.done]);
    const cpu = (u: { userCpuSeconds: number; sysCpuSeconds: number }): number => u.userCpuSeconds + u.sysCpuSeconds;
    assert.ok(cpu(b.usage) > 0.2, `the busy job used CPU: ${JSON.stringify(b.usage)}`);
    assert.ok(cpu(s.usage) < cpu(b.usage) / 2, `the sleeper is not charged the busy job's CPU: ${JSON.stringify(s.usage)} vs ${JSON.stringify(b.usage)}`);
  });

  it('samples the peak memory of a job that lives over a second', async () => {
    const sandbox = await newSandbox();
    const result = await (await runJob(shell('sleep 1.5'), sandbox.dir)).done;
    assert.ok(result.usage.memoryPeakMb > 0, JSON.stringify(result.usage));
  });

  it('parses cutime and cstime from /proc/self/stat, whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    assert.deepEqual(parseChildCpuTicks(`1234 (a) b (c) ${fields.join(' ')}`), { user: 16, system: 17 });
  });
});

describe('stopping a job', () => {
  it('vacate stops the whole process group, grandchild included', async () => {
    const sandbox = await newSandbox();
    const handle = await runJob(shell('sleep 1000 & echo $! > grandchild.pid; wait'), sandbox.dir);
    const grandchild = Number(await contentOf(join(sandbox.dir, 'grandchild.pid')));
    assert.ok(alive(grandchild), 'the grandchild runs before the vacate');
    await handle.vacate(5000);
    const result = await handle.done;
    assert.equal(result.vacated, true);
    assert.deepEqual(result.exit, { exitBySignal: true, signal: signalNumber('SIGTERM') });
    assert.ok(await diesSoon(grandchild), `grandchild ${grandchild} survived the vacate`);
  });

  it('a job that ignores SIGTERM is killed after the grace', async () => {
    const sandbox = await newSandbox();
    const handle = await runJob(shell('trap "" TERM; echo ready > ready.txt; while :; do sleep 1; done'), sandbox.dir);
    await contentOf(join(sandbox.dir, 'ready.txt'));
    await handle.vacate(200);
    assert.deepEqual((await handle.done).exit, { exitBySignal: true, signal: 9 });
  });

  it('what a finished job left running is killed when it exits', async () => {
    const sandbox = await newSandbox();
    const result = await (await runJob(shell('sleep 1000 & echo $! > leftover.pid'), sandbox.dir)).done;
    assert.deepEqual(result.exit, { exitBySignal: false, exitCode: 0 });
    const leftover = Number(readFileSync(join(sandbox.dir, 'leftover.pid'), 'utf8'));
    assert.ok(await diesSoon(leftover), `leftover ${leftover} still runs`);
  });

  it('killAllJobs stops every running job at once, for the pilot\'s last moments', async () => {
    const sandbox = await newSandbox();
    const first = await runJob(shell('sleep 1000'), sandbox.dir);
    const second = await runJob(shell('sleep 1000'), sandbox.dir);
    assert.equal(killAllJobs(), 2);
    const results = await Promise.all([first.done, second.done]);
    for (const result of results) assert.deepEqual(result.exit, { exitBySignal: true, signal: 9 });
    assert.equal(killAllJobs(), 0);
  });

  it('a job over its allowed duration is killed and reported as overran', async () => {
    const sandbox = await newSandbox();
    const started: number[] = [];
    const handle = await runJob(shell('sleep 1000', { maxRuntimeSeconds: 1 }), sandbox.dir, { onStart: (pid) => started.push(pid) });
    assert.deepEqual(started, [handle.pid]);
    const result = await handle.done;
    assert.equal(result.overran, true);
    assert.equal(result.vacated, false);
    assert.deepEqual(result.exit, { exitBySignal: true, signal: 9 });
    assert.deepEqual(overrunFailure(1), { reason: 'the job ran longer than its AllowedJobDuration of 1 s', code: 46, subcode: 0 });
  });
});

describe('start failures', () => {
  async function startError(job: JobSpec, message: RegExp): Promise<JobStartError> {
    const sandbox = await newSandbox();
    let caught: unknown;
    await runJob(job, sandbox.dir).then(
      () => assert.fail('the job started'),
      (error: unknown) => (caught = error),
    );
    assert.ok(caught instanceof JobStartError, String(caught));
    assert.match(caught.message, message);
    assert.equal(caught.holdCode, HoldCode.FailedToCreateProcess);
    return caught;
  }

  it('a transferred executable that is missing', async () => {
    const error = await startError(spec({ executable: 'foo.sh' }), /^executable "foo.sh" was not transferred: it is not in the job's sandbox$/);
    assert.equal(error.subcode, 2);
  });

  it('an absolute executable that does not exist on the node', async () => {
    await startError(spec({ executable: '/no/such/program' }), /^cannot run \/no\/such\/program: it does not exist on the execute node$/);
  });

  it('a file without execute permission', async () => {
    const sandbox = await newSandbox();
    writeFileSync(join(sandbox.dir, 'job.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(sandbox.dir, 'job.sh'), 0o644);
    await assert.rejects(runJob(spec({ executable: 'job.sh' }), sandbox.dir), (error: unknown) => {
      assert.ok(error instanceof JobStartError);
      assert.equal(error.message, 'cannot run "job.sh": permission denied (it is not executable)');
      return true;
    });
  });

  it('a script whose interpreter does not exist (reported by the spawn itself)', async () => {
    const sandbox = await newSandbox();
    writeFileSync(join(sandbox.dir, 'job.sh'), '#!/no/such/interpreter\n');
    chmodSync(join(sandbox.dir, 'job.sh'), 0o755);
    await assert.rejects(runJob(spec({ executable: 'job.sh' }), sandbox.dir), (error: unknown) => {
      assert.ok(error instanceof JobStartError);
      assert.equal(error.message, 'cannot run "job.sh": it, or the interpreter named on its #! line, does not exist');
      return true;
    });
  });

  it('a directory, and an unsafe name', async () => {
    const sandbox = await newSandbox();
    mkdirSync(join(sandbox.dir, 'bin'));
    await assert.rejects(runJob(spec({ executable: 'bin' }), sandbox.dir), /cannot run "bin": it is a directory/);
    await assert.rejects(runJob(spec({ executable: '../elsewhere/x' }), sandbox.dir), JobStartError);
  });

  it('a missing stdin file holds the job as UnableToOpenInput', async () => {
    const sandbox = await newSandbox();
    await assert.rejects(runJob(shell('cat', { stdin: 'in.txt' }), sandbox.dir), (error: unknown) => {
      assert.ok(error instanceof SandboxError);
      assert.equal(error.holdCode, HoldCode.UnableToOpenInput);
      assert.equal(error.message, 'the job\'s input (stdin) "in.txt" does not exist in the job\'s sandbox');
      return true;
    });
  });
});
