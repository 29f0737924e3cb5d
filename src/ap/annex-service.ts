/**
 * Annexes on the access point's side: each `annex create | add` becomes an
 * annex request, stored as a local-universe job (JobUniverse 12, never
 * matched) whose ad carries the `hpc_annex_*` attributes, plus an annex
 * token bound to that annex and owner for its pilots. Status joins the
 * requests with the slots the scheduler holds; shutdown tells the pilots to
 * end, revokes the tokens and ends the requests (they go to history).
 *
 * Invariants: an annex belongs to one owner (the authenticated creator); a
 * request is Idle until its first pilot attaches (then Running, with
 * hpc_annex_start_time), and Completed once shut down or past its lifetime
 * with no pilot left; only the owner (or the AP's owner) sees or ends it.
 */
import { randomUUID } from 'node:crypto';
import { parseClassAd, printClassAd, type ClassAd } from '../classad/index.ts';
import type { TokenIssuer } from '../auth/index.ts';
import { HtcError } from '../errors.ts';
import type { AnnexCreateRequest, AnnexCreateResponse, AnnexLaunch, AnnexRequestStatus, AnnexShutdownResponse, AnnexStatus, AnnexWithdrawal } from '../protocol/annex.ts';
import { JobStatus, type JobQueue, type ProcChange } from '../store/index.ts';
import type { Caller, JobService } from './job-service.ts';
import type { PilotIdentity, Scheduler } from './scheduler.ts';

/** How long past its lifetime a request waits for its last pilot before it is ended anyway (HTCondor's batch margin). */
const END_MARGIN_SECONDS = 300;

/** How long an ended request still shows in `annex status` (as retired). */
const RETIRED_SHOWN_SECONDS = 3600;

interface RequestRecord {
  readonly clusterId: number;
  readonly owner: string;
  readonly status: number;
  readonly ad: ClassAd;
  readonly submittedAt: number;
}

function str(ad: ClassAd, name: string): string {
  const n = ad.get(name);
  return n?.kind === 'literal' && typeof n.value === 'string' ? n.value : '';
}

function num(ad: ClassAd, name: string): number | null {
  const n = ad.get(name);
  return n?.kind === 'literal' && typeof n.value === 'number' ? n.value : null;
}

export class AnnexService {
  constructor(
    private readonly queue: JobQueue,
    private readonly jobs: JobService,
    private readonly scheduler: Scheduler,
    private readonly tokens: TokenIssuer,
    private readonly pilotAddress: () => { url: string; fingerprint: string } | null,
    private readonly clock: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Annex requests still in the queue (not ended), optionally of one annex. */
  private requests(name?: string): RequestRecord[] {
    const out: RequestRecord[] = [];
    for (const c of this.queue.clusters()) {
      if (c.batchName === null || !c.batchName.startsWith('annex ')) continue;
      for (const p of this.queue.procs({ clusterId: c.clusterId })) {
        const ad = this.jobs.wholeAd(c, p);
        if (num(ad, 'JobUniverse') !== 12 || str(ad, 'hpc_annex_name') === '') continue;
        if (name !== undefined && str(ad, 'hpc_annex_name') !== name) continue;
        out.push({ clusterId: c.clusterId, owner: c.owner, status: p.status, ad, submittedAt: c.submittedAt });
      }
    }
    return out;
  }

  async create(caller: Caller, request: AnnexCreateRequest): Promise<AnnexCreateResponse> {
    const address = this.pilotAddress();
    if (address === null) throw new HtcError('CONFLICT', 'the access point does not listen for pilots (start it with --listen HOST:PORT)');
    this.retireEnded();
    const existing = this.requests(request.name);
    const others = existing.filter((r) => r.owner !== caller.user);
    if (others.length > 0) throw new HtcError('CONFLICT', `annex ${request.name} belongs to ${others[0]!.owner}; choose another name`);
    if (!request.add && existing.length > 0) throw new HtcError('CONFLICT', `an annex named ${request.name} already exists; use "htc annex add ${request.name} ..." to add resources to it`);
    if (request.add && existing.length === 0) throw new HtcError('NOT_FOUND', `there is no annex named ${request.name}; use "htc annex create" first`);
    if (!request.add && request.allowEmpty !== true) {
      // Pilots for an annex nothing targets would only idle out (HTCondor refuses too).
      const jobs = this.jobCounts(caller.user, request.name);
      if (jobs.idle + jobs.running + jobs.held === 0) {
        throw new HtcError('CONFLICT', `no job of yours targets annex ${request.name}: submit jobs with --annex-name ${request.name} first (or give --allow-empty to create it anyway)`);
      }
    }
    const now = this.clock();
    const requestId = randomUUID();
    const owner = `${caller.user}@${caller.domain}`;
    const issued = await this.tokens.issue({
      subject: owner,
      scopes: ['ADVERTISE_STARTD'],
      // The pilots' batch jobs may wait in the site's queue before they start: the token outlives the lifetime.
      lifetimeSeconds: Math.min(366 * 86400, request.lifetimeSeconds + 7 * 86400),
      annex: { name: request.name, owner },
    });
    // Checked again after the await: a create of the same name may have landed meanwhile.
    const now2 = this.requests(request.name);
    if (now2.some((r) => r.owner !== caller.user) || (!request.add && now2.length > 0)) {
      await this.tokens.revoke(issued.id).catch(() => undefined);
      throw new HtcError('CONFLICT', `an annex named ${request.name} was just created; use "htc annex add ${request.name} ..." to add resources to it`);
    }
    const clusterId = this.queue.nextClusterId();
    const ad = parseClassAd('[]');
    ad.setValue('ClusterId', clusterId);
    ad.setValue('MyType', 'Job');
    ad.setValue('JobUniverse', 12);
    ad.setValue('Cmd', 'htc-annex');
    ad.setValue('Owner', caller.user);
    ad.setValue('User', owner);
    ad.setValue('QDate', now);
    ad.setValue('JobBatchName', `annex ${request.name}`);
    ad.setValue('hpc_annex_name', request.name);
    ad.setValue('hpc_annex_system', request.system);
    ad.setValue('hpc_annex_queue', request.queue);
    ad.setValue('hpc_annex_nodes', request.nodes);
    if (request.cpus !== null) ad.setValue('hpc_annex_cpus', request.cpus);
    if (request.memoryMb !== null) ad.setValue('hpc_annex_mem_mb', request.memoryMb);
    if (request.gpus !== null) ad.setValue('hpc_annex_gpus', request.gpus);
    ad.setValue('hpc_annex_lifetime', request.lifetimeSeconds);
    ad.setValue('hpc_annex_idle_time', request.idleSeconds);
    ad.setValue('hpc_annex_owners', caller.user);
    ad.setValue('hpc_annex_request_id', requestId);
    ad.setValue('hpc_annex_token_id', issued.id);
    const assigned = this.queue.submitCluster(
      { owner: caller.user, submittedAt: now, clusterAd: printClassAd(ad), procCount: 1, procs: ['[ProcId = 0]'], factory: null, batchName: `annex ${request.name}`, jobsetId: null },
      now,
    );
    if (assigned !== clusterId) throw new HtcError('INTERNAL', `the queue assigned cluster ${assigned}, expected ${clusterId}`);
    return { requestId, clusterId, token: issued.token, tokenId: issued.id, url: address.url, fingerprint: address.fingerprint };
  }

  /** A pilot of a request attached: the request is running from its first pilot on. */
  pilotAttached(identity: PilotIdentity, now: number): void {
    if (identity.requestId === null) return;
    const record = this.requests(identity.annexName).find((r) => str(r.ad, 'hpc_annex_request_id') === identity.requestId);
    if (record === undefined || record.status !== JobStatus.Idle) return;
    const change: ProcChange = {
      id: { clusterId: record.clusterId, procId: 0 },
      expectStatus: JobStatus.Idle,
      status: JobStatus.Running,
      set: { hpc_annex_start_time: String(Math.floor(now)), JobCurrentStartDate: String(Math.floor(now)) },
      event: { kind: 'execute', data: JSON.stringify({ host: `annex ${identity.annexName}` }) },
    };
    this.queue.changeProcs([change], Math.floor(now));
  }

  status(caller: Caller, name: string | undefined): AnnexStatus[] {
    this.retireEnded();
    const byName = new Map<string, AnnexStatus & { requests: AnnexRequestStatus[] }>();
    const entryFor = (owner: string, annex: string): AnnexStatus & { requests: AnnexRequestStatus[] } => {
      let entry = byName.get(`${owner}/${annex}`);
      if (entry === undefined) {
        entry = { name: annex, owner, requests: [], slots: [], jobs: this.jobCounts(owner, annex) };
        byName.set(`${owner}/${annex}`, entry);
      }
      return entry;
    };
    for (const r of this.requests(name)) {
      if (r.owner !== caller.user && !caller.isAdministrator) continue;
      entryFor(r.owner, str(r.ad, 'hpc_annex_name')).requests.push(this.describeRequest(r));
    }
    // Requests that ended lately (HTCondor keeps them about an hour): retired, from history.
    const now = this.clock();
    for (const h of this.queue.history(caller.isAdministrator ? {} : { owner: caller.user }, 2000)) {
      if (h.completedAt < now - RETIRED_SHOWN_SECONDS || !h.ad.includes('hpc_annex_name')) continue;
      const ad = parseClassAd(h.ad);
      const annex = str(ad, 'hpc_annex_name');
      if (num(ad, 'JobUniverse') !== 12 || annex === '' || (name !== undefined && annex !== name)) continue;
      entryFor(h.owner, annex).requests.push(this.describeRequest({ clusterId: h.id.clusterId, owner: h.owner, status: h.status, ad, submittedAt: num(ad, 'QDate') ?? 0 }, h.completedAt));
    }
    const out: AnnexStatus[] = [];
    for (const entry of byName.values()) {
      const slots = this.scheduler.slots({ annexName: entry.name, owner: entry.owner }).map((s) => ({
        slotName: s.slotName, hostname: s.hostname, cpus: s.cpus, busyCpus: s.busyCpus, memoryMb: s.memoryMb, endTime: s.endTime, accepting: s.accepting, requestId: s.requestId,
      }));
      out.push({ ...entry, slots });
    }
    if (name !== undefined && out.length === 0) throw new HtcError('NOT_FOUND', `there is no annex named ${name}`);
    return out;
  }

  private describeRequest(r: RequestRecord, endedAt: number | null = null): AnnexRequestStatus {
    const optional = (attr: string): string | null => (str(r.ad, attr) === '' ? null : str(r.ad, attr));
    return {
      requestId: str(r.ad, 'hpc_annex_request_id'),
      clusterId: r.clusterId,
      system: str(r.ad, 'hpc_annex_system'),
      queue: str(r.ad, 'hpc_annex_queue'),
      nodes: num(r.ad, 'hpc_annex_nodes') ?? 1,
      cpus: num(r.ad, 'hpc_annex_cpus'),
      lifetimeSeconds: num(r.ad, 'hpc_annex_lifetime') ?? 0,
      submittedAt: r.submittedAt,
      startedAt: num(r.ad, 'hpc_annex_start_time'),
      state: endedAt !== null ? 'retired' : r.status === JobStatus.Running ? 'running' : 'requested',
      login: optional('hpc_annex_login'),
      jobId: optional('hpc_annex_JOB_ID'),
      pilotDir: optional('hpc_annex_PILOT_DIR'),
      endReason: optional('hpc_annex_end_reason') ?? optional('RemoveReason'),
      endedAt,
    };
  }

  /** The caller's live request `requestId` of annex `name`, or NOT_FOUND. */
  private ownRequest(caller: Caller, name: string, requestId: string): RequestRecord {
    const record = this.requests(name).find((r) => str(r.ad, 'hpc_annex_request_id') === requestId && (r.owner === caller.user || caller.isAdministrator));
    if (record === undefined) throw new HtcError('NOT_FOUND', `annex ${name} has no open request ${requestId}`);
    return record;
  }

  /** The back-end submitted the request's pilots: where they are goes on the request record. */
  recordLaunch(caller: Caller, launch: AnnexLaunch): AnnexRequestStatus {
    const record = this.ownRequest(caller, launch.name, launch.requestId);
    const set: Record<string, string> = {
      hpc_annex_login: JSON.stringify(launch.login),
      hpc_annex_JOB_ID: JSON.stringify(launch.jobId),
      hpc_annex_PILOT_DIR: JSON.stringify(launch.pilotDir),
      ...(launch.backendPid === null ? {} : { hpc_annex_PID: JSON.stringify(launch.backendPid) }),
    };
    const now = this.clock();
    const applied = this.queue.changeProcs(
      [{ id: { clusterId: record.clusterId, procId: 0 }, expectStatus: record.status as ProcChange['expectStatus'], status: record.status as ProcChange['status'], set, event: { kind: 'edited', data: JSON.stringify({ attribute: 'hpc_annex_JOB_ID', expression: set.hpc_annex_JOB_ID, by: caller.user }) } }],
      now,
    );
    if (applied.length === 0) throw new HtcError('CONFLICT', `annex ${launch.name} request ${launch.requestId} changed meanwhile; try again`);
    return this.describeRequest(this.ownRequest(caller, launch.name, launch.requestId));
  }

  /** Ends one request (its batch job was refused, or is gone), revoking its token; the reason stays in history. */
  async withdraw(caller: Caller, withdrawal: AnnexWithdrawal): Promise<AnnexRequestStatus> {
    const record = this.ownRequest(caller, withdrawal.name, withdrawal.requestId);
    await this.revokeTokens([record]);
    this.end([record], withdrawal.reason, withdrawal.completed === true ? JobStatus.Completed : JobStatus.Removed);
    return { ...this.describeRequest(record, this.clock()), endReason: withdrawal.reason };
  }

  private jobCounts(owner: string, annex: string): { idle: number; running: number; held: number } {
    const counts = { idle: 0, running: 0, held: 0 };
    for (const c of this.queue.clusters({ owner })) {
      const clusterAd = this.jobs.clusterAd(c);
      const clusterTarget = str(clusterAd, 'TargetAnnexName');
      const procs = this.queue.procs({ clusterId: c.clusterId, statuses: [JobStatus.Idle, JobStatus.Running, JobStatus.Held] });
      for (const p of procs) {
        const target = p.diff.includes('TargetAnnexName') ? str(this.jobs.wholeAd(c, p), 'TargetAnnexName') : clusterTarget;
        if (target !== annex) continue;
        if (p.status === JobStatus.Idle) counts.idle++;
        else if (p.status === JobStatus.Running) counts.running++;
        else counts.held++;
      }
      if (clusterTarget === annex) counts.idle += c.procCount - c.materializedCount;
    }
    return counts;
  }

  async shutdown(caller: Caller, name: string): Promise<AnnexShutdownResponse> {
    const records = this.requests(name).filter((r) => r.owner === caller.user || caller.isAdministrator);
    if (records.length === 0) throw new HtcError('NOT_FOUND', `there is no annex named ${name}`);
    const reason = `annex ${name} was shut down by ${caller.user}`;
    let told = 0;
    for (const owner of new Set(records.map((r) => r.owner))) told += this.scheduler.shutdownAnnex(name, owner, reason);
    await this.revokeTokens(records);
    const ended = this.end(records, reason);
    const now = this.clock();
    return { name, pilotsTold: told, requestsEnded: ended, requests: records.map((r) => ({ ...this.describeRequest(r, now), endReason: reason })) };
  }

  /** Requests past their lifetime (plus the margin) with no pilot left are ended. */
  retireEnded(): void {
    const now = this.clock();
    const over = this.requests().filter((r) => {
      const started = num(r.ad, 'hpc_annex_start_time');
      // A batch job still queued at its site: its pilots' lifetime starts when it starts (shutdown or status ends it).
      if (str(r.ad, 'hpc_annex_JOB_ID') !== '' && started === null) return false;
      const lifetime = num(r.ad, 'hpc_annex_lifetime') ?? 0;
      const from = started ?? r.submittedAt;
      if (now < from + lifetime + END_MARGIN_SECONDS) return false;
      const requestId = str(r.ad, 'hpc_annex_request_id');
      return !this.scheduler.slots({ annexName: str(r.ad, 'hpc_annex_name'), owner: r.owner }).some((s) => s.requestId === requestId);
    });
    if (over.length === 0) return;
    this.end(over, 'the annex request reached the end of its lifetime');
    // Its token must not attach pilots any more.
    void this.revokeTokens(over);
  }

  /** The requests' annex tokens, revoked (one already gone has nothing to revoke). */
  private async revokeTokens(records: readonly RequestRecord[]): Promise<void> {
    const ids = records.map((r) => str(r.ad, 'hpc_annex_token_id')).filter((id) => id !== '');
    await Promise.all(ids.map((id) => this.tokens.revoke(id).catch(() => undefined)));
  }

  private end(records: readonly RequestRecord[], reason: string, status: typeof JobStatus.Completed | typeof JobStatus.Removed = JobStatus.Completed): number {
    const now = this.clock();
    const changes: ProcChange[] = records.map((r) => ({
      id: { clusterId: r.clusterId, procId: 0 },
      expectStatus: r.status as ProcChange['expectStatus'],
      status,
      set: { CompletionDate: String(now), hpc_annex_end_reason: JSON.stringify(reason), ...(status === JobStatus.Removed ? { RemoveReason: JSON.stringify(reason) } : {}) },
      event: status === JobStatus.Removed ? { kind: 'aborted', data: JSON.stringify({ reason }) } : { kind: 'terminated', data: JSON.stringify({ exit: { normal: true, returnValue: 0 }, runRemoteUsage: { user: 0, sys: 0 }, runLocalUsage: { user: 0, sys: 0 }, totalRemoteUsage: { user: 0, sys: 0 }, totalLocalUsage: { user: 0, sys: 0 }, bytesSent: 0, bytesReceived: 0, totalBytesSent: 0, totalBytesReceived: 0, endedAt: now }) },
    }));
    const applied = this.queue.changeProcs(changes, now);
    this.jobs.retire(applied.map((c) => c.id));
    return applied.length;
  }
}
