/**
 * From `htc annex create` to the first job running, on the test cluster
 * (real SLURM behind sshd), against SLURM's own latency from one `sbatch`
 * to its job running, in the same run.
 *
 *   cold: the login node's pilot cache is emptied first, so the create
 *     copies the pilot executable (~87 MB) over the SSH connection;
 *   warm: the cached executable is reused (its content hash matches).
 *
 * Both start a new login (the control socket directory is fresh each time)
 * and include what the user waits for: login, copy, back-end, sbatch, the
 * batch job starting, the pilot starting and attaching, the match. The
 * clock stops when the AP shows the job Running. Aim: <= 15 s.
 * `ratio` = sbatch-to-running / warm create-to-first-job.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildPilotExecutable } from '../src/annex/pilot-executable.ts';
import { factoryOf } from './ap.bench.ts';
import { ApProcess, apProcesses, BIN, sleep } from './ap-process.ts';
import type { BenchResult } from './run.ts';
import { testCluster, type TestCluster } from './test-cluster.ts';

async function sbatchToRunning(cluster: TestCluster): Promise<number> {
  const t0 = performance.now();
  const id = cluster.remote(`sbatch --parsable -p debug -t 1 -n 1 -J htc-bench-first -o /dev/null --wrap 'sleep 30'`).trim();
  for (;;) {
    if (cluster.remote(`squeue -h -j ${id} -o %T`).trim() === 'RUNNING') break;
    await sleep(50);
  }
  const seconds = (performance.now() - t0) / 1000;
  cluster.remote(`scancel ${id}`);
  return seconds;
}

async function createToFirstJob(cluster: TestCluster, work: string, label: string, started: Set<ApProcess>): Promise<number> {
  const apDir = join(work, `ap-${label}`);
  const ap = await ApProcess.start(apDir, started);
  const name = `bench-first-${label}`;
  try {
    const { clusterId } = await ap.client.submit({ factory: factoryOf('executable = /bin/sleep\narguments = 30\nqueue\n', work).factory, annexName: name });
    const t0 = performance.now();
    const create = spawnSync(process.execPath, [BIN, 'annex', 'create', name, 'debug@test-cluster', '--lifetime', '300', '--idle-time', '60', '--yes', '--dir', apDir, ...cluster.loginOptions], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (create.status !== 0) throw new Error(`annex create failed: ${create.stderr}`);
    const createSeconds = (performance.now() - t0) / 1000;
    for (;;) {
      const { jobs } = await ap.client.list({ ids: [String(clusterId)] });
      if (jobs.some((j) => j.status === 2)) break;
      await sleep(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${label}: annex create to first job running ${seconds.toFixed(2)} s (the create command itself ${createSeconds.toFixed(2)} s)`);
    const shut = spawnSync(process.execPath, [BIN, 'annex', 'shutdown', name, '--dir', apDir, ...cluster.loginOptions], { encoding: 'utf8' });
    if (shut.status !== 0) throw new Error(`annex shutdown failed: ${shut.stderr}`);
    // The login ends here (each case has its own AP directory, so it logs in anew).
    for (const socket of readdirSync(join(apDir, 'ssh'))) spawnSync('ssh', ['-o', `ControlPath=${join(apDir, 'ssh', socket)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
    return seconds;
  } finally {
    await ap.stop(started);
  }
}

export async function run(): Promise<BenchResult> {
  const cluster = testCluster();
  const work = mkdtempSync(join(tmpdir(), 'htc-bench-first-'));
  const aps = apProcesses();
  const started = aps.started;
  try {
    // The local build is cached (a cold build takes ~2 s more); it is not what this measures.
    await buildPilotExecutable();
    const baseline = await sbatchToRunning(cluster);
    console.log(`sbatch to its job running: ${baseline.toFixed(2)} s`);
    cluster.remote('rm -rf .cache/htc-annex');
    const cold = await createToFirstJob(cluster, work, 'cold', started);
    const warm = await createToFirstJob(cluster, work, 'warm', started);
    console.log(`aim <= 15 s: cold ${cold <= 15 ? 'met' : 'not met'}, warm ${warm <= 15 ? 'met' : 'not met'}`);
    return {
      bench: 'annex-first-job',
      baseline: 'one sbatch to its job running, same SLURM',
      ratio: Number((baseline / warm).toFixed(3)),
      coldSeconds: Number(cold.toFixed(3)),
      warmSeconds: Number(warm.toFixed(3)),
      sbatchToRunningSeconds: Number(baseline.toFixed(3)),
    };
  } finally {
    aps.killAll();
    cluster.close();
    rmSync(work, { recursive: true, force: true });
  }
}
