/**
 * The access point's job operations: submit, list, status, hold, release,
 * remove, edit, history. Each checks who may do it (everyone reads; users
 * change their own jobs; the AP's owner changes all), turns the request into
 * queue operations, and returns plain data for the API.
 *
 * Jobs live in the queue as a cluster ad plus per-proc differences; whole
 * ads are assembled here only when a request needs them (constraints,
 * `--long`, status), with cluster ads cached by id.
 */
import {
  ClassAdSyntaxError, booleanEquivalent, classAdToJson, compileExpression, evaluate,
  parseClassAd, parseExpression, printClassAd, unparse, writeJson, type ClassAd, type Compiled, type Value,
} from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import type {
  ActionRequest, ActionResponse, EditRequest, HistoryEntry, JobResources, JobSummary, JobsetSummary, ListRequest, ListResponse, SubmitRequest, SubmitResponse,
} from '../protocol/api.ts';
import { SubmitDescription, SubmitError } from '../submit/index.ts';
import {
  HoldReasonCode, byUserReason, checkEditable, complete, formatStoredEvent, hold, leaveInQueue, parseJobRef as parseRef, periodic, release, remove, start,
  toProcChange, withAnnexRequirements, type ExitOutcome, type JobSnapshot, type TransitionResult,
} from '../core/index.ts';
import { JobStatus, type ClusterRecord, type Durability, type JobEvent, type JobId, type JobQueue, type JobStatusCode, type ProcChange, type ProcRecord } from '../store/index.ts';

/** Who is asking, as authenticated. */
export interface Caller {
  readonly user: string;
  readonly domain: string;
  /** The AP's owner (or an ADMINISTRATOR token) may change every job. */
  readonly isAdministrator: boolean;
}

/** JobStatus in words, as condor_q spells them. */
const STATUS_NAMES: Record<number, string> = { 1: 'Idle', 2: 'Running', 3: 'Removed', 4: 'Completed', 5: 'Held', 6: 'TransferringOutput' };

/** Procs made at submit, and kept made ahead while idle, per cluster unless max_idle says otherwise. */
export const DEFAULT_MATERIALIZE_AHEAD = 10_000;

export class JobService {
  private readonly clusterAds = new Map<number, ClassAd>();
  /**
   * Factory clusters that may need more procs made: all of them at start,
   * then those just submitted or whose jobs changed state. Keeps each submit
   * from re-counting every big cluster's idle jobs.
   */
  private factoryClustersToCheck: Set<number> | undefined;

  /** Procs given up by the current remove request (not made yet, so never in the queue). */
  private abandoned = 0;

  constructor(
    private readonly queue: JobQueue,
    private readonly clock: () => number = () => Math.floor(Date.now() / 1000),
    /** How the AP names itself in submit events ("Job submitted from host: ..."). */
    private readonly submitHost = '<local>',
  ) {}

  /** A stored event as user log text; submit events (stored without details) name this AP. */
  private formatEvent(e: JobEvent): string | undefined {
    return formatStoredEvent(e.kind === 'submit' && e.data === '{}' ? { ...e, data: JSON.stringify({ host: this.submitHost }) } : e);
  }

  // -------------------------------------------------------------------------
  // Submit

  submit(caller: Caller, request: SubmitRequest): SubmitResponse {
    let description: SubmitDescription;
    const now = this.clock();
    try {
      description = SubmitDescription.fromFactory(request.factory, {
        owner: caller.user,
        now,
        ...(request.annexName === undefined ? {} : { annexName: request.annexName }),
      });
    } catch (error) {
      if (error instanceof SubmitError) throw new HtcError('BAD_REQUEST', `submit: ${error.message}`);
      throw error;
    }
    const procCount = description.procCount;
    if (procCount === 0) throw new HtcError('BAD_REQUEST', 'submit: the description queues no jobs');
    let jobsetId: number | null = null;
    if (request.jobset !== undefined && 'id' in request.jobset) {
      const id = request.jobset.id;
      const existing = this.queue.jobsets({ owner: caller.user }).find((j) => j.jobsetId === id);
      if (existing === undefined) throw new HtcError('NOT_FOUND', `submit: you have no jobset ${id}`);
      jobsetId = id;
    } else if (request.jobset !== undefined) {
      jobsetId = this.queue.createJobset(request.jobset.name, caller.user, now);
    }
    const clusterId = this.queue.nextClusterId();
    const factory = description.materialize(clusterId);
    const clusterAd = this.trustedClusterAd(factory.clusterAd, caller);
    if (jobsetId !== null) clusterAd.setValue('JobSetId', jobsetId);
    const ahead = materializeAhead(clusterAd);
    const made = Math.min(procCount, ahead);
    const procs: string[] = [];
    try {
      for (let p = 0; p < made; p++) procs.push(printClassAd(this.trustedProcDiff(factory.procDiff(p), clusterAd, caller.user)));
    } catch (error) {
      if (error instanceof SubmitError) throw new HtcError('SUBMIT_INVALID', error.describe());
      throw error;
    }
    const batch = clusterAd.get('JobBatchName');
    const assigned = this.queue.submitCluster({
      owner: caller.user,
      submittedAt: now,
      clusterAd: printClassAd(clusterAd),
      procCount,
      procs,
      factory: made < procCount ? request.factory : null,
      batchName: batch?.kind === 'literal' && typeof batch.value === 'string' ? batch.value : null,
      jobsetId,
    }, now);
    if (assigned !== clusterId) throw new HtcError('INTERNAL', `the queue assigned cluster ${assigned}, expected ${clusterId}`);
    if (made < procCount) this.factoryClustersToCheck?.add(clusterId);
    return { clusterId, procCount, jobsetId };
  }

  /**
   * What the AP, not the client, decides in a cluster ad: the owner is the
   * authenticated caller (a `+Owner` in the submit file cannot change it),
   * and the annex binding (DESIGN.md decision 4) is in Requirements.
   */
  private trustedClusterAd(ad: ClassAd, caller: Caller): ClassAd {
    ad.setValue('Owner', caller.user);
    ad.setValue('User', `${caller.user}@${caller.domain}`);
    return ad.get('Requirements') === undefined ? ad : withAnnexRequirements(ad, caller.user);
  }

  /** A proc's differences with no say over its owner, and with the annex binding if they change Requirements. */
  private trustedProcDiff(diff: ClassAd, clusterAd: ClassAd, owner: string): ClassAd {
    diff.delete('Owner');
    diff.delete('User');
    if (!['Requirements', 'TargetAnnexName', 'AllowAnnexSlots'].some((name) => diff.has(name))) return diff;
    const whole = withAnnexRequirements(clusterAd.copy().update(diff), owner);
    diff.set('Requirements', whole.get('Requirements')!);
    return diff;
  }

  /**
   * Makes more procs of factory clusters, keeping up to their limit made
   * ahead while idle. Returns how many were made (0: nothing to do).
   */
  materializeSome(maxProcs: number, onMade?: (clusterId: number, from: number, count: number) => void): number {
    let made = 0;
    if (this.factoryClustersToCheck === undefined) {
      this.factoryClustersToCheck = new Set(this.queue.clusters().filter((c) => c.factory !== null).map((c) => c.clusterId));
    }
    for (const clusterId of [...this.factoryClustersToCheck]) {
      if (made >= maxProcs) break;
      const c = this.queue.cluster(clusterId);
      if (c === undefined || c.factory === null || c.materializedCount >= c.procCount) {
        this.factoryClustersToCheck.delete(clusterId);
        continue;
      }
      const ahead = materializeAhead(this.clusterAd(c));
      const idle = this.queue.countProcs(c.clusterId, [JobStatus.Idle]);
      const want = Math.min(c.procCount - c.materializedCount, ahead - idle, maxProcs - made);
      if (want <= 0) {
        // Enough made ahead: look again only when some of its jobs leave Idle.
        this.factoryClustersToCheck.delete(clusterId);
        continue;
      }
      const description = SubmitDescription.fromFactory(c.factory, { owner: c.owner });
      const factory = description.materialize(c.clusterId);
      const diffs: string[] = [];
      const clusterAd = this.clusterAd(c);
      for (let p = c.materializedCount; p < c.materializedCount + want; p++) diffs.push(printClassAd(this.trustedProcDiff(factory.procDiff(p), clusterAd, c.owner)));
      this.queue.materializeProcs(c.clusterId, c.materializedCount, diffs, this.clock());
      onMade?.(c.clusterId, c.materializedCount, want);
      made += want;
    }
    return made;
  }

  // -------------------------------------------------------------------------
  // Reading

  clusterAd(c: ClusterRecord): ClassAd {
    let ad = this.clusterAds.get(c.clusterId);
    if (ad === undefined) {
      ad = parseClassAd(c.clusterAd);
      if (this.clusterAds.size > 10_000) this.clusterAds.clear();
      this.clusterAds.set(c.clusterId, ad);
    }
    return ad;
  }

  /**
   * A proc's whole ad by its cluster id: the cluster ad from the cache when
   * there (cluster ads never change after submit), so the hot paths of
   * pilots' reports do not read the cluster row each time.
   */
  wholeAdOf(clusterId: number, proc: ProcRecord): ClassAd | undefined {
    let clusterAd = this.clusterAds.get(clusterId);
    if (clusterAd === undefined) {
      const cluster = this.queue.cluster(clusterId);
      if (cluster === undefined) return undefined;
      clusterAd = this.clusterAd(cluster);
    }
    return this.withProc(clusterAd, proc);
  }

  /** A proc's whole ad: its cluster ad with its differences applied. */
  wholeAd(cluster: ClusterRecord, proc: ProcRecord): ClassAd {
    return this.withProc(this.clusterAd(cluster), proc);
  }

  private withProc(clusterAd: ClassAd, proc: ProcRecord): ClassAd {
    const ad = clusterAd.copy().update(parseClassAd(proc.diff));
    ad.setValue('JobStatus', proc.status);
    ad.setValue('EnteredCurrentStatus', proc.enteredStatusAt);
    return ad;
  }

  private summary(cluster: ClusterRecord, proc: ProcRecord, ad: ClassAd | undefined): JobSummary {
    const whole = ad ?? this.wholeAd(cluster, proc);
    const text = (name: string): string | null => {
      const node = whole.get(name);
      if (node === undefined) return null;
      return node.kind === 'literal' && typeof node.value === 'string' ? node.value : unparse(node);
    };
    return {
      id: `${proc.clusterId}.${proc.procId}`,
      clusterId: proc.clusterId,
      procId: proc.procId,
      owner: cluster.owner,
      status: proc.status,
      statusName: STATUS_NAMES[proc.status] ?? String(proc.status),
      enteredStatusAt: proc.enteredStatusAt,
      submittedAt: cluster.submittedAt,
      batchName: cluster.batchName,
      cmd: text('Cmd'),
      args: text('Arguments') ?? text('Args'),
      holdReason: proc.status === JobStatus.Held ? text('HoldReason') : null,
      annex: text('TargetAnnexName'),
    };
  }

  private constraint(text: string | undefined): Compiled | undefined {
    if (text === undefined) return undefined;
    try {
      return compileExpression(parseExpression(text, 'constraint'));
    } catch (error) {
      if (error instanceof ClassAdSyntaxError) throw new HtcError('BAD_REQUEST', `--constraint: ${error.describe()}`);
      throw error;
    }
  }

  list(caller: Caller, request: ListRequest): ListResponse {
    const constraint = this.constraint(request.constraint);
    const owner = request.all === true ? undefined : caller.user;
    const wanted = request.ids?.map(parseJobRef);
    for (const w of wanted ?? []) {
      if (this.queue.cluster(w.clusterId) === undefined) throw new HtcError('NOT_FOUND', `no job ${w.procId === undefined ? w.clusterId : `${w.clusterId}.${w.procId}`} in the queue`);
    }
    const jobs: JobSummary[] = [];
    const ads: string[] = [];
    const pending: ListResponse['pending'][number][] = [];
    for (const cluster of this.queue.clusters(owner === undefined ? {} : { owner })) {
      if (wanted !== undefined && !wanted.some((w) => w.clusterId === cluster.clusterId)) continue;
      for (const proc of this.queue.procs({ clusterId: cluster.clusterId })) {
        if (wanted !== undefined && !wanted.some((w) => w.clusterId === proc.clusterId && (w.procId === undefined || w.procId === proc.procId))) continue;
        const needWhole = constraint !== undefined || request.long === true;
        const ad = needWhole ? this.wholeAd(cluster, proc) : undefined;
        if (constraint !== undefined && booleanEquivalent(constraint({ scope: ad!, target: null })) !== true) continue;
        jobs.push(this.summary(cluster, proc, ad));
        if (request.long === true) ads.push(adJson(ad!));
      }
      const unmade = cluster.procCount - cluster.materializedCount;
      if (unmade > 0 && constraint === undefined) pending.push({ clusterId: cluster.clusterId, owner: cluster.owner, batchName: cluster.batchName, count: unmade });
    }
    return request.long === true ? { jobs, ads, pending } : { jobs, pending };
  }

  /** One job's whole ad, for `job status`. */
  job(ref: string): { summary: JobSummary; ad: string } {
    const id = parseJobRef(ref);
    if (id.procId === undefined) throw new HtcError('USAGE', `job status needs a job id like ${id.clusterId}.0, not a cluster`);
    const cluster = this.queue.cluster(id.clusterId);
    const proc = cluster === undefined ? undefined : this.queue.proc({ clusterId: id.clusterId, procId: id.procId });
    if (cluster === undefined || proc === undefined) {
      const past = this.queue.history({ clusterId: id.clusterId }).find((h) => h.id.procId === id.procId);
      if (past !== undefined) throw new HtcError('NOT_FOUND', `job ${ref} has left the queue (${STATUS_NAMES[past.status] ?? past.status}); see htc job history`);
      if (cluster !== undefined && id.procId < cluster.procCount) throw new HtcError('NOT_FOUND', `job ${ref} is not made yet (late materialization): it is idle and waits its turn`);
      throw new HtcError('NOT_FOUND', `no job ${ref} in the queue`);
    }
    const ad = this.wholeAd(cluster, proc);
    return { summary: this.summary(cluster, proc, ad), ad: adJson(ad) };
  }

  history(caller: Caller, request: { all?: boolean; limit?: number }): HistoryEntry[] {
    return this.queue.history(request.all === true ? {} : { owner: caller.user }, request.limit ?? 1000).map((h) => {
      const ad = parseClassAd(h.ad);
      const text = (name: string): string | null => {
        const node = ad.get(name);
        return node?.kind === 'literal' && typeof node.value === 'string' ? node.value : null;
      };
      return {
        id: `${h.id.clusterId}.${h.id.procId}`,
        status: h.status,
        statusName: STATUS_NAMES[h.status] ?? String(h.status),
        completedAt: h.completedAt,
        owner: text('Owner') ?? '',
        cmd: text('Cmd'),
        ad: adJson(ad),
      };
    });
  }

  /**
   * What a job used (`htc job resources`): CPU, memory peak and wall time as
   * its pilots measured them, with what it asked for; from the queue, or
   * from history once it has left.
   */
  resources(ref: string): JobResources {
    const id = parseJobRef(ref);
    if (id.procId === undefined) throw new HtcError('USAGE', `a job id like ${id.clusterId}.0 is needed, not a cluster`);
    let ad: ClassAd | undefined;
    const cluster = this.queue.cluster(id.clusterId);
    const proc = cluster === undefined ? undefined : this.queue.proc({ clusterId: id.clusterId, procId: id.procId });
    if (cluster !== undefined && proc !== undefined) ad = this.wholeAd(cluster, proc);
    else {
      const h = this.queue.history({ clusterId: id.clusterId, procId: id.procId }, 1)[0];
      if (h !== undefined) ad = parseClassAd(h.ad);
    }
    if (ad === undefined) throw new HtcError('NOT_FOUND', `no job ${ref} in the queue or in history`);
    const n = (name: string): number | null => {
      const v = ad.get(name) === undefined ? undefined : evaluate(ad.get(name)!, ad);
      return typeof v === 'number' ? v : typeof v === 'object' && v !== null && 'v' in v && typeof v.v === 'number' ? v.v : null;
    };
    const s = (name: string): string | null => {
      const node = ad.get(name);
      return node?.kind === 'literal' && typeof node.value === 'string' ? node.value : null;
    };
    const status = n('JobStatus') ?? 0;
    return {
      id: `${id.clusterId}.${id.procId}`,
      status,
      statusName: STATUS_NAMES[status] ?? String(status),
      starts: n('NumJobStarts') ?? 0,
      userCpuSeconds: n('CumulativeRemoteUserCpu') ?? n('RemoteUserCpu') ?? 0,
      sysCpuSeconds: n('CumulativeRemoteSysCpu') ?? n('RemoteSysCpu') ?? 0,
      memoryPeakMb: n('MemoryUsage'),
      wallSeconds: n('RemoteWallClockTime') ?? 0,
      lastRunWallSeconds: n('LastRunWallSeconds'),
      requestCpus: n('RequestCpus'),
      requestMemoryMb: n('RequestMemory'),
      requestDiskKb: n('RequestDisk'),
      lastHost: s('LastRemoteHost') ?? s('RemoteHost'),
    };
  }

  // -------------------------------------------------------------------------
  // Changing

  /** The procs a request names (ids and/or constraint), made if not made yet. */
  private targets(caller: Caller, ids: readonly string[] | undefined, constraint: string | undefined, action?: 'hold' | 'release' | 'remove'): { cluster: ClusterRecord; proc: ProcRecord }[] {
    const compiled = this.constraint(constraint);
    const out: { cluster: ClusterRecord; proc: ProcRecord }[] = [];
    const refs = ids?.map((r) => ({ ref: r, id: parseJobRef(r) }));
    for (const r of refs ?? []) {
      const cluster = this.queue.cluster(r.id.clusterId);
      if (cluster === undefined) throw new HtcError('NOT_FOUND', `no job ${r.ref} in the queue`);
      // Before anything is made or given up on the caller's behalf.
      if (!caller.isAdministrator && cluster.owner !== caller.user) {
        throw new HtcError('FORBIDDEN', `job ${r.ref} belongs to ${cluster.owner}; you may change only your own jobs`);
      }
      if (r.id.procId !== undefined) {
        this.ensureMade(cluster, r.id.procId + 1);
        const proc = this.queue.proc({ clusterId: r.id.clusterId, procId: r.id.procId });
        if (proc === undefined) throw new HtcError('NOT_FOUND', `no job ${r.ref} in the queue`);
        out.push({ cluster: this.queue.cluster(cluster.clusterId)!, proc });
      } else {
        // Removing a whole cluster gives up the procs not made yet instead of making them.
        if (action === 'remove' && cluster.factory !== null) {
          if (!caller.isAdministrator && cluster.owner !== caller.user) throw new HtcError('FORBIDDEN', `cluster ${cluster.clusterId} belongs to ${cluster.owner}; you may change only your own jobs`);
          this.abandoned += this.queue.abandonUnmaterialized(cluster.clusterId, this.clock());
        } else {
          this.ensureMade(cluster, cluster.procCount);
        }
        const current = this.queue.cluster(cluster.clusterId) ?? cluster;
        for (const proc of this.queue.procs({ clusterId: cluster.clusterId })) out.push({ cluster: current, proc });
      }
    }
    if (refs === undefined && compiled !== undefined) {
      // A constraint selects among the caller's own jobs (all jobs for the AP's owner), as condor_rm does.
      for (const cluster of this.queue.clusters(caller.isAdministrator ? {} : { owner: caller.user })) {
        for (const proc of this.queue.procs({ clusterId: cluster.clusterId })) out.push({ cluster, proc });
      }
    }
    return out.filter(({ cluster, proc }) => {
      if (compiled === undefined) return true;
      return booleanEquivalent(compiled({ scope: this.wholeAd(cluster, proc), target: null })) === true;
    }).map((t) => {
      if (!caller.isAdministrator && t.cluster.owner !== caller.user) {
        throw new HtcError('FORBIDDEN', `job ${t.proc.clusterId}.${t.proc.procId} belongs to ${t.cluster.owner}; you may change only your own jobs`);
      }
      return t;
    });
  }

  /** Acting on a whole cluster (or a proc not made yet) makes its procs first. */
  private ensureMade(cluster: ClusterRecord, upTo: number): void {
    if (cluster.factory === null || cluster.materializedCount >= Math.min(upTo, cluster.procCount)) return;
    const factory = SubmitDescription.fromFactory(cluster.factory, { owner: cluster.owner }).materialize(cluster.clusterId);
    const diffs: string[] = [];
    const clusterAd = this.clusterAd(cluster);
    for (let p = cluster.materializedCount; p < Math.min(upTo, cluster.procCount); p++) diffs.push(printClassAd(this.trustedProcDiff(factory.procDiff(p), clusterAd, cluster.owner)));
    this.queue.materializeProcs(cluster.clusterId, cluster.materializedCount, diffs, this.clock());
  }

  act(caller: Caller, request: ActionRequest): ActionResponse {
    const now = this.clock();
    const reason = request.reason ?? byUserReason(request.action, caller.user);
    this.abandoned = 0;
    const changes: ProcChange[] = [];
    const refused: { id: string; reason: string }[] = [];
    for (const { cluster, proc } of this.targets(caller, request.ids, request.constraint, request.action)) {
      const job: JobSnapshot = { id: { clusterId: proc.clusterId, procId: proc.procId }, status: proc.status, ad: this.wholeAd(cluster, proc) };
      let result: TransitionResult;
      if (request.action === 'hold') result = hold(job, reason, HoldReasonCode.UserRequest, 0, now);
      else if (request.action === 'release') result = release(job, reason, now);
      else result = remove(job, reason, now);
      if (result.ok) changes.push(toProcChange(result));
      else refused.push({ id: `${proc.clusterId}.${proc.procId}`, reason: result.message });
    }
    const applied = this.queue.changeProcs(changes, now);
    for (const c of applied) this.factoryClustersToCheck?.add(c.id.clusterId);
    const appliedIds = new Set(applied.map((c) => `${c.id.clusterId}.${c.id.procId}`));
    for (const c of changes) {
      const id = `${c.id.clusterId}.${c.id.procId}`;
      if (!appliedIds.has(id)) refused.push({ id, reason: 'its state changed meanwhile; try again' });
    }
    this.retire(applied.filter((c) => c.status === JobStatus.Removed).map((c) => c.id));
    return { changed: [...appliedIds], refused, abandoned: this.abandoned };
  }

  /** Removed (and completed) jobs leave the queue for history, with their whole ads. */
  /** Moves finished procs to history with their whole ads. */
  retire(ids: readonly JobId[], durability: Durability = 'power-loss'): void {
    if (ids.length === 0) return;
    const ads: string[] = [];
    const kept: JobId[] = [];
    for (const id of ids) {
      const cluster = this.queue.cluster(id.clusterId);
      const proc = this.queue.proc(id);
      if (cluster === undefined || proc === undefined) continue;
      kept.push(id);
      ads.push(printClassAd(this.wholeAd(cluster, proc)));
    }
    this.queue.moveToHistory(kept, ads, this.clock(), durability);
  }

  edit(caller: Caller, request: EditRequest): { id: string; attribute: string; value: string } {
    const id = parseJobRef(request.id);
    if (id.procId === undefined) throw new HtcError('USAGE', `job edit needs a job id like ${id.clusterId}.0`);
    const editable = checkEditable(request.attribute);
    if (!editable.ok) throw new HtcError(editable.reason === 'invalid-name' ? 'BAD_REQUEST' : 'FORBIDDEN', `edit: ${editable.message}`);
    let node;
    try {
      node = parseExpression(request.expression, 'expression');
    } catch (error) {
      if (error instanceof ClassAdSyntaxError) throw new HtcError('BAD_REQUEST', `edit: ${error.describe()}`);
      throw error;
    }
    const [target] = this.targets(caller, [request.id], undefined);
    const proc = target!.proc;
    let text = unparse(node);
    if (/^(requirements|targetannexname)$/i.test(request.attribute)) {
      // Keep the annex binding whatever the user writes.
      const ad = this.wholeAd(target!.cluster, proc);
      ad.set(request.attribute, node);
      if (request.attribute.toLowerCase() === 'requirements') text = unparse(withAnnexRequirements(ad, target!.cluster.owner).get('Requirements')!);
    }
    const applied = this.queue.changeProcs([{
      id: { clusterId: proc.clusterId, procId: proc.procId },
      expectStatus: proc.status,
      status: proc.status,
      set: { [request.attribute]: text },
      event: { kind: 'edited', data: JSON.stringify({ attribute: request.attribute, expression: text, by: caller.user }) },
    }], this.clock());
    if (applied.length === 0) throw new HtcError('CONFLICT', `job ${request.id} changed while being edited; try again`);
    return { id: request.id, attribute: request.attribute, value: text };
  }

  /**
   * Evaluates every queued job's periodic policies (PeriodicHold,
   * PeriodicRelease, PeriodicRemove) and applies what they decide. Clusters
   * whose policies are all the literal `false` are skipped without looking at
   * their procs. Returns how many jobs changed.
   */
  applyPeriodicPolicies(): number {
    const now = this.clock();
    const changes: ProcChange[] = [];
    for (const cluster of this.queue.clusters()) {
      const ad = this.clusterAd(cluster);
      const dynamic = (name: string): boolean => {
        const node = ad.get(name);
        return node === undefined || !(node.kind === 'literal' && node.value === false);
      };
      const procsMayDiffer = cluster.factory !== null || cluster.materializedCount > 0;
      if (!['PeriodicHold', 'PeriodicRelease', 'PeriodicRemove'].some(dynamic) && !this.diffsHavePolicies(cluster, procsMayDiffer)) continue;
      for (const proc of this.queue.procs({ clusterId: cluster.clusterId, statuses: [JobStatus.Idle, JobStatus.Running, JobStatus.Held] })) {
        const job: JobSnapshot = { id: { clusterId: proc.clusterId, procId: proc.procId }, status: proc.status, ad: this.wholeAd(cluster, proc) };
        const t = periodic(job, now);
        if (t !== undefined) changes.push(toProcChange(t));
      }
    }
    if (changes.length === 0) return 0;
    const applied = this.queue.changeProcs(changes, now);
    this.retire(applied.filter((c) => c.status === JobStatus.Removed).map((c) => c.id));
    return applied.length;
  }

  /** Whether some proc of the cluster carries its own policy expressions (a per-proc periodic_*). */
  private diffsHavePolicies(cluster: ClusterRecord, procsMayDiffer: boolean): boolean {
    if (!procsMayDiffer) return false;
    const [first] = this.queue.procs({ clusterId: cluster.clusterId }, 1);
    return first !== undefined && /\bPeriodic(Hold|Release|Remove)\b/i.test(first.diff);
  }

  /**
   * Appends the queue's events after `afterSeq` to the user logs of the
   * jobs they belong to (the job's `UserLog`, as HTCondor writes it), and
   * returns the last sequence number handled. Files that cannot be written
   * are reported through `warn` and skipped: the queue is the record.
   */
  writeUserLogs(afterSeq: number, append: (path: string, owner: string, text: string) => void, warn: (message: string) => void): number {
    let last = afterSeq;
    // Looked up once per cluster per call: a cluster of 10,000 jobs has
    // 10,000 events, and a removed cluster's ads are in history only.
    const logs = new Map<number, (procId: number) => string | undefined>();
    const owners = new Map<number, string | undefined>();
    const logOf = (clusterId: number, procId: number): string | undefined => {
      let find = logs.get(clusterId);
      if (find === undefined) logs.set(clusterId, (find = this.userLogFinder(clusterId)));
      return find(procId);
    };
    const ownerOf = (clusterId: number): string | undefined => {
      // The owner the queue recorded from authentication, never text in an ad.
      if (!owners.has(clusterId)) owners.set(clusterId, this.queue.cluster(clusterId)?.owner ?? this.queue.history({ clusterId }, 1)[0]?.owner);
      return owners.get(clusterId);
    };
    for (;;) {
      const events = this.queue.events({ afterSeq: last }, 5000);
      if (events.length === 0) return last;
      const byFile = new Map<string, { owner: string; text: string }>();
      for (const e of events) {
        last = e.seq;
        const path = logOf(e.clusterId, e.procId);
        const owner = path === undefined ? undefined : ownerOf(e.clusterId);
        if (path === undefined || owner === undefined) continue;
        const text = this.formatEvent(e);
        if (text !== undefined) byFile.set(path, { owner, text: (byFile.get(path)?.text ?? '') + text });
      }
      for (const [path, { owner, text }] of byFile) {
        try {
          append(path, owner, text);
        } catch (error) {
          warn(`cannot write the user log ${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }

  /** How to find the UserLog of a cluster's jobs: from its cluster ad, else per proc (queue, then history). */
  private userLogFinder(clusterId: number): (procId: number) => string | undefined {
    const text = (node: ReturnType<ClassAd['get']>): string | undefined => (node?.kind === 'literal' && typeof node.value === 'string' ? node.value : undefined);
    const cluster = this.queue.cluster(clusterId);
    if (cluster !== undefined) {
      const fromCluster = text(this.clusterAd(cluster).get('UserLog'));
      if (fromCluster !== undefined) return () => fromCluster;
    }
    // Per job, once per call: a finished job is looked up in history by its key alone
    // (loading a whole cluster's history for every flush grew with every completion).
    const past = new Map<number, string | undefined>();
    return (procId) => {
      const proc = cluster === undefined ? undefined : this.queue.proc({ clusterId, procId });
      if (proc !== undefined) return proc.diff.includes('UserLog') ? text(parseClassAd(proc.diff).get('UserLog')) : undefined;
      if (!past.has(procId)) {
        const h = this.queue.history({ clusterId, procId }, 1)[0];
        past.set(procId, h !== undefined && h.ad.includes('UserLog') ? text(parseClassAd(h.ad).get('UserLog')) : undefined);
      }
      return past.get(procId);
    };
  }

  /**
   * Where one of a job's standard streams is written: `Out` or `Err`
   * (relative to `Iwd`). Returned for the AP to read; the AP's spool
   * will hold them once pilots transfer outputs back.
   */
  streamPath(caller: Caller, ref: string, stream: 'out' | 'err'): { path: string; owner: string } {
    const id = parseJobRef(ref);
    if (id.procId === undefined) throw new HtcError('USAGE', `job ${stream} needs a job id like ${id.clusterId}.0`);
    const cluster = this.queue.cluster(id.clusterId);
    const proc = cluster === undefined ? undefined : this.queue.proc({ clusterId: id.clusterId, procId: id.procId });
    let ad: ClassAd | undefined;
    if (cluster !== undefined && proc !== undefined) ad = this.wholeAd(cluster, proc);
    else {
      const past = this.queue.history({ clusterId: id.clusterId }, 100000).find((h) => h.id.procId === id.procId);
      if (past !== undefined) ad = parseClassAd(past.ad);
    }
    if (ad === undefined) throw new HtcError('NOT_FOUND', `no job ${ref} in the queue or its history`);
    const ownerNode = ad.get('Owner');
    const owner = ownerNode?.kind === 'literal' && typeof ownerNode.value === 'string' ? ownerNode.value : '';
    if (!caller.isAdministrator && owner !== caller.user) throw new HtcError('FORBIDDEN', `job ${ref} belongs to ${owner}; only its owner reads its output`);
    const attr = stream === 'out' ? 'Out' : 'Err';
    const node = ad.get(attr);
    const file = node?.kind === 'literal' && typeof node.value === 'string' ? node.value : '/dev/null';
    if (file === '/dev/null') throw new HtcError('NOT_FOUND', `job ${ref} sends its ${stream === 'out' ? 'output' : 'error output'} to /dev/null (set ${stream === 'out' ? 'output' : 'error'} = FILE in its submit file)`);
    const iwd = ad.get('Iwd');
    const base = iwd?.kind === 'literal' && typeof iwd.value === 'string' ? iwd.value : '/';
    return { path: file.startsWith('/') ? file : `${base.replace(/\/$/, '')}/${file}`, owner };
  }

  /** One job's events as user log text (`htc job log ID`). */
  jobLog(ref: string): string {
    const id = parseJobRef(ref);
    if (id.procId === undefined) throw new HtcError('USAGE', `job log needs a job id like ${id.clusterId}.0`);
    const events = this.queue.events({ id: { clusterId: id.clusterId, procId: id.procId } });
    if (events.length === 0) throw new HtcError('NOT_FOUND', `no job ${ref} (no events recorded for it)`);
    return events.map((e) => this.formatEvent(e) ?? '').join('');
  }

  /**
   * A job starts running on `host` (the pilot's report, issue 5). Returns
   * the transition's refusal text when the job is not idle.
   */
  startJob(ref: string, host: string): string | undefined {
    return this.runTransition(ref, (job, now) => start(job, { host }, now));
  }

  /**
   * A running job's process ended. Its exit policies decide (core): Completed
   * (then to history unless LeaveJobInQueue holds), Held (OnExitHold) or
   * back to Idle (OnExitRemove false). Returns a refusal text, if any.
   */
  completeJob(ref: string, outcome: ExitOutcome): string | undefined {
    const refusal = this.runTransition(ref, (job, now) => complete(job, outcome, now));
    if (refusal !== undefined) return refusal;
    const id = parseJobRef(ref);
    const cluster = this.queue.cluster(id.clusterId);
    const proc = this.queue.proc({ clusterId: id.clusterId, procId: id.procId! });
    if (cluster !== undefined && proc?.status === JobStatus.Completed) {
      const snapshot: JobSnapshot = { id: { clusterId: proc.clusterId, procId: proc.procId }, status: proc.status, ad: this.wholeAd(cluster, proc) };
      if (!leaveInQueue(snapshot, this.clock())) this.retire([snapshot.id]);
    }
    return undefined;
  }

  private runTransition(ref: string, decide: (job: JobSnapshot, now: number) => TransitionResult): string | undefined {
    const id = parseJobRef(ref);
    if (id.procId === undefined) throw new HtcError('USAGE', `a job id like ${id.clusterId}.0 is needed, not a cluster`);
    const cluster = this.queue.cluster(id.clusterId);
    const proc = cluster === undefined ? undefined : this.queue.proc({ clusterId: id.clusterId, procId: id.procId });
    if (cluster === undefined || proc === undefined) throw new HtcError('NOT_FOUND', `no job ${ref} in the queue`);
    const now = this.clock();
    const result = decide({ id: { clusterId: proc.clusterId, procId: proc.procId }, status: proc.status, ad: this.wholeAd(cluster, proc) }, now);
    if (!result.ok) return result.message;
    const applied = this.queue.changeProcs([toProcChange(result)], now);
    if (applied.length === 0) return `job ${ref} changed meanwhile`;
    this.factoryClustersToCheck?.add(id.clusterId);
    return undefined;
  }

  /** Jobs of these clusters left Idle: their factories may owe more procs. */
  clustersChanged(clusterIds: Iterable<number>): void {
    for (const id of clusterIds) this.factoryClustersToCheck?.add(id);
  }

  /** Jobsets (yours, or everyone's with `all`) with their clusters and job counts. */
  jobsets(caller: Caller, all: boolean): JobsetSummary[] {
    return this.queue.jobsets(all ? {} : { owner: caller.user }).map((j) => {
      const clusters = this.queue.clusters({ jobsetId: j.jobsetId });
      let idle = 0;
      let running = 0;
      let held = 0;
      let queued = 0;
      let total = 0;
      for (const c of clusters) {
        total += c.procCount;
        const unmade = c.procCount - c.materializedCount;
        idle += unmade;
        queued += unmade;
        for (const p of this.queue.procs({ clusterId: c.clusterId })) {
          queued++;
          if (p.status === JobStatus.Idle) idle++;
          else if (p.status === JobStatus.Running || p.status === JobStatus.TransferringOutput) running++;
          else if (p.status === JobStatus.Held) held++;
        }
      }
      return { ...j, clusters: clusters.map((c) => c.clusterId), idle, running, held, queued, total };
    });
  }

  /** A jobset by id or name (the newest of that name), among the caller's (or all, for the owner). */
  jobset(caller: Caller, ref: string): JobsetSummary {
    // Everyone reads every jobset; a name means the caller's own newest of that name first.
    const all = this.jobsets(caller, true);
    const byName = (sets: JobsetSummary[]): JobsetSummary | undefined => sets.filter((j) => j.name === ref).at(-1);
    const found = /^\d+$/.test(ref) ? all.find((j) => j.jobsetId === Number(ref)) : (byName(all.filter((j) => j.owner === caller.user)) ?? byName(all));
    if (found === undefined) throw new HtcError('NOT_FOUND', `no jobset ${JSON.stringify(ref)}`);
    return found;
  }

  removeJobset(caller: Caller, ref: string, reason: string | undefined): ActionResponse {
    const set = this.jobset(caller, ref);
    if (set.clusters.length === 0) return { changed: [], refused: [] };
    return this.act(caller, { action: 'remove', ids: set.clusters.map(String), ...(reason === undefined ? {} : { reason }) });
  }

  /**
   * Moves Removed and Completed jobs that are still in the queue to history
   * (run at start): a crash between a job's change and its move to history
   * leaves it there. Completed jobs kept by LeaveJobInQueue stay.
   */
  sweepFinished(): number {
    const ids: JobId[] = [];
    const now = this.clock();
    for (const proc of this.queue.procs({ statuses: [JobStatus.Removed, JobStatus.Completed] })) {
      const cluster = this.queue.cluster(proc.clusterId);
      if (cluster === undefined) continue;
      const job: JobSnapshot = { id: { clusterId: proc.clusterId, procId: proc.procId }, status: proc.status, ad: this.wholeAd(cluster, proc) };
      if (proc.status === JobStatus.Completed && leaveInQueue(job, now)) continue;
      ids.push(job.id);
    }
    this.retire(ids);
    return ids.length;
  }

  counts(): ReturnType<JobQueue['statusCounts']> {
    return this.queue.statusCounts();
  }
}

/**
 * Attributes users never see: a claim id is a capability (whoever holds it
 * could speak for the pilot running the job), as HTCondor keeps ClaimId private.
 */
const PRIVATE_ATTRIBUTES = ['ClaimId'];

/** A whole ad as condor_q -json prints one (one line), without private attributes. */
function adJson(ad: ClassAd): string {
  if (!PRIVATE_ATTRIBUTES.some((name) => ad.has(name))) return writeJson(classAdToJson(ad));
  const shown = ad.copy();
  for (const name of PRIVATE_ATTRIBUTES) shown.delete(name);
  return writeJson(classAdToJson(shown));
}

/** How many procs of a factory cluster to keep made ahead while idle. */
function materializeAhead(ad: ClassAd): number {
  for (const name of ['JobMaterializeMaxIdle', 'JobMaterializeLimit']) {
    const v: Value = ad.get(name) === undefined ? 0 : evaluate(ad.get(name)!, ad);
    if (typeof v === 'number' && v > 0) return v;
  }
  return DEFAULT_MATERIALIZE_AHEAD;
}

export type { JobStatusCode };

/** "12" or "12.3" as cluster and optional proc (core's parser, flattened). */
export function parseJobRef(text: string): { clusterId: number; procId: number | undefined } {
  const ref = parseRef(text);
  return { clusterId: ref.clusterId, procId: ref.kind === 'proc' ? ref.procId : undefined };
}
