/**
 * The access point's scheduler: slot registry (collector), matchmaker
 * (negotiator) and claim keeper (schedd's shadows) in one place, because
 * they share one view: which pilot offers what, which claim runs where.
 *
 * - Pilots attach (`attach`), heartbeat, report and go. Each offers one
 *   partitionable slot; a match carves a dynamic slot (a claim) out of it.
 * - Matching is driven by events: new idle jobs, freed resources, a new
 *   pilot each schedule one negotiation soon after (coalesced); nothing
 *   polls. Idle jobs are kept in autoclusters, so a cycle costs per group.
 * - Reports are recorded in batches: all reports that arrived since the
 *   last flush go in one transaction, then their pilots get their acks.
 *
 * Invariants (leases, DESIGN.md decision 5):
 * - a pilot silent for the slot lease loses its slot: its connection is
 *   closed and its claims wait for the job lease;
 * - a claim whose pilot is gone waits the job lease for the pilot to come
 *   back and report it; then its job returns to Idle;
 * - reports are fenced by claim id in the queue (job-runs.ts), so whatever
 *   this in-memory view believes, a job completes at most once.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ClassAd } from '../classad/index.ts';
import { parseClassAd, parseExpression } from '../classad/index.ts';
import {
  FairShare, IdleIndex, PlanError, type JobSnapshot, jobAttributesReferencedBySlot, negotiate, planExecution, requestOf, type ExecutionPlan, type SlotOffer, type SlotResources,
} from '../core/index.ts';
import type { ClaimMessage, HelloMessage, JobSpec, ReportMessage, Resources, ApMessage } from '../protocol/pilot.ts';
import { JobStatus, type JobId, type JobQueue } from '../store/index.ts';
import { expandInputs, type ClaimInput } from './claim-files.ts';
import type { JobRuns } from './job-runs.ts';
import type { JobService } from './job-service.ts';

/** How a connected pilot is reached (the gateway's side of it). */
export interface PilotLink {
  send(message: ApMessage): void;
  close(reason: string): void;
}

export interface PilotIdentity {
  readonly annexName: string;
  /** The annex owner's user name (the token's binding, without @domain). */
  readonly owner: string;
  readonly requestId: string | null;
  readonly tokenId: string;
}

export interface Leases {
  /** A pilot that has not been heard from for this long loses its slot. */
  readonly slotLeaseSeconds: number;
  /** A claim whose pilot is gone is waited for this long before its job is requeued. */
  readonly jobLeaseSeconds: number;
  /** What pilots are told: heartbeat this often. */
  readonly heartbeatSeconds: number;
}

export const DEFAULT_LEASES: Leases = { slotLeaseSeconds: 60, jobLeaseSeconds: 1200, heartbeatSeconds: 15 };

export interface Claim {
  readonly claimId: string;
  readonly id: JobId;
  readonly jobKey: string;
  readonly owner: string;
  readonly request: SlotResources;
  readonly plan: ExecutionPlan;
  readonly inputs: readonly ClaimInput[];
  readonly annexName: string;
  /** The pilot running it, or undefined while it waits for its pilot to come back. */
  pilotId: string | undefined;
  /** When the pilot was last known to hold it (seconds); the job lease counts from here. */
  lostAt: number | undefined;
  startedAt: number;
  /** A vacate was sent (the job was held or removed): do not send it again. */
  vacating: boolean;
}

export interface Pilot {
  readonly pilotId: string;
  readonly identity: PilotIdentity;
  readonly slotName: string;
  readonly hostname: string;
  readonly total: Resources;
  free: Resources;
  readonly ad: ClassAd;
  readonly endTime: number | null;
  accepting: boolean;
  lastHeard: number;
  readonly attachedAt: number;
  readonly link: PilotLink;
  readonly claims: Set<string>;
  /** Claims started on this pilot since it attached (names dynamic slots). */
  started: number;
  /** Last time it ran nothing (for status). */
  idleSince: number | null;
}

/** A slot as `htc annex status` shows it. */
export interface SlotStatus {
  readonly slotName: string;
  readonly annexName: string;
  readonly owner: string;
  readonly requestId: string | null;
  readonly hostname: string;
  readonly cpus: number;
  readonly busyCpus: number;
  readonly memoryMb: number;
  readonly claims: number;
  readonly endTime: number | null;
  readonly accepting: boolean;
  readonly attachedAt: number;
}

export interface SchedulerOptions {
  readonly queue: JobQueue;
  readonly jobs: JobService;
  readonly runs: JobRuns;
  readonly leases: Leases;
  readonly log: (line: string) => void;
  /** The queue changed (user logs, materialization wake up). */
  readonly onQueueChange: () => void;
  /** Where owners' decayed usage is kept across restarts (fair share); none: not kept. */
  readonly fairShareFile?: string;
  /** An annex request saw its first pilot (records hpc_annex_start_time). */
  readonly onPilotAttached?: (identity: PilotIdentity, now: number) => void;
  readonly clock?: () => number;
}

function sub(a: Resources, b: SlotResources): Resources {
  return { cpus: a.cpus - b.cpus, memoryMb: a.memoryMb - b.memoryMb, diskKb: a.diskKb - b.diskKb, gpus: a.gpus - b.gpus };
}

function add(a: Resources, b: SlotResources): Resources {
  return { cpus: a.cpus + b.cpus, memoryMb: a.memoryMb + b.memoryMb, diskKb: a.diskKb + b.diskKb, gpus: a.gpus + b.gpus };
}

function keyOf(id: JobId): string {
  return `${id.clusterId}.${id.procId}`;
}

function stringLiteral(s: string): string {
  return JSON.stringify(s);
}

/** The local universe: annex request records live in the queue, never matched. */
const LOCAL_UNIVERSE = 12;

export class Scheduler {
  private readonly pilots = new Map<string, Pilot>();
  private readonly claims = new Map<string, Claim>();
  private readonly idle = new IdleIndex();
  /** The proc differences each indexed job had when it was indexed: an edit changes them, and the job is indexed again. */
  private readonly idleDiffs = new Map<string, string>();
  private fairShare = new FairShare();
  private fairShareSavedAt = 0;
  private idleDirty = true;
  private negotiateTimer: NodeJS.Immediate | undefined;
  private flushTimer: NodeJS.Immediate | undefined;
  private pendingReports: { pilot: Pilot | undefined; report: ReportMessage; onAck: (refused: string | null) => void }[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly clock: () => number;
  private orderCounter = 0;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? (() => Date.now() / 1000);
  }

  /** Takes up claims of jobs left Running by a previous AP: they wait the job lease for their pilots. */
  start(): void {
    const now = this.clock();
    this.loadFairShare();
    for (const { id, claimId } of this.o.runs.runningClaims()) {
      if (claimId === undefined) continue;
      const job = this.o.runs.snapshot(id);
      if (job === undefined) continue;
      // Its inputs may have gone meanwhile: the claim is kept all the same (the
      // pilot may be past its transfers), so its lease still runs out and
      // requeues the job if no pilot reports it.
      let plan: ExecutionPlan;
      try {
        plan = planExecution(job.ad);
      } catch {
        plan = planExecution(parseClassAd('[Cmd = "/bin/false"]'));
      }
      let inputs: ClaimInput[] = [];
      try {
        inputs = expandInputs(plan);
      } catch {
        // no inputs to serve: a pilot still fetching gets a clear refusal and holds the job
      }
      const annex = job.ad.get('MachineAttrAnnexName0');
      const owner = job.ad.get('Owner');
      this.claims.set(claimId, {
        claimId, id, jobKey: keyOf(id), owner: owner?.kind === 'literal' && typeof owner.value === 'string' ? owner.value : plan.owner, request: requestOf(job.ad), plan, inputs,
        annexName: annex?.kind === 'literal' && typeof annex.value === 'string' ? annex.value : '',
        pilotId: undefined, lostAt: now, startedAt: now, vacating: false,
      });
    }
    if (this.claims.size > 0) this.o.log(`waiting up to ${this.o.leases.jobLeaseSeconds} s for pilots to report ${this.claims.size} running job(s)`);
    const sweepEvery = Math.max(0.05, Math.min(this.o.leases.slotLeaseSeconds, this.o.leases.jobLeaseSeconds) / 4);
    this.sweepTimer = setInterval(() => this.sweep(), sweepEvery * 1000);
    this.sweepTimer.unref();
    this.jobsChanged();
  }

  stop(): void {
    this.stopped = true;
    this.saveFairShare();
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    if (this.negotiateTimer !== undefined) clearImmediate(this.negotiateTimer);
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flushReports();
    for (const p of this.pilots.values()) p.link.close('the access point is stopping');
    this.pilots.clear();
  }

  // -------------------------------------------------------------------------
  // Pilots

  /**
   * A pilot says hello (first time or after a reconnect). Returns the
   * welcome; the pilot's reports go through the normal batch.
   */
  attach(identity: PilotIdentity, hello: HelloMessage, link: PilotLink): Pilot {
    const now = this.clock();
    const old = this.pilots.get(hello.pilotId);
    if (old !== undefined) {
      if (old.identity.annexName !== identity.annexName || old.identity.owner !== identity.owner) {
        throw new Error(`pilot id ${hello.pilotId} is already attached for another annex`);
      }
      this.detach(old, 'the pilot connected again');
      old.link.close('replaced by a new connection of the same pilot');
    }
    const slotName = `slot1@${hello.pilotId.slice(0, 8)}.${hello.hostname}`;
    const ad = this.slotAd(identity, hello, slotName);
    // A START that reads other job attributes must split autoclusters by them.
    if (this.idle.noteSlotReferences(jobAttributesReferencedBySlot(ad))) this.idleDirty = true;
    const pilot: Pilot = {
      pilotId: hello.pilotId, identity, slotName, hostname: hello.hostname, total: hello.resources, free: hello.resources, ad,
      endTime: hello.endTime, accepting: true, lastHeard: now, attachedAt: now, link, claims: new Set(), started: 0, idleSince: now,
    };
    // Claims it still runs: adopt those the queue still gives it, the rest are stale.
    const stale: string[] = [];
    for (const held of hello.running) {
      const claim = this.claims.get(held.claimId);
      const reported = hello.reports.some((r) => r.claimId === held.claimId);
      const ours = claim !== undefined && claim.annexName === identity.annexName && claim.owner === identity.owner && (claim.pilotId === undefined || claim.pilotId === hello.pilotId);
      if (claim !== undefined && ours && claim.jobKey === held.jobId && !reported && this.o.runs.isCurrent(claim.id, claim.claimId)) {
        claim.pilotId = pilot.pilotId;
        claim.lostAt = undefined;
        pilot.claims.add(claim.claimId);
        pilot.free = sub(pilot.free, claim.request);
        pilot.idleSince = null;
      } else if (!reported) {
        stale.push(held.claimId);
      }
    }
    this.pilots.set(pilot.pilotId, pilot);
    if (stale.length > 0) this.o.log(`refused stale claim(s) of pilot ${slotName}: ${stale.join(', ')} (the queue no longer runs their jobs under them); told it to stop them`);
    link.send({ type: 'welcome', slotName, heartbeatSeconds: this.o.leases.heartbeatSeconds, stale });
    for (const report of hello.reports) this.report(pilot, report);
    this.o.onPilotAttached?.(identity, now);
    this.o.log(`pilot ${slotName} attached: annex ${identity.annexName} of ${identity.owner}, ${hello.resources.cpus} cpus, ${hello.resources.memoryMb} MiB`);
    this.scheduleNegotiate();
    return pilot;
  }

  /** The slot ad: what the pilot says about its node, with the annex attributes from its token, not from it. */
  private slotAd(identity: PilotIdentity, hello: HelloMessage, slotName: string): ClassAd {
    const ad = parseClassAd('[]');
    for (const [name, value] of Object.entries(hello.attributes)) ad.setValue(name, value);
    ad.setValue('MyType', 'Machine');
    ad.setValue('Name', slotName);
    ad.setValue('Machine', hello.hostname);
    ad.setValue('Cpus', hello.resources.cpus);
    ad.setValue('TotalSlotCpus', hello.resources.cpus);
    ad.setValue('Memory', hello.resources.memoryMb);
    ad.setValue('Disk', hello.resources.diskKb);
    ad.setValue('GPUs', hello.resources.gpus);
    ad.setValue('PartitionableSlot', true);
    ad.setValue('HasFileTransfer', true);
    ad.setValue('IsAnnex', true);
    ad.setValue('AnnexName', identity.annexName);
    ad.setValue('AnnexOwner', identity.owner);
    if (identity.requestId !== null) ad.setValue('hpc_annex_request_id', identity.requestId);
    if (hello.endTime !== null) ad.setValue('PilotEndTime', hello.endTime);
    // The pilot's START, and always the annex binding: only the owner's jobs, and of those the
    // ones that target this annex, or target none and opted in to annex slots (AllowAnnexSlots).
    const name = stringLiteral(identity.annexName);
    const binding =
      `(TARGET.Owner == ${stringLiteral(identity.owner)}) && ` +
      `((TARGET.TargetAnnexName =?= ${name}) || ((TARGET.TargetAnnexName =?= undefined) && (TARGET.AllowAnnexSlots =?= true)))`;
    let start = binding;
    try {
      parseExpression(hello.start);
      if (hello.start.trim() !== '' && hello.start.trim().toLowerCase() !== 'true') start = `(${hello.start}) && ${binding}`;
    } catch {
      // A START the AP cannot parse is dropped: the binding alone still holds.
    }
    ad.set('START', parseExpression(start));
    ad.set('Requirements', parseExpression('START'));
    return ad;
  }

  heard(pilot: Pilot): void {
    pilot.lastHeard = this.clock();
  }

  draining(pilot: Pilot): void {
    pilot.accepting = false;
  }

  /**
   * The pilot's connection closed: its slot goes now. Its claims wait the
   * job lease for it to come back, unless it had said it was ending: then
   * it will not, and its jobs are requeued at once.
   */
  closed(pilot: Pilot): void {
    if (this.pilots.get(pilot.pilotId) !== pilot) return;
    // Its last reports arrived before the close: they are recorded first.
    this.flushReports();
    const ending = !pilot.accepting;
    const claims = [...pilot.claims];
    this.detach(pilot, ending ? 'it ended' : 'its connection closed');
    if (!ending || claims.length === 0) return;
    const expired: { id: JobId; claimId: string; reason: string }[] = [];
    for (const claimId of claims) {
      const claim = this.claims.get(claimId);
      if (claim === undefined) continue;
      this.claims.delete(claimId);
      expired.push({ id: claim.id, claimId, reason: `the pilot ${pilot.slotName} ended before it reported the job` });
    }
    if (this.o.runs.expireClaims(expired).length > 0) {
      this.jobsChanged();
      this.o.onQueueChange();
    }
  }

  private detach(pilot: Pilot, why: string): void {
    const now = this.clock();
    this.pilots.delete(pilot.pilotId);
    for (const claimId of pilot.claims) {
      const claim = this.claims.get(claimId);
      if (claim === undefined) continue;
      claim.pilotId = undefined;
      claim.lostAt = now;
    }
    pilot.claims.clear();
    this.o.log(`pilot ${pilot.slotName} left (${why})`);
  }

  private loadFairShare(): void {
    if (this.o.fairShareFile === undefined) return;
    try {
      this.fairShare = FairShare.fromJSON(JSON.parse(readFileSync(this.o.fairShareFile, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log(`${this.o.fairShareFile} is unreadable (${(error as Error).message}); fair share starts from no usage`);
    }
  }

  /** Written atomically, at most once a minute and at stop: losing a minute of usage on a crash only nudges priorities. */
  private saveFairShare(): void {
    if (this.o.fairShareFile === undefined) return;
    try {
      const tmp = `${this.o.fairShareFile}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(this.fairShare)}\n`);
      renameSync(tmp, this.o.fairShareFile);
      this.fairShareSavedAt = this.clock();
    } catch (error) {
      this.o.log(`saving fair-share usage failed: ${(error as Error).message}`);
    }
  }

  /** Lease checks: silent pilots lose their slots; claims whose pilots stayed away lose their jobs. */
  sweep(): void {
    if (this.stopped) return;
    const now = this.clock();
    if (now - this.fairShareSavedAt >= 60) this.saveFairShare();
    for (const pilot of [...this.pilots.values()]) {
      if (now - pilot.lastHeard > this.o.leases.slotLeaseSeconds) {
        this.detach(pilot, `no heartbeat for ${this.o.leases.slotLeaseSeconds} s`);
        pilot.link.close('slot lease expired');
      }
    }
    const expired: { id: JobId; claimId: string; reason: string }[] = [];
    for (const claim of this.claims.values()) {
      if (claim.pilotId === undefined && claim.lostAt !== undefined && now - claim.lostAt > this.o.leases.jobLeaseSeconds) {
        expired.push({ id: claim.id, claimId: claim.claimId, reason: `the pilot running the job was lost for more than the job lease (${this.o.leases.jobLeaseSeconds} s)` });
      }
    }
    if (expired.length === 0) return;
    for (const e of expired) this.claims.delete(e.claimId);
    const requeued = this.o.runs.expireClaims(expired);
    if (requeued.length > 0) {
      this.o.log(`job lease expired for ${requeued.length} job(s); they are idle again`);
      this.jobsChanged();
      this.o.onQueueChange();
    }
  }

  // -------------------------------------------------------------------------
  // Reports

  /** A pilot's report; recorded with the others of this moment in one transaction, then acknowledged. */
  report(pilot: Pilot | undefined, report: ReportMessage | undefined, onAck?: (refused: string | null) => void): void {
    if (report !== undefined) {
      const ack = onAck ?? ((refused: string | null): void => pilot?.link.send({ type: 'ack', claimId: report.claimId, refused }));
      this.pendingReports.push({ pilot, report, onAck: ack });
    }
    this.flushTimer ??= setImmediate(() => {
      this.flushTimer = undefined;
      this.flushReports();
    });
  }

  private flushReports(): void {
    const batch = this.pendingReports;
    if (batch.length === 0) return;
    this.pendingReports = [];
    // A report about a claim another pilot holds is refused before it reaches the queue.
    const accepted: typeof batch = [];
    for (const b of batch) {
      const claim = this.claims.get(b.report.claimId);
      const sender = b.pilot;
      const foreign = claim !== undefined && sender !== undefined &&
        (claim.annexName !== sender.identity.annexName || claim.owner !== sender.identity.owner || (claim.pilotId !== undefined && claim.pilotId !== sender.pilotId));
      if (foreign) {
        this.o.log(`refused a ${b.report.type} report from ${sender.slotName}: claim ${b.report.claimId} is not its claim`);
        b.onAck(`claim ${b.report.claimId} is not this pilot's`);
      } else {
        accepted.push(b);
      }
    }
    if (accepted.length === 0) return;
    let outcomes;
    try {
      outcomes = this.o.runs.finishClaims(
        accepted.map((b) => b.report),
        accepted.map((b) => (b.pilot === undefined ? undefined : { annexName: b.pilot.identity.annexName, owner: b.pilot.identity.owner })),
      );
    } catch (error) {
      // Kept and tried again: the pilots wait for their acks meanwhile.
      this.o.log(`recording ${accepted.length} pilot report(s) failed: ${error instanceof Error ? error.message : String(error)}; trying again in 1 s`);
      this.pendingReports.unshift(...accepted);
      if (!this.stopped) setTimeout(() => this.report(undefined, undefined), 1000).unref();
      return;
    }
    const byClaim = new Map(outcomes.map((o) => [o.claimId, o]));
    const now = this.clock();
    let requeued = false;
    for (const b of accepted) {
      const outcome = byClaim.get(b.report.claimId);
      const claim = this.claims.get(b.report.claimId);
      // The claim ends when the queue took the report, or when the job no longer runs under it.
      if (claim !== undefined && (outcome?.refused == null || !this.o.runs.isCurrent(claim.id, claim.claimId))) {
        this.claims.delete(claim.claimId);
        const pilot = claim.pilotId === undefined ? undefined : this.pilots.get(claim.pilotId);
        if (pilot !== undefined) {
          pilot.claims.delete(claim.claimId);
          pilot.free = add(pilot.free, claim.request);
          if (pilot.claims.size === 0) pilot.idleSince = now;
        }
        const usage = b.report.usage;
        const cpuSeconds = usage === null ? (now - claim.startedAt) * claim.request.cpus : usage.wallSeconds * claim.request.cpus;
        this.fairShare.charge(claim.owner, cpuSeconds, now);
      }
      if (outcome?.requeued === true) requeued = true;
      if (outcome?.refused != null) this.o.log(`refused a ${b.report.type} report from ${b.pilot?.slotName ?? 'a pilot'}: ${outcome.refused}`);
      b.onAck(outcome?.refused ?? null);
    }
    if (requeued) this.jobsChanged();
    this.o.onQueueChange();
    // Freed slots are matched in this same turn: a short job's next claim is on its way at once.
    this.negotiateNow();
  }

  private negotiateNow(): void {
    if (this.negotiateTimer !== undefined) {
      clearImmediate(this.negotiateTimer);
      this.negotiateTimer = undefined;
    }
    try {
      this.negotiate();
    } catch (error) {
      this.o.log(`matchmaking failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  // -------------------------------------------------------------------------
  // Matchmaking

  /** New idle jobs may exist (submit, release, requeue, materialization): look again before the next match. */
  jobsChanged(): void {
    this.idleDirty = true;
    this.scheduleNegotiate();
  }

  /**
   * Jobs held or removed by users while running: their pilots are told to
   * stop them (the pilot answers `vacated`, which the queue then refuses as
   * stale, freeing the slot).
   */
  reconcile(): void {
    for (const claim of this.claims.values()) {
      if (claim.vacating || claim.pilotId === undefined) continue;
      if (this.o.runs.isCurrent(claim.id, claim.claimId)) continue;
      claim.vacating = true;
      this.pilots.get(claim.pilotId)?.link.send({ type: 'vacate', claimId: claim.claimId, reason: 'the job is no longer running (held or removed)' });
    }
  }

  private scheduleNegotiate(): void {
    if (this.stopped || this.negotiateTimer !== undefined) return;
    this.negotiateTimer = setImmediate(() => {
      this.negotiateTimer = undefined;
      this.negotiateNow();
    });
  }

  /** Procs just made (late materialization): into the index, without a rescan. */
  addIdle(clusterId: number, from: number, count: number): void {
    const cluster = this.o.queue.cluster(clusterId);
    if (cluster === undefined) return;
    for (let procId = from; procId < from + count; procId++) {
      const proc = this.o.queue.proc({ clusterId, procId });
      if (proc === undefined || proc.status !== JobStatus.Idle) continue;
      this.idle.add({ key: `${clusterId}.${procId}`, owner: cluster.owner, ad: this.o.jobs.wholeAd(cluster, proc), order: clusterId * 2 ** 21 + procId });
      this.idleDiffs.set(`${clusterId}.${procId}`, proc.diff);
    }
    this.scheduleNegotiate();
  }

  /** Brings the idle index up to date with the queue: new idle jobs in, jobs that left Idle out. */
  private refreshIdle(): void {
    const idleNow = new Set<string>();
    const clusterAds = new Map<number, ClassAd | null>();
    for (const proc of this.o.queue.procs({ statuses: [JobStatus.Idle] })) {
      const key = `${proc.clusterId}.${proc.procId}`;
      idleNow.add(key);
      if (this.idle.has(key) && this.idleDiffs.get(key) === proc.diff) continue;
      let clusterAd = clusterAds.get(proc.clusterId);
      if (clusterAd === undefined) {
        const cluster = this.o.queue.cluster(proc.clusterId);
        clusterAd = cluster === undefined ? null : this.o.jobs.clusterAd(cluster);
        clusterAds.set(proc.clusterId, clusterAd);
      }
      if (clusterAd === null) continue;
      const cluster = this.o.queue.cluster(proc.clusterId)!;
      const ad = this.o.jobs.wholeAd(cluster, proc);
      const universe = ad.get('JobUniverse');
      if (universe?.kind === 'literal' && universe.value === LOCAL_UNIVERSE) continue;
      this.idle.add({ key, owner: cluster.owner, ad, order: proc.clusterId * 2 ** 21 + proc.procId });
      this.idleDiffs.set(key, proc.diff);
    }
    for (const key of this.idle.keys()) {
      if (idleNow.has(key)) continue;
      this.idle.delete(key);
      this.idleDiffs.delete(key);
    }
    this.idleDirty = false;
  }

  private negotiate(): void {
    if (this.pilots.size === 0) return;
    if (this.idleDirty) this.refreshIdle();
    if (this.idle.size === 0) return;
    const now = this.clock();
    const offers: SlotOffer[] = [];
    for (const p of this.pilots.values()) {
      if (!p.accepting || p.free.cpus <= 0) continue;
      offers.push({ slotId: p.pilotId, ad: p.ad, free: p.free, endTime: p.endTime, accepting: p.accepting });
    }
    if (offers.length === 0) return;
    const matches = negotiate(this.idle.groups(), offers, { fairShare: this.fairShare, now });
    if (matches.length === 0) return;
    type Pending = { claim: Claim; pilot: Pilot; slotName: string; job: JobSnapshot };
    const pending: Pending[] = [];
    const holds: { id: JobId; reason: string }[] = [];
    for (const m of matches) {
      this.idle.delete(m.jobKey);
      this.idleDiffs.delete(m.jobKey);
      const pilot = this.pilots.get(m.slotId);
      if (pilot === undefined) continue;
      const [clusterId, procId] = m.jobKey.split('.').map(Number) as [number, number];
      const id = { clusterId, procId };
      const job = this.o.runs.snapshot(id);
      if (job === undefined || job.status !== JobStatus.Idle) continue;
      let plan: ExecutionPlan;
      let inputs: ClaimInput[];
      try {
        plan = planExecution(job.ad);
        inputs = expandInputs(plan);
      } catch (error) {
        if (error instanceof PlanError) {
          holds.push({ id, reason: error.message });
          continue;
        }
        throw error;
      }
      pilot.started += 1;
      const claimId = `${pilot.pilotId.slice(0, 8)}-${randomUUID()}`;
      const claim: Claim = {
        claimId, id, jobKey: m.jobKey, owner: plan.owner, request: m.request, plan, inputs, annexName: pilot.identity.annexName,
        pilotId: pilot.pilotId, lostAt: undefined, startedAt: now, vacating: false,
      };
      pending.push({ claim, pilot, job, slotName: `slot1_${pilot.started}@${pilot.slotName.slice(pilot.slotName.indexOf('@') + 1)}` });
    }
    if (holds.length > 0) {
      this.o.runs.holdUnstartable(holds);
      this.o.onQueueChange();
      // The resources matched to them are still free: other jobs may take them.
      this.scheduleNegotiate();
    }
    if (pending.length === 0) return;
    const recorded = this.o.runs.startClaims(
      pending.map(({ claim, slotName, job }) => ({
        id: claim.id, job, claimId: claim.claimId, slotName,
        annexName: claim.annexName, requestCpus: claim.request.cpus,
      })),
    );
    for (const { claim, pilot } of pending) {
      if (!recorded.has(claim.claimId)) continue;
      this.claims.set(claim.claimId, claim);
      pilot.claims.add(claim.claimId);
      pilot.free = sub(pilot.free, claim.request);
      pilot.idleSince = null;
      const message: ClaimMessage = { type: 'claim', claimId: claim.claimId, job: this.jobSpec(claim) };
      pilot.link.send(message);
    }
    this.o.onQueueChange();
    // More may fit (the cycle was capped, or jobs were refused): look again.
    if (recorded.size > 0) this.scheduleNegotiate();
  }

  private jobSpec(claim: Claim): JobSpec {
    const p = claim.plan;
    return {
      jobId: claim.jobKey,
      owner: claim.owner,
      executable: p.executable,
      arguments: p.arguments,
      environment: p.environment,
      inputs: claim.inputs.map((f, index) => ({ index, name: f.name, size: f.size, executable: f.executable, sha256: f.sha256 })),
      stdin: p.stdin,
      stdout: p.stdout,
      stderr: p.stderr,
      outputs: p.outputs,
      request: claim.request,
      maxRuntimeSeconds: p.maxRuntimeSeconds,
    };
  }

  // -------------------------------------------------------------------------
  // Reading

  /** The claim a pilot of this identity may move files for, or undefined. */
  claimFor(claimId: string, identity: { annexName: string; owner: string }): Claim | undefined {
    const claim = this.claims.get(claimId);
    if (claim === undefined || claim.annexName !== identity.annexName || claim.owner !== identity.owner) return undefined;
    return claim;
  }

  slots(filter: { annexName?: string; owner?: string } = {}): SlotStatus[] {
    const out: SlotStatus[] = [];
    for (const p of this.pilots.values()) {
      if (filter.annexName !== undefined && p.identity.annexName !== filter.annexName) continue;
      if (filter.owner !== undefined && p.identity.owner !== filter.owner) continue;
      out.push({
        slotName: p.slotName, annexName: p.identity.annexName, owner: p.identity.owner, requestId: p.identity.requestId, hostname: p.hostname,
        cpus: p.total.cpus, busyCpus: p.total.cpus - p.free.cpus, memoryMb: p.total.memoryMb, claims: p.claims.size, endTime: p.endTime,
        accepting: p.accepting, attachedAt: p.attachedAt,
      });
    }
    return out;
  }

  /** Tells every pilot of an annex to end (vacating its jobs); returns how many were told. */
  shutdownAnnex(annexName: string, owner: string, reason: string): number {
    let told = 0;
    for (const p of this.pilots.values()) {
      if (p.identity.annexName !== annexName || p.identity.owner !== owner) continue;
      p.accepting = false;
      p.link.send({ type: 'shutdown', reason });
      told++;
    }
    return told;
  }
}
