/** Autoclusters: which jobs share a group, what a group asks for, and the idle index's FIFO bookkeeping. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClassAd, type ClassAd } from '../classad/index.ts';
import { HtcError } from '../errors.ts';
import {
  autoclusterSignature, DEFAULT_REQUEST, IdleIndex, jobAttributesReferencedBySlot, maxRuntimeOf, requestOf, significantAttributes,
} from './autocluster.ts';
import { withAnnexRequirements } from './transforms.ts';

const job = (attrs: string, owner = 'alice'): ClassAd => withAnnexRequirements(parseClassAd(`[ Owner = "${owner}"; ${attrs} ]`), owner);
const signature = (ad: ClassAd): string => autoclusterSignature(ad, significantAttributes(ad));

describe('signature', () => {
  it('puts jobs that differ only in attributes nobody matches on in one group', () => {
    const a = job('Cmd = "/bin/sleep"; Args = "1"; RequestCpus = 1; Requirements = TARGET.Memory > 100');
    const b = job('Cmd = "/bin/sleep"; Args = "2"; RequestCpus = 1; Requirements = TARGET.Memory > 100');
    assert.equal(signature(a), signature(b));
  });
  it('splits jobs that ask for different resources', () => {
    assert.notEqual(signature(job('RequestCpus = 1')), signature(job('RequestCpus = 2')));
    assert.notEqual(signature(job('RequestMemory = 100')), signature(job('RequestMemory = 200')));
    assert.notEqual(signature(job('')), signature(job('RequestGPUs = 1')));
  });
  it('splits jobs by an attribute their Requirements reads, scoped or not, directly or through another attribute', () => {
    assert.notEqual(signature(job('MinMem = 1; Requirements = TARGET.Memory > MY.MinMem')), signature(job('MinMem = 2; Requirements = TARGET.Memory > MY.MinMem')));
    // Unscoped and defined by the job: the job's value decides.
    assert.notEqual(signature(job('MinMem = 1; Requirements = Memory > MinMem')), signature(job('MinMem = 2; Requirements = Memory > MinMem')));
    // Transitively: Requirements -> Need -> Base.
    assert.notEqual(
      signature(job('Base = 1; Need = Base * 2; Requirements = TARGET.Memory > Need')),
      signature(job('Base = 5; Need = Base * 2; Requirements = TARGET.Memory > Need')),
    );
    assert.deepEqual(significantAttributes(job('Base = 1; Need = Base * 2; Requirements = TARGET.Memory > Need; Args = "x"')).filter((n) => ['base', 'need', 'args', 'memory'].includes(n)), ['base', 'need']);
  });
  it('splits by owner and by annex target', () => {
    assert.notEqual(signature(job('', 'alice')), signature(job('', 'bob')));
    assert.notEqual(signature(job('TargetAnnexName = "a"')), signature(job('TargetAnnexName = "b"')));
    assert.notEqual(signature(job('')), signature(job('TargetAnnexName = "a"')));
  });
  it('does not depend on the order or case of the significant names', () => {
    const ad = job('RequestCpus = 2');
    assert.equal(autoclusterSignature(ad, ['Owner', 'RequestCpus']), autoclusterSignature(ad, ['requestcpus', 'OWNER', 'owner']));
  });
});

describe('requests', () => {
  it('evaluates with the job as MY, rounding up to whole units', () => {
    assert.deepEqual(requestOf(job('RequestCpus = 2; RequestMemory = ImageSize / 1024; ImageSize = 2049 * 1024; RequestDisk = 10.5; RequestGPUs = 1')), { cpus: 2, memoryMb: 2049, diskKb: 11, gpus: 1 });
  });
  it('uses the defaults for absent or non-numeric requests, never a negative amount, at least one cpu', () => {
    assert.deepEqual(requestOf(job('')), DEFAULT_REQUEST);
    assert.deepEqual(requestOf(job('RequestCpus = "four"; RequestMemory = undefined; RequestDisk = TARGET.Disk')), DEFAULT_REQUEST);
    assert.deepEqual(requestOf(job('RequestCpus = 0; RequestMemory = -5; RequestDisk = -1; RequestGPUs = -2')), { cpus: 1, memoryMb: 0, diskKb: 0, gpus: 0 });
  });
  it('reads AllowedJobDuration only when it is a positive number', () => {
    assert.equal(maxRuntimeOf(job('AllowedJobDuration = 3600')), 3600);
    assert.equal(maxRuntimeOf(job('AllowedJobDuration = 0')), null);
    assert.equal(maxRuntimeOf(job('AllowedJobDuration = "1h"')), null);
    assert.equal(maxRuntimeOf(job('')), null);
  });
});

describe('IdleIndex', () => {
  it('groups jobs, keeps each group FIFO by order (not insertion), and computes the group request', () => {
    const index = new IdleIndex();
    index.add({ key: '1.2', owner: 'alice', ad: job('Args = "b"'), order: 2 });
    index.add({ key: '1.0', owner: 'alice', ad: job('Args = "a"'), order: 0 });
    index.add({ key: '2.0', owner: 'alice', ad: job('RequestCpus = 4; AllowedJobDuration = 60'), order: 5 });
    index.add({ key: '1.1', owner: 'alice', ad: job('Args = "c"'), order: 1 });
    assert.equal(index.size, 4);
    const groups = index.groups();
    assert.equal(groups.length, 2);
    assert.deepEqual(groups[0]!.jobs, ['1.0', '1.1', '1.2']);
    assert.equal(groups[0]!.oldest, 0);
    assert.deepEqual(groups[0]!.request, DEFAULT_REQUEST);
    assert.equal(groups[0]!.maxRuntime, null);
    assert.deepEqual(groups[1]!.jobs, ['2.0']);
    assert.equal(groups[1]!.request.cpus, 4);
    assert.equal(groups[1]!.maxRuntime, 60);
    assert.equal(groups[1]!.owner, 'alice');
  });
  it('deletes, takes from the front, and drops empty groups', () => {
    const index = new IdleIndex();
    for (let i = 0; i < 5; i++) index.add({ key: `k${i}`, owner: 'alice', ad: job(`Args = "${i}"`), order: i });
    const before = index.groups()[0]!;
    assert.equal(index.delete('k1'), true);
    assert.equal(index.delete('k1'), false);
    assert.equal(index.has('k1'), false);
    assert.deepEqual(index.take(before.signature, 2), ['k0', 'k2']);
    // A snapshot taken earlier does not change.
    assert.deepEqual(before.jobs, ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.deepEqual(index.groups()[0]!.jobs, ['k3', 'k4']);
    assert.deepEqual(index.take(before.signature, 10), ['k3', 'k4']);
    assert.equal(index.size, 0);
    assert.deepEqual(index.groups(), []);
    assert.deepEqual(index.take(before.signature, 1), []);
  });
  it('replaces a job added again under the same key (an edit may move it to another group)', () => {
    const index = new IdleIndex();
    index.add({ key: 'k', owner: 'alice', ad: job('RequestCpus = 1'), order: 0 });
    index.add({ key: 'k', owner: 'alice', ad: job('RequestCpus = 2'), order: 0 });
    assert.equal(index.size, 1);
    assert.deepEqual(index.groups().map((g) => [g.request.cpus, g.jobs]), [[2, ['k']]]);
  });
  it('stays correct through thousands of single deletions and re-additions', () => {
    const index = new IdleIndex();
    const ads = [job('RequestCpus = 1'), job('RequestCpus = 2')];
    for (let i = 0; i < 10_000; i++) index.add({ key: `j${i}`, owner: 'alice', ad: ads[i % 2]!, order: i });
    for (let i = 0; i < 10_000; i += 3) index.delete(`j${i}`);
    // Jobs coming back (e.g. released) with their old order go back in place.
    for (let i = 0; i < 300; i += 3) index.add({ key: `j${i}`, owner: 'alice', ad: ads[i % 2]!, order: i });
    const expected = (parity: number): string[] => {
      const keys: string[] = [];
      for (let i = parity; i < 10_000; i += 2) if (i % 3 !== 0 || i < 300) keys.push(`j${i}`);
      return keys;
    };
    const groups = index.groups();
    assert.deepEqual(groups.map((g) => g.jobs), [expected(0), expected(1)]);
    assert.equal(index.size, expected(0).length + expected(1).length);
    const taken = index.take(groups[1]!.signature, 1000);
    assert.deepEqual(taken, expected(1).slice(0, 1000));
    assert.deepEqual(index.groups()[1]!.jobs, expected(1).slice(1000));
  });
  it('refuses a job whose Owner is not the owner it is filed under', () => {
    assert.throws(() => new IdleIndex().add({ key: 'k', owner: 'mallory', ad: job(''), order: 0 }), (e: unknown) => e instanceof HtcError && e.code === 'INTERNAL');
  });
  it('splits groups by job attributes slots read, once told about them', () => {
    const slot = parseClassAd('[ Cpus = 4; Fast = true; START = TARGET.Project == "physics" && Fast && Speed > 1; Rank = TARGET.Priority ]');
    assert.deepEqual(jobAttributesReferencedBySlot(slot), ['priority', 'project', 'speed']);
    const index = new IdleIndex();
    index.add({ key: 'p', owner: 'alice', ad: job('Project = "physics"'), order: 0 });
    index.add({ key: 'c', owner: 'alice', ad: job('Project = "chemistry"'), order: 1 });
    assert.equal(index.groups().length, 1);
    assert.equal(index.noteSlotReferences(jobAttributesReferencedBySlot(slot)), true);
    assert.deepEqual(index.groups().map((g) => g.jobs), [['p'], ['c']]);
    assert.equal(index.noteSlotReferences(['Project']), false);
    // Jobs added later are grouped with the new names too.
    index.add({ key: 'p2', owner: 'alice', ad: job('Project = "physics"'), order: 2 });
    assert.deepEqual(index.groups().map((g) => g.jobs), [['p', 'p2'], ['c']]);
  });
});
