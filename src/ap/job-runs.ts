/**
 * Runs of jobs on pilots, as queue transitions: a claim starts (Idle →
 * Running with its ClaimId), ends (the pilot's report: done → the exit
 * policies decide; vacated → Idle; failed → Held), or is given up when its
 * job lease runs out (→ Idle).
 *
 * Invariants: every change is fenced twice — by status (`expectStatus`) and
 * by claim: a report or a lease expiry changes a job only while the job's
 * ClaimId is the claim's, so a stale pilot can never complete a job that
 * has since started elsewhere, and no job completes twice. Changes come in
 * batches (one transaction each) because pilots report at thousands per
 * second, and are committed at 'crash' durability (not fsynced: decision
 * 0006): a power cut may lose the last of them, which runs those jobs again;
 * kill -9 of the AP loses nothing.
 */
import { parseExpression, printClassAd, printReal, printString, type ClassAd } from '../classad/index.ts';
import {
  HoldReasonCode, complete, evict, hold, leaveInQueue, start, toProcChange, type ExitOutcome, type JobSnapshot, type TransitionResult,
} from '../core/index.ts';
import type { ReportMessage, RunUsage } from '../protocol/pilot.ts';
import { JobStatus, type JobId, type JobQueue, type ProcChange } from '../store/index.ts';
import type { JobService } from './job-service.ts';

export interface ClaimStart {
  readonly id: JobId;
  /** The job as the caller just read it (saves reading it again). */
  readonly job?: JobSnapshot;
  readonly claimId: string;
  /** The dynamic slot's name (`slot1_3@host`), written as RemoteHost. */
  readonly slotName: string;
  readonly annexName: string;
  readonly requestCpus: number;
}

export interface ReportOutcome {
  readonly claimId: string;
  /** Why the report was not recorded (stale claim), or null. */
  readonly refused: string | null;
  /** The job went back to Idle (vacated, requeued by policy): matchmaking has work again. */
  readonly requeued: boolean;
}

/** A string literal attribute of an ad, if any. */
function stringOf(ad: ClassAd, name: string): string | undefined {
  const node = ad.get(name);
  return node?.kind === 'literal' && typeof node.value === 'string' ? node.value : undefined;
}

function claimIdOf(ad: ClassAd): string | undefined {
  return stringOf(ad, 'ClaimId');
}

/** Who sends a report: the authenticated annex and owner of the pilot's token. */
export interface ClaimHolder {
  readonly annexName: string;
  readonly owner: string;
}

/** What the pilot measured, as the attributes HTCondor keeps (MemoryUsage MiB, ResidentSetSize KiB). */
function usageAttributes(usage: RunUsage | null): Record<string, string> {
  if (usage === null) return {};
  return {
    MemoryUsage: String(Math.ceil(usage.memoryPeakMb)),
    ResidentSetSize: String(Math.ceil(usage.memoryPeakMb * 1024)),
    LastRunWallSeconds: printReal(Math.round(usage.wallSeconds * 1000) / 1000),
  };
}

function coreUsage(usage: RunUsage | null): ExitOutcome['usage'] {
  if (usage === null) return undefined;
  return { remoteUserCpu: usage.userCpuSeconds, remoteSysCpu: usage.sysCpuSeconds, bytesSent: usage.bytesSent, bytesReceived: usage.bytesReceived };
}

export class JobRuns {
  constructor(
    private readonly queue: JobQueue,
    private readonly jobs: JobService,
    private readonly clock: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** The job as it is now, or undefined when it left the queue. */
  snapshot(id: JobId): JobSnapshot | undefined {
    const proc = this.queue.proc(id);
    const ad = proc === undefined ? undefined : this.jobs.wholeAdOf(id.clusterId, proc);
    if (proc === undefined || ad === undefined) return undefined;
    return { id, status: proc.status, ad };
  }

  /** Idle → Running for each start whose job is still idle; returns the claim ids recorded. */
  startClaims(starts: readonly ClaimStart[]): Set<string> {
    const now = this.clock();
    const changes: ProcChange[] = [];
    const claimOf = new Map<string, string>();
    for (const s of starts) {
      const job = s.job ?? this.snapshot(s.id);
      if (job === undefined) continue;
      const t = start(job, { host: s.slotName, slotName: s.slotName }, now);
      if (!t.ok) continue;
      const change = toProcChange(t);
      changes.push({
        ...change,
        set: { ...change.set, ClaimId: printString(s.claimId), MachineAttrAnnexName0: printString(s.annexName), CpusProvisioned: String(s.requestCpus) },
      });
      claimOf.set(`${s.id.clusterId}.${s.id.procId}`, s.claimId);
    }
    const applied = this.queue.changeProcs(changes, now, 'crash');
    this.jobs.clustersChanged(applied.map((c) => c.id.clusterId));
    return new Set(applied.map((c) => claimOf.get(`${c.id.clusterId}.${c.id.procId}`)!));
  }

  /**
   * Records pilots' reports in one transaction. A report counts only if its
   * job is running under that very claim; the rest are refused (and the
   * pilot forgets them).
   */
  finishClaims(reports: readonly ReportMessage[], holders?: readonly (ClaimHolder | undefined)[]): ReportOutcome[] {
    const now = this.clock();
    const outcomes: ReportOutcome[] = [];
    const changes: ProcChange[] = [];
    const finishes: { change: ProcChange; wholeAd: string }[] = [];
    const byKey = new Map<string, ReportMessage>();
    for (const [i, r] of reports.entries()) {
      const refusal = this.fence(r.jobId, r.claimId, byKey, holders?.[i]);
      if (typeof refusal === 'string') {
        outcomes.push({ claimId: r.claimId, refused: refusal, requeued: false });
        continue;
      }
      const job = refusal;
      // The canonical "cluster.proc" (a report may spell "01.0"): every map below is keyed by it.
      const key = `${job.id.clusterId}.${job.id.procId}`;
      let t: TransitionResult;
      if (r.type === 'done') {
        const outcome: ExitOutcome = r.exit.exitBySignal
          ? { exitBySignal: true, signal: r.exit.signal, usage: coreUsage(r.usage) }
          : { exitBySignal: false, exitCode: r.exit.exitCode, usage: coreUsage(r.usage) };
        t = complete(job, outcome, now);
      } else if (r.type === 'vacated') {
        t = evict(job, r.reason, now, coreUsage(r.usage));
      } else {
        t = hold(job, r.failure.reason, r.failure.code, r.failure.subcode, now);
      }
      if (!t.ok) {
        outcomes.push({ claimId: r.claimId, refused: `job ${r.jobId} ${t.message}`, requeued: false });
        continue;
      }
      const base = toProcChange(t);
      const change: ProcChange = { ...base, set: { ...base.set, ...usageAttributes(r.usage), ClaimId: 'undefined' } };
      byKey.set(key, r);
      // A job that leaves the queue now goes straight to history with the ad
      // just computed (status, time and the change applied); the queue does not
      // rewrite its differences first.
      if (change.status === JobStatus.Completed || change.status === JobStatus.Removed) {
        const after: JobSnapshot = { id: job.id, status: change.status, ad: job.ad.copy() };
        for (const [name, text] of Object.entries(change.set)) after.ad.set(name, parseExpression(text));
        if (change.status === JobStatus.Removed || !leaveInQueue(after, now)) {
          after.ad.setValue('JobStatus', change.status);
          after.ad.setValue('EnteredCurrentStatus', now);
          finishes.push({ change, wholeAd: printClassAd(after.ad) });
          continue;
        }
      }
      changes.push(change);
    }
    const applied = [...this.queue.changeProcs(changes, now, 'crash'), ...this.queue.finishProcs(finishes, now, 'crash')];
    const appliedKeys = new Set(applied.map((c) => `${c.id.clusterId}.${c.id.procId}`));
    this.jobs.clustersChanged(applied.map((c) => c.id.clusterId));
    for (const [key, r] of byKey) {
      const change = applied.find((c) => `${c.id.clusterId}.${c.id.procId}` === key);
      outcomes.push({
        claimId: r.claimId,
        refused: appliedKeys.has(key) ? null : `job ${key} changed while the report was recorded`,
        requeued: change?.status === JobStatus.Idle,
      });
    }
    return outcomes;
  }

  /** The job's snapshot when it runs under `claimId`, else why the claim is stale. */
  private fence(jobId: string, claimId: string, seen: ReadonlyMap<string, unknown>, holder?: ClaimHolder): JobSnapshot | string {
    const m = /^(\d+)\.(\d+)$/.exec(jobId);
    if (m === null) return `${JSON.stringify(jobId)} is not a job id`;
    const id = { clusterId: Number(m[1]), procId: Number(m[2]) };
    if (seen.has(`${id.clusterId}.${id.procId}`)) return `job ${jobId} was reported twice in one batch`;
    const job = this.snapshot(id);
    if (job === undefined) return `job ${jobId} is no longer in the queue`;
    if (job.status !== JobStatus.Running) return `job ${jobId} is not running here any more`;
    if (claimIdOf(job.ad) !== claimId) return `claim ${claimId} is stale: job ${jobId} runs under another claim now`;
    // A report speaks for the job only from a pilot of the annex and owner the job was started for.
    if (holder !== undefined && (stringOf(job.ad, 'MachineAttrAnnexName0') !== holder.annexName || stringOf(job.ad, 'Owner') !== holder.owner)) {
      return `claim ${claimId} belongs to another annex or owner`;
    }
    return job;
  }

  /** Running jobs and their claims (after a restart: the claims pilots may come back to report). */
  runningClaims(): { id: JobId; claimId: string | undefined }[] {
    return this.queue.procs({ statuses: [JobStatus.Running] }).map((p) => {
      const job = this.snapshot({ clusterId: p.clusterId, procId: p.procId });
      return { id: { clusterId: p.clusterId, procId: p.procId }, claimId: job === undefined ? undefined : claimIdOf(job.ad) };
    });
  }

  /** Whether the job still runs under this claim (a hold or remove ends it: its pilot must stop it). */
  isCurrent(id: JobId, claimId: string): boolean {
    const job = this.snapshot(id);
    return job !== undefined && job.status === JobStatus.Running && claimIdOf(job.ad) === claimId;
  }

  /** Gives up claims whose job lease ran out: Running → Idle, fenced by claim. Returns the jobs requeued. */
  expireClaims(expired: readonly { id: JobId; claimId: string; reason: string }[]): JobId[] {
    const now = this.clock();
    const changes: ProcChange[] = [];
    for (const e of expired) {
      const job = this.snapshot(e.id);
      if (job === undefined || job.status !== JobStatus.Running || claimIdOf(job.ad) !== e.claimId) continue;
      const t = evict(job, e.reason, now);
      if (t.ok) {
        const change = toProcChange(t);
        changes.push({ ...change, set: { ...change.set, ClaimId: 'undefined' } });
      }
    }
    const applied = this.queue.changeProcs(changes, now);
    this.jobs.clustersChanged(applied.map((c) => c.id.clusterId));
    return applied.map((c) => c.id);
  }

  /** Holds jobs that cannot start (their plan or inputs are wrong); only Idle ones. */
  holdUnstartable(holds: readonly { id: JobId; reason: string; code?: number }[]): number {
    const now = this.clock();
    const changes: ProcChange[] = [];
    for (const h of holds) {
      const job = this.snapshot(h.id);
      if (job === undefined || job.status !== JobStatus.Idle) continue;
      const t = hold(job, h.reason, h.code ?? HoldReasonCode.TransferInputError, 0, now);
      if (t.ok) changes.push(toProcChange(t));
    }
    return this.queue.changeProcs(changes, now).length;
  }
}
