/**
 * The `local` system: pilots started as processes on this machine, with the
 * same token, records and binding as pilots on an HPC system. It stands
 * where SLURM stands for the others: `launch` is the batch submission,
 * each pilot's directory is its batch job's directory, and `reap` is the
 * clean-up check that no pilot process or directory outlives the annex.
 *
 * Layout: `<scratch>/htc-annex-<user>/<annex>.<request-id>/` holds
 * `launch.json` (pids and directories, for reaping) and one directory per
 * pilot (`pilot-N/`: config with the token, mode 0600; its log; `execute/`
 * for sandboxes). A pilot removes its own directory when it ends; `reap`
 * removes what a killed pilot left.
 *
 * Invariants: the token is written only into files of mode 0600 in a
 * directory of mode 0700; pilots are started detached in their own session,
 * with an argument vector (no shell), so they outlive the CLI that started
 * them, as batch jobs outlive `sbatch`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { HtcError } from '../errors.ts';
import { isAlive } from '../processes.ts';

export interface LocalLaunch {
  readonly annexName: string;
  readonly requestId: string;
  readonly nodes: number;
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
  readonly url: string;
  readonly fingerprint: string;
  readonly token: string;
  /** The `htc` executable (bin/htc.js) the pilots run. */
  readonly htcBin: string;
  /** Extra flags for node running each pilot (benchmarks profile pilots with --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** The self-contained pilot executable (pilot-executable.ts) to run instead of `node htcBin pilot`. */
  readonly pilotExecutable?: string;
}

export interface LaunchRecord {
  /** The AP the pilots attach to: a record is reaped only through it. */
  readonly apUrl: string;
  readonly annexName: string;
  readonly requestId: string;
  readonly pids: readonly number[];
  readonly pilotDirs: readonly string[];
  readonly startedAt: number;
}

/** Where local pilots live: $HTC_LOCAL_SCRATCH, else the temporary directory. */
export function localScratch(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.HTC_LOCAL_SCRATCH !== undefined && env.HTC_LOCAL_SCRATCH !== '' ? env.HTC_LOCAL_SCRATCH : tmpdir();
  return join(base, `htc-annex-${userInfo().username}`);
}

function requestDir(scratch: string, annexName: string, requestId: string): string {
  return join(scratch, `${annexName}.${requestId}`);
}

/** How long before its end a pilot stops taking claims: a tenth of its lifetime, at most a minute. */
export function endMargin(lifetimeSeconds: number): number {
  return Math.min(60, Math.max(1, Math.floor(lifetimeSeconds / 10)));
}

/** Starts the request's pilots; returns the record `reap` uses. */
/**
 * The scratch directory, made private if new; an existing one must be a real
 * directory of this user that nobody else can write (in a shared /tmp,
 * another user could otherwise plant records naming other processes).
 */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new HtcError('FORBIDDEN', `${dir} is not a private directory of yours (it must be a directory you own that others cannot write); remove it or set HTC_LOCAL_SCRATCH`);
  }
}

export function launchLocalPilots(launch: LocalLaunch, scratch = localScratch()): LaunchRecord {
  ensurePrivateDir(scratch);
  const dir = requestDir(scratch, launch.annexName, launch.requestId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const startedAt = Math.floor(Date.now() / 1000);
  const pids: number[] = [];
  const pilotDirs: string[] = [];
  for (let n = 0; n < launch.nodes; n++) {
    const pilotDir = join(dir, `pilot-${n}`);
    mkdirSync(pilotDir, { mode: 0o700 });
    const config = {
      url: launch.url,
      fingerprint: launch.fingerprint,
      token: launch.token,
      annexName: launch.annexName,
      requestId: launch.requestId,
      executeDir: join(pilotDir, 'execute'),
      removeOnExit: pilotDir,
      idleSeconds: launch.idleSeconds,
      endTime: startedAt + launch.lifetimeSeconds,
      endMarginSeconds: endMargin(launch.lifetimeSeconds),
      resources: { ...(launch.cpus === null ? {} : { cpus: launch.cpus }), ...(launch.memoryMb === null ? {} : { memoryMb: launch.memoryMb }) },
    };
    const configPath = join(pilotDir, 'pilot.json');
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    const log = openSync(join(pilotDir, 'pilot.log'), 'a', 0o600);
    const [program, args] =
      launch.pilotExecutable === undefined
        ? [process.execPath, [...(launch.nodeFlags ?? []), launch.htcBin, 'pilot', '--config', configPath]]
        : [launch.pilotExecutable, ['--config', configPath]];
    const child = spawn(program, args, { detached: true, stdio: ['ignore', log, log], cwd: pilotDir });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new HtcError('AP_FAILED', `could not start a local pilot (${process.execPath} ${launch.htcBin})`);
    pids.push(child.pid);
    pilotDirs.push(pilotDir);
  }
  const record: LaunchRecord = { apUrl: launch.url, annexName: launch.annexName, requestId: launch.requestId, pids, pilotDirs, startedAt };
  writeFileSync(join(dir, 'launch.json'), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return record;
}

/** Whether `pid` is alive and its command line contains `mark` (a reused pid is some other program). */
function runs(pid: number, mark: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark);
  } catch {
    return false;
  }
}

/** Whether process `pid` has `mark` in its environment (jobs have their sandbox, under the pilot's directory, there). */
function hasInEnvironment(pid: number, mark: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(mark);
  } catch {
    return false;
  }
}

/** The launch records of an annex (all of them without a name) still on disk, of pilots of the AP at `apUrl`. */
export function launchRecords(annexName: string | undefined, apUrl: string | null, scratch = localScratch()): LaunchRecord[] {
  if (!existsSync(scratch)) return [];
  ensurePrivateDir(scratch);
  const out: LaunchRecord[] = [];
  for (const entry of readdirSync(scratch)) {
    if (annexName !== undefined && !entry.startsWith(`${annexName}.`)) continue;
    try {
      const record = JSON.parse(readFileSync(join(scratch, entry, 'launch.json'), 'utf8')) as LaunchRecord;
      if ((annexName === undefined || record.annexName === annexName) && (apUrl === null || record.apUrl === apUrl)) out.push(record);
    } catch {
      // not a launch directory (or half made): left alone
    }
  }
  return out;
}

/** Pilots of the record still running (a pid now running something else is not one). */
export function livePilots(record: LaunchRecord): number[] {
  return record.pids.filter((pid, i) => runs(pid, join(record.pilotDirs[i] ?? '/nonexistent', 'pilot.json')));
}

/** Job process groups a pilot noted and that still run, for pilots that died without stopping them. */
function leftoverJobs(record: LaunchRecord): number[] {
  const out: number[] = [];
  for (const dir of record.pilotDirs) {
    let names: string[];
    try {
      names = readdirSync(join(dir, 'execute', '.jobs'));
    } catch {
      continue;
    }
    for (const name of names) {
      const pgid = Number(name);
      if (Number.isInteger(pgid) && pgid > 1 && isAlive(pgid) && hasInEnvironment(pgid, dir)) out.push(pgid);
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits up to `graceMs` for the record's pilots to end on their own, then
 * kills what is left (SIGKILL to its session), and removes the request's
 * directory. Returns what it had to do, for the user to see.
 */
export async function reapLocalPilots(record: LaunchRecord, graceMs: number, scratch = localScratch()): Promise<{ killed: number; removedDirs: number; jobsKilled: number }> {
  const deadline = Date.now() + graceMs;
  while (livePilots(record).length > 0 && Date.now() < deadline) await sleep(100);
  const left = livePilots(record);
  // Jobs of pilots that are gone (SIGKILL leaves them running in their own sessions), and of the ones about to go.
  const jobs = leftoverJobs(record);
  for (const pid of [...left, ...jobs]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  while (livePilots(record).length > 0 && Date.now() < deadline + 5000) await sleep(50);
  const removedDirs = record.pilotDirs.filter((d) => existsSync(d)).length;
  rmSync(requestDir(scratch, record.annexName, record.requestId), { recursive: true, force: true });
  return { killed: left.length, removedDirs, jobsKilled: jobs.length };
}
