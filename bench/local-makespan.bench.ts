/**
 * Makespan of many short jobs through a local annex, against `xargs -P`
 * running the same commands, in the same run on the same machine.
 *
 *   1. 10,000 `/bin/true` jobs, one annex of one pilot with 2 cpus, against
 *      `xargs -P 2` running /bin/true 10,000 times (aim: ratio <= 1.5);
 *   2. 1,000 `sleep 0.1` jobs, same annex shape, against `xargs -P 2`
 *      (aim: <= 1.03).
 *
 * The candidate is everything a user sees: the real AP in a child process,
 * the jobs submitted through the client (as `htc job submit` does), the
 * annex created through the AP and its pilot started as a process; the clock
 * runs from the annex request until the queue holds no job of the cluster
 * (every job completed, its output — here none but the executable's
 * transfer in — back). Pilot start-up is inside the makespan.
 *
 * `makespanRatio` = candidate makespan / baseline makespan (the issue's
 * figure); `ratio` = baseline / candidate (the runner's convention: rate
 * over rate). $HTC_BENCH_JOBS scales case 1 down for a quick look;
 * $HTC_BENCH_PROFILE=DIR writes V8 CPU profiles of the AP and the pilot.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { launchLocalPilots, launchRecords, reapLocalPilots } from '../src/annex/local-system.ts';
import { buildPilotExecutable } from '../src/annex/pilot-executable.ts';
import { factoryOf } from './ap.bench.ts';
import { ApProcess, apProcesses, BIN, clusterGone } from './ap-process.ts';
import type { BenchResult } from './run.ts';

interface Case {
  readonly label: string;
  readonly jobs: number;
  readonly executable: string;
  readonly arguments: string;
  readonly aim: number;
}

/** Node flags that write a CPU profile of one role's processes, when $HTC_BENCH_PROFILE names a directory. */
export function profileFlags(role: string): string[] {
  const dir = process.env.HTC_BENCH_PROFILE;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(dir, role)}`];
}

/** Runs the case through a local annex; returns the makespan in seconds. */
async function throughAnnex(c: Case, work: string, started: Set<ApProcess>): Promise<number> {
  const apDir = join(work, `ap-${c.label}`);
  const scratch = join(work, `scratch-${c.label}`);
  const ap = await ApProcess.start(apDir, started, profileFlags('ap'));
  try {
    const submit = [`executable = ${c.executable}`, ...(c.arguments === '' ? [] : [`arguments = ${c.arguments}`]), `queue ${c.jobs}`, ''].join('\n');
    const { clusterId } = await ap.client.submit({ factory: factoryOf(submit, work).factory, annexName: c.label });
    const t0 = performance.now();
    const created = await ap.client.createAnnex({
      name: c.label, system: 'local', queue: 'local', nodes: 1, cpus: 2, memoryMb: null, gpus: null, lifetimeSeconds: 3600, idleSeconds: 60, add: false,
    });
    launchLocalPilots(
      {
        annexName: c.label, requestId: created.requestId, nodes: 1, cpus: 2, memoryMb: null, lifetimeSeconds: 3600, idleSeconds: 60, url: created.url, fingerprint: created.fingerprint, token: created.token, htcBin: BIN, nodeFlags: profileFlags('pilot'),
        // $HTC_BENCH_PILOT=executable: the self-contained pilot (as on SLURM) instead of node + tsx.
        ...(process.env.HTC_BENCH_PILOT === 'executable' ? { pilotExecutable: (await buildPilotExecutable()).path } : {}),
      },
      scratch,
    );
    // Done when the cluster has left the queue. The status counts are cheap to ask for
    // (a list of thousands of jobs 20 times a second would load the AP being measured);
    // the one running job left is the annex request's record.
    await clusterGone(ap.client, clusterId, 50, async () => {
      const { jobs: counts } = await ap.client.status();
      return counts.idle === 0 && counts.running <= 1 && counts.held === 0;
    });
    const makespan = (performance.now() - t0) / 1000;
    await ap.client.shutdownAnnex(c.label);
    for (const record of launchRecords(c.label, scratch)) await reapLocalPilots(record, 30_000, scratch);
    return makespan;
  } finally {
    await ap.stop(started);
  }
}

/** The same commands through `xargs -P 2`; returns the makespan in seconds. */
function throughXargs(c: Case): number {
  const input = `${Array.from({ length: c.jobs }, () => c.arguments || 'x').join('\n')}\n`;
  // /bin/true ignores the placeholder argument; every line is one run, two at a time.
  const argv = ['-P', '2', '-n', '1', c.executable];
  const t0 = performance.now();
  const r = spawnSync('xargs', argv, { input, stdio: ['pipe', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`xargs failed (${r.status})`);
  return (performance.now() - t0) / 1000;
}

export async function run(): Promise<BenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'htc-bench-makespan-'));
  const aps = apProcesses();
  const started = aps.started;
  const jobs = Number(process.env.HTC_BENCH_JOBS) || 10_000;
  const cases: Case[] = [
    { label: 'true', jobs, executable: '/bin/true', arguments: '', aim: 1.5 },
    { label: 'sleep', jobs: Math.max(10, Math.round(jobs / 10)), executable: '/bin/sleep', arguments: '0.1', aim: 1.03 },
  ];
  const results: Record<string, number> = {};
  try {
    for (const c of cases) {
      const baseline = throughXargs(c);
      const candidate = await throughAnnex(c, work, started);
      const ratio = candidate / baseline;
      console.log(
        `${c.jobs} x ${c.executable} ${c.arguments}`.trim() +
          `: local annex (1 pilot, 2 cpus) ${candidate.toFixed(2)} s = ${(c.jobs / candidate).toFixed(0)} jobs/s; ` +
          `xargs -P 2 ${baseline.toFixed(2)} s; makespan ratio ${ratio.toFixed(2)} (aim <= ${c.aim})`,
      );
      results[`${c.label}Jobs`] = c.jobs;
      results[`${c.label}Seconds`] = Number(candidate.toFixed(3));
      results[`${c.label}XargsSeconds`] = Number(baseline.toFixed(3));
      results[`${c.label}MakespanRatio`] = Number(ratio.toFixed(3));
    }
  } finally {
    aps.killAll();
    rmSync(work, { recursive: true, force: true });
  }
  return {
    bench: 'local-makespan',
    baseline: 'xargs -P 2 running the same commands',
    ratio: Number((1 / results.trueMakespanRatio!).toFixed(3)),
    makespanRatio: results.trueMakespanRatio!,
    ...results,
  };
}
