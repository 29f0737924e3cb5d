/**
 * Pilot start to first job running (aim <= 1 s): a real AP in a child
 * process holds one idle job bound to an annex; a local pilot is launched
 * (as `htc annex create NAME local@local` launches it) and the clock runs
 * from the launch until the job's process starts — the job is
 * `/bin/date +%s.%N`, whose output (brought back by the pilot) is the
 * moment it ran. Takes the median of 5 rounds, each with a fresh pilot.
 *
 * Baseline, in the same run: `node bin/htc.js version` from spawn to exit,
 * the same runtime and loader doing nothing (what any pilot start costs
 * before it does its own work). ratio = baseline / candidate.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchLocalPilots, launchRecords, reapLocalPilots } from '../src/annex/local-system.ts';
import { factoryOf } from './ap.bench.ts';
import { ApProcess, apProcesses, BIN, clusterGone } from './ap-process.ts';
import { profileFlags } from './local-makespan.bench.ts';
import type { BenchResult } from './run.ts';

const ROUNDS = 5;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<BenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'htc-bench-pilot-start-'));
  const aps = apProcesses();
  const started = aps.started;
  try {
    const baseline: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = Date.now();
      spawnSync(process.execPath, [BIN, 'version'], { stdio: 'ignore' });
      baseline.push((Date.now() - t0) / 1000);
    }
    const ap = await ApProcess.start(join(work, 'ap'), started);
    const scratch = join(work, 'scratch');
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `start${r}`;
      const out = join(work, `date.${r}`);
      const { clusterId } = await ap.client.submit({ factory: factoryOf(`executable = /bin/date\narguments = +%s.%N\noutput = ${out}\nqueue\n`, work).factory, annexName: name });
      const annex = await ap.client.createAnnex({ name, system: 'local', queue: 'local', nodes: 1, cpus: 1, memoryMb: null, gpus: null, lifetimeSeconds: 600, idleSeconds: 60, add: false });
      const t0 = Date.now() / 1000;
      launchLocalPilots(
        { annexName: name, requestId: annex.requestId, nodes: 1, cpus: 1, memoryMb: null, lifetimeSeconds: 600, idleSeconds: 60, url: annex.url, fingerprint: annex.fingerprint, token: annex.token, htcBin: BIN, nodeFlags: profileFlags('pilot') },
        scratch,
      );
      await clusterGone(ap.client, clusterId, 20);
      const ranAt = Number(readFileSync(out, 'utf8').trim());
      rounds.push(ranAt - t0);
      await ap.client.shutdownAnnex(name);
      for (const record of launchRecords(name, annex.url, scratch)) await reapLocalPilots(record, 30_000, scratch);
    }
    await ap.stop(started);
    const candidate = median(rounds);
    const base = median(baseline);
    console.log(`pilot launch -> first job running: median ${candidate.toFixed(3)} s of ${ROUNDS} (${rounds.map((x) => x.toFixed(3)).join(', ')}); aim <= 1 s`);
    console.log(`node bin/htc.js version, spawn to exit: median ${base.toFixed(3)} s (${baseline.map((x) => x.toFixed(3)).join(', ')})`);
    return {
      bench: 'pilot-start',
      baseline: 'node bin/htc.js version (same runtime and loader, no work)',
      ratio: Number((base / candidate).toFixed(3)),
      pilotStartSeconds: Number(candidate.toFixed(3)),
      baselineSeconds: Number(base.toFixed(3)),
      rounds: rounds.map((x) => Number(x.toFixed(3))),
    };
  } finally {
    aps.killAll();
    rmSync(work, { recursive: true, force: true });
  }
}
