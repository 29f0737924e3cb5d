/**
 * Makespan of many short jobs on the test cluster (real SLURM behind sshd):
 * through an annex, against one `sbatch` per job, and against job arrays,
 * in the same run on the same cluster.
 *
 *   candidate: the real AP in a child process; N jobs of `sleep 0.1`
 *     submitted bound to an annex; `htc annex create NAME debug@test-cluster
 *     --nodes 4` run as a user runs it (login, pilot copy, back-end, sbatch);
 *     the clock runs from the create until the cluster has left the queue.
 *   baseline 1: one `sbatch --wrap 'sleep 0.1'` per job, submitted in a loop on
 *     the login node, until SLURM shows none of them any more.
 *   baseline 2: `sbatch --array` (SLURM's MaxArraySize is 1001 by default:
 *     arrays of at most 1,000 tasks), same end.
 *
 * `ratio` = one-sbatch-per-job makespan / annex makespan (aim: >= 10).
 * $HTC_BENCH_JOBS changes N (default 2,000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { factoryOf } from './ap.bench.ts';
import { ApProcess, apProcesses, BIN, clusterGone, cpuSeconds, sleep } from './ap-process.ts';
import type { BenchResult } from './run.ts';
import { testCluster, type TestCluster } from './test-cluster.ts';

const NODES = 4;

/** Waits until SLURM lists no job of the user named `name`. */
async function slurmDrained(cluster: TestCluster, name: string): Promise<void> {
  for (;;) {
    if (cluster.remote(`squeue -h -u ${cluster.user} -n ${name} -o %i | wc -l`).trim() === '0') return;
    await sleep(250);
  }
}

async function oneSbatchPerJob(cluster: TestCluster, jobs: number): Promise<number> {
  const t0 = performance.now();
  cluster.remote(`i=0; while [ $i -lt ${jobs} ]; do sbatch -Q -p debug -t 1 -n 1 -J htc-bench-each -o /dev/null --wrap 'sleep 0.1' || exit 1; i=$((i + 1)); done`);
  await slurmDrained(cluster, 'htc-bench-each');
  return (performance.now() - t0) / 1000;
}

async function jobArrays(cluster: TestCluster, jobs: number): Promise<number> {
  const t0 = performance.now();
  for (let from = 0; from < jobs; from += 1000) {
    // Indices must stay below MaxArraySize: each array counts from 0.
    const size = Math.min(jobs, from + 1000) - from;
    cluster.remote(`sbatch -Q -p debug -t 1 -n 1 -J htc-bench-array -o /dev/null --array=0-${size - 1} --wrap 'sleep 0.1'`);
  }
  await slurmDrained(cluster, 'htc-bench-array');
  return (performance.now() - t0) / 1000;
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - (fields[4] ?? 0), total };
}

async function throughAnnex(cluster: TestCluster, jobs: number, work: string, started: Set<ApProcess>): Promise<{ makespan: number; createSeconds: number; machineBusy: number; apCpuSeconds: number }> {
  const apDir = join(work, 'ap');
  const ap = await ApProcess.start(apDir, started);
  const name = 'bench-makespan';
  try {
    const { clusterId } = await ap.client.submit({ factory: factoryOf(`executable = /bin/sleep\narguments = 0.1\nqueue ${jobs}\n`, work).factory, annexName: name });
    const t0 = performance.now();
    const cpu0 = machineCpu();
    const ap0 = cpuSeconds(ap.pid);
    const create = spawnSync(process.execPath, [BIN, 'annex', 'create', name, 'debug@test-cluster', '--nodes', String(NODES), '--lifetime', '600', '--idle-time', '60', '--yes', '--dir', apDir, ...cluster.loginOptions], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (create.status !== 0) throw new Error(`annex create failed: ${create.stderr}`);
    const createSeconds = (performance.now() - t0) / 1000;
    await clusterGone(ap.client, clusterId, 100, async () => {
      const { jobs: counts } = await ap.client.status();
      return counts.idle === 0 && counts.running <= 1 && counts.held === 0;
    });
    const makespan = (performance.now() - t0) / 1000;
    const cpu1 = machineCpu();
    const machineBusy = (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total);
    const apCpuSeconds = cpuSeconds(ap.pid) - ap0;
    const shut = spawnSync(process.execPath, [BIN, 'annex', 'shutdown', name, '--dir', apDir, ...cluster.loginOptions], { encoding: 'utf8' });
    if (shut.status !== 0) throw new Error(`annex shutdown failed: ${shut.stderr}`);
    for (const socket of readdirSync(join(apDir, 'ssh'))) spawnSync('ssh', ['-o', `ControlPath=${join(apDir, 'ssh', socket)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
    return { makespan, createSeconds, machineBusy, apCpuSeconds };
  } finally {
    await ap.stop(started);
  }
}

export async function run(): Promise<BenchResult> {
  const jobs = Number(process.env.HTC_BENCH_JOBS) || 2000;
  const cluster = testCluster();
  const work = mkdtempSync(join(tmpdir(), 'htc-bench-slurm-'));
  const aps = apProcesses();
  const started = aps.started;
  try {
    const each = await oneSbatchPerJob(cluster, jobs);
    console.log(`${jobs} x sleep 0.1, one sbatch per job: ${each.toFixed(2)} s = ${(jobs / each).toFixed(1)} jobs/s`);
    const arrays = await jobArrays(cluster, jobs);
    console.log(`${jobs} x sleep 0.1, sbatch --array (1,000 per array): ${arrays.toFixed(2)} s = ${(jobs / arrays).toFixed(1)} jobs/s`);
    const annex = await throughAnnex(cluster, jobs, work, started);
    console.log(
      `${jobs} x sleep 0.1, annex of ${NODES} nodes (${NODES * 4} cpus): ${annex.makespan.toFixed(2)} s = ${(jobs / annex.makespan).toFixed(1)} jobs/s ` +
        `(annex create itself ${annex.createSeconds.toFixed(2)} s); machine CPU busy ${(annex.machineBusy * 100).toFixed(0)}% meanwhile, the AP used ${annex.apCpuSeconds.toFixed(1)} s of CPU`,
    );
    console.log(`best possible on ${NODES * 4} cpus: ${((jobs * 0.1) / (NODES * 4)).toFixed(2)} s, i.e. ${(each / ((jobs * 0.1) / (NODES * 4))).toFixed(2)}x one sbatch per job`);
    const ratio = each / annex.makespan;
    console.log(`annex vs one sbatch per job: ${ratio.toFixed(2)}x faster (aim >= 10); vs arrays: ${(arrays / annex.makespan).toFixed(2)}x`);
    return {
      bench: 'slurm-makespan',
      baseline: 'one sbatch per job on the same SLURM (and sbatch --array)',
      ratio: Number(ratio.toFixed(3)),
      jobs,
      annexSeconds: Number(annex.makespan.toFixed(3)),
      annexCreateSeconds: Number(annex.createSeconds.toFixed(3)),
      sbatchPerJobSeconds: Number(each.toFixed(3)),
      arraySeconds: Number(arrays.toFixed(3)),
      arrayRatio: Number((arrays / annex.makespan).toFixed(3)),
      bestPossibleRatio: Number((each / ((jobs * 0.1) / (NODES * 4))).toFixed(3)),
      machineCpuBusy: Number(annex.machineBusy.toFixed(3)),
      apCpuSeconds: Number(annex.apCpuSeconds.toFixed(2)),
    };
  } finally {
    aps.killAll();
    cluster.close();
    rmSync(work, { recursive: true, force: true });
  }
}
