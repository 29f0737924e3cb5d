/** One matchmaking cycle: fit and carving, two-way requirements, annex binding, runtime, fair share, fill order, scale. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateAttr, parseClassAd, printClassAd, type ClassAd } from '../classad/index.ts';
import { IdleIndex, type Autocluster, type SlotResources } from './autocluster.ts';
import { FairShare } from './fair-share.ts';
import { negotiate, type Match, type SlotOffer } from './matchmaker.ts';
import { withAnnexRequirements } from './transforms.ts';

const NOW = 1_700_000_000;

/** A job ad as the AP stores it: Owner set and the annex binding applied. */
const jobAd = (owner: string, attrs = ''): ClassAd => withAnnexRequirements(parseClassAd(`[ Owner = "${owner}"; ${attrs} ]`), owner);

/** `count` jobs per spec, keys `<prefix><n>`, FIFO in the order given. */
function groupsOf(...specs: { owner?: string; attrs?: string; count: number; prefix: string }[]): Autocluster[] {
  const index = new IdleIndex();
  let order = 0;
  for (const spec of specs) {
    const owner = spec.owner ?? 'alice';
    for (let i = 0; i < spec.count; i++) index.add({ key: `${spec.prefix}${i}`, owner, ad: jobAd(owner, `${spec.attrs ?? ''}; ProcId = ${i}`), order: order++ });
  }
  return index.groups();
}

const totals = (cpus: number): SlotResources => ({ cpus, memoryMb: 4096 * cpus, diskKb: 10_000_000 * cpus, gpus: 0 });

/** A slot offer: the ad carries totals, `free` defaults to all of them. */
function slot(slotId: string, options: { total?: Partial<SlotResources>; free?: Partial<SlotResources>; attrs?: string; endTime?: number | null; accepting?: boolean } = {}): SlotOffer {
  const total = { ...totals(options.total?.cpus ?? 2), ...options.total };
  const ad = parseClassAd(`[ Cpus = ${total.cpus}; Memory = ${total.memoryMb}; Disk = ${total.diskKb}; GPUs = ${total.gpus}; ${options.attrs ?? ''} ]`);
  return { slotId, ad, free: { ...total, ...options.free }, endTime: options.endTime ?? null, accepting: options.accepting ?? true };
}

const cycle = (groups: readonly Autocluster[], slots: readonly SlotOffer[], options: { fairShare?: FairShare; maxMatches?: number } = {}): Match[] =>
  negotiate(groups, slots, { fairShare: options.fairShare ?? new FairShare(), now: NOW, maxMatches: options.maxMatches });

const keys = (matches: readonly Match[]): string[] => matches.map((m) => m.jobKey);
const perSlot = (matches: readonly Match[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const m of matches) counts[m.slotId] = (counts[m.slotId] ?? 0) + 1;
  return counts;
};

describe('fit and carving', () => {
  it('gives a 2-cpu pilot exactly 2 one-cpu jobs, the oldest first', () => {
    const matches = cycle(groupsOf({ count: 5, prefix: 'j' }), [slot('p1', { total: { cpus: 2 } })]);
    assert.deepEqual(keys(matches), ['j0', 'j1']);
    assert.deepEqual(matches.map((m) => m.slotId), ['p1', 'p1']);
    assert.equal(matches[0]!.request.cpus, 1);
  });
  it('does not put a 4-cpu job on a 2-cpu slot', () => {
    assert.deepEqual(cycle(groupsOf({ attrs: 'RequestCpus = 4', count: 1, prefix: 'j' }), [slot('p1', { total: { cpus: 2 } })]), []);
    assert.equal(cycle(groupsOf({ attrs: 'RequestCpus = 4', count: 1, prefix: 'j' }), [slot('p1', { total: { cpus: 4 } })]).length, 1);
  });
  it('counts only free resources, not the totals', () => {
    const partlyUsed = slot('p1', { total: { cpus: 8 }, free: { cpus: 3 } });
    assert.equal(cycle(groupsOf({ attrs: 'RequestCpus = 4', count: 1, prefix: 'j' }), [partlyUsed]).length, 0);
    assert.equal(cycle(groupsOf({ count: 10, prefix: 'j' }), [partlyUsed]).length, 3);
  });
  it('limits by memory, disk and GPUs as well as cpus', () => {
    const big = { total: { cpus: 8, memoryMb: 4096, diskKb: 4_000_000, gpus: 2 } };
    assert.equal(cycle(groupsOf({ attrs: 'RequestMemory = 3000', count: 4, prefix: 'm' }), [slot('p1', big)]).length, 1);
    assert.equal(cycle(groupsOf({ attrs: 'RequestDisk = 1500000', count: 4, prefix: 'd' }), [slot('p1', big)]).length, 2);
    assert.equal(cycle(groupsOf({ attrs: 'RequestGPUs = 1', count: 4, prefix: 'g' }), [slot('p1', big)]).length, 2);
    assert.equal(cycle(groupsOf({ attrs: 'RequestGPUs = 1', count: 4, prefix: 'g' }), [slot('p1', { total: { cpus: 8 } })]).length, 0);
  });
  it('matches against the free amounts, re-evaluated as the slot is carved', () => {
    // Holds while at least 4 cpus are free: 8, 7, 6, 5, 4 -> five jobs.
    const matches = cycle(groupsOf({ attrs: 'Requirements = TARGET.Cpus >= 4', count: 10, prefix: 'j' }), [slot('p1', { total: { cpus: 8 } })]);
    assert.equal(matches.length, 5);
  });
  it('changes neither the groups nor the slot ads', () => {
    const groups = groupsOf({ count: 3, prefix: 'j' });
    const offer = slot('p1', { total: { cpus: 2 }, attrs: 'START = true' });
    const before = printClassAd(offer.ad);
    assert.equal(cycle(groups, [offer]).length, 2);
    assert.deepEqual(groups[0]!.jobs, ['j0', 'j1', 'j2']);
    assert.equal(printClassAd(offer.ad), before);
    assert.equal(offer.free.cpus, 2);
  });
});

describe('requirements of both sides', () => {
  it("honours the slot's START", () => {
    const groups = groupsOf({ owner: 'mallory', count: 1, prefix: 'm' }, { owner: 'alice', count: 1, prefix: 'a' });
    const matches = cycle(groups, [slot('p1', { total: { cpus: 4 }, attrs: 'START = TARGET.Owner != "mallory"' })]);
    assert.deepEqual(keys(matches), ['a0']);
  });
  it("honours the slot's START and its own Requirements together", () => {
    const groups = groupsOf({ attrs: 'RequestMemory = 100', count: 1, prefix: 's' }, { attrs: 'RequestMemory = 5000', count: 1, prefix: 'b' });
    const offer = slot('p1', { total: { cpus: 4 }, attrs: 'START = TARGET.Owner == "alice"; Requirements = TARGET.RequestMemory < 1000' });
    assert.deepEqual(keys(cycle(groups, [offer])), ['s0']);
  });
  it("honours the job's Requirements against the slot", () => {
    const groups = groupsOf({ attrs: 'Requirements = TARGET.OpSys == "LINUX"', count: 1, prefix: 'j' });
    assert.equal(cycle(groups, [slot('win', { attrs: 'OpSys = "WINDOWS"' })]).length, 0);
    assert.deepEqual(cycle(groups, [slot('win', { attrs: 'OpSys = "WINDOWS"' }), slot('lin', { attrs: 'OpSys = "LINUX"' })]).map((m) => m.slotId), ['lin']);
  });
  it('gives a non-accepting slot nothing', () => {
    assert.deepEqual(cycle(groupsOf({ count: 3, prefix: 'j' }), [slot('p1', { total: { cpus: 4 }, accepting: false })]), []);
  });
});

describe('annex binding', () => {
  const annexStart = 'START = (TARGET.TargetAnnexName =?= MY.AnnexName) && (TARGET.Owner =?= MY.AnnexOwner)';
  const annexSlot = (id: string, name: string, owner: string, start = true): SlotOffer =>
    slot(id, { attrs: `IsAnnex = true; AnnexName = "${name}"; AnnexOwner = "${owner}"; ${start ? annexStart : ''}` });

  it('puts a job that targets an annex only on slots of that annex owned by its owner', () => {
    const groups = groupsOf({ owner: 'alice', attrs: 'TargetAnnexName = "a"', count: 1, prefix: 'j' });
    const ad = groups[0]!.representative;
    assert.equal(evaluateAttr(ad, 'TargetAnnexName'), 'a');
    // The job-side binding alone refuses the wrong annex and the wrong owner (no START on those slots).
    assert.deepEqual(cycle(groups, [annexSlot('b', 'b', 'alice', false), annexSlot('bob', 'a', 'bob', false), slot('plain')]), []);
    assert.deepEqual(cycle(groups, [annexSlot('b', 'b', 'alice', false), annexSlot('right', 'a', 'alice'), slot('plain')]).map((m) => m.slotId), ['right']);
  });
  it('keeps a job without an annex target off annex slots, even ones that would start it', () => {
    const groups = groupsOf({ owner: 'alice', count: 1, prefix: 'j' });
    assert.deepEqual(cycle(groups, [slot('annex', { attrs: 'IsAnnex = true; AnnexName = "a"; AnnexOwner = "alice"; START = true' })]), []);
    assert.deepEqual(cycle(groups, [slot('annex', { attrs: 'IsAnnex = true; START = true' }), slot('plain')]).map((m) => m.slotId), ['plain']);
  });
  it("lets an annex slot's START refuse another owner's job that names the annex", () => {
    // bob's job targets annex "a" but its own binding says AnnexOwner must be bob; alice's slot START says Owner must be alice.
    const groups = groupsOf({ owner: 'bob', attrs: 'TargetAnnexName = "a"', count: 1, prefix: 'b' });
    assert.deepEqual(cycle(groups, [annexSlot('s', 'a', 'alice')]), []);
  });
});

describe('runtime against the end of the slot', () => {
  it('does not start a job that would outlive the slot', () => {
    const groups = groupsOf({ attrs: 'AllowedJobDuration = 3600', count: 1, prefix: 'j' });
    assert.deepEqual(cycle(groups, [slot('short', { endTime: NOW + 1800 })]), []);
    assert.deepEqual(cycle(groups, [slot('short', { endTime: NOW + 1800 }), slot('long', { endTime: NOW + 7200 })]).map((m) => m.slotId), ['long']);
    assert.deepEqual(cycle(groups, [slot('unknown', { endTime: null })]).map((m) => m.slotId), ['unknown']);
    assert.equal(cycle(groups, [slot('exact', { endTime: NOW + 3600 })]).length, 1);
  });
  it('starts a job without a duration on a slot that ends soon', () => {
    assert.equal(cycle(groupsOf({ count: 1, prefix: 'j' }), [slot('short', { endTime: NOW + 60 })]).length, 1);
  });
});

describe('fair share', () => {
  const twoOwners = (count = 10): Autocluster[] => groupsOf({ owner: 'alice', count, prefix: 'a' }, { owner: 'bob', count, prefix: 'b' });
  const ownerOf = (m: Match): string => (m.jobKey.startsWith('a') ? 'alice' : 'bob');

  it('serves the light user first: with 4 cpus, the heavy user gets no more than the light one', () => {
    const fairShare = new FairShare();
    fairShare.charge('alice', 1_000_000, NOW - 86_400); // still 500,000 cpu-seconds now
    const matches = cycle(twoOwners(), [slot('p1', { total: { cpus: 4 } })], { fairShare });
    const counts = { alice: matches.filter((m) => ownerOf(m) === 'alice').length, bob: matches.filter((m) => ownerOf(m) === 'bob').length };
    assert.equal(matches.length, 4);
    assert.ok(counts.bob >= counts.alice, JSON.stringify(counts));
    assert.deepEqual(counts, { alice: 0, bob: 4 });
  });
  it('alternates between owners of equal usage', () => {
    const matches = cycle(twoOwners(), [slot('p1', { total: { cpus: 4 } })]);
    assert.deepEqual(keys(matches), ['a0', 'b0', 'a1', 'b1']);
  });
  it('does not starve a heavier user within a cycle once the light one has caught up', () => {
    const fairShare = new FairShare();
    fairShare.charge('alice', 7200, NOW); // two cpus' worth of the in-cycle charge
    const matches = cycle(twoOwners(), [slot('p1', { total: { cpus: 4 } })], { fairShare });
    assert.deepEqual(matches.map(ownerOf), ['bob', 'bob', 'alice', 'bob']);
  });
  it('lets the other owners have everything when one owner matches nothing', () => {
    const groups = groupsOf({ owner: 'alice', attrs: 'RequestCpus = 8', count: 3, prefix: 'a' }, { owner: 'bob', count: 10, prefix: 'b' });
    assert.deepEqual(keys(cycle(groups, [slot('p1', { total: { cpus: 4 } })])), ['b0', 'b1', 'b2', 'b3']);
  });
  it("serves an owner's groups oldest job first", () => {
    const groups = groupsOf({ attrs: 'RequestCpus = 2', count: 1, prefix: 'big' }, { count: 3, prefix: 'small' });
    assert.deepEqual(keys(cycle(groups, [slot('p1', { total: { cpus: 3 } })])), ['big0', 'small0']);
  });
});

describe('which slot', () => {
  it('fills a partly used slot before an idle one (depth first)', () => {
    const idle = slot('a-idle', { total: { cpus: 4 } });
    const busy = slot('b-busy', { total: { cpus: 4 }, free: { cpus: 2 } });
    assert.deepEqual(cycle(groupsOf({ count: 1, prefix: 'j' }), [idle, busy]).map((m) => m.slotId), ['b-busy']);
    // Three jobs on two idle slots all go to one of them.
    const matches = cycle(groupsOf({ count: 3, prefix: 'j' }), [slot('x', { total: { cpus: 4 } }), slot('y', { total: { cpus: 4 } })]);
    assert.equal(new Set(matches.map((m) => m.slotId)).size, 1);
    assert.equal(matches.length, 3);
  });
  it("prefers the job's Rank over filling", () => {
    const groups = groupsOf({ attrs: 'Rank = TARGET.KFlops', count: 1, prefix: 'j' });
    const busySlow = slot('busy', { total: { cpus: 4 }, free: { cpus: 1 }, attrs: 'KFlops = 10' });
    const idleFast = slot('idle', { total: { cpus: 4 }, attrs: 'KFlops = 1000' });
    assert.deepEqual(cycle(groups, [busySlow, idleFast]).map((m) => m.slotId), ['idle']);
  });
  it('stops at maxMatches, taking the oldest jobs', () => {
    const matches = cycle(groupsOf({ count: 10, prefix: 'j' }), [slot('p1', { total: { cpus: 16 } })], { maxMatches: 3 });
    assert.deepEqual(keys(matches), ['j0', 'j1', 'j2']);
    assert.deepEqual(cycle(groupsOf({ count: 10, prefix: 'j' }), [slot('p1', { total: { cpus: 16 } })], { maxMatches: 0 }), []);
  });
});

describe('scale', () => {
  it('matches 10,000 jobs in 3 groups to 100 four-cpu slots: 400 matches, no cpu booked twice', () => {
    const index = new IdleIndex();
    const owners = ['alice', 'bob', 'carol'];
    for (let i = 0; i < 10_000; i++) {
      const owner = owners[i % 3]!;
      index.add({ key: `${owner}.${i}`, owner, ad: jobAd(owner, `Args = "${i}"; RequestMemory = 1024`), order: i });
    }
    const groups = index.groups();
    assert.equal(groups.length, 3);
    const slots = Array.from({ length: 100 }, (_, n) => slot(`s${String(n).padStart(3, '0')}`, { total: { cpus: 4 } }));
    const matches = cycle(groups, slots);
    assert.equal(matches.length, 400);
    assert.equal(new Set(keys(matches)).size, 400);
    const cpus: Record<string, number> = {};
    const memory: Record<string, number> = {};
    for (const m of matches) {
      cpus[m.slotId] = (cpus[m.slotId] ?? 0) + m.request.cpus;
      memory[m.slotId] = (memory[m.slotId] ?? 0) + m.request.memoryMb;
    }
    assert.equal(Object.keys(cpus).length, 100);
    for (const s of slots) {
      assert.equal(cpus[s.slotId], 4, s.slotId);
      assert.ok(memory[s.slotId]! <= s.free.memoryMb);
    }
    // Equal usage: the three owners share the 400 cpus evenly (within one).
    const byOwner = owners.map((o) => matches.filter((m) => m.jobKey.startsWith(`${o}.`)).length);
    assert.ok(Math.max(...byOwner) - Math.min(...byOwner) <= 1, JSON.stringify(byOwner));
    // Each group's matches are its oldest jobs.
    for (const g of groups) {
      const taken = matches.filter((m) => m.signature === g.signature).map((m) => m.jobKey);
      assert.deepEqual(taken, g.jobs.slice(0, taken.length));
    }
    // The AP's step after the cycle: take the matched jobs out of the index.
    for (const m of matches) index.delete(m.jobKey);
    assert.equal(index.size, 9600);
    assert.equal(perSlot(matches).s000, 4);
  });
});
