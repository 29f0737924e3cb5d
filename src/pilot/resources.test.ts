/**
 * Resource detection: the parsers against sample texts of cgroup v1/v2 files,
 * CUDA_VISIBLE_DEVICES and `nvidia-smi -L`; the cgroup walk against a fake
 * cgroup tree in a temp dir (a parent's tighter limit wins); detection on this
 * machine with sanity bounds; slot attributes as HTCondor spells them.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  cgroupLimits,
  detectResources,
  htcondorArch,
  listNvidiaGpus,
  parseCfsQuota,
  parseCpuMax,
  parseCudaVisibleDevices,
  parseMemoryMax,
  parseNvidiaSmiList,
  parseOsRelease,
  parseSelfCgroup,
  slotAttributes,
} from './resources.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'htc-resources-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function writeAt(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

describe('parsers', () => {
  it('cpu.max: a quota over a period is a number of cores; "max" is no limit', () => {
    assert.equal(parseCpuMax('max 100000\n'), null);
    assert.equal(parseCpuMax('200000 100000\n'), 2);
    assert.equal(parseCpuMax('150000 100000'), 1.5);
    assert.equal(parseCpuMax('50000 100000'), 0.5);
    assert.equal(parseCpuMax('garbage'), null);
  });

  it('cgroup v1 cfs quota: -1 is no limit', () => {
    assert.equal(parseCfsQuota('-1\n', '100000\n'), null);
    assert.equal(parseCfsQuota('400000\n', '100000\n'), 4);
  });

  it('memory.max and memory.limit_in_bytes: "max" and the v1 huge value are no limit', () => {
    assert.equal(parseMemoryMax('max\n'), null);
    assert.equal(parseMemoryMax('9223372036854771712\n'), null);
    assert.equal(parseMemoryMax('4294967296\n'), 4 * 1024 ** 3);
  });

  it('CUDA_VISIBLE_DEVICES: a comma list of ids; empty, -1 and NoDevFiles mean none', () => {
    assert.deepEqual(parseCudaVisibleDevices('0,1, 3'), ['0', '1', '3']);
    assert.deepEqual(parseCudaVisibleDevices('GPU-8a7c2f0e-1111-2222-3333-444455556666'), ['GPU-8a7c2f0e-1111-2222-3333-444455556666']);
    assert.deepEqual(parseCudaVisibleDevices(''), []);
    assert.deepEqual(parseCudaVisibleDevices('-1'), []);
    assert.deepEqual(parseCudaVisibleDevices('NoDevFiles'), []);
  });

  it('nvidia-smi -L: one id per GPU line, the UUID when present; MIG lines are not GPUs', () => {
    const text = [
      'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-3b1c2d4e-aaaa-bbbb-cccc-000000000000)',
      '  MIG 1g.5gb      Device  0: (UUID: MIG-11111111-2222-3333-4444-555555555555)',
      'GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-3b1c2d4e-aaaa-bbbb-cccc-111111111111)',
      'GPU 2: Tesla K80',
      '',
    ].join('\n');
    assert.deepEqual(parseNvidiaSmiList(text), ['GPU-3b1c2d4e-aaaa-bbbb-cccc-000000000000', 'GPU-3b1c2d4e-aaaa-bbbb-cccc-111111111111', '2']);
    assert.deepEqual(parseNvidiaSmiList('No devices were found\n'), []);
  });

  it('/proc/self/cgroup: the v2 path and each v1 controller path', () => {
    const parsed = parseSelfCgroup('12:memory:/slurm/uid_1000/job_42\n4:cpu,cpuacct:/slurm/uid_1000/job_42/step_0\n0::/system.slice/x.service\n');
    assert.equal(parsed.unified, '/system.slice/x.service');
    assert.equal(parsed.v1.get('memory'), '/slurm/uid_1000/job_42');
    assert.equal(parsed.v1.get('cpu'), '/slurm/uid_1000/job_42/step_0');
    assert.equal(parsed.v1.get('cpuacct'), '/slurm/uid_1000/job_42/step_0');
  });

  it('os-release: HTCondor names for known distributions, nothing for unknown ones', () => {
    assert.deepEqual(parseOsRelease('ID=debian\nVERSION_ID="12"\n'), { OpSysName: 'Debian', OpSysMajorVer: 12, OpSysAndVer: 'Debian12' });
    assert.deepEqual(parseOsRelease('ID="rocky"\nVERSION_ID="9.3"\n'), { OpSysName: 'Rocky', OpSysMajorVer: 9, OpSysAndVer: 'Rocky9' });
    assert.deepEqual(parseOsRelease('ID=someos\nVERSION_ID=1\n'), {});
  });

  it('architecture names as HTCondor spells them', () => {
    assert.equal(htcondorArch('x64'), 'X86_64');
    assert.equal(htcondorArch('arm64'), 'aarch64');
    assert.equal(htcondorArch('ppc64', 'LE'), 'ppc64le');
  });
});

describe('cgroupLimits', () => {
  it('cgroup v2: the tightest limit of the cgroup and its ancestors', async () => {
    const root = tempDir();
    const self = join(root, 'self-cgroup');
    writeFileSync(self, '0::/slurm/job_7/step_0\n');
    writeAt(join(root, 'sys', 'slurm', 'cpu.max'), 'max 100000\n');
    writeAt(join(root, 'sys', 'slurm', 'job_7', 'cpu.max'), '300000 100000\n');
    writeAt(join(root, 'sys', 'slurm', 'job_7', 'memory.max'), `${2 * 1024 ** 3}\n`);
    writeAt(join(root, 'sys', 'slurm', 'job_7', 'step_0', 'cpu.max'), 'max 100000\n');
    writeAt(join(root, 'sys', 'slurm', 'job_7', 'step_0', 'memory.max'), 'max\n');
    const limits = await cgroupLimits({ selfCgroupFile: self, cgroupRoot: join(root, 'sys') });
    assert.deepEqual(limits, { cpus: 3, memoryBytes: 2 * 1024 ** 3 });
  });

  it('cgroup v1: cpu quota and memory limit from their controllers', async () => {
    const root = tempDir();
    const self = join(root, 'self-cgroup');
    writeFileSync(self, '5:memory:/slurm/job_9\n3:cpu,cpuacct:/slurm/job_9\n0::/\n');
    writeAt(join(root, 'sys', 'cpu', 'slurm', 'job_9', 'cpu.cfs_quota_us'), '250000\n');
    writeAt(join(root, 'sys', 'cpu', 'slurm', 'job_9', 'cpu.cfs_period_us'), '100000\n');
    writeAt(join(root, 'sys', 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    writeAt(join(root, 'sys', 'memory', 'slurm', 'job_9', 'memory.limit_in_bytes'), `${512 * 1024 ** 2}\n`);
    const limits = await cgroupLimits({ selfCgroupFile: self, cgroupRoot: join(root, 'sys') });
    assert.deepEqual(limits, { cpus: 2.5, memoryBytes: 512 * 1024 ** 2 });
  });

  it('no readable cgroup information means no limits', async () => {
    const root = tempDir();
    assert.deepEqual(await cgroupLimits({ selfCgroupFile: join(root, 'missing'), cgroupRoot: root }), { cpus: null, memoryBytes: null });
  });
});

describe('detectResources', () => {
  it('on this machine: at least one cpu, some memory and disk; CUDA_VISIBLE_DEVICES="" means no GPU', async () => {
    const dir = tempDir();
    const found = await detectResources(dir, { CUDA_VISIBLE_DEVICES: '' });
    assert.ok(Number.isInteger(found.cpus) && found.cpus >= 1 && found.cpus <= os.availableParallelism(), `cpus ${found.cpus}`);
    assert.ok(found.memoryMb > 0 && found.memoryMb <= os.totalmem() / 1024 / 1024, `memory ${found.memoryMb}`);
    assert.ok(found.diskKb > 0, `disk ${found.diskKb}`);
    assert.equal(found.gpus, 0);
    // An execute dir not made yet is measured on the file system it will be on.
    const notYet = await detectResources(join(dir, 'execute', 'later'), { CUDA_VISIBLE_DEVICES: '' });
    assert.ok(notYet.diskKb > 0);
    assert.deepEqual(found.gpuIds, []);
  });

  it('a cgroup CPU quota below the core count is offered, rounded down but never below one', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'self'), '0::/job\n');
    writeAt(join(root, 'sys', 'job', 'cpu.max'), '50000 100000\n');
    writeAt(join(root, 'sys', 'job', 'memory.max'), `${300 * 1024 ** 2}\n`);
    const found = await detectResources(root, { CUDA_VISIBLE_DEVICES: '0,1' }, { selfCgroupFile: join(root, 'self'), cgroupRoot: join(root, 'sys'), nvidiaSmi: 'nvidia-smi' });
    assert.equal(found.cpus, 1);
    assert.equal(found.memoryMb, 300);
    assert.deepEqual(found.gpuIds, ['0', '1']);
    assert.equal(found.gpus, 2);
  });

  it('without CUDA_VISIBLE_DEVICES, GPUs come from nvidia-smi -L (a stand-in script here)', async () => {
    const root = tempDir();
    const fake = join(root, 'nvidia-smi');
    writeFileSync(fake, '#!/bin/sh\n[ "$1" = -L ] || exit 2\necho "GPU 0: Fake GPU (UUID: GPU-aaaa)"\necho "GPU 1: Fake GPU (UUID: GPU-bbbb)"\n');
    chmodSync(fake, 0o755);
    const found = await detectResources(root, {}, { selfCgroupFile: join(root, 'none'), cgroupRoot: root, nvidiaSmi: fake });
    assert.deepEqual(found.gpuIds, ['GPU-aaaa', 'GPU-bbbb']);
    assert.equal(found.gpus, 2);
  });

  it('a missing or failing nvidia-smi means no GPU', async () => {
    const root = tempDir();
    assert.deepEqual(await listNvidiaGpus(join(root, 'no-such-command')), []);
    const failing = join(root, 'nvidia-smi');
    writeFileSync(failing, '#!/bin/sh\necho "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." >&2\nexit 9\n');
    chmodSync(failing, 0o755);
    assert.deepEqual(await listNvidiaGpus(failing), []);
  });
});

describe('slotAttributes', () => {
  it('Arch, OpSys and the totals, as HTCondor names them', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'os-release'), 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n');
    const attributes = await slotAttributes({ cpus: 4, memoryMb: 8192, diskKb: 1000, gpus: 1 }, join(root, 'os-release'));
    assert.equal(attributes.Arch, htcondorArch());
    if (process.platform === 'linux') {
      assert.equal(attributes.OpSys, 'LINUX');
      assert.equal(attributes.OpSysAndVer, 'Debian12');
    }
    assert.equal(attributes.TotalCpus, 4);
    assert.equal(attributes.TotalMemory, 8192);
    assert.equal(attributes.TotalDisk, 1000);
    assert.equal(attributes.TotalGPUs, 1);
  });
});
