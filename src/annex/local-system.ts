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
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { HtcError } from '../errors.ts';

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
}

export interface LaunchRecord {
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
export function launchLocalPilots(launch: LocalLaunch, scratch = localScratch()): LaunchRecord {
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
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
    const child = spawn(process.execPath, [launch.htcBin, 'pilot', '--config', configPath], { detached: true, stdio: ['ignore', log, log], cwd: pilotDir });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new HtcError('AP_FAILED', `could not start a local pilot (${process.execPath} ${launch.htcBin})`);
    pids.push(child.pid);
    pilotDirs.push(pilotDir);
  }
  const record: LaunchRecord = { annexName: launch.annexName, requestId: launch.requestId, pids, pilotDirs, startedAt };
  writeFileSync(join(dir, 'launch.json'), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return record;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The launch records of an annex (all of them without a name) still on disk. */
export function launchRecords(annexName?: string, scratch = localScratch()): LaunchRecord[] {
  if (!existsSync(scratch)) return [];
  const out: LaunchRecord[] = [];
  for (const entry of readdirSync(scratch)) {
    if (annexName !== undefined && !entry.startsWith(`${annexName}.`)) continue;
    try {
      const record = JSON.parse(readFileSync(join(scratch, entry, 'launch.json'), 'utf8')) as LaunchRecord;
      if (annexName === undefined || record.annexName === annexName) out.push(record);
    } catch {
      // not a launch directory (or half made): left alone
    }
  }
  return out;
}

/** Pilots of the record still running. */
export function livePilots(record: LaunchRecord): number[] {
  return record.pids.filter(alive);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits up to `graceMs` for the record's pilots to end on their own, then
 * kills what is left (SIGKILL to its session), and removes the request's
 * directory. Returns what it had to do, for the user to see.
 */
export async function reapLocalPilots(record: LaunchRecord, graceMs: number, scratch = localScratch()): Promise<{ killed: number; removedDirs: number }> {
  const deadline = Date.now() + graceMs;
  while (livePilots(record).length > 0 && Date.now() < deadline) await sleep(100);
  const left = livePilots(record);
  for (const pid of left) {
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
  return { killed: left.length, removedDirs };
}
