/**
 * The catalog: the shipped systems (every system and queue of
 * reference/hpc-systems.json, the facts of hpc-systems.md, `local` and the
 * test cluster), user files that add and replace systems, errors that name
 * the file and the field, and the rows of `htc annex systems`. User files
 * live in temporary config directories; nothing outside them is read but
 * the shipped file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseTarget, validateAnnexRequest, type SystemEntry } from '../core/annex-request.ts';
import { HtcError } from '../errors.ts';
import { BUILT_IN, catalogRows, configDirectory, findSystem, loadCatalog, parseSystems, SHIPPED_SYSTEMS_FILE } from './catalog.ts';

const root = mkdtempSync(join(tmpdir(), 'htc-catalog-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/** A fresh config dir whose systems/ holds `files` (name → JSON value, or raw text). */
function configWith(files: Record<string, unknown>): { dir: string; file: (name: string) => string } {
  const dir = join(root, `config-${++dirs}`);
  mkdirSync(join(dir, 'systems'), { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'systems', name), typeof content === 'string' ? content : JSON.stringify(content));
  return { dir, file: (name) => join(dir, 'systems', name) };
}

const shipped = loadCatalog({ configDir: join(root, 'none') });
const get = (name: string): SystemEntry => {
  const s = findSystem(shipped, name);
  assert.ok(s, `no system ${name}`);
  return s;
};

/** The message of the error `fn` throws, after checking its code. */
function errorOf(fn: () => unknown, code = 'USAGE'): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HtcError, `not an HtcError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error.message;
  }
  assert.fail('expected an error');
}

const site = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'mysite', loginHost: 'login.mysite.edu', defaultQueue: 'batch',
  queues: [{ name: 'batch', allocation: 'node', maxNodes: 10, coresPerNode: 32, ramPerNodeMb: 128000, maxDurationSeconds: 86400 }],
  ...fields,
});

describe('the shipped catalog', () => {
  it('has every system of hpc-systems.json with its queues, plus local and the test cluster', () => {
    // name → queues, from reference/hpc-systems.json (in its order).
    const expected: Record<string, string[]> = {
      local: ['local'],
      'test-cluster': ['debug', 'long'],
      perlmutter: ['regular', 'debug', 'shared'],
      delta: ['cpu', 'cpu-interactive', 'gpuA100x4', 'gpuA100x4-preempt', 'gpuA100x8', 'gpuA40x4', 'gpuA40x4-preempt', 'gpuMI100x8'],
      spark: ['shared', 'int', 'pre'],
      expanse: ['compute', 'gpu', 'shared', 'gpu-shared'],
      anvil: ['wholenode', 'wide', 'shared', 'gpu', 'gpu-debug'],
      bridges2: ['RM', 'RM-512', 'RM-shared', 'EM', 'GPU', 'GPU-shared'],
      'path-facility': ['cpu'],
      'aws-ec2': ['<instance-type>'],
    };
    assert.deepEqual(Object.fromEntries(shipped.systems.map((s) => [s.name, s.queues.map((q) => q.name)])), expected);
    for (const s of shipped.systems) assert.equal(shipped.sources.get(s.name), BUILT_IN);
  });
  it('keeps the system facts: login host, default queue, project, display name', () => {
    const facts = shipped.systems.map((s) => [s.name, s.displayName, s.loginHost ?? null, s.defaultQueue, s.requiresProject, s.supported, s.batchSystem]);
    assert.deepEqual(facts, [
      ['local', 'this machine', null, 'local', false, true, 'local'],
      ['test-cluster', "htc's test cluster (SLURM on 127.0.0.1)", '127.0.0.1', 'debug', false, true, 'slurm'],
      ['perlmutter', 'Perlmutter', 'perlmutter-p1.nersc.gov', 'regular', true, true, 'slurm'],
      ['delta', 'Delta', 'login.delta.ncsa.illinois.edu', 'cpu', true, true, 'slurm'],
      ['spark', 'Spark', 'spark-login.chtc.wisc.edu', 'shared', false, true, 'slurm'],
      ['expanse', 'Expanse', 'login.expanse.sdsc.edu', 'compute', true, true, 'slurm'],
      ['anvil', 'Anvil', 'anvil.rcac.purdue.edu', 'wholenode', false, true, 'slurm'],
      ['bridges2', 'Bridges-2', 'bridges2.psc.edu', 'RM', false, true, 'slurm'],
      ['path-facility', 'PATh Facility', 'ap1.facility.path-cc.io', 'cpu', false, false, 'htcondor'],
      ['aws-ec2', 'AWS EC2', null, 'm4.large', false, false, 'aws-ec2'],
    ]);
  });
  it('keeps queue limits (spot checks against hpc-systems.json)', () => {
    const queue = (system: string, name: string) => get(system).queues.find((q) => q.name === name);
    assert.deepEqual(queue('expanse', 'gpu'), {
      name: 'gpu', allocation: 'node', maxNodes: 4, coresPerNode: 40, ramPerNodeMb: 375808, gpusPerNode: 4, maxDurationSeconds: 172800,
      maxJobsInQueue: 8, gpuCountPer: 'job', memoryRequired: true,
    });
    assert.deepEqual(queue('anvil', 'gpu-debug'), {
      name: 'gpu-debug', allocation: 'cores_or_ram', maxNodes: 1, coresPerNode: 128, ramPerNodeMb: 512000, gpusPerNode: 2, maxDurationSeconds: 1800, maxJobsInQueue: 1,
    });
    assert.equal(queue('anvil', 'shared')?.maxJobsInQueue, null);
    assert.deepEqual(queue('bridges2', 'GPU-shared')?.gpuTypes, ['v100-32', 'v100-16']);
    assert.equal(queue('bridges2', 'GPU-shared')?.allocation, 'gpu-shared');
    assert.equal(queue('bridges2', 'EM')?.ramPerNodeMb, 4123680);
    assert.equal(queue('perlmutter', 'debug')?.maxNodes, 8);
    assert.equal(queue('perlmutter', 'regular')?.maxNodes, undefined, 'regular has node limits per node kind only');
    assert.equal(queue('delta', 'gpuA40x4')?.ramPerNodeMb, 308224);
    assert.equal(queue('spark', 'int')?.coresPerNode, 16);
    assert.equal(queue('path-facility', 'cpu')?.maxDurationSeconds, 259200);
  });
  it('keeps the site facts of hpc-systems.md: scratch, GPU flag, QOS, constraints, containers', () => {
    const facts = Object.fromEntries(shipped.systems.filter((s) => s.batchSystem === 'slurm').map((s) => [s.name, [s.scratch ?? null, s.slurm?.gpuFlag ?? null, s.slurm?.queueOption, s.slurm?.constraint ?? null, s.containerRuntime ?? null]]));
    assert.deepEqual(facts, {
      'test-cluster': ['$HOME/htc-annex-scratch', null, 'partition', null, null],
      perlmutter: ['$PSCRATCH', '--gpus-per-task', 'qos', null, { command: 'apptainer' }],
      delta: [null, '--gpus-per-node', 'partition', 'scratch', null],
      spark: ['/scratch/$USER', null, 'partition', null, null],
      expanse: ['/expanse/lustre/scratch/$USER/temp_project', '--gpus', 'partition', null, { command: 'singularity', module: 'singularitypro' }],
      anvil: ['/anvil/scratch/$USER', '--gpus-per-node', 'partition', null, null],
      bridges2: ['$PROJECT/hpc-annex/scratch', '--gpus', 'partition', null, { command: '/usr/bin/singularity' }],
    });
  });
  it('describes the test cluster as slurm-on-this-machine.md sets it up', () => {
    const t = get('TEST-CLUSTER');
    assert.deepEqual([t.loginHost, t.loginPort, t.loginName], ['127.0.0.1', 2222, 'hpcuser']);
    assert.deepEqual(t.queues.map((q) => [q.name, q.allocation, q.maxNodes, q.coresPerNode, q.ramPerNodeMb, q.maxDurationSeconds]), [
      ['debug', 'node', 4, 4, 1000, 600],
      ['long', 'cores_or_ram', 4, 4, 1000, 7200],
    ]);
  });
  it('keeps local as it was: one queue, 64 pilots, no time limit, optional --cpus/--mem_mb', () => {
    const local = get('local');
    assert.deepEqual(local.queues.map((q) => [q.name, q.allocation, q.maxNodes, q.maxDurationSeconds]), [['local', 'flexible', 64, null]]);
    const { system, queue } = parseTarget('local@local', shipped.systems);
    const r = validateAnnexRequest(system, { queue: queue.name, nodes: 3, cpus: null, memoryMb: null, gpus: null, gpuType: null, lifetimeSeconds: 600, idleSeconds: 60, project: null });
    assert.deepEqual([r.nodes, r.cpus, r.memoryMb], [3, null, null]);
  });
  it('lists PATh and AWS as not supported, saying why', () => {
    for (const name of ['path-facility', 'aws-ec2']) {
      const s = get(name);
      assert.equal(s.supported, false);
      assert.match(s.note ?? '', /htc cannot start pilots there yet/);
    }
  });
  it('is the file beside the module', () => {
    assert.match(SHIPPED_SYSTEMS_FILE, /src\/annex\/systems\.json$/);
  });
});

describe('user systems', () => {
  it('finds the config directory: the option, $HTC_CONFIG_DIR, $XDG_CONFIG_HOME/htc, ~/.config/htc', () => {
    assert.equal(configDirectory('/given', { HTC_CONFIG_DIR: '/own', XDG_CONFIG_HOME: '/xdg' }), '/given');
    assert.equal(configDirectory(undefined, { HTC_CONFIG_DIR: '/own', XDG_CONFIG_HOME: '/xdg' }), '/own');
    assert.equal(configDirectory(undefined, { HTC_CONFIG_DIR: '', XDG_CONFIG_HOME: '/xdg' }), '/xdg/htc');
    assert.equal(configDirectory(undefined, {}), join(homedir(), '.config', 'htc'));
  });
  it('adds a site from a file (one system), with the defaults filled in', () => {
    const c = configWith({ 'mysite.json': site() });
    const catalog = loadCatalog({ configDir: c.dir });
    assert.deepEqual(catalog.systems.map((s) => s.name).slice(-1), ['mysite']);
    assert.equal(catalog.systems.length, shipped.systems.length + 1);
    assert.deepEqual(findSystem(catalog, 'MySite'), {
      name: 'mysite', supported: true, batchSystem: 'slurm', loginHost: 'login.mysite.edu', defaultQueue: 'batch', requiresProject: false,
      queues: [{ name: 'batch', allocation: 'node', maxNodes: 10, coresPerNode: 32, ramPerNodeMb: 128000, maxDurationSeconds: 86400 }],
    });
    assert.equal(catalog.sources.get('mysite'), c.file('mysite.json'));
    // And it is usable at once.
    const { system, queue } = parseTarget('batch@mysite', catalog.systems);
    assert.equal(validateAnnexRequest(system, { queue: queue.name, nodes: 10, cpus: null, memoryMb: null, gpus: null, gpuType: null, lifetimeSeconds: 600, idleSeconds: 60, project: null }).nodes, 10);
  });
  it('finds it through $HTC_CONFIG_DIR when no directory is given', () => {
    const c = configWith({ 'mysite.json': site() });
    assert.ok(findSystem(loadCatalog({ env: { HTC_CONFIG_DIR: c.dir } }), 'mysite'));
    assert.ok(findSystem(loadCatalog({ env: { XDG_CONFIG_HOME: join(c.dir, '..', 'nowhere') } }), 'local'));
  });
  it('reads a list of systems from one file, and only *.json files', () => {
    const c = configWith({ 'sites.json': [site({ name: 'one' }), site({ name: 'two' })], 'notes.txt': 'not a catalog', 'old.json~': '{' });
    assert.deepEqual(loadCatalog({ configDir: c.dir }).systems.slice(-2).map((s) => s.name), ['one', 'two']);
  });
  it('replaces a shipped system of the same name (any case) in its place', () => {
    const c = configWith({ 'pm.json': site({ name: 'Perlmutter', defaultQueue: 'batch', requiresProject: true }) });
    const catalog = loadCatalog({ configDir: c.dir });
    assert.equal(catalog.systems.length, shipped.systems.length);
    assert.deepEqual(catalog.systems.map((s) => s.name.toLowerCase()), shipped.systems.map((s) => s.name));
    const pm = findSystem(catalog, 'perlmutter');
    assert.deepEqual(pm?.queues.map((q) => q.name), ['batch']);
    assert.equal(catalog.sources.get('perlmutter'), c.file('pm.json'));
    assert.match(errorOf(() => parseTarget('regular@perlmutter', catalog.systems)), /has no queue "regular"; its queues are batch \(default batch\)/);
  });
  it('is just the shipped catalog when the config directory has no systems/', () => {
    assert.deepEqual(loadCatalog({ configDir: join(root, 'empty-config') }).systems, shipped.systems);
  });
});

describe('malformed user files: errors name the file and the field', () => {
  const cases: [label: string, content: unknown, message: (file: string) => string][] = [
    ['a misspelt field', site({ maxnodes: 3 }), (f) => `${f}: maxnodes: unknown field (fields here: name, displayName, supported, note, batchSystem, loginHost, loginPort, loginName, defaultQueue, requiresProject, scratch, slurm, containerRuntime, queues)`],
    ['a missing name', site({ name: undefined }), (f) => `${f}: name: is required`],
    ['a name with "@"', site({ name: 'a@b' }), (f) => `${f}: name: "a@b" must be letters, digits, ".", "_" or "-" (it is typed in QUEUE@SYSTEM)`],
    ['a string for a number', site({ queues: [{ name: 'batch', allocation: 'node', maxNodes: '10', maxDurationSeconds: 60 }] }), (f) => `${f}: queues[0].maxNodes: must be a whole number >= 1 or null (no limit), not "10"`],
    ['a negative limit', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: -1 }] }), (f) => `${f}: queues[0].maxDurationSeconds: must be a whole number >= 1 or null (no limit), not -1`],
    ['an unknown allocation type', site({ queues: [{ name: 'batch', allocation: 'whole', maxDurationSeconds: 60 }] }), (f) => `${f}: queues[0].allocation: must be one of node, cores_or_ram, gpu-shared, flexible, not "whole"`],
    ['a queue without maxDurationSeconds', site({ queues: [{ name: 'batch', allocation: 'node' }] }), (f) => `${f}: queues[0].maxDurationSeconds: is required`],
    ['no queues', site({ queues: [] }), (f) => `${f}: queues: must list at least one queue`],
    ['a queue listed twice', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: 60 }, { name: 'batch', allocation: 'node', maxDurationSeconds: 60 }] }), (f) => `${f}: queues[1].name: "batch" is listed twice`],
    ['a default that is no queue', site({ defaultQueue: 'normal' }), (f) => `${f}: defaultQueue: "normal" is not one of the queues (batch)`],
    ['a bad batch system', site({ batchSystem: 'pbs' }), (f) => `${f}: batchSystem: must be one of slurm, local, htcondor, aws-ec2, not "pbs"`],
    ['a bad port', site({ loginPort: 70000 }), (f) => `${f}: loginPort: must be a port number (1-65535), not 70000`],
    ['a bad queue option', site({ slurm: { queueOption: 'queue' } }), (f) => `${f}: slurm.queueOption: must be one of partition, qos, not "queue"`],
    ['a list where an object belongs', site({ slurm: [] }), (f) => `${f}: slurm: must be an object, not a list`],
    ['a runtime without command', site({ containerRuntime: { module: 'x' } }), (f) => `${f}: containerRuntime.command: is required`],
    ['a variant type not in gpuTypes', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: 60, gpuTypes: ['a100'], variants: [{ when: { gpuType: 'h100' }, gpusPerNode: 4 }] }] }),
      (f) => `${f}: queues[0].variants[0].when.gpuType: "h100" is not one of the queue's gpuTypes (a100)`],
    ['an empty variant condition', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: 60, variants: [{ when: {}, gpusPerNode: 4 }] }] }),
      (f) => `${f}: queues[0].variants[0].when: must name at least one of gpuType, gpus, withGpus`],
    ['memoryRequired without a node size', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: 60, memoryRequired: true }] }),
      (f) => `${f}: queues[0].memoryRequired: needs ramPerNodeMb (on the queue or on every variant): it is the default memory`],
    ['an empty gpuTypes', site({ queues: [{ name: 'batch', allocation: 'node', maxDurationSeconds: 60, gpuTypes: [] }] }),
      (f) => `${f}: queues[0].gpuTypes: must name at least one type (leave it out for a single kind of GPU)`],
    ['a number that is not a system', 42, (f) => `${f}: must be an object, not 42`],
  ];
  for (const [label, content, message] of cases) {
    it(label, () => {
      const c = configWith({ 'bad.json': content });
      assert.equal(errorOf(() => loadCatalog({ configDir: c.dir })), message(c.file('bad.json')));
    });
  }
  it('names the entry of a list by its index', () => {
    const c = configWith({ 'sites.json': [site({ name: 'one' }), site({ name: 'two', requiresProject: 'yes' })] });
    assert.equal(errorOf(() => loadCatalog({ configDir: c.dir })), `${c.file('sites.json')}: [1].requiresProject: must be true or false, not "yes"`);
  });
  it('says when a file is not JSON', () => {
    const c = configWith({ 'bad.json': '{ "name": "x", ' });
    assert.match(errorOf(() => loadCatalog({ configDir: c.dir })), new RegExp(`^${c.file('bad.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: `));
  });
  it('refuses one system in two user files, naming both', () => {
    const c = configWith({ 'a.json': site(), 'b.json': site({ name: 'MYSITE' }) });
    assert.equal(errorOf(() => loadCatalog({ configDir: c.dir })), `${c.file('b.json')}: system "MYSITE" is also defined in ${c.file('a.json')}; keep one`);
  });
  it('refuses one system twice in one file', () => {
    assert.equal(errorOf(() => parseSystems([site(), site({ name: 'MySite' })], 'x.json')), 'x.json: [1].name: "MySite" is listed twice');
  });
  it('reports a file it cannot read as such', () => {
    const c = configWith({});
    mkdirSync(c.file('dir.json'));
    assert.match(errorOf(() => loadCatalog({ configDir: c.dir }), 'FILE_UNREADABLE'), /dir\.json: cannot read: /);
  });
});

describe('catalogRows', () => {
  const rows = catalogRows(shipped);
  it('has a row per queue, and per node kind where a queue has several', () => {
    const queues = shipped.systems.reduce((n, s) => n + s.queues.length, 0);
    // Perlmutter regular and debug: CPU and GPU nodes; Bridges-2 GPU: three kinds, GPU-shared: two.
    assert.equal(rows.length, queues + 1 + 1 + 2 + 1);
    assert.deepEqual(rows.filter((r) => r.system === 'bridges2' && r.queue === 'GPU').map((r) => r.nodeKind), ['GPU type v100-32, 16 GPUs', 'GPU type v100-32', 'GPU type v100-16']);
  });
  it('gives the limits of each row', () => {
    const row = (system: string, queue: string, kind: string | null = null) => rows.find((r) => r.system === system && r.queue === queue && r.nodeKind === kind);
    assert.deepEqual(row('perlmutter', 'regular', 'with GPUs'), {
      system: 'perlmutter', queue: 'regular', nodeKind: 'with GPUs', isDefault: true, allocation: 'node', maxNodes: 1536, coresPerNode: 64,
      ramPerNodeMb: 262144, gpusPerNode: 4, maxLifetimeSeconds: 43200, projectRequired: true, supported: true,
    });
    assert.deepEqual(row('spark', 'int'), {
      system: 'spark', queue: 'int', nodeKind: null, isDefault: false, allocation: 'cores_or_ram', maxNodes: 1, coresPerNode: 16,
      ramPerNodeMb: 524288, gpusPerNode: null, maxLifetimeSeconds: 14400, projectRequired: false, supported: true,
    });
    assert.deepEqual(row('aws-ec2', '<instance-type>'), {
      system: 'aws-ec2', queue: '<instance-type>', nodeKind: null, isDefault: false, allocation: 'node', maxNodes: null, coresPerNode: null,
      ramPerNodeMb: null, gpusPerNode: null, maxLifetimeSeconds: null, projectRequired: false, supported: false,
    });
    assert.equal(row('bridges2', 'GPU-shared', 'GPU type v100-16')?.gpusPerNode, 4);
    assert.deepEqual(rows.filter((r) => r.isDefault).map((r) => `${r.queue}@${r.system}`), [
      'local@local', 'debug@test-cluster', 'regular@perlmutter', 'regular@perlmutter', 'cpu@delta', 'shared@spark', 'compute@expanse', 'wholenode@anvil', 'RM@bridges2', 'cpu@path-facility',
    ]);
  });
});
