/**
 * The job queue as the access point uses it: operations named for what the
 * queue does, not for SQL. Every mutating operation is one transaction: when
 * it returns, its effect is durable (survives `kill -9` of the AP) and
 * complete (never half a cluster); when it throws, nothing changed.
 *
 * Jobs are stored as a cluster ad (once) plus per-proc differences. Procs of
 * a cluster whose submit used late materialization may not exist as rows
 * yet: `materializedCount` says how many do; the rest are made by
 * `materializeProcs` from the cluster's factory (an opaque text the AP
 * interprets; the store only keeps it).
 */

import type { JobStatusCode } from '../core/index.ts';

/** HTCondor's JobStatus numbers: one definition, in core (the store builds on core). */
export { JobStatus, type JobStatusCode } from '../core/index.ts';

export interface JobId {
  readonly clusterId: number;
  readonly procId: number;
}

/** A cluster as submitted. Ads are new-syntax ClassAd text. */
export interface NewCluster {
  readonly owner: string;
  /** Seconds since the epoch. */
  readonly submittedAt: number;
  /** The cluster ad text, without ClusterId (the queue assigns it and the AP adds it). */
  readonly clusterAd: string;
  readonly procCount: number;
  /** Per-proc differences materialized at submit (procs 0..procs.length-1), new-syntax ad text each. */
  readonly procs: readonly string[];
  /** How to make the remaining procs (opaque to the store), or null if all are in `procs`. */
  readonly factory: string | null;
  readonly batchName: string | null;
  readonly jobsetId: number | null;
}

export interface ClusterRecord {
  readonly clusterId: number;
  readonly owner: string;
  readonly submittedAt: number;
  readonly clusterAd: string;
  readonly procCount: number;
  readonly materializedCount: number;
  readonly factory: string | null;
  readonly batchName: string | null;
  readonly jobsetId: number | null;
}

export interface ProcRecord {
  readonly clusterId: number;
  readonly procId: number;
  readonly status: JobStatusCode;
  /** When the job entered its status, seconds since the epoch. */
  readonly enteredStatusAt: number;
  /** The proc's differences from the cluster ad, new-syntax ad text. */
  readonly diff: string;
}

/** An event in a job's life (also written to its user log by the AP). */
export interface JobEvent {
  readonly seq: number;
  readonly clusterId: number;
  readonly procId: number;
  readonly time: number;
  /** submit, execute, terminated, evicted, held, released, aborted, edited, ... */
  readonly kind: string;
  /** Event-specific details (JSON text). */
  readonly data: string;
}

/** A change of one proc: its new status and the attributes to set in its differences. */
export interface ProcChange {
  readonly id: JobId;
  /** The status the proc must have now, or the change is skipped (optimistic check). */
  readonly expectStatus: JobStatusCode;
  readonly status: JobStatusCode;
  /** Attributes to set in the proc's differences, as name -> new-syntax expression text. */
  readonly set: Readonly<Record<string, string>>;
  readonly event: { readonly kind: string; readonly data: string };
}

/**
 * How durable a change is once the call returns. 'power-loss' (the default):
 * it survives `kill -9` of the AP and a power cut. 'crash': it survives
 * `kill -9` of the AP; a power cut may lose it (never corrupting the queue),
 * until the next power-loss-durable change or checkpoint. Pilots' run
 * reports use 'crash': they come thousands a second, and a lost one only
 * runs a job again (its pilot's late report is refused by claim).
 */
export type Durability = 'power-loss' | 'crash';

export interface StatusCounts {
  readonly idle: number;
  readonly running: number;
  readonly held: number;
  readonly completed: number;
  readonly removed: number;
  readonly transferringOutput: number;
}

export interface JobFilter {
  readonly owner?: string;
  readonly clusterId?: number;
  readonly jobsetId?: number;
  readonly statuses?: readonly JobStatusCode[];
}

export interface JobQueue {
  /**
   * The id the next `submitCluster` will assign. The AP is the queue's only
   * writer and calls both in one synchronous step, so the id holds (the
   * cluster ad and `$(Cluster)` macros need it before the insert).
   */
  nextClusterId(): number;
  /** Adds a cluster and its materialized procs (each with a submit event); returns its id. */
  submitCluster(cluster: NewCluster, now: number): number;
  /** Adds procs `from..from+diffs.length-1` of a factory cluster (submit events too). */
  materializeProcs(clusterId: number, from: number, diffs: readonly string[], now: number): void;
  cluster(clusterId: number): ClusterRecord | undefined;
  proc(id: JobId): ProcRecord | undefined;
  /** Clusters in id order (optionally one owner's), for listing. */
  clusters(filter?: { owner?: string; jobsetId?: number }): ClusterRecord[];
  /** Materialized procs matching the filter, in (cluster, proc) order; `limit` caps the result. */
  procs(filter?: JobFilter, limit?: number): ProcRecord[];
  /** How many materialized procs of a cluster have one of these statuses. */
  countProcs(clusterId: number, statuses: readonly JobStatusCode[]): number;
  /** Applies changes atomically; returns those applied (a change whose expectStatus no longer holds is skipped). */
  changeProcs(changes: readonly ProcChange[], now: number, durability?: Durability): ProcChange[];
  /** Per-status counts over materialized procs, optionally per owner; unmaterialized procs are not counted here. */
  statusCounts(filter?: { owner?: string }): StatusCounts;
  /**
   * Gives up a factory cluster's procs not made yet (removing a cluster of a
   * million late-materialized jobs must not make them first): the cluster
   * keeps only its made procs, and is deleted if it has none. Returns how
   * many procs were given up.
   */
  abandonUnmaterialized(clusterId: number, now: number): number;
  /**
   * Applies changes that finish procs (to Completed or Removed) and moves
   * those procs to history with the given whole ads (the ad after the
   * change), in one transaction: the proc's differences are not rewritten
   * first, since the row goes. A change whose expectStatus no longer holds
   * is skipped and its proc stays. Returns the changes applied.
   */
  finishProcs(finishes: readonly { readonly change: ProcChange; readonly wholeAd: string }[], now: number, durability?: Durability): ProcChange[];
  /** Moves finished (Completed/Removed) procs to history with their whole ad; returns how many. */
  moveToHistory(ids: readonly JobId[], wholeAds: readonly string[], now: number, durability?: Durability): number;
  /** History records, newest first. */
  /** `procId` narrows a `clusterId` filter to one job. */
  history(filter?: { owner?: string; clusterId?: number; procId?: number }, limit?: number): { id: JobId; completedAt: number; status: JobStatusCode; owner: string; ad: string }[];
  /** Events of one job, or all events after `afterSeq` (for user logs and watchers). */
  events(filter: { id?: JobId; afterSeq?: number }, limit?: number): JobEvent[];
  /** Jobsets: a name and owner grouping clusters. */
  createJobset(name: string, owner: string, now: number): number;
  jobsets(filter?: { owner?: string }): { jobsetId: number; name: string; owner: string; submittedAt: number }[];
  close(): void;
}
