/**
 * The pilot: attaches to its access point over one outbound WebSocket,
 * offers its node as one partitionable slot, runs the claims it is given
 * (sandbox, inputs, process, outputs, report), and ends by itself.
 *
 * Ending (DESIGN.md decision 7): unclaimed for the idle time → exit 0;
 * at its end time minus a margin, on SIGTERM/SIGINT, or when the AP says
 * `shutdown` → it takes no new claims, vacates running jobs back to the
 * queue, waits (briefly) for their reports to be acknowledged, and exits.
 * Either way it removes its sandboxes and, when told to, its own directory.
 *
 * Invariants: each claim is answered exactly once (done, vacated or
 * failed); an answer is kept until the AP acknowledges it and is sent
 * again after a reconnect; a claim the AP calls stale is killed and
 * forgotten. A lost connection is retried with backoff while jobs keep
 * running: the AP waits a job lease for the pilot to come back.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from 'node:https';
import { constants as osConstants, hostname } from 'node:os';
import { WebSocket } from 'ws';
import { createPinnedAgent } from '../auth/pin.ts';
import { API_PREFIX } from '../protocol/api.ts';
import {
  MAX_PILOT_MESSAGE_BYTES, PILOT_PATH, PILOT_PROTOCOL_VERSION, frameText, parseApMessage,
  type ApMessage, type ClaimMessage, type JobSpec, type PilotMessage, type ProcessExit, type ReportMessage, type Resources, type RunUsage,
} from '../protocol/pilot.ts';
import { killAllJobs, overrunFailure, runJob, type JobHandle } from './job-process.ts';
import { InputCache } from './input-cache.ts';
import { detectResources, slotAttributes } from './resources.ts';
import { ClaimError, Sandbox } from './sandbox.ts';
import { TransferError, fetchInput, isTransient, sendOutput } from './transfer.ts';

/** Where, in the execute dir, a pilot keeps inputs by checksum (input-cache.ts). */
const CACHE_DIR = '.cache';

/** Where, in the execute dir, a pilot notes its jobs' process groups (see recordJob). */
export const JOBS_DIR = '.jobs';

/** How long a transfer waits for a restarted AP to take its claim back. */
const CLAIM_ADOPTION_WAIT_MS = 60_000;

export interface PilotConfig {
  /** The AP's HTTPS URL (`https://host:port`). */
  readonly url: string;
  /** SHA-256 fingerprint of the AP's certificate. */
  readonly fingerprint: string;
  /** The annex token. */
  readonly token: string;
  readonly annexName: string;
  readonly requestId: string | null;
  /** Where sandboxes are made (local disk). */
  readonly executeDir: string;
  /** Removed at exit (the pilot's own directory: config, token, logs), if given. */
  readonly removeOnExit: string | null;
  readonly idleSeconds: number;
  /** When the batch system will end the pilot (epoch seconds), or null. */
  readonly endTime: number | null;
  /** Stop taking claims and vacate this long before endTime. */
  readonly endMarginSeconds: number;
  /** Resources to offer instead of the detected ones (e.g. `--cpus`). */
  readonly resources?: Partial<Resources>;
  /** SIGTERM → SIGKILL grace for vacated jobs. */
  readonly vacateGraceMs?: number;
}

interface RunningClaim {
  readonly claimId: string;
  readonly spec: JobSpec;
  handle: JobHandle | undefined;
  vacateReason: string | null;
  /** The AP called it stale: kill it and say nothing. */
  silent: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function zeroUsage(wallSeconds: number, bytesReceived: number, bytesSent: number): RunUsage {
  return { userCpuSeconds: 0, sysCpuSeconds: 0, memoryPeakMb: 0, wallSeconds, bytesReceived, bytesSent };
}

export class Pilot {
  readonly pilotId = randomUUID();
  private readonly agent: Agent;
  private ws: WebSocket | undefined;
  private readonly claims = new Map<string, RunningClaim>();
  private readonly unacked = new Map<string, ReportMessage>();
  private resources: Resources | undefined;
  private gpuIds: readonly string[] = [];
  private readonly gpusInUse = new Map<string, string>();
  private attributes: Record<string, string | number | boolean> = {};
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private idleSince = Date.now();
  private ending: string | null = null;
  private finished: ((code: number) => void) | undefined;
  private everWelcomed = false;
  private readonly wsUrl: string;
  private readonly inputs: InputCache;

  constructor(
    private readonly config: PilotConfig,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${new Date().toISOString()} pilot: ${line}\n`),
  ) {
    this.agent = createPinnedAgent(config.fingerprint, { keepAlive: true });
    this.inputs = new InputCache(join(config.executeDir, CACHE_DIR));
    this.wsUrl = `${config.url.replace(/^https:/, 'wss:').replace(/\/+$/, '')}${API_PREFIX}${PILOT_PATH}`;
  }

  /** Runs until the pilot ends; resolves with its exit code. */
  async run(): Promise<number> {
    mkdirSync(this.config.executeDir, { recursive: true, mode: 0o700 });
    const detected = await detectResources(this.config.executeDir);
    this.gpuIds = detected.gpuIds;
    this.resources = {
      cpus: this.config.resources?.cpus ?? detected.cpus,
      memoryMb: this.config.resources?.memoryMb ?? detected.memoryMb,
      diskKb: this.config.resources?.diskKb ?? detected.diskKb,
      gpus: this.config.resources?.gpus ?? detected.gpus,
    };
    // A node's file system and users are its own host's unless a site says otherwise (HTCondor's defaults).
    this.attributes = { FileSystemDomain: hostname(), UidDomain: hostname(), ...(await slotAttributes(this.resources)) };
    const done = new Promise<number>((resolve) => (this.finished = resolve));
    const onSignal = (signal: string): void => void this.end(`received ${signal}`);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // However the pilot ends, no job process outlives it (a batch system's cgroup would see to that; here we do).
    process.once('exit', killAllJobs);
    this.checkTimer = setInterval(() => this.check(), 250);
    this.connect(0);
    const code = await done;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    return code;
  }

  // -------------------------------------------------------------------------
  // Connection

  private connect(attempt: number): void {
    if (this.ending !== null && this.claims.size === 0 && this.unacked.size === 0) return;
    const headers: Record<string, string> = { authorization: `Bearer ${this.config.token}` };
    if (this.config.requestId !== null) headers['x-htc-annex-request'] = this.config.requestId;
    const ws = new WebSocket(this.wsUrl, { agent: this.agent, headers, maxPayload: MAX_PILOT_MESSAGE_BYTES, handshakeTimeout: 15_000 });
    this.ws = ws;
    ws.on('open', () => {
      attempt = 0;
      this.send({
        type: 'hello',
        version: PILOT_PROTOCOL_VERSION,
        pilotId: this.pilotId,
        hostname: hostname(),
        resources: this.resources!,
        attributes: this.attributes,
        start: 'true',
        endTime: this.config.endTime,
        running: [...this.claims.values()].filter((c) => !this.unacked.has(c.claimId)).map((c) => ({ claimId: c.claimId, jobId: c.spec.jobId })),
        reports: [...this.unacked.values()],
      });
      if (this.ending !== null) this.send({ type: 'draining', reason: this.ending });
    });
    ws.on('message', (data) => {
      let message: ApMessage;
      try {
        message = parseApMessage(frameText(data));
      } catch (error) {
        this.log(`bad message from the access point: ${(error as Error).message}`);
        ws.close(1008, 'bad message');
        return;
      }
      this.receive(message);
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        this.log(`the access point refused the pilot (${res.statusCode}): ${body.trim()}`);
        // A refused token will not get better: a pilot that never attached ends; one that did keeps trying (the AP may be restarting).
        if (!this.everWelcomed && res.statusCode !== undefined && res.statusCode >= 400 && res.statusCode < 500) void this.end('the access point refused the annex token', 1);
      });
    });
    ws.on('error', (error) => {
      // The first failure of an outage, then one line in twenty: enough to see it in the log without flooding it.
      if (attempt % 20 === 0 || (attempt === 1 && this.everWelcomed)) this.log(`connection to ${this.config.url} (attempt ${attempt + 1}): ${error.message}`);
    });
    ws.on('close', () => {
      if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.finished === undefined) return;
      // An ending pilot goes once nothing is left to tell: its unacknowledged reports are sent again after a reconnect.
      if (this.ending !== null && this.claims.size === 0 && this.unacked.size === 0) {
        void this.finish(this.exitCode);
        return;
      }
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      setTimeout(() => this.connect(attempt + 1), delay).unref();
    });
  }

  private send(message: PilotMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private receive(message: ApMessage): void {
    switch (message.type) {
      case 'welcome':
        this.everWelcomed = true;
        this.log(`attached to ${this.config.url} as ${message.slotName}`);
        if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => this.send({ type: 'heartbeat' }), message.heartbeatSeconds * 1000);
        for (const claimId of message.stale) {
          const claim = this.claims.get(claimId);
          if (claim === undefined) continue;
          this.log(`claim ${claimId} (job ${claim.spec.jobId}) is stale: stopping it`);
          claim.silent = true;
          void this.vacate(claim, 'the access point no longer knows this claim');
        }
        break;
      case 'claim':
        this.startClaim(message);
        break;
      case 'ack':
        this.unacked.delete(message.claimId);
        if (message.refused !== null) this.log(`report for claim ${message.claimId} refused: ${message.refused}`);
        this.maybeFinish();
        break;
      case 'vacate': {
        const claim = this.claims.get(message.claimId);
        if (claim !== undefined) void this.vacate(claim, message.reason);
        break;
      }
      case 'shutdown':
        void this.end(`the access point asked: ${message.reason}`);
        break;
    }
  }

  // -------------------------------------------------------------------------
  // Claims

  private startClaim(message: ClaimMessage): void {
    if (this.claims.has(message.claimId)) return;
    const claim: RunningClaim = { claimId: message.claimId, spec: message.job, handle: undefined, vacateReason: null, silent: false };
    this.claims.set(claim.claimId, claim);
    this.idleSince = Date.now();
    if (this.ending !== null) {
      claim.vacateReason = `the pilot is ending (${this.ending})`;
    }
    void this.runClaim(claim);
  }

  private async runClaim(claim: RunningClaim): Promise<void> {
    const started = performance.now();
    let bytesReceived = 0;
    let bytesSent = 0;
    let sandbox: Sandbox | undefined;
    let jobPidFile: string | undefined;
    let report: ReportMessage;
    const wall = (): number => (performance.now() - started) / 1000;
    try {
      if (claim.vacateReason !== null) throw new VacateSignal();
      sandbox = await Sandbox.create(this.config.executeDir, claim.claimId);
      for (const input of claim.spec.inputs) {
        const cached = await this.inputs.place(input, sandbox);
        if (cached === undefined) {
          bytesReceived += await this.retrying(() => fetchInput({ url: this.config.url, agent: this.agent, token: this.config.token, claimId: claim.claimId, input, sandbox: sandbox! }), claim);
          await this.inputs.keep(input, sandbox);
        }
        if (claim.vacateReason !== null) throw new VacateSignal();
      }
      await sandbox.snapshot();
      claim.handle = await runJob(claim.spec, sandbox.dir, claim.spec.request.gpus > 0 || this.gpuIds.length > 0 ? { gpuIds: this.takeGpus(claim) } : {});
      jobPidFile = this.recordJob(claim.handle.pid);
      if (claim.vacateReason !== null) void claim.handle.vacate(this.config.vacateGraceMs ?? 5000);
      const result = await claim.handle.done;
      // A batch system ending the pilot (scancel, the time limit) signals every process of its
      // job at once: the job may die of that SIGTERM a moment before the pilot hears its own.
      // Such a death is the pilot's ending, not the job's result: wait a moment to tell which.
      if (!result.vacated && !result.overran && claim.vacateReason === null && endedByTermination(result.exit)) {
        await this.endingWithin(SIGNAL_RACE_MS);
      }
      if (result.vacated || claim.vacateReason !== null) {
        report = { type: 'vacated', claimId: claim.claimId, jobId: claim.spec.jobId, reason: claim.vacateReason ?? 'vacated', usage: { ...result.usage, bytesReceived, bytesSent } };
      } else if (result.overran) {
        report = { type: 'failed', claimId: claim.claimId, jobId: claim.spec.jobId, failure: overrunFailure(claim.spec.maxRuntimeSeconds ?? 0), usage: { ...result.usage, bytesReceived, bytesSent } };
      } else {
        const outputs = await sandbox.outputFiles(claim.spec.outputs, { exclude: [claim.spec.stdout, claim.spec.stderr, claim.spec.stdin] });
        const streams = [claim.spec.stdout, claim.spec.stderr].filter((n): n is string => n !== null);
        if (streams.length > 0) outputs.push(...(await sandbox.outputFiles(streams)));
        for (const file of outputs) {
          bytesSent += await this.retrying(() => sendOutput({ url: this.config.url, agent: this.agent, token: this.config.token, claimId: claim.claimId, name: file.name, path: file.path }), claim);
        }
        report = { type: 'done', claimId: claim.claimId, jobId: claim.spec.jobId, exit: result.exit, usage: { ...result.usage, bytesReceived, bytesSent } };
      }
    } catch (error) {
      if (error instanceof VacateSignal || claim.vacateReason !== null) {
        report = { type: 'vacated', claimId: claim.claimId, jobId: claim.spec.jobId, reason: claim.vacateReason ?? 'vacated', usage: zeroUsage(wall(), bytesReceived, bytesSent) };
      } else if (error instanceof ClaimError) {
        report = { type: 'failed', claimId: claim.claimId, jobId: claim.spec.jobId, failure: error.failure(), usage: zeroUsage(wall(), bytesReceived, bytesSent) };
      } else {
        // A bug of the pilot's, not the job's: the job is held with the reason rather than run again and again.
        const reason = `the pilot failed to run the job: ${error instanceof Error ? error.message : String(error)}`;
        report = { type: 'failed', claimId: claim.claimId, jobId: claim.spec.jobId, failure: { reason, code: 0, subcode: 0 }, usage: zeroUsage(wall(), bytesReceived, bytesSent) };
      }
    } finally {
      this.releaseGpus(claim);
      if (jobPidFile !== undefined) rmSync(jobPidFile, { force: true });
    }
    // Reported first: the AP can match the next job while this sandbox goes (the claim stays
    // counted here until then, so an ending pilot still removes it before it exits).
    if (!claim.silent) {
      this.unacked.set(claim.claimId, report);
      this.send(report);
    }
    try {
      await sandbox?.remove();
    } catch (error) {
      this.log(`removing the sandbox of claim ${claim.claimId}: ${(error as Error).message}`);
    }
    this.claims.delete(claim.claimId);
    if (this.claims.size === 0) this.idleSince = Date.now();
    this.maybeFinish();
  }

  /**
   * Notes a job's process group in the execute dir (`.jobs/PGID`), so that
   * whoever cleans up after a pilot killed with SIGKILL (whose exit hook
   * never ran) can stop its jobs too.
   */
  private recordJob(pgid: number): string | undefined {
    try {
      mkdirSync(join(this.config.executeDir, JOBS_DIR), { recursive: true, mode: 0o700 });
      const file = join(this.config.executeDir, JOBS_DIR, String(pgid));
      writeFileSync(file, '');
      return file;
    } catch (error) {
      this.log(`cannot note job process ${pgid}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** GPUs for a claim: the first free ones (the AP's accounting guarantees there are enough). */
  private takeGpus(claim: RunningClaim): string[] {
    const free = this.gpuIds.filter((id) => !this.gpusInUse.has(id)).slice(0, claim.spec.request.gpus);
    for (const id of free) this.gpusInUse.set(id, claim.claimId);
    return free;
  }

  private releaseGpus(claim: RunningClaim): void {
    for (const [id, owner] of this.gpusInUse) if (owner === claim.claimId) this.gpusInUse.delete(id);
  }

  /**
   * A transfer, tried again while the failure is the connection's (the AP
   * restarting, a network blip) and the claim still stands; errors the AP
   * answered (missing file, refused name) end the claim at once.
   */
  private async retrying<T>(transfer: () => Promise<T>, claim: RunningClaim): Promise<T> {
    const deadline = Date.now() + 10 * 60_000;
    let unknownSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await transfer();
      } catch (error) {
        // 410: the AP does not hold the claim. Right after an AP restart that is
        // true until this pilot says hello again and the claim is adopted; if the
        // claim is really stale, the welcome says so and vacates it.
        const unknown = error instanceof TransferError && error.status === 410;
        if (unknown) unknownSince ??= Date.now();
        const retry = isTransient(error) || (unknown && Date.now() - unknownSince! < CLAIM_ADOPTION_WAIT_MS);
        if (!retry || Date.now() > deadline || claim.vacateReason !== null) throw error;
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private async vacate(claim: RunningClaim, reason: string): Promise<void> {
    if (claim.vacateReason !== null) return;
    claim.vacateReason = reason;
    await claim.handle?.vacate(this.config.vacateGraceMs ?? 5000);
  }

  // -------------------------------------------------------------------------
  // Ending

  /** Idle time and end time, checked a few times a second. */
  private check(): void {
    if (this.ending !== null) return;
    const now = Date.now();
    if (this.claims.size === 0 && this.unacked.size === 0 && now - this.idleSince >= this.config.idleSeconds * 1000) {
      void this.end(`idle for ${this.config.idleSeconds} s`);
      return;
    }
    if (this.config.endTime !== null && now / 1000 >= this.config.endTime - this.config.endMarginSeconds) {
      void this.end('its lifetime is ending');
    }
  }

  /** Stops taking claims, vacates what runs, and finishes once the reports are acknowledged (or after a while). */
  private async end(reason: string, code = 0): Promise<void> {
    if (this.ending !== null) return;
    this.ending = reason;
    this.exitCode = code;
    this.log(`ending: ${reason}`);
    this.send({ type: 'draining', reason });
    await Promise.all([...this.claims.values()].map((c) => this.vacate(c, `the pilot is ending (${reason})`)));
    this.maybeFinish();
    // Reports unacknowledged after this long are given up: the AP's job lease requeues those jobs.
    setTimeout(() => void this.finish(this.exitCode), 15_000).unref();
  }

  private exitCode = 0;

  /** Resolves once the pilot is ending, or after `ms`. */
  private async endingWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.ending === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private maybeFinish(): void {
    if (this.ending !== null && this.claims.size === 0 && this.unacked.size === 0) void this.finish(this.exitCode);
  }

  private finish(code: number): Promise<void> {
    const resolve = this.finished;
    if (resolve === undefined) return Promise.resolve();
    this.finished = undefined;
    if (this.checkTimer !== undefined) clearInterval(this.checkTimer);
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000, this.ending ?? 'ending');
    this.agent.destroy();
    rmSync(this.config.executeDir, { recursive: true, force: true });
    if (this.config.removeOnExit !== null) rmSync(this.config.removeOnExit, { recursive: true, force: true });
    this.log(`ended (${this.ending ?? 'done'})`);
    resolve(code);
    return Promise.resolve();
  }
}

/** Signals a batch system sends when it ends a job (SIGTERM, SIGKILL, SIGINT, SIGHUP). */
const TERMINATION_SIGNALS = new Set([osConstants.signals.SIGTERM, osConstants.signals.SIGKILL, osConstants.signals.SIGINT, osConstants.signals.SIGHUP]);

/** Killed by one of those signals, or exited as a shell does after trapping one (128 + the signal). */
function endedByTermination(exit: ProcessExit): boolean {
  return exit.exitBySignal ? TERMINATION_SIGNALS.has(exit.signal) : exit.exitCode > 128 && TERMINATION_SIGNALS.has(exit.exitCode - 128);
}

/** How long a job's death by such a signal waits for the pilot's own ending before it counts as the job's result. */
const SIGNAL_RACE_MS = 1000;

/** Thrown inside a claim's run when it is vacated before its process starts. */
class VacateSignal extends Error {}

