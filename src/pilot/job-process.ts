/**
 * Runs one job's process in its sandbox and reports how it ended and what it
 * cost: HTCondor's starter, for the vanilla universe.
 *
 * Invariants:
 * - The job gets its own process group (and session); everything it starts
 *   there is signalled together: on vacate (SIGTERM, then SIGKILL after the
 *   grace), on exceeding its allowed duration (SIGKILL, as an HTCondor hold
 *   does), and when its main process exits (SIGKILL to whatever it left
 *   running, as HTCondor's starter does), so a finished job holds no cores.
 *   Jobs do not die with the pilot (their own sessions): the pilot vacates
 *   them, or calls `killAllJobs` when it has no time left.
 *   A process that leaves the group (setsid, a daemon) escapes this; only a
 *   cgroup would catch it, and the batch system's cgroup does when the pilot's
 *   allocation ends.
 * - A job either starts (runJob resolves with a handle whose `done` settles
 *   exactly once with the exit) or fails to start (runJob rejects with a
 *   ClaimError: JobStartError, or SandboxError for stdin/stdout/stderr);
 *   never both. Node reports spawn failures asynchronously; they are waited
 *   for here so that they never look like an exit.
 * - The job sees a small environment: PATH, its scratch dir, thread counts
 *   matching its cores, its GPUs when given, then its own environment, which
 *   wins. Nothing else of the pilot's environment (tokens, SLURM_*) leaks in.
 * - The job's stdin/stdout/stderr are opened by the pilot inside the sandbox
 *   without following links (a job cannot redirect the pilot's writes).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants, promises as fsp, readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkSandboxName, type ClaimFailure, type JobSpec, type ProcessExit, type RunUsage } from '../protocol/pilot.ts';
import { ClaimError, HoldCode, errnoOf, openInSandbox } from './sandbox.ts';

/** What the pilot measures of a job itself; the transfer byte counts are added by the caller. */
export type JobUsage = Omit<RunUsage, 'bytesReceived' | 'bytesSent'>;

export interface JobResult {
  readonly exit: ProcessExit;
  readonly usage: JobUsage;
  /** The job was killed for running longer than spec.maxRuntimeSeconds (hold it: `overrunFailure`). */
  readonly overran: boolean;
  /** vacate() was called before the job ended (report `vacated`, not `done`). */
  readonly vacated: boolean;
}

export interface JobHandle {
  readonly pid: number;
  /** Settles once, when the job's main process has exited (never rejects). */
  readonly done: Promise<JobResult>;
  /** SIGTERM to the job's process group, SIGKILL after graceMs; resolves once the job has exited. */
  vacate(graceMs: number): Promise<void>;
}

export interface RunJobOptions {
  /** Called right after the process started. */
  onStart?(pid: number): void;
  /** GPUs assigned to this job: set as CUDA_VISIBLE_DEVICES. Undefined leaves the variable unset. */
  gpuIds?: readonly string[];
  /** PATH for the job; the pilot's own by default. */
  path?: string;
  /** How long a job that overran gets between SIGTERM and SIGKILL; 0 (default) kills at once, as an HTCondor hold does. */
  overrunGraceMs?: number;
}

/** The job could not be started; the job is held with HoldReasonCode 6 (FailedToCreateProcess). */
export class JobStartError extends ClaimError {
  constructor(message: string, subcode: number, options: { cause?: unknown } = {}) {
    super(message, HoldCode.FailedToCreateProcess, subcode, options);
    this.name = 'JobStartError';
  }
}

/** The hold of a job that ran longer than it was allowed (HTCondor's JobDurationExceeded). */
export function overrunFailure(limitSeconds: number): ClaimFailure {
  return { reason: `the job ran longer than its AllowedJobDuration of ${limitSeconds} s`, code: HoldCode.JobDurationExceeded, subcode: 0 };
}

/** Variables HTCondor's starter sets to the job's core count, so threaded libraries do not use the whole node. */
const THREAD_COUNT_VARIABLES = [
  'CUBACORES',
  'GOMAXPROCS',
  'JULIA_NUM_THREADS',
  'MKL_NUM_THREADS',
  'NUMEXPR_NUM_THREADS',
  'OMP_NUM_THREADS',
  'OMP_THREAD_LIMIT',
  'OPENBLAS_NUM_THREADS',
  'TF_NUM_THREADS',
];
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The job's environment (see the module comment); exported for tests and for logging. */
export function jobEnvironment(spec: JobSpec, sandboxDir: string, options: Pick<RunJobOptions, 'gpuIds' | 'path'> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: options.path ?? process.env.PATH ?? DEFAULT_PATH,
    _CONDOR_SCRATCH_DIR: sandboxDir,
    TMPDIR: sandboxDir,
    TMP: sandboxDir,
    TEMP: sandboxDir,
  };
  const cores = String(Math.max(1, spec.request.cpus));
  for (const name of THREAD_COUNT_VARIABLES) env[name] = cores;
  if (options.gpuIds !== undefined) {
    env.CUDA_VISIBLE_DEVICES = options.gpuIds.join(',');
    env._CONDOR_AssignedGPUs = options.gpuIds.join(',');
  }
  return { ...env, ...spec.environment };
}

/** The signal number of a signal name ("SIGKILL" → 9). */
export function signalNumber(name: NodeJS.Signals): number {
  return osConstants.signals[name];
}

/**
 * This process's reaped children's CPU time, in clock ticks, from the text of
 * /proc/self/stat: fields 16 (cutime) and 17 (cstime). The command name
 * (field 2) may hold spaces and parentheses, so fields count from its last ")".
 */
export function parseChildCpuTicks(statText: string): { user: number; system: number } {
  const fields = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state).
  return { user: Number(fields[13]), system: Number(fields[14]) };
}

/**
 * USER_HZ, the unit of /proc tick counts. The kernel fixes it at 100 for user
 * space on every architecture Node runs on (whatever the kernel's own HZ), so
 * it is not worth a `getconf CLK_TCK` process at start.
 */
const CLOCK_TICKS_PER_SECOND = 100;

function childCpuTicks(): { user: number; system: number } {
  try {
    return parseChildCpuTicks(readFileSync('/proc/self/stat', 'utf8'));
  } catch {
    return { user: 0, system: 0 }; // no /proc (not Linux): CPU time is not measured
  }
}

// ---------------------------------------------------------------------------
// Memory: one shared sampler for all jobs, so that N jobs cost one /proc scan a second.

const SAMPLE_INTERVAL_MS = 1000;
/** A first look soon after start, so that short jobs report something. */
const FIRST_SAMPLE_MS = 50;

/** What a sample saw of a process group: memory (KiB) and CPU (clock ticks: utime+cutime, stime+cstime, summed). */
interface GroupSample {
  readonly kb: number;
  readonly userTicks: number;
  readonly sysTicks: number;
}

type MemoryListener = (sample: GroupSample) => void;
const memoryListeners = new Map<number, MemoryListener>();
let samplerTimer: NodeJS.Timeout | null = null;
let sampling = false;

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]);
}

/**
 * For each process group in `groups`: the largest of the sum of its members'
 * current resident sizes and any one member's own peak (VmHWM), in KiB.
 * Summing the peaks would overstate (they need not coincide); the sum of
 * current sizes understates between samples. Memory is sampled: a spike
 * shorter than a second in a process that is not the largest can be missed.
 */
async function sampleGroups(groups: ReadonlySet<number>): Promise<Map<number, GroupSample>> {
  const found = new Map<number, { rss: number; hwm: number; user: number; sys: number }>();
  let entries: string[];
  try {
    entries = await fsp.readdir('/proc');
  } catch {
    return new Map();
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fsp.readFile(`/proc/${entry}/stat`, 'utf8');
      // Field 5 (pgrp) is the third after the command name.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgrp = Number(fields[2]);
      if (!groups.has(pgrp)) continue;
      const status = await fsp.readFile(`/proc/${entry}/status`, 'utf8');
      const sum = found.get(pgrp) ?? { rss: 0, hwm: 0, user: 0, sys: 0 };
      // Fields 14-17: utime, stime, and the waited-for children's cutime, cstime.
      found.set(pgrp, {
        rss: sum.rss + statusKb(status, 'VmRSS'),
        hwm: Math.max(sum.hwm, statusKb(status, 'VmHWM')),
        user: sum.user + Number(fields[11]) + Number(fields[13]),
        sys: sum.sys + Number(fields[12]) + Number(fields[14]),
      });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return new Map([...found].map(([pgrp, { rss, hwm, user, sys }]) => [pgrp, { kb: Math.max(rss, hwm), userTicks: user, sysTicks: sys }]));
}

async function sampleAndReport(groups: ReadonlySet<number>): Promise<void> {
  const sizes = await sampleGroups(groups);
  for (const [pgrp, sample] of sizes) memoryListeners.get(pgrp)?.(sample);
}

function sampleAll(): void {
  if (sampling) return; // a slow scan (busy node) is not stacked on itself
  sampling = true;
  void sampleAndReport(new Set(memoryListeners.keys())).finally(() => {
    sampling = false;
  });
}

function watchMemory(pgid: number, listener: MemoryListener): () => void {
  memoryListeners.set(pgid, listener);
  const first = setTimeout(() => void sampleAndReport(new Set([pgid])), FIRST_SAMPLE_MS);
  first.unref();
  if (samplerTimer === null) {
    samplerTimer = setInterval(sampleAll, SAMPLE_INTERVAL_MS);
    samplerTimer.unref();
  }
  return () => {
    clearTimeout(first);
    memoryListeners.delete(pgid);
    if (memoryListeners.size === 0 && samplerTimer !== null) {
      clearInterval(samplerTimer);
      samplerTimer = null;
    }
  };
}

// ---------------------------------------------------------------------------

/** Process groups of jobs that have not exited yet. */
const runningGroups = new Set<number>();

/** Jobs whose exit this pilot has seen: a job's CPU delta is its own only if no other job exited meanwhile. */
let jobsReaped = 0;

/**
 * SIGKILL every job this process started that still runs; returns how many.
 * Synchronous, for the pilot's last moments (process 'exit', a fatal error)
 * when there is no time to vacate: jobs run in their own sessions, so
 * nothing else would stop them when the pilot dies.
 */
export function killAllJobs(): number {
  for (const pgid of runningGroups) signalGroup(pgid, 'SIGKILL');
  return runningGroups.size;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what was wanted.
  }
}

/** setTimeout for delays beyond its 24.8-day limit (an allowed duration may be longer). */
function setLongTimeout(ms: number, action: () => void): () => void {
  const MAX_DELAY = 2 ** 31 - 1;
  let timer: NodeJS.Timeout;
  const arm = (left: number): void => {
    timer = setTimeout(() => (left > MAX_DELAY ? arm(left - MAX_DELAY) : action()), Math.min(left, MAX_DELAY));
    timer.unref();
  };
  arm(ms);
  return () => clearTimeout(timer);
}

function startError(shown: string, error: unknown): JobStartError {
  const code = (error as NodeJS.ErrnoException).code;
  const subcode = errnoOf(error);
  const reasons: Record<string, string> = {
    ENOENT: 'it, or the interpreter named on its #! line, does not exist',
    EACCES: 'permission denied',
    ENOEXEC: 'it is not in an executable format',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of its path is not a directory',
    E2BIG: 'its arguments and environment are too long',
    ETXTBSY: 'it is open for writing',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? (error as Error).message;
  return new JobStartError(`cannot run ${shown}: ${reason}`, subcode, { cause: error });
}

/**
 * The path to execute: an absolute executable is the execute node's own
 * (`transfer_executable = false`); anything else was transferred into the
 * sandbox, and is never looked up on PATH.
 */
async function resolveExecutable(executable: string, sandboxDir: string): Promise<{ path: string; shown: string }> {
  let path: string;
  let shown: string;
  if (executable.startsWith('/')) {
    path = executable;
    shown = executable;
  } else {
    try {
      path = join(sandboxDir, checkSandboxName(executable, 'executable'));
    } catch (error) {
      throw new JobStartError((error as Error).message, errnoOf({ code: 'EINVAL' }), { cause: error });
    }
    shown = JSON.stringify(executable);
  }
  let stats;
  try {
    stats = await fsp.stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !executable.startsWith('/')) {
      throw new JobStartError(`executable ${shown} was not transferred: it is not in the job's sandbox`, errnoOf(error), { cause: error });
    }
    if (code === 'ENOENT') throw new JobStartError(`cannot run ${shown}: it does not exist on the execute node`, errnoOf(error), { cause: error });
    throw startError(shown, error);
  }
  if (stats.isDirectory()) throw startError(shown, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  try {
    await fsp.access(path, constants.X_OK);
  } catch (error) {
    const detail = (error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied (it is not executable)' : (error as Error).message;
    throw new JobStartError(`cannot run ${shown}: ${detail}`, errnoOf(error), { cause: error });
  }
  return { path, shown };
}

/** Open the job's stdin/stdout/stderr in the sandbox; null means /dev/null. */
async function openStdio(spec: JobSpec, sandboxDir: string, opened: FileHandle[]): Promise<StdioOptions> {
  const keep = (handle: FileHandle): number => {
    opened.push(handle);
    return handle.fd;
  };
  const stdin = spec.stdin === null ? 'ignore' : keep(await openInSandbox(sandboxDir, spec.stdin, constants.O_RDONLY, "the job's input (stdin)", HoldCode.UnableToOpenInput));
  const writeFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  const stdout = spec.stdout === null ? 'ignore' : keep(await openInSandbox(sandboxDir, spec.stdout, writeFlags, "the job's output (stdout)", HoldCode.UnableToOpenOutput));
  // output = error = same file: one descriptor, so that both streams interleave rather than overwrite.
  const stderr =
    spec.stderr === null
      ? 'ignore'
      : spec.stderr === spec.stdout
        ? stdout
        : keep(await openInSandbox(sandboxDir, spec.stderr, writeFlags, "the job's error output (stderr)", HoldCode.UnableToOpenOutput));
  return [stdin, stdout, stderr];
}

function waitForSpawn(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      child.removeListener('spawn', onSpawn);
      reject(error);
    };
    const onSpawn = (): void => {
      child.removeListener('error', onError);
      resolve();
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

/**
 * Start `spec`'s executable in `sandboxDir` (a Sandbox's `dir`). Resolves once
 * the process runs; rejects with a ClaimError when it cannot be started.
 *
 * CPU time is the growth of this pilot's reaped-children CPU time (cutime and
 * cstime of /proc/self/stat) from just before the spawn to the moment Node
 * reports the exit: libuv reaps the job with waitpid, which adds the job's
 * time, and its descendants' that it waited for, to those counters. Node gives
 * no per-child rusage, so that is exact only when no other job of the pilot's
 * was reaped in between. When one was, the job's own CPU comes from the
 * sampler instead (its group's utime+stime+cutime+cstime, the largest seen,
 * read once a second): never another job's time, but up to a second short.
 */
export async function runJob(spec: JobSpec, sandboxDir: string, options: RunJobOptions = {}): Promise<JobHandle> {
  const { path, shown } = await resolveExecutable(spec.executable, sandboxDir);
  const opened: FileHandle[] = [];
  let child: ChildProcess;
  let exited = false;
  let vacated = false;
  let overran = false;
  let peakKb = 0;
  let sampledUserTicks = 0;
  let sampledSysTicks = 0;
  const cancels: (() => void)[] = [];
  let done!: Promise<JobResult>;
  try {
    const stdio = await openStdio(spec, sandboxDir, opened);
    const cpuBefore = childCpuTicks();
    const reapedBefore = jobsReaped;
    const started = performance.now();
    try {
      child = spawn(path, [...spec.arguments], {
        cwd: sandboxDir,
        env: jobEnvironment(spec, sandboxDir, options),
        stdio,
        // Own session and process group (pgid = pid), so the group can be signalled as one.
        detached: true,
      });
    } catch (error) {
      // Thrown synchronously for arguments Node refuses (a NUL in an argument or variable).
      throw startError(shown, error);
    }
    // Listening before the first await: the exit can be reported in any later turn of the event loop.
    done = new Promise<JobResult>((resolve) => {
      child.once('exit', (code, signal) => {
        // Read first, before anything else of the pilot's can be reaped.
        const cpuAfter = childCpuTicks();
        const alone = jobsReaped === reapedBefore;
        jobsReaped++;
        const wallSeconds = (performance.now() - started) / 1000;
        exited = true;
        if (child.pid !== undefined) {
          signalGroup(child.pid, 'SIGKILL'); // what the job left running
          runningGroups.delete(child.pid);
        }
        for (const cancel of cancels) cancel();
        const exit: ProcessExit = code !== null ? { exitBySignal: false, exitCode: code } : { exitBySignal: true, signal: signalNumber(signal ?? 'SIGKILL') };
        resolve({
          exit,
          overran,
          vacated,
          usage: {
            userCpuSeconds: (alone ? Math.max(0, cpuAfter.user - cpuBefore.user) : sampledUserTicks) / CLOCK_TICKS_PER_SECOND,
            sysCpuSeconds: (alone ? Math.max(0, cpuAfter.system - cpuBefore.system) : sampledSysTicks) / CLOCK_TICKS_PER_SECOND,
            memoryPeakMb: Math.ceil(peakKb / 1024),
            wallSeconds,
          },
        });
      });
    });
    try {
      await waitForSpawn(child);
    } catch (error) {
      throw startError(shown, error);
    }
  } finally {
    // The child holds its own copies of the descriptors.
    await Promise.all(opened.map((handle) => handle.close()));
  }
  // Later 'error' events (none are expected once running) must not crash the pilot.
  child.on('error', () => undefined);
  const pid = child.pid!;
  if (!exited) runningGroups.add(pid);

  const killLater = (graceMs: number): void => {
    if (graceMs <= 0) {
      signalGroup(pid, 'SIGKILL');
      return;
    }
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    cancels.push(() => clearTimeout(timer));
  };

  if (!exited) {
    cancels.push(
      watchMemory(pid, (sample) => {
        peakKb = Math.max(peakKb, sample.kb);
        sampledUserTicks = Math.max(sampledUserTicks, sample.userTicks);
        sampledSysTicks = Math.max(sampledSysTicks, sample.sysTicks);
      }),
    );
    if (spec.maxRuntimeSeconds !== null) {
      cancels.push(
        setLongTimeout(spec.maxRuntimeSeconds * 1000, () => {
          if (exited) return;
          overran = true;
          const grace = options.overrunGraceMs ?? 0;
          if (grace > 0) signalGroup(pid, 'SIGTERM');
          killLater(grace);
        }),
      );
    }
  }
  options.onStart?.(pid);

  return {
    pid,
    done,
    async vacate(graceMs: number): Promise<void> {
      if (!exited) {
        vacated = true;
        signalGroup(pid, 'SIGTERM');
        killLater(graceMs);
      }
      await done;
    },
  };
}
