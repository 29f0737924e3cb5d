/**
 * Autoclusters: idle jobs grouped so that a matchmaking cycle costs per
 * group, not per job (HTCondor's autoclusters). Jobs whose match-relevant
 * attributes are written identically behave identically against any slot,
 * so one representative ad stands for the whole group.
 *
 * Invariants:
 * - A signature is the owner plus the exact expression text (or absence) of
 *   every significant attribute: the request attributes, the annex
 *   attributes, Requirements, Rank, everything those reference on the job
 *   side (transitively), and the job attributes slots reference (see
 *   `jobAttributesReferencedBySlot`). Equal signatures therefore mean equal
 *   evaluation against every slot. Texts, not values, are compared because
 *   an expression may reference TARGET and has no value on its own; two
 *   spellings of one value only split a group, which costs a little and is
 *   never wrong. The one blind spot, as in HTCondor: names an expression
 *   builds at run time (`eval("Foo")`) cannot be found.
 * - A group holds jobs of one owner only (the owner is part of the
 *   signature), and `IdleIndex` insists that the owner it is given is the
 *   job ad's Owner, since the annex binding reads MY.Owner.
 * - Within a group jobs are FIFO by the caller's `order`; adding, deleting
 *   and taking are amortized O(1) (deletions leave tombstones that are
 *   swept once they are half of a group), because the AP removes thousands
 *   of matched jobs one by one.
 *
 * Pure: no I/O, no clock.
 */
import { childrenOf, unparse, type ClassAd, type Node } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import { numberAttr, stringAttr } from './job.ts';

/**
 * Resources of a slot, or what a job asks for. Memory in MiB, disk in KiB
 * (HTCondor's units). The same shape as protocol's `Resources`, which core
 * may not import.
 */
export interface SlotResources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly diskKb: number;
  readonly gpus: number;
}

/** Defaults when a job does not ask (HTCondor's condor_submit defaults, roughly). */
export const DEFAULT_REQUEST: SlotResources = { cpus: 1, memoryMb: 128, diskKb: 1_048_576, gpus: 0 };

/** Job attributes that are always significant (lower case). */
const BASE_SIGNIFICANT = ['requestcpus', 'requestmemory', 'requestdisk', 'requestgpus', 'owner', 'targetannexname', 'allowannexslots', 'allowedjobduration', 'requirements', 'rank'];

/** Slot attributes whose references to the job make job attributes significant. */
const SLOT_POLICY = ['start', 'requirements', 'rank'];

const SCOPE_NAMES: ReadonlySet<string> = new Set(['my', 'self', 'target', 'other', 'parent', 'root', 'toplevel']);

interface References {
  /** MY.x, SELF.x, ROOT.x and `.x`: the ad itself. */
  readonly own: ReadonlySet<string>;
  /** TARGET.x, OTHER.x: the other side. */
  readonly other: ReadonlySet<string>;
  /** Plain `x`: the ad itself when it defines x, else the other side. */
  readonly unscoped: ReadonlySet<string>;
}

// Trees are immutable and jobs of one cluster share them (ClassAd.copy
// shares trees), so walking and printing once per tree is enough.
const referenceCache = new WeakMap<Node, References>();
const textCache = new WeakMap<Node, string>();

function referencesOf(node: Node): References {
  const cached = referenceCache.get(node);
  if (cached !== undefined) return cached;
  const own = new Set<string>();
  const other = new Set<string>();
  const unscoped = new Set<string>();
  const stack: Node[] = [node];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.kind === 'attr') {
      const key = n.name.toLowerCase();
      if (n.absolute) own.add(key);
      else if (!SCOPE_NAMES.has(key)) unscoped.add(key);
      continue;
    }
    if (n.kind === 'select' && n.base.kind === 'attr' && !n.base.absolute) {
      const scope = n.base.name.toLowerCase();
      const key = n.name.toLowerCase();
      if (scope === 'my' || scope === 'self' || scope === 'root' || scope === 'toplevel') {
        own.add(key);
        continue;
      }
      if (scope === 'target' || scope === 'other') {
        other.add(key);
        continue;
      }
    }
    // Anything else (a.b, records, calls): every name inside counts, which
    // may over-split groups but never merges jobs that differ.
    stack.push(...childrenOf(n));
  }
  const refs = { own, other, unscoped };
  referenceCache.set(node, refs);
  return refs;
}

function textOf(node: Node): string {
  let text = textCache.get(node);
  if (text === undefined) {
    text = unparse(node);
    textCache.set(node, text);
  }
  return text;
}

/**
 * The names `roots` stand for in `ad`, closed over what their expressions
 * reference on the ad's own side (lower case, sorted). Unscoped names count
 * when the ad defines them, since only then does the ad's value decide.
 */
function ownClosure(ad: ClassAd, roots: Iterable<string>): Set<string> {
  const names = new Set<string>();
  const pending = [...roots];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (names.has(name)) continue;
    names.add(name);
    const node = ad.get(name);
    if (node === undefined) continue;
    const refs = referencesOf(node);
    for (const n of refs.own) pending.push(n);
    for (const n of refs.unscoped) if (ad.has(n)) pending.push(n);
  }
  return names;
}

/**
 * The job attributes that decide how `jobAd` matches (lower case, sorted):
 * see the module comment.
 */
export function significantAttributes(jobAd: ClassAd): string[] {
  return [...ownClosure(jobAd, BASE_SIGNIFICANT)].sort();
}

/**
 * The job attributes a slot's START, Requirements and Rank read (lower
 * case, sorted): TARGET.x, and plain names the slot does not define (they
 * fall through to the job). Feed them to `IdleIndex.noteSlotReferences` so
 * a START that reads, say, TARGET.Project splits groups by project.
 */
export function jobAttributesReferencedBySlot(slotAd: ClassAd): string[] {
  const result = new Set<string>();
  for (const name of ownClosure(slotAd, SLOT_POLICY)) {
    const node = slotAd.get(name);
    if (node === undefined) continue;
    const refs = referencesOf(node);
    for (const n of refs.other) result.add(n);
    for (const n of refs.unscoped) if (!slotAd.has(n)) result.add(n);
  }
  return [...result].sort();
}

/**
 * The group key of `job`: its Owner and the text (or absence) of each
 * significant attribute. Order and case of `significant` do not matter.
 */
export function autoclusterSignature(job: ClassAd, significant: readonly string[]): string {
  const names = [...new Set(significant.map((n) => n.toLowerCase()))].sort();
  const parts: (string | null)[] = [stringAttr(job, 'Owner') ?? ''];
  for (const name of names) {
    const node = job.get(name);
    parts.push(name, node === undefined ? null : textOf(node));
  }
  return JSON.stringify(parts);
}

/** The number a request attribute asks for: whole units, never negative; the default if it is not a finite number. */
function requested(ad: ClassAd, name: string, fallback: number): number {
  const n = numberAttr(ad, name);
  if (n === undefined || !Number.isFinite(n)) return fallback;
  // Rounded up: carving works in whole units, and asking for 1.5 GiB must not get less.
  return Math.max(0, Math.ceil(n));
}

/** What a job asks for, evaluated with the job as MY (defaults: DEFAULT_REQUEST; at least one cpu). */
export function requestOf(jobAd: ClassAd): SlotResources {
  return {
    cpus: Math.max(1, requested(jobAd, 'RequestCpus', DEFAULT_REQUEST.cpus)),
    memoryMb: requested(jobAd, 'RequestMemory', DEFAULT_REQUEST.memoryMb),
    diskKb: requested(jobAd, 'RequestDisk', DEFAULT_REQUEST.diskKb),
    gpus: requested(jobAd, 'RequestGPUs', DEFAULT_REQUEST.gpus),
  };
}

/** AllowedJobDuration in seconds when it is a positive number, else null. */
export function maxRuntimeOf(jobAd: ClassAd): number | null {
  const n = numberAttr(jobAd, 'AllowedJobDuration');
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : null;
}

/** One group of idle jobs, as a snapshot (later changes to the index do not show). */
export interface Autocluster {
  readonly signature: string;
  readonly owner: string;
  /** One job of the group; every member evaluates the same against any slot. */
  readonly representative: ClassAd;
  readonly request: SlotResources;
  /** AllowedJobDuration (seconds) when set, else null. */
  readonly maxRuntime: number | null;
  /** Job keys, oldest `order` first. Never empty. */
  readonly jobs: readonly string[];
  /** The `order` of the oldest job: the matchmaker serves an owner's groups by it. */
  readonly oldest: number;
}

/** A job as the index takes it. `order` is FIFO position (e.g. cluster and proc, or submit time). */
export interface IdleJob {
  readonly key: string;
  readonly owner: string;
  readonly ad: ClassAd;
  readonly order: number;
}

interface Entry {
  readonly job: IdleJob;
  /** Insertion count: ties of `order` stay in insertion order. */
  readonly seq: number;
}

/** Below this many queue slots, tombstones are not worth sweeping. */
const SWEEP_MIN = 64;

class Group {
  /** Live members; an entry in `queue` is live when it is the one here. */
  readonly members = new Map<string, Entry>();
  /** Members in FIFO order from `head`, with tombstones of deleted ones. */
  private queue: Entry[] = [];
  private head = 0;
  private dead = 0;
  private sorted = true;
  private snapshot: Autocluster | undefined;

  constructor(
    readonly signature: string,
    readonly owner: string,
    readonly representative: ClassAd,
    readonly request: SlotResources,
    readonly maxRuntime: number | null,
  ) {}

  add(entry: Entry): void {
    const last = this.queue[this.queue.length - 1];
    // Usually jobs arrive in order; one that comes back (e.g. released from
    // hold) with an older order makes the next read sort once.
    if (last !== undefined && entry.job.order < last.job.order) this.sorted = false;
    this.members.set(entry.job.key, entry);
    this.queue.push(entry);
    this.snapshot = undefined;
  }

  delete(key: string): void {
    this.members.delete(key);
    this.dead++;
    this.snapshot = undefined;
    const live = this.queue.length - this.head;
    if (live > SWEEP_MIN && this.dead * 2 > live) this.sweep();
  }

  private isLive(entry: Entry): boolean {
    return this.members.get(entry.job.key) === entry;
  }

  private sweep(): void {
    this.queue = this.queue.slice(this.head).filter((e) => this.isLive(e));
    this.head = 0;
    this.dead = 0;
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    this.sweep();
    this.queue.sort((a, b) => a.job.order - b.job.order || a.seq - b.seq);
    this.sorted = true;
  }

  /** Removes up to n members from the front. */
  take(n: number): string[] {
    this.ensureSorted();
    const keys: string[] = [];
    while (keys.length < n && this.head < this.queue.length) {
      const entry = this.queue[this.head++]!;
      if (this.isLive(entry)) {
        this.members.delete(entry.job.key);
        keys.push(entry.job.key);
      } else {
        this.dead--;
      }
    }
    if (this.head > SWEEP_MIN && this.head * 2 > this.queue.length) this.sweep();
    if (keys.length > 0) this.snapshot = undefined;
    return keys;
  }

  entries(): Entry[] {
    this.ensureSorted();
    return this.queue.slice(this.head).filter((e) => this.isLive(e));
  }

  view(): Autocluster {
    if (this.snapshot === undefined) {
      const live = this.entries();
      this.snapshot = {
        signature: this.signature,
        owner: this.owner,
        representative: this.representative,
        request: this.request,
        maxRuntime: this.maxRuntime,
        jobs: live.map((e) => e.job.key),
        oldest: live[0]!.job.order,
      };
    }
    return this.snapshot;
  }
}

/**
 * The idle jobs of the queue, grouped by signature. The AP adds a job when it
 * becomes idle and deletes it when it is matched, held, removed or edited
 * (an edit is a delete and an add: the signature may change).
 */
export class IdleIndex {
  private readonly byKey = new Map<string, Group>();
  private readonly bySignature = new Map<string, Group>();
  private readonly slotReferences = new Set<string>();
  private seq = 0;

  constructor(options: { slotReferences?: Iterable<string> } = {}) {
    for (const name of options.slotReferences ?? []) this.slotReferences.add(name.toLowerCase());
  }

  get size(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Every job key (a live view: deleting keys while iterating is safe, as with Map). */
  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  /** Adds a job (replacing one with the same key). */
  add(job: IdleJob): void {
    const adOwner = stringAttr(job.ad, 'Owner');
    if (adOwner !== job.owner) {
      throw new HtcError('INTERNAL', `job ${job.key}: Owner ${adOwner === undefined ? 'is not set' : JSON.stringify(adOwner)}, but it belongs to ${JSON.stringify(job.owner)}`);
    }
    this.delete(job.key);
    const significant = significantAttributes(job.ad);
    for (const name of this.slotReferences) significant.push(name);
    const signature = autoclusterSignature(job.ad, significant);
    let group = this.bySignature.get(signature);
    if (group === undefined) {
      group = new Group(signature, job.owner, job.ad, requestOf(job.ad), maxRuntimeOf(job.ad));
      this.bySignature.set(signature, group);
    }
    group.add({ job, seq: this.seq++ });
    this.byKey.set(job.key, group);
  }

  /** Removes a job; false if it was not here. */
  delete(key: string): boolean {
    const group = this.byKey.get(key);
    if (group === undefined) return false;
    this.byKey.delete(key);
    group.delete(key);
    if (group.members.size === 0) this.bySignature.delete(group.signature);
    return true;
  }

  /** Removes and returns up to n keys from the front of a group (none if the signature is unknown). */
  take(signature: string, n: number): string[] {
    const group = this.bySignature.get(signature);
    if (group === undefined) return [];
    const keys = group.take(n);
    for (const key of keys) this.byKey.delete(key);
    if (group.members.size === 0) this.bySignature.delete(signature);
    return keys;
  }

  /** Every group, oldest job first. Snapshots: cached per group until it changes. */
  groups(): Autocluster[] {
    return [...this.bySignature.values()].map((g) => g.view()).sort((a, b) => a.oldest - b.oldest);
  }

  /**
   * Makes job attributes that slots read (see `jobAttributesReferencedBySlot`)
   * significant. When that adds a name, every job is grouped again (O(jobs),
   * but slot policies rarely change); returns whether it did.
   */
  noteSlotReferences(names: Iterable<string>): boolean {
    let added = false;
    for (const name of names) {
      const key = name.toLowerCase();
      if (!this.slotReferences.has(key)) {
        this.slotReferences.add(key);
        added = true;
      }
    }
    if (!added) return false;
    const entries = [...this.bySignature.values()].flatMap((g) => g.entries()).sort((a, b) => a.seq - b.seq);
    this.byKey.clear();
    this.bySignature.clear();
    for (const e of entries) this.add(e.job);
    return true;
  }
}
