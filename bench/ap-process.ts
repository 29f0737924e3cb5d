/**
 * A real access point in a child process for benchmarks (`node bin/htc.js ap
 * start --foreground`), with a client, and readings of its memory and CPU
 * from /proc, apart from the benchmark's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ApClient } from '../src/client/index.ts';
import { HtcError } from '../src/errors.ts';

export const BIN = fileURLToPath(new URL('../bin/htc.js', import.meta.url));

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Memory {
  /** Resident set, KiB. */
  readonly rssKiB: number;
  /** Peak resident set, KiB. */
  readonly hwmKiB: number;
  readonly anonKiB: number;
  readonly fileKiB: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile') };
}

/** CPU seconds (user + system) a process has used so far (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15)
}

/**
 * Waits until the process has used no CPU for `quietMs` (its background work
 * after an acknowledged request is done); returns how long that took and the
 * CPU it used meanwhile.
 */
export async function quiet(pid: number, quietMs = 600, maxMs = 60_000, since?: { at: number; cpu: number }): Promise<{ busyMs: number; cpuSeconds: number }> {
  const start = since?.at ?? performance.now();
  const cpu0 = since?.cpu ?? cpuSeconds(pid);
  let cpu = cpu0;
  let lastBusy = start;
  for (;;) {
    await sleep(100);
    const now = performance.now();
    const c = cpuSeconds(pid);
    if (c !== cpu) {
      cpu = c;
      lastBusy = now;
    }
    if (now - lastBusy >= quietMs || now - start >= maxMs) return { busyMs: lastBusy - start, cpuSeconds: cpu - cpu0 };
  }
}

export const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/**
 * The APs a benchmark starts (pass `started` to ApProcess.start): `killAll`
 * ends them at the end of the run, and they are killed at exit too should the
 * benchmark fail before that.
 */
export function apProcesses(): { readonly started: Set<ApProcess>; killAll(): void } {
  const started = new Set<ApProcess>();
  const kill = (): void => {
    for (const ap of started) ap.killNow();
  };
  process.once('exit', kill);
  return {
    started,
    killAll(): void {
      kill();
      process.off('exit', kill);
    },
  };
}

/** A real AP in a child process, and a client of it. */
/**
 * Waits until a cluster has left the AP's queue (every job finished and moved
 * to history): the AP answers NOT_FOUND for it. `cheap`, when given, is asked
 * first on every poll, so a big queue is listed only once it may be done.
 */
export async function clusterGone(client: ApClient, clusterId: number, pollMs: number, cheap?: () => Promise<boolean>): Promise<void> {
  for (;;) {
    await sleep(pollMs);
    if (cheap !== undefined && !(await cheap())) continue;
    try {
      if ((await client.list({ ids: [String(clusterId)] })).jobs.length === 0) return;
    } catch (error) {
      if (error instanceof HtcError && error.code === 'NOT_FOUND') return;
      throw error;
    }
  }
}

export class ApProcess {
  private exited = false;

  private constructor(
    readonly dir: string,
    readonly child: ChildProcess,
    readonly client: ApClient,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(dir: string, started: Set<ApProcess>, nodeFlags: readonly string[] = [], args: readonly string[] = []): Promise<ApProcess> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const logPath = join(dir, 'ap.log');
    const log = openSync(logPath, 'a');
    const child = spawn(process.execPath, [...nodeFlags, BIN, 'ap', 'start', '--foreground', '--dir', dir, ...args], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    if (child.pid === undefined) throw new Error('could not spawn the access point');
    let exitCode: number | null = null;
    child.once('exit', (code, signal) => (exitCode = code ?? (signal === null ? 1 : 128)));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exitCode !== null) throw new Error(`the access point exited (${exitCode}) while starting:\n${readFileSync(logPath, 'utf8')}`);
      if (existsSync(join(dir, 'access.json'))) {
        const access = JSON.parse(readFileSync(join(dir, 'access.json'), 'utf8')) as { pid: number };
        if (access.pid === child.pid) {
          const client = ApClient.open(dir);
          try {
            await client.status();
            const ap = new ApProcess(dir, child, client);
            child.once('exit', () => (ap.exited = true));
            if (exitCode !== null) ap.exited = true;
            started.add(ap);
            return ap;
          } catch {
            client.close();
          }
        }
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the access point did not answer within ${START_TIMEOUT_MS / 1000} s`);
      }
      await sleep(50);
    }
  }

  memory(): Memory {
    return memoryOf(this.pid);
  }

  /** SIGTERM, wait for the exit; SIGKILL if it does not come. */
  async stop(started: Set<ApProcess>): Promise<void> {
    this.client.close();
    started.delete(this);
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timedOut = await Promise.race([gone.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      this.child.kill('SIGKILL');
      await gone;
    }
  }

  /** For an exit handler: no waiting. */
  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

