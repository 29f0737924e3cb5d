/**
 * Annex request validation against the shipped catalog (src/annex/systems.json,
 * read here as data: core may not import the annex module that loads it; the
 * catalog's own test checks the file against the format).
 *
 * Requests are written as command lines, e.g. `GPU@bridges2 --gpus v100-16:8`
 * (defaults: --nodes 1, --lifetime 3600, --idle-time 300), so each table
 * row reads like the command a user would type; a row expects either `ok`
 * or the exact message. The Bridges-2 and Anvil rows follow HTCondor's own
 * `htcondor annex create --test 1` cases where the data agree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import {
  gpuOptions, parseGpus, parseTarget, validateAnnexRequest,
  type AnnexRequestInput, type SystemEntry, type ValidatedRequest,
} from './annex-request.ts';

const SYSTEMS = JSON.parse(readFileSync(new URL('../annex/systems.json', import.meta.url), 'utf8')) as SystemEntry[];
const system = (name: string): SystemEntry => {
  const found = SYSTEMS.find((s) => s.name === name);
  assert.ok(found, `no system ${name} in systems.json`);
  return found;
};

/** `QUEUE@SYSTEM --flag value ...` → the validated request (throws as the command would). */
function request(line: string, systems: readonly SystemEntry[] = SYSTEMS): ValidatedRequest {
  const [target = '', ...rest] = line.split(/\s+/);
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) options.set(rest[i]!, rest[i + 1]!);
  const num = (flag: string, fallback: number | null): number | null => (options.has(flag) ? Number(options.get(flag)) : fallback);
  const { system: sys, queue } = parseTarget(target, systems);
  const gpus = gpuOptions(options.get('--gpus') ?? null, options.get('--gpu-type') ?? null);
  return validateAnnexRequest(sys, {
    queue: queue.name,
    nodes: num('--nodes', 1)!,
    cpus: num('--cpus', null),
    memoryMb: num('--mem_mb', null),
    gpus: gpus.gpus,
    gpuType: gpus.gpuType,
    lifetimeSeconds: num('--lifetime', 3600)!,
    idleSeconds: num('--idle-time', 300)!,
    project: options.get('--project') ?? null,
  });
}

/** The message of the USAGE error `fn` throws; fails if it does not throw one. */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HtcError, `not an HtcError: ${String(error)}`);
    assert.equal(error.code, 'USAGE');
    return error.message;
  }
  assert.fail('expected an error');
}

/** A request line and `ok` or the exact message it must fail with. */
type Row = readonly [line: string, expected: string];

function table(rows: readonly Row[]): void {
  for (const [line, expected] of rows) {
    it(`${line} → ${expected === 'ok' ? 'ok' : 'error'}`, () => {
      if (expected === 'ok') request(line);
      else assert.equal(usageMessage(() => request(line)), expected);
    });
  }
}

const input = (fields: Partial<AnnexRequestInput> & { queue: string }): AnnexRequestInput => ({
  nodes: 1, cpus: null, memoryMb: null, gpus: null, gpuType: null, lifetimeSeconds: 3600, idleSeconds: 300, project: null, ...fields,
});

describe('parseTarget', () => {
  it('finds the system case-insensitively and the queue exactly', () => {
    const { system: s, queue } = parseTarget('debug@Test-Cluster', SYSTEMS);
    assert.equal(s.name, 'test-cluster');
    assert.equal(queue.name, 'debug');
    assert.equal(parseTarget('RM@BRIDGES2', SYSTEMS).queue.name, 'RM');
    assert.equal(parseTarget('local@local', SYSTEMS).system.name, 'local');
  });
  it('names the queues and the default for an unknown queue (queue names are exact)', () => {
    assert.equal(usageMessage(() => parseTarget('Regular@perlmutter', SYSTEMS)), 'perlmutter has no queue "Regular"; its queues are regular, debug, shared (default regular)');
  });
  it('says the form and lists the systems without "@"; a bare system name gets its queues too', () => {
    const systems = 'local, test-cluster, perlmutter, delta, spark, expanse, anvil, bridges2 (not supported yet: path-facility, aws-ec2)';
    assert.equal(usageMessage(() => parseTarget('somewhere', SYSTEMS)), `"somewhere": the argument must have the form queue@system; the systems are ${systems}`);
    assert.equal(
      usageMessage(() => parseTarget('Perlmutter', SYSTEMS)),
      `"Perlmutter": the argument must have the form queue@system; the systems are ${systems}; perlmutter's queues are regular, debug, shared (default regular), e.g. regular@perlmutter`,
    );
    for (const text of ['@perlmutter', 'regular@', '']) assert.match(usageMessage(() => parseTarget(text, SYSTEMS)), /must have the form queue@system/);
  });
  it('lists the systems for an unknown one', () => {
    assert.equal(
      usageMessage(() => parseTarget('cpu@stampede2', SYSTEMS)),
      'unknown system "stampede2"; the systems are local, test-cluster, perlmutter, delta, spark, expanse, anvil, bridges2 (not supported yet: path-facility, aws-ec2) ("htc annex systems" lists their queues)',
    );
  });
});

describe('parseGpus and gpuOptions', () => {
  it('reads N and TYPE:N', () => {
    assert.deepEqual(parseGpus('4'), { count: 4, type: null });
    assert.deepEqual(parseGpus('v100-32:8'), { count: 8, type: 'v100-32' });
    assert.deepEqual(parseGpus(' 2 '), { count: 2, type: null });
    assert.deepEqual(parseGpus('0'), { count: 0, type: null });
  });
  it('refuses anything else, naming the forms', () => {
    for (const text of ['x', ':4', 'v100:', '-1', '1.5', '', 'v100-32:x']) {
      assert.equal(usageMessage(() => parseGpus(text)), `--gpus ${JSON.stringify(text)}: must be a whole number N or TYPE:N (e.g. 4 or v100-32:8)`);
    }
  });
  it('takes the type from either option, and refuses two different types', () => {
    assert.deepEqual(gpuOptions(null, 'v100-16'), { gpus: null, gpuType: 'v100-16' });
    assert.deepEqual(gpuOptions('v100-16:8', null), { gpus: 8, gpuType: 'v100-16' });
    assert.deepEqual(gpuOptions('8', 'v100-16'), { gpus: 8, gpuType: 'v100-16' });
    assert.deepEqual(gpuOptions('v100-16:8', 'v100-16'), { gpus: 8, gpuType: 'v100-16' });
    assert.equal(usageMessage(() => gpuOptions('v100-16:8', 'v100-32')), '--gpus v100-16:8 and --gpu-type v100-32 name different GPU types; give the type once');
  });
});

describe('before the rules: whole numbers, a supported system', () => {
  it('refuses numbers out of range, naming the option', () => {
    const anvil = system('anvil');
    const cases: [Partial<AnnexRequestInput>, string][] = [
      [{ nodes: 0 }, '--nodes 0: must be a whole number of at least 1'],
      [{ nodes: 1.5 }, '--nodes 1.5: must be a whole number of at least 1'],
      [{ cpus: 0 }, '--cpus 0: must be a whole number of at least 1'],
      [{ memoryMb: -5 }, '--mem_mb -5: must be a whole number of at least 1'],
      [{ gpus: -1 }, '--gpus -1: must be a whole number of at least 0'],
      [{ lifetimeSeconds: Number.NaN }, '--lifetime NaN: must be a whole number of at least 1'],
      [{ idleSeconds: 0 }, '--idle-time 0: must be a whole number of at least 1'],
    ];
    for (const [fields, message] of cases) assert.equal(usageMessage(() => validateAnnexRequest(anvil, input({ queue: 'wholenode', ...fields }))), message);
  });
  it('refuses a system listed as not supported, with its note', () => {
    assert.equal(
      usageMessage(() => validateAnnexRequest(system('aws-ec2'), input({ queue: '<instance-type>' }))),
      'aws-ec2 is not supported yet: EC2 instances are not a batch queue; htc cannot start pilots there yet (the queue is an instance type, default m4.large)',
    );
    assert.match(usageMessage(() => request('cpu@path-facility --cpus 1')), /^path-facility is not supported yet: /);
  });
});

describe('rule 1: the queue exists', () => {
  table([
    ['RM@bridges2', 'ok'],
    ['gpu@perlmutter --project p', 'perlmutter has no queue "gpu"; its queues are regular, debug, shared (default regular)'],
  ]);
  it('applies to a direct call too (no parseTarget before it)', () => {
    assert.equal(usageMessage(() => validateAnnexRequest(system('spark'), input({ queue: 'gpu', cpus: 1 }))), 'spark has no queue "gpu"; its queues are shared, int, pre (default shared)');
  });
});

describe('rule 2: a cores_or_ram queue needs --cpus or --mem_mb', () => {
  table([
    ['shared@expanse --project p', 'queue shared on expanse shares nodes: give --cpus N and/or --mem_mb MB (a node has 128 cores and 262144 MB)'],
    ['shared@expanse --project p --cpus 4', 'ok'],
    ['shared@expanse --project p --mem_mb 1024', 'ok'],
    ['shared@expanse --project p --cpus 4 --mem_mb 1024', 'ok'],
    ['cpu@delta --project p', 'queue cpu on delta shares nodes: give --cpus N and/or --mem_mb MB (a node has 128 cores and 262144 MB)'],
  ]);
});

describe('rule 3: a whole-node queue forbids --cpus/--mem_mb and limits nodes', () => {
  table([
    ['wholenode@anvil --nodes 2', 'ok'],
    ['wholenode@anvil --nodes 16', 'ok'],
    ['wholenode@anvil --nodes 24', '--nodes 24: queue wholenode on anvil allows at most 16 nodes per job'],
    ['wholenode@anvil --nodes 2 --cpus 4', '--cpus 4: queue wholenode on anvil gives whole nodes (128 cores and 256000 MB each); do not give --cpus or --mem_mb'],
    ['wholenode@anvil --nodes 2 --mem_mb 1024', '--mem_mb 1024: queue wholenode on anvil gives whole nodes (128 cores and 256000 MB each); do not give --cpus or --mem_mb'],
    ['wide@anvil --nodes 24', 'ok'],
    ['wide@anvil --nodes 96', '--nodes 96: queue wide on anvil allows at most 56 nodes per job'],
    ['debug@test-cluster --nodes 4 --lifetime 600', 'ok'],
    ['debug@test-cluster --nodes 5 --lifetime 600', '--nodes 5: queue debug on test-cluster allows at most 4 nodes per job'],
  ]);
});

describe('rule 4: a cores_or_ram queue limits memory, CPUs and nodes', () => {
  table([
    ['shared@expanse --project p --cpus 128 --mem_mb 262144', 'ok'],
    ['shared@expanse --project p --mem_mb 1048576', '--mem_mb 1048576: queue shared on expanse allows at most 262144 MB per node'],
    ['shared@expanse --project p --cpus 180', '--cpus 180: queue shared on expanse allows at most 128 cores per node'],
    ['shared@expanse --project p --cpus 4 --nodes 2', '--nodes 2: queue shared on expanse allows at most 1 node per job'],
    ['shared@spark --cpus 64 --nodes 2', 'ok'],
    ['int@spark --cpus 17', '--cpus 17: queue int on spark allows at most 16 cores per node'],
    ['long@test-cluster --cpus 4 --mem_mb 1000 --nodes 4', 'ok'],
    ['long@test-cluster --mem_mb 1001', '--mem_mb 1001: queue long on test-cluster allows at most 1000 MB per node'],
  ]);
});

describe('the flexible local queue: --cpus/--mem_mb optional, nodes limited', () => {
  table([
    ['local@local', 'ok'],
    ['local@local --cpus 2 --mem_mb 512', 'ok'],
    ['local@local --nodes 64 --lifetime 999999', 'ok'],
    ['local@local --nodes 65', '--nodes 65: queue local on local allows at most 64 nodes per job'],
    ['local@local --gpus 1', '--gpus 1: queue local on local has no GPUs'],
  ]);
});

describe('rule 5: a gpu-shared queue forbids --cpus/--mem_mb and limits nodes', () => {
  table([
    ['GPU-shared@bridges2 --gpus v100-32:3', 'ok'],
    ['GPU-shared@bridges2 --gpus v100-32:3 --cpus 4', '--cpus 4: queue GPU-shared on bridges2 assigns CPUs and memory in proportion to the GPUs; do not give --cpus or --mem_mb'],
    ['GPU-shared@bridges2 --gpu-type v100-32 --gpus 3 --mem_mb 4', '--mem_mb 4: queue GPU-shared on bridges2 assigns CPUs and memory in proportion to the GPUs; do not give --cpus or --mem_mb'],
    ['GPU-shared@bridges2 --gpus v100-16:1 --nodes 2', '--nodes 2: queue GPU-shared on bridges2 allows at most 1 node per job'],
  ]);
});

describe('rule 6: lifetime within the queue\'s maximum', () => {
  table([
    ['debug@perlmutter --project p --lifetime 1800', 'ok'],
    ['debug@perlmutter --project p --lifetime 1801', '--lifetime 1801: queue debug on perlmutter allows at most 1800 seconds'],
    ['EM@bridges2 --cpus 24 --lifetime 431999', 'ok'],
    ['EM@bridges2 --cpus 24 --lifetime 432001', '--lifetime 432001: queue EM on bridges2 allows at most 432000 seconds'],
    ['wide@anvil --nodes 2 --lifetime 43201', '--lifetime 43201: queue wide on anvil allows at most 43200 seconds'],
    ['debug@test-cluster', '--lifetime 3600: queue debug on test-cluster allows at most 600 seconds'],
  ]);
});

describe('rule 7: idle time within the lifetime', () => {
  table([
    ['RM@bridges2 --lifetime 600 --idle-time 600', 'ok'],
    ['RM@bridges2 --lifetime 600 --idle-time 601', '--idle-time 601 is longer than --lifetime 600'],
  ]);
});

describe('rule 8: a project where the system requires one', () => {
  table([
    ['compute@expanse', 'expanse requires a project: give --project NAME (even if you have only one)'],
    ['compute@expanse --project abc123', 'ok'],
    ['regular@perlmutter', 'perlmutter requires a project: give --project NAME (even if you have only one)'],
    ['cpu@delta --cpus 1', 'delta requires a project: give --project NAME (even if you have only one)'],
    ['RM@bridges2', 'ok'],
  ]);
  it('counts a blank project as none', () => {
    assert.equal(usageMessage(() => validateAnnexRequest(system('expanse'), input({ queue: 'compute', project: '  ' }))), 'expanse requires a project: give --project NAME (even if you have only one)');
    assert.equal(validateAnnexRequest(system('bridges2'), input({ queue: 'RM', project: '' })).project, null);
  });
});

describe('rule 9: a GPU queue gets a count it can give', () => {
  table([
    ['gpu@expanse --project p', 'ok'],
    ['gpu@expanse --project p --gpus 4', 'ok'],
    ['gpu@expanse --project p --gpus 2', '--gpus 2: queue gpu on expanse gives whole nodes with 4 GPUs each; give --gpus 4 or leave it out'],
    ['gpu@expanse --project p --gpus 5', '--gpus 5: queue gpu on expanse allows at most 4 GPUs per node'],
    ['gpu@expanse --project p --gpus 0', '--gpus 0: queue gpu on expanse is a GPU queue: give --gpus N (at most 4 per node)'],
    ['gpu@anvil --cpus 4 --gpus 4 --nodes 2', 'ok'],
    ['gpu@anvil --cpus 4 --gpus 1', 'ok'],
    ['gpu@anvil --cpus 4', 'queue gpu on anvil is a GPU queue: give --gpus N (at most 4 per node)'],
    ['gpu@anvil --cpus 4 --gpus 5', '--gpus 5: queue gpu on anvil allows at most 4 GPUs per node'],
    ['gpu-debug@anvil --cpus 4 --gpus 2 --lifetime 1800', 'ok'],
    ['gpu-debug@anvil --cpus 4 --gpus 3 --lifetime 1800', '--gpus 3: queue gpu-debug on anvil allows at most 2 GPUs per node'],
    ['gpu-shared@expanse --project p --cpus 4 --gpus 3', 'ok'],
    ['gpu-shared@expanse --project p --mem_mb 1024 --gpus 4', '--gpus 4: queue gpu-shared on expanse allows at most 3 GPUs per node'],
    ['gpuA100x8@delta --project p --cpus 8 --gpus 8', 'ok'],
  ]);
});

describe('rule 10: no GPUs from a queue without them', () => {
  table([
    ['RM@bridges2 --gpus 1', '--gpus 1: queue RM on bridges2 has no GPUs'],
    ['RM@bridges2 --gpus 0', 'ok'],
    ['cpu@delta --project p --cpus 1 --gpus 2', '--gpus 2: queue cpu on delta has no GPUs'],
  ]);
});

describe('rule 11: a GPU type only where there is a choice, and one of the choices', () => {
  table([
    ['gpu@anvil --cpus 4 --nodes 2 --gpus a_type:4', 'GPU type a_type: queue gpu on anvil has no choice of GPU type; leave the type out'],
    ['gpu@anvil --cpus 4 --nodes 2 --gpus 4 --gpu-type a_type', 'GPU type a_type: queue gpu on anvil has no choice of GPU type; leave the type out'],
    ['RM@bridges2 --gpu-type v100-16', 'GPU type v100-16: queue RM on bridges2 has no choice of GPU type; leave the type out'],
  ]);
  it('names the types of a queue that has several (one node kind for all)', () => {
    const site: SystemEntry = {
      name: 'site', supported: true, batchSystem: 'slurm', defaultQueue: 'gpu', requiresProject: false,
      queues: [{ name: 'gpu', allocation: 'cores_or_ram', maxDurationSeconds: null, coresPerNode: 32, gpusPerNode: 4, gpuTypes: ['a100', 'h100'] }],
    };
    assert.equal(usageMessage(() => request('gpu@site --cpus 2 --gpus v100:2', [site])), 'GPU type v100: queue gpu on site has GPUs of types a100, h100 only');
    assert.equal(request('gpu@site --cpus 2 --gpus h100:2', [site]).gpuType, 'h100');
    assert.equal(request('gpu@site --cpus 2 --gpus 2', [site]).gpuType, null, 'a type is optional where every type has the same node');
  });
});

describe('Bridges-2: GPU types and sizes, GPU-shared, RM-shared, EM', () => {
  const types = 'queue GPU on bridges2 has GPUs of types v100-32, v100-16';
  table([
    // Without a type the node is unknown: refused, naming the types.
    ['GPU@bridges2', `${types}: choose one with --gpu-type TYPE or --gpus TYPE:N`],
    ['GPU@bridges2 --gpus 8', `${types}: choose one with --gpu-type TYPE or --gpus TYPE:N`],
    ['GPU@bridges2 --gpus not-a-type:8', `GPU type not-a-type: ${types} only`],
    ['GPU@bridges2 --gpus 8 --gpu-type not-a-type', `GPU type not-a-type: ${types} only`],
    ['GPU-shared@bridges2 --gpus 2', 'queue GPU-shared on bridges2 has GPUs of types v100-32, v100-16: choose one with --gpu-type TYPE or --gpus TYPE:N'],
    // Whole nodes: 8 GPUs each, or the one 16-GPU v100-32 node.
    ['GPU@bridges2 --gpus v100-16:7', '--gpus 7: queue GPU on bridges2 gives whole nodes with 8 GPUs each; give --gpus 8 or leave it out'],
    ['GPU@bridges2 --gpus v100-16:8', 'ok'],
    ['GPU@bridges2 --gpus v100-16:9', '--gpus 9: queue GPU on bridges2 allows at most 8 GPUs per node'],
    ['GPU@bridges2 --gpus v100-32:7', '--gpus 7: queue GPU on bridges2 gives whole nodes with 8 GPUs each; give --gpus 8 or leave it out'],
    ['GPU@bridges2 --gpus v100-32:8', 'ok'],
    ['GPU@bridges2 --gpus v100-32:9', '--gpus 9: queue GPU on bridges2 allows at most 8 GPUs per node'],
    ['GPU@bridges2 --gpus v100-32:15', '--gpus 15: queue GPU on bridges2 allows at most 8 GPUs per node'],
    ['GPU@bridges2 --gpus v100-32:16', 'ok'],
    ['GPU@bridges2 --gpus v100-32:17', '--gpus 17: queue GPU on bridges2 allows at most 8 GPUs per node'],
    ['GPU@bridges2 --gpu-type v100-16 --gpus 8', 'ok'],
    ['GPU@bridges2 --gpu-type v100-32 --gpus 16', 'ok'],
    ['GPU@bridges2 --gpu-type v100-16', 'ok'],
    ['GPU@bridges2 --gpu-type v100-32', 'ok'],
    ['GPU@bridges2 --gpus v100-32:16 --nodes 2', '--nodes 2: queue GPU on bridges2 allows at most 1 node per job'],
    ['GPU@bridges2 --gpus v100-32:8 --nodes 4', 'ok'],
    ['GPU@bridges2 --gpus v100-16:8 --nodes 5', '--nodes 5: queue GPU on bridges2 allows at most 4 nodes per job'],
    ['GPU@bridges2 --gpus v100-32:8 --cpus 4', '--cpus 4: queue GPU on bridges2 gives whole nodes (40 cores and 524288 MB each); do not give --cpus or --mem_mb'],
    ['GPU@bridges2 --gpus v100-32:16 --mem_mb 4', '--mem_mb 4: queue GPU on bridges2 gives whole nodes (48 cores and 1572864 MB each); do not give --cpus or --mem_mb'],
    ['GPU@bridges2 --gpus v100-16:8 --cpus 4', '--cpus 4: queue GPU on bridges2 gives whole nodes (40 cores and 196608 MB each); do not give --cpus or --mem_mb'],
    // GPU-shared: at most 4 GPUs per node.
    ['GPU-shared@bridges2 --gpus v100-16:1', 'ok'],
    ['GPU-shared@bridges2 --gpus v100-16:4', 'ok'],
    ['GPU-shared@bridges2 --gpus v100-16:5', '--gpus 5: queue GPU-shared on bridges2 allows at most 4 GPUs per node'],
    ['GPU-shared@bridges2 --gpu-type v100-32 --gpus 4', 'ok'],
    ['GPU-shared@bridges2 --gpu-type v100-32 --gpus 5', '--gpus 5: queue GPU-shared on bridges2 allows at most 4 GPUs per node'],
    ['GPU-shared@bridges2 --gpus v100-32:16', '--gpus 16: queue GPU-shared on bridges2 allows at most 4 GPUs per node'],
    ['GPU-shared@bridges2 --gpu-type v100-32', 'queue GPU-shared on bridges2 is a GPU queue: give --gpus N (at most 4 per node)'],
    // RM-shared: memory follows the CPUs.
    ['RM-shared@bridges2 --cpus 4', 'ok'],
    ['RM-shared@bridges2 --mem_mb 1024', '--mem_mb 1024: queue RM-shared on bridges2 assigns memory in proportion to the CPUs; give --cpus only'],
    ['RM-shared@bridges2 --cpus 4 --mem_mb 1024', '--mem_mb 1024: queue RM-shared on bridges2 assigns memory in proportion to the CPUs; give --cpus only'],
    // EM: CPUs in multiples of 24, memory follows them.
    ['EM@bridges2 --cpus 24', 'ok'],
    ['EM@bridges2 --cpus 48', 'ok'],
    ['EM@bridges2 --cpus 96', 'ok'],
    ['EM@bridges2 --cpus 30', '--cpus 30: queue EM on bridges2 takes CPUs in multiples of 24 (24, 48, 72, 96)'],
    ['EM@bridges2 --mem_mb 1024', 'queue EM on bridges2 needs --cpus, a multiple of 24 (24, 48, 72, 96)'],
    ['EM@bridges2 --cpus 24 --mem_mb 1024', '--mem_mb 1024: queue EM on bridges2 assigns memory in proportion to the CPUs; give --cpus only'],
  ]);
  it('sizes each GPU node kind as hpc-systems.md says', () => {
    const limits = (line: string): unknown => {
      const { maxNodes, coresPerNode, ramPerNodeMb, gpusPerNode } = request(line).limits;
      return { maxNodes, coresPerNode, ramPerNodeMb, gpusPerNode };
    };
    assert.deepEqual(limits('GPU@bridges2 --gpus v100-32:16'), { maxNodes: 1, coresPerNode: 48, ramPerNodeMb: 1536 * 1024, gpusPerNode: 16 });
    assert.deepEqual(limits('GPU@bridges2 --gpus v100-32:8'), { maxNodes: 4, coresPerNode: 40, ramPerNodeMb: 512 * 1024, gpusPerNode: 8 });
    assert.deepEqual(limits('GPU@bridges2 --gpus v100-16:8'), { maxNodes: 4, coresPerNode: 40, ramPerNodeMb: 192 * 1024, gpusPerNode: 8 });
    assert.deepEqual(limits('GPU-shared@bridges2 --gpus v100-16:2'), { maxNodes: 1, coresPerNode: 40, ramPerNodeMb: 192 * 1024, gpusPerNode: 4 });
  });
});

describe('Perlmutter: QOS, -C gpu/cpu, sizes with and without GPUs', () => {
  table([
    ['regular@perlmutter --project p --nodes 3072', 'ok'],
    ['regular@perlmutter --project p --nodes 3073', '--nodes 3073: queue regular on perlmutter allows at most 3072 nodes per job'],
    ['regular@perlmutter --project p --gpus 4 --nodes 1536', 'ok'],
    ['regular@perlmutter --project p --gpus 4 --nodes 1537', '--nodes 1537: queue regular on perlmutter allows at most 1536 nodes per job'],
    ['regular@perlmutter --project p --gpus 2', '--gpus 2: queue regular on perlmutter gives whole nodes with 4 GPUs each; give --gpus 4 or leave it out'],
    ['regular@perlmutter --project p --cpus 4', '--cpus 4: queue regular on perlmutter gives whole nodes (128 cores and 523776 MB each); do not give --cpus or --mem_mb'],
    ['regular@perlmutter --project p --gpus 4 --cpus 4', '--cpus 4: queue regular on perlmutter gives whole nodes (64 cores and 262144 MB each); do not give --cpus or --mem_mb'],
    ['debug@perlmutter --project p --lifetime 1800 --nodes 8', 'ok'],
    ['debug@perlmutter --project p --lifetime 1800 --nodes 9', '--nodes 9: queue debug on perlmutter allows at most 8 nodes per job'],
    ['debug@perlmutter --project p --lifetime 1800 --gpus 4', 'ok'],
    ['shared@perlmutter --project p --cpus 64', 'ok'],
    ['shared@perlmutter --project p --cpus 65', '--cpus 65: queue shared on perlmutter allows at most 64 cores per node'],
    ['shared@perlmutter --project p --cpus 4 --gpus 1', '--gpus 1: queue shared on perlmutter has no GPUs'],
  ]);
  it('asks by QOS, with the constraint of the node kind', () => {
    const cpu = request('regular@perlmutter --project p');
    assert.equal(cpu.queueOption, 'qos');
    assert.equal(cpu.constraint, 'cpu');
    assert.deepEqual([cpu.limits.coresPerNode, cpu.limits.ramPerNodeMb, cpu.gpus], [128, 512 * 1023, null]);
    const gpu = request('regular@perlmutter --project p --gpus 4 --nodes 2');
    assert.equal(gpu.constraint, 'gpu');
    assert.deepEqual([gpu.limits.coresPerNode, gpu.limits.ramPerNodeMb, gpu.gpus], [64, 256 * 1024, 4], 'per node: Perlmutter counts GPUs per task');
    const debug = request('debug@perlmutter --project p --lifetime 600');
    assert.deepEqual([debug.limits.coresPerNode, debug.limits.ramPerNodeMb, debug.constraint], [128, 512 * 1024, 'cpu']);
    assert.equal(request('shared@perlmutter --project p --cpus 2').constraint, 'cpu');
  });
});

describe('the order of the rules: with two faults, the earlier rule speaks', () => {
  table([
    ['GPU@bridges2 --cpus 4', 'queue GPU on bridges2 has GPUs of types v100-32, v100-16: choose one with --gpu-type TYPE or --gpus TYPE:N'], // 1 before 3
    ['shared@expanse --lifetime 999999', 'queue shared on expanse shares nodes: give --cpus N and/or --mem_mb MB (a node has 128 cores and 262144 MB)'], // 2 before 6, 8
    ['EM@bridges2', 'queue EM on bridges2 shares nodes: give --cpus N and/or --mem_mb MB (a node has 96 cores and 4123680 MB)'], // 2 before 12
    ['compute@expanse --cpus 4 --lifetime 999999', '--cpus 4: queue compute on expanse gives whole nodes (128 cores and 262144 MB each); do not give --cpus or --mem_mb'], // 3 before 6, 8
    ['wholenode@anvil --cpus 4 --nodes 99', '--cpus 4: queue wholenode on anvil gives whole nodes (128 cores and 256000 MB each); do not give --cpus or --mem_mb'], // within 3
    ['shared@expanse --project p --cpus 999 --mem_mb 9999999 --nodes 5', '--mem_mb 9999999: queue shared on expanse allows at most 262144 MB per node'], // within 4: memory first
    ['shared@expanse --project p --cpus 999 --nodes 5', '--cpus 999: queue shared on expanse allows at most 128 cores per node'], // within 4: CPUs before nodes
    ['EM@bridges2 --cpus 100', '--cpus 100: queue EM on bridges2 allows at most 96 cores per node'], // 4 before 12
    ['GPU-shared@bridges2 --gpus v100-32:9 --cpus 4 --nodes 3', '--cpus 4: queue GPU-shared on bridges2 assigns CPUs and memory in proportion to the GPUs; do not give --cpus or --mem_mb'], // 5 before 9
    ['debug@perlmutter --lifetime 2000 --idle-time 3000', '--lifetime 2000: queue debug on perlmutter allows at most 1800 seconds'], // 6 before 7, 8
    ['compute@expanse --lifetime 100 --idle-time 200', '--idle-time 200 is longer than --lifetime 100'], // 7 before 8
    ['gpu@expanse --gpus 9', 'expanse requires a project: give --project NAME (even if you have only one)'], // 8 before 9
    ['gpu@anvil --cpus 4 --gpus 9 --gpu-type x', '--gpus 9: queue gpu on anvil allows at most 4 GPUs per node'], // 9 before 11
    ['RM@bridges2 --gpus x:1', '--gpus 1: queue RM on bridges2 has no GPUs'], // 10 before 11
    ['RM-shared@bridges2 --mem_mb 999999', '--mem_mb 999999: queue RM-shared on bridges2 allows at most 126500 MB per node'], // 4 before 12
  ]);
  it('checks the numbers before the queue, and support before the queue', () => {
    assert.equal(usageMessage(() => validateAnnexRequest(system('anvil'), input({ queue: 'nope', nodes: 0 }))), '--nodes 0: must be a whole number of at least 1');
    assert.match(usageMessage(() => validateAnnexRequest(system('path-facility'), input({ queue: 'nope' }))), /^path-facility is not supported yet/);
  });
});

describe('after validation: the counts the batch script takes', () => {
  it('multiplies GPUs by nodes where the site counts per job (Expanse, Bridges-2)', () => {
    const expanse = request('gpu@expanse --project p --nodes 3');
    assert.deepEqual([expanse.gpusPerNode, expanse.gpus], [4, 12], 'whole-node default: all 4 GPUs of each node');
    const shared = request('gpu-shared@expanse --project p --cpus 4 --gpus 2');
    assert.deepEqual([shared.gpusPerNode, shared.gpus], [2, 2]);
    const bridges = request('GPU@bridges2 --gpu-type v100-16 --nodes 3');
    assert.deepEqual([bridges.gpusPerNode, bridges.gpus, bridges.gpuType], [8, 24, 'v100-16']);
  });
  it('keeps the per-node count elsewhere (Anvil, Delta, Perlmutter)', () => {
    assert.deepEqual([request('gpu@anvil --cpus 4 --gpus 2 --nodes 3').gpus, request('gpuA40x4@delta --project p --cpus 4 --gpus 3 --nodes 2').gpus], [2, 3]);
  });
  it('defaults memory to the node\'s where the queue requires it, and only there', () => {
    assert.equal(request('gpu@expanse --project p').memoryMb, 375808);
    assert.equal(request('compute@expanse --project p').memoryMb, null);
    assert.equal(request('shared@expanse --project p --cpus 4').memoryMb, null);
    assert.equal(request('shared@expanse --project p --mem_mb 2048').memoryMb, 2048);
  });
  it('gives no GPU count for a queue without GPUs, even after --gpus 0', () => {
    const r = request('RM@bridges2 --gpus 0');
    assert.deepEqual([r.gpus, r.gpusPerNode], [null, null]);
  });
  it('joins the node kind\'s constraint with the site\'s', () => {
    assert.equal(request('cpu@delta --project p --cpus 2').constraint, 'scratch');
    const site: SystemEntry = { ...system('perlmutter'), name: 'pm2', slurm: { queueOption: 'qos', constraint: 'scratch' } };
    assert.equal(request('regular@pm2 --project p', [site]).constraint, 'cpu&scratch');
    assert.equal(request('RM@bridges2').constraint, null);
  });
  it('returns the request as given otherwise', () => {
    assert.deepEqual(request('shared@expanse --project abc --cpus 4 --mem_mb 2048 --lifetime 7200 --idle-time 600'), {
      system: 'expanse', queue: 'shared', queueOption: 'partition', allocation: 'cores_or_ram', nodes: 1, cpus: 4, memoryMb: 2048,
      gpusPerNode: null, gpus: null, gpuType: null, lifetimeSeconds: 7200, idleSeconds: 600, project: 'abc', constraint: null,
      limits: { maxNodes: 1, coresPerNode: 128, ramPerNodeMb: 262144, gpusPerNode: null, maxDurationSeconds: 172800, constraint: null },
    });
  });
});

describe('every shipped queue and node kind takes a request shaped to it', () => {
  for (const s of SYSTEMS.filter((x) => x.supported)) {
    for (const q of s.queues) {
      for (const variant of q.variants ?? [null]) {
        it(`${q.name}@${s.name}${variant === null ? '' : ` (${JSON.stringify(variant.when)})`}`, () => {
          const gpusPerNode = variant?.gpusPerNode ?? q.gpusPerNode ?? null;
          const gpus = variant?.when.gpus ?? (variant?.when.withGpus === false ? null : gpusPerNode);
          const lifetime = Math.min(3600, q.maxDurationSeconds ?? 3600);
          const shared = q.allocation === 'cores_or_ram';
          const r = validateAnnexRequest(s, {
            queue: q.name, nodes: 1, cpus: shared ? (q.cpusMultipleOf ?? 1) : null, memoryMb: null, gpus, gpuType: variant?.when.gpuType ?? null,
            lifetimeSeconds: lifetime, idleSeconds: Math.min(300, lifetime), project: s.requiresProject ? 'p' : null,
          });
          assert.equal(r.queue, q.name);
        });
      }
    }
  }
});
