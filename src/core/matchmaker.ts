/**
 * The matchmaker (HTCondor's negotiator, one cycle): which idle jobs go to
 * which partitionable slots now.
 *
 * A cycle works on autoclusters (see autocluster.ts), so its cost is about
 * groups × slots match evaluations plus one step per match, never
 * jobs × slots: the representative of a group is matched against a slot
 * once, and again only after that slot's free resources changed.
 *
 * How a match is decided, per (group, slot):
 * - the slot accepts (`accepting`), and a job with AllowedJobDuration ends
 *   before the slot does (now + duration <= endTime);
 * - the request fits in the slot's free cpus, memory, disk and GPUs;
 * - both Requirements hold (`symmetricMatch`) between the job and a view of
 *   the slot ad whose Cpus, Memory, Disk and GPUs are the FREE amounts (as
 *   HTCondor matches a partitionable slot) and whose Requirements is the
 *   slot's START && its own Requirements (a startd publishes START as its
 *   Requirements; a slot ad with neither starts anything).
 * A match carves the request out of this cycle's copy of the slot's free
 * resources, so one slot takes as many jobs of a group as fit.
 *
 * Order: owners take turns, each turn going to the owner with the least
 * `usage + cpus matched to them this cycle × cpuCharge`, so a light user is
 * served first and a heavy one is not starved within one cycle; an owner
 * with nothing left that matches drops out. An owner's groups are served
 * oldest job first and a group's jobs FIFO; a group that matches no slot is
 * done for this cycle (a Requirements such as `TARGET.Cpus < 4` that could
 * start to hold as slots fill up is served next cycle). Among the slots a
 * job matches: the highest job Rank, then depth-first fill (see `better`).
 *
 * The caller must: take every matched job out of its IdleIndex (`delete`
 * per `jobKey`), claim the matched resources on the slot, and on the next
 * cycle offer the slot with its free resources reduced; negotiate mutates
 * neither the groups nor the slot ads. Charge fair share with real usage as
 * jobs run (`FairShare.charge`); a match itself charges nothing.
 *
 * Pure: no I/O, time is `now` (epoch seconds).
 */
import { BUILTINS, rank, symmetricMatch, type ClassAd, type Node } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import type { Autocluster, SlotResources } from './autocluster.ts';
import type { FairShare } from './fair-share.ts';
import { numberAttr } from './job.ts';

export type { SlotResources } from './autocluster.ts';

/** A partitionable slot as the matchmaker sees it. */
export interface SlotOffer {
  readonly slotId: string;
  /**
   * The slot ad: Cpus, Memory (MiB), Disk (KiB), GPUs are its TOTALS; START,
   * Requirements, Rank, AnnexName, AnnexOwner, IsAnnex may be absent.
   */
  readonly ad: ClassAd;
  /** What is not claimed yet. */
  readonly free: SlotResources;
  /** When the slot goes away (epoch seconds), if known. */
  readonly endTime: number | null;
  /** False while the pilot is draining or shutting down. */
  readonly accepting: boolean;
}

export interface Match {
  readonly jobKey: string;
  readonly slotId: string;
  readonly signature: string;
  /** What to carve out of the slot for this job. */
  readonly request: SlotResources;
}

export interface NegotiateOptions {
  readonly fairShare: FairShare;
  readonly now: number;
  /** At most this many matches in the cycle (default: no limit). */
  readonly maxMatches?: number;
  /**
   * Usage (cpu-seconds) one cpu matched in this cycle counts as when owners
   * are compared within the cycle. Default one hour: enough that owners of
   * equal usage alternate cpu by cpu, small against a day of accumulated
   * usage, so the lighter user still goes first.
   */
  readonly cpuCharge?: number;
}

export const DEFAULT_CPU_CHARGE = 3600;

interface Free {
  cpus: number;
  memoryMb: number;
  diskKb: number;
  gpus: number;
}

/** One slot during the cycle. */
interface SlotState {
  readonly offer: SlotOffer;
  /** The slot ad with free resources as Cpus etc. and START folded into Requirements. */
  readonly view: ClassAd;
  readonly free: Free;
  /** The slot's total cpus (its ad's Cpus), to tell a partly used slot from an idle one. */
  readonly totalCpus: number;
  /** Bumped whenever `free` shrinks: cached verdicts of older versions are stale. */
  version: number;
}

interface Verdict {
  readonly version: number;
  readonly match: boolean;
  readonly rank: number;
}

interface GroupState {
  readonly group: Autocluster;
  /** Index of the next job of `group.jobs` to match. */
  next: number;
  /** Slots that may still take this group; ones it can never fit again this cycle are removed. */
  readonly candidates: SlotState[];
  readonly verdicts: Map<SlotState, Verdict>;
}

interface OwnerState {
  readonly owner: string;
  readonly usage: number;
  readonly groups: GroupState[];
  /** Groups before this one are done for the cycle. */
  current: number;
  matchedCpus: number;
}

/** A resource amount as a whole, non-negative number (the view's attributes must be integers). */
function whole(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

const START_REF: Node = { kind: 'select', base: { kind: 'attr', name: 'MY', absolute: false }, name: 'START' };

/** The slot ad as matched: see the module comment. */
function slotView(ad: ClassAd, free: Free): ClassAd {
  const view = ad.copy();
  const requirements = ad.get('Requirements');
  if (ad.has('START')) {
    view.set('Requirements', requirements === undefined ? START_REF : { kind: 'binary', op: '&&', left: { kind: 'paren', inner: START_REF }, right: { kind: 'paren', inner: requirements } });
  } else if (requirements === undefined) {
    view.setValue('Requirements', true);
  }
  setFree(view, free);
  return view;
}

function setFree(view: ClassAd, free: Free): void {
  view.setValue('Cpus', free.cpus).setValue('Memory', free.memoryMb).setValue('Disk', free.diskKb).setValue('GPUs', free.gpus);
}

function fits(request: SlotResources, free: Free): boolean {
  return request.cpus <= free.cpus && request.memoryMb <= free.memoryMb && request.diskKb <= free.diskKb && request.gpus <= free.gpus;
}

/**
 * Whether slot `a` (job rank `rankA`) is a better home than `b`. Highest job
 * Rank first, as HTCondor. Then depth-first fill: a slot already partly
 * used before an idle one, and fewer free cpus before more, so work packs
 * onto pilots that are busy anyway and idle pilots reach their idle timeout
 * and give the allocation back (HTCondor's "depth-first" partitionable slot
 * fill). Last the slot id, so a cycle is deterministic.
 */
function better(a: SlotState, rankA: number, b: SlotState, rankB: number): boolean {
  if (rankA !== rankB) return rankA > rankB;
  const usedA = a.free.cpus < a.totalCpus;
  const usedB = b.free.cpus < b.totalCpus;
  if (usedA !== usedB) return usedA;
  if (a.free.cpus !== b.free.cpus) return a.free.cpus < b.free.cpus;
  return a.offer.slotId < b.offer.slotId;
}

/** The best slot for the group's next job, or undefined when no slot takes the group any more. */
function bestSlot(g: GroupState): SlotState | undefined {
  const { request, representative } = g.group;
  let best: SlotState | undefined;
  let bestRank = 0;
  let i = 0;
  while (i < g.candidates.length) {
    const slot = g.candidates[i]!;
    if (!fits(request, slot.free)) {
      // Free resources only shrink during a cycle: this slot is gone for the group.
      g.candidates[i] = g.candidates[g.candidates.length - 1]!;
      g.candidates.pop();
      continue;
    }
    i++;
    let verdict = g.verdicts.get(slot);
    if (verdict === undefined || verdict.version !== slot.version) {
      const match = symmetricMatch(representative, slot.view, BUILTINS).match;
      verdict = { version: slot.version, match, rank: match ? rank(representative, slot.view, BUILTINS) : 0 };
      g.verdicts.set(slot, verdict);
    }
    if (verdict.match && (best === undefined || better(slot, verdict.rank, best, bestRank))) {
      best = slot;
      bestRank = verdict.rank;
    }
  }
  return best;
}

/** The owner's next (group, slot), moving past groups that are done; undefined when the owner is done. */
function nextFor(owner: OwnerState): { g: GroupState; slot: SlotState } | undefined {
  while (owner.current < owner.groups.length) {
    const g = owner.groups[owner.current]!;
    const slot = g.next < g.group.jobs.length ? bestSlot(g) : undefined;
    if (slot !== undefined) return { g, slot };
    owner.current++;
  }
  return undefined;
}

/** One matchmaking cycle: see the module comment. Deterministic for equal input. */
export function negotiate(groups: readonly Autocluster[], slots: readonly SlotOffer[], options: NegotiateOptions): Match[] {
  const { fairShare, now } = options;
  const maxMatches = options.maxMatches ?? Infinity;
  const cpuCharge = options.cpuCharge ?? DEFAULT_CPU_CHARGE;
  if (!Number.isFinite(now)) throw new HtcError('INTERNAL', `negotiate: now must be epoch seconds, not ${now}`);
  if (!(maxMatches >= 0)) throw new HtcError('INTERNAL', `negotiate: maxMatches must be >= 0, not ${maxMatches}`);
  if (!(cpuCharge >= 0 && Number.isFinite(cpuCharge))) throw new HtcError('INTERNAL', `negotiate: cpuCharge must be >= 0, not ${cpuCharge}`);
  const matches: Match[] = [];
  if (maxMatches < 1) return matches;

  const states: SlotState[] = [];
  for (const offer of slots) {
    if (!offer.accepting) continue;
    const free = { cpus: whole(offer.free.cpus), memoryMb: whole(offer.free.memoryMb), diskKb: whole(offer.free.diskKb), gpus: whole(offer.free.gpus) };
    if (free.cpus === 0) continue;
    states.push({ offer, view: slotView(offer.ad, free), free, totalCpus: numberAttr(offer.ad, 'Cpus') ?? free.cpus, version: 0 });
  }
  if (states.length === 0) return matches;

  const owners = new Map<string, OwnerState>();
  for (const group of groups) {
    if (group.jobs.length === 0) continue;
    const runtime = group.maxRuntime;
    // What the cycle cannot change is settled once per group: accepting
    // (above) and the slot's end time.
    const candidates = runtime === null ? [...states] : states.filter((s) => s.offer.endTime === null || now + runtime <= s.offer.endTime);
    if (candidates.length === 0) continue;
    let owner = owners.get(group.owner);
    if (owner === undefined) {
      owner = { owner: group.owner, usage: fairShare.usage(group.owner, now), groups: [], current: 0, matchedCpus: 0 };
      owners.set(group.owner, owner);
    }
    owner.groups.push({ group, next: 0, candidates, verdicts: new Map() });
  }
  for (const owner of owners.values()) owner.groups.sort((a, b) => a.group.oldest - b.group.oldest);

  // Owners are few next to matches: a linear scan per turn keeps this simple.
  const active = [...owners.values()];
  while (matches.length < maxMatches && active.length > 0) {
    let at = 0;
    for (let i = 1; i < active.length; i++) {
      const a = active[i]!;
      const b = active[at]!;
      const pa = a.usage + a.matchedCpus * cpuCharge;
      const pb = b.usage + b.matchedCpus * cpuCharge;
      if (pa < pb || (pa === pb && a.owner < b.owner)) at = i;
    }
    const owner = active[at]!;
    const next = nextFor(owner);
    if (next === undefined) {
      active.splice(at, 1);
      continue;
    }
    const { g, slot } = next;
    const request = g.group.request;
    matches.push({ jobKey: g.group.jobs[g.next++]!, slotId: slot.offer.slotId, signature: g.group.signature, request });
    owner.matchedCpus += request.cpus;
    slot.free.cpus -= request.cpus;
    slot.free.memoryMb -= request.memoryMb;
    slot.free.diskKb -= request.diskKb;
    slot.free.gpus -= request.gpus;
    setFree(slot.view, slot.free);
    slot.version++;
  }
  return matches;
}
