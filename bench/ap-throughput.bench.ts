/**
 * Access point throughput with pilots that finish jobs at once: 100
 * simulated pilots (WebSocket clients in this process, each offering 8
 * cpus, with the annex token) attach to a real AP in a child process; each
 * answers every claim with `done` (exit 0) the moment it arrives. The
 * figure is job completions per second recorded by the AP (acknowledged
 * reports), from the first claim to the last acknowledgement (aim >= 5,000).
 * Every completion is a matchmaking decision, a start and a completion in
 * the queue, and a move to history.
 *
 * Baseline, in the same run: the same message flow (hello, welcome, claim
 * with the same job spec, done, ack) between the same 100 clients and a
 * bare WebSocket server over TLS in a child process that keeps no queue and
 * matches nothing: the transport's ceiling on this machine. ratio = AP rate /
 * bare rate.
 *
 * $HTC_BENCH_JOBS changes the number of jobs (default 20,000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createPinnedAgent } from '../src/auth/pin.ts';
import { PILOT_PROTOCOL_VERSION, frameText, parseApMessage, type ClaimMessage, type DoneMessage } from '../src/protocol/pilot.ts';
import { factoryOf } from './ap.bench.ts';
import { ApProcess, apProcesses } from './ap-process.ts';
import { profileFlags } from './local-makespan.bench.ts';
import type { BenchResult } from './run.ts';

const PILOTS = 100;
const CPUS = 8;
const BARE_SERVER = fileURLToPath(new URL('./bare-pilot-server.ts', import.meta.url));

interface Target {
  readonly url: string;
  readonly fingerprint: string;
  readonly token: string;
}

/** Attaches the simulated pilots; resolves with the completions per second once `jobs` reports are acknowledged. */
async function drive(target: Target, jobs: number): Promise<{ rate: number; seconds: number }> {
  const agent = createPinnedAgent(target.fingerprint, { keepAlive: true, maxSockets: PILOTS });
  let acked = 0;
  let first = 0;
  let finished!: (seconds: number) => void;
  let failed!: (error: Error) => void;
  let over = false;
  const done = new Promise<number>((resolve, reject) => {
    finished = (seconds): void => {
      over = true;
      resolve(seconds);
    };
    failed = reject;
  });
  const sockets: WebSocket[] = [];
  const usage = { userCpuSeconds: 0, sysCpuSeconds: 0, memoryPeakMb: 1, wallSeconds: 0, bytesReceived: 0, bytesSent: 0 };
  for (let p = 0; p < PILOTS; p++) {
    const ws = new WebSocket(`${target.url.replace(/^https/, 'wss')}/v1/pilot`, { agent, headers: { authorization: `Bearer ${target.token}` } });
    sockets.push(ws);
    ws.on('open', () => {
      ws.send(JSON.stringify({
        type: 'hello', version: PILOT_PROTOCOL_VERSION, pilotId: `00000000-0000-4000-8000-${String(p).padStart(12, '0')}`, hostname: `sim${p}`,
        resources: { cpus: CPUS, memoryMb: 64_000, diskKb: 100_000_000, gpus: 0 }, attributes: { Arch: 'X86_64', OpSys: 'LINUX', FileSystemDomain: 'sim', UidDomain: 'sim' },
        start: 'true', endTime: null, running: [], reports: [],
      }));
    });
    ws.on('message', (data) => {
      const message = parseApMessage(frameText(data));
      if (message.type === 'claim') {
        if (first === 0) first = performance.now();
        const claim: ClaimMessage = message;
        const report: DoneMessage = { type: 'done', claimId: claim.claimId, jobId: claim.job.jobId, exit: { exitBySignal: false, exitCode: 0 }, usage };
        ws.send(JSON.stringify(report));
      } else if (message.type === 'ack') {
        if (message.refused !== null) failed(new Error(`a report was refused: ${message.refused}`));
        if (++acked === jobs) finished((performance.now() - first) / 1000);
      }
    });
    ws.on('error', (error) => {
      if (!over) failed(error);
    });
  }
  const seconds = await done;
  for (const ws of sockets) ws.terminate();
  agent.destroy();
  return { rate: jobs / seconds, seconds };
}

export async function run(): Promise<BenchResult> {
  const jobs = Number(process.env.HTC_BENCH_JOBS) || 20_000;
  const work = mkdtempSync(join(tmpdir(), 'htc-bench-throughput-'));
  const aps = apProcesses();
  const started = aps.started;
  try {
    // Baseline first: a bare server that speaks the protocol and keeps nothing.
    const bare = spawn(process.execPath, ['--import', 'tsx', BARE_SERVER, String(jobs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const bareTarget = await new Promise<Target>((resolve, reject) => {
      bare.stdout.once('data', (line: Buffer) => resolve(JSON.parse(line.toString()) as Target));
      bare.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)));
    });
    const baseline = await drive(bareTarget, jobs);
    bare.kill();
    console.log(`bare WebSocket server (no queue, no matching): ${jobs} claim/done/ack rounds in ${baseline.seconds.toFixed(2)} s = ${baseline.rate.toFixed(0)}/s`);

    const ap = await ApProcess.start(join(work, 'ap'), started, profileFlags('ap'));
    const { clusterId } = await ap.client.submit({ factory: factoryOf(`executable = /bin/true\nqueue ${jobs}\n`, work).factory, annexName: 'sim' });
    const annex = await ap.client.createAnnex({ name: 'sim', system: 'local', queue: 'local', nodes: PILOTS, cpus: CPUS, memoryMb: null, gpus: null, lifetimeSeconds: 3600, idleSeconds: 600, add: false });
    const candidate = await drive({ url: annex.url, fingerprint: annex.fingerprint, token: annex.token }, jobs);
    const history = (await ap.client.history({ limit: jobs + 10 })).filter((h) => h.id.startsWith(`${clusterId}.`) && h.statusName === 'Completed').length;
    await ap.stop(started);
    console.log(`access point, ${PILOTS} simulated pilots x ${CPUS} cpus: ${jobs} jobs completed in ${candidate.seconds.toFixed(2)} s = ${candidate.rate.toFixed(0)} completions/s (aim >= 5000); ${history} in history`);
    if (history !== jobs) throw new Error(`expected ${jobs} completed jobs in history, found ${history}`);
    return {
      bench: 'ap-throughput',
      baseline: 'bare WebSocket server over TLS speaking the pilot protocol, no queue',
      ratio: Number((candidate.rate / baseline.rate).toFixed(3)),
      completionsPerSec: Math.round(candidate.rate),
      baselinePerSec: Math.round(baseline.rate),
      jobs,
      pilots: PILOTS,
      cpusPerPilot: CPUS,
      seconds: Number(candidate.seconds.toFixed(2)),
    };
  } finally {
    aps.killAll();
    rmSync(work, { recursive: true, force: true });
  }
}
