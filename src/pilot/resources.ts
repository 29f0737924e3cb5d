/**
 * What this compute node can honestly offer: the cores, memory, scratch disk
 * and GPUs the pilot was given, not what the hardware has. On an HPC node the
 * batch system usually hands the pilot a share of the machine (CPU affinity,
 * a cgroup with CPU and memory limits, CUDA_VISIBLE_DEVICES), and offering
 * more than that share would overcommit the allocation.
 *
 * Invariants:
 * - Every number is a lower bound of the sources it reads: cpus is at least 1,
 *   a limit that cannot be read is treated as absent (never as zero), and a
 *   cgroup limit counts only when it is tighter than the node's own size.
 * - Cgroup limits are the tightest over the process's cgroup and all its
 *   ancestors (a parent's limit binds its children), for cgroup v2 and for
 *   the v1 cpu and memory controllers that older SLURM sites still use.
 * - The parsers are pure and exported so that tests can feed them sample texts.
 */
import { execFile } from 'node:child_process';
import { promises as fsp, type StatsFs } from 'node:fs';
import os from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import type { Resources } from '../protocol/pilot.ts';

export interface DetectedResources extends Resources {
  /** Identifiers to put in a job's CUDA_VISIBLE_DEVICES (indexes or GPU UUIDs), one per GPU. */
  readonly gpuIds: readonly string[];
}

/** Where cgroup and GPU facts come from; tests point these at fakes. */
export interface ResourceSources {
  /** Text of /proc/self/cgroup. */
  readonly selfCgroupFile: string;
  /** Mount point of the cgroup hierarchies. */
  readonly cgroupRoot: string;
  /** Command that lists GPUs (`nvidia-smi`), looked up on PATH. */
  readonly nvidiaSmi: string;
}

const DEFAULT_SOURCES: ResourceSources = { selfCgroupFile: '/proc/self/cgroup', cgroupRoot: '/sys/fs/cgroup', nvidiaSmi: 'nvidia-smi' };
/** nvidia-smi can hang on a node whose driver is wedged; a pilot must still start. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;
const MIB = 1024 * 1024;

/**
 * CPUs allowed by a cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD"), as
 * a fraction (1.5 = one and a half cores), or null when there is no limit.
 */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  return cpuRatio(quota, period ?? '100000');
}

/** The same for cgroup v1: `cpu.cfs_quota_us` (-1: no limit) and `cpu.cfs_period_us`. */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  return cpuRatio(quotaText.trim(), periodText.trim());
}

function cpuRatio(quotaText: string, periodText: string): number | null {
  const quota = Number(quotaText);
  const period = Number(periodText);
  if (!Number.isFinite(quota) || quota <= 0 || !Number.isFinite(period) || period <= 0) return null;
  return quota / period;
}

/**
 * Bytes allowed by a cgroup v2 `memory.max` ("max" or a number) or a v1
 * `memory.limit_in_bytes` (a huge number when unlimited), or null when there
 * is no limit.
 */
export function parseMemoryMax(text: string): number | null {
  const value = text.trim();
  if (value === 'max' || value === '') return null;
  const bytes = Number(value);
  // v1 spells "no limit" as the largest page-aligned signed 64-bit value.
  if (!Number.isFinite(bytes) || bytes <= 0 || bytes >= 2 ** 62) return null;
  return bytes;
}

/**
 * GPU identifiers from CUDA_VISIBLE_DEVICES. Empty, "-1" and "NoDevFiles"
 * (what SLURM and HTCondor set when a job has no GPU) mean none.
 */
export function parseCudaVisibleDevices(value: string): string[] {
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0 || ids[0] === '-1' || ids[0] === 'NoDevFiles') return [];
  return ids;
}

/**
 * GPUs from `nvidia-smi -L` ("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)").
 * The UUID is preferred over the index because it names the same device
 * whatever CUDA_VISIBLE_DEVICES a job is started with. MIG lines (indented
 * "MIG ..." under a GPU) are not counted: a MIG device is offered as its GPU.
 */
export function parseNvidiaSmiList(text: string): string[] {
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^GPU (\d+):.*?(?:\(UUID: ([^)\s]+)\))?$/.exec(line.trimEnd());
    if (match === null) continue;
    ids.push(match[2] ?? match[1]!);
  }
  return ids;
}

/** The cgroup paths of this process: the v2 one ("0::/path") and the v1 ones per controller. */
export function parseSelfCgroup(text: string): { unified: string | null; v1: Map<string, string> } {
  let unified: string | null = null;
  const v1 = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, id, controllers, path] = match as unknown as [string, string, string, string];
    if (id === '0' && controllers === '') unified = path;
    else for (const controller of controllers.split(',')) v1.set(controller, path);
  }
  return { unified, v1 };
}

/** The directory and all its ancestors up to `root`, innermost first. */
function selfAndAncestors(root: string, cgroupPath: string): string[] {
  const dirs: string[] = [];
  let path = posix.normalize(`/${cgroupPath}`);
  for (;;) {
    dirs.push(join(root, path));
    if (path === '/') return dirs;
    path = posix.dirname(path);
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch {
    // Absent in the root cgroup, in a container that hides a level, or a controller not mounted.
    return null;
  }
}

function tightest(values: readonly (number | null)[]): number | null {
  const limits = values.filter((v): v is number => v !== null);
  return limits.length === 0 ? null : Math.min(...limits);
}

/**
 * CPU (cores, fractional) and memory (bytes) limits of this process's
 * cgroups, null where there is none. Walking up also covers a container whose
 * /proc/self/cgroup names a path its cgroup mount does not show: the levels
 * that do not exist are skipped.
 */
export async function cgroupLimits(sources: Pick<ResourceSources, 'selfCgroupFile' | 'cgroupRoot'> = DEFAULT_SOURCES): Promise<{ cpus: number | null; memoryBytes: number | null }> {
  const text = await readOrNull(sources.selfCgroupFile);
  if (text === null) return { cpus: null, memoryBytes: null };
  const { unified, v1 } = parseSelfCgroup(text);
  const cpuLimits: (number | null)[] = [];
  const memoryLimits: (number | null)[] = [];
  if (unified !== null) {
    // Pure v2 mounts at the root; the hybrid layout puts v2 under "unified".
    for (const mount of [sources.cgroupRoot, join(sources.cgroupRoot, 'unified')]) {
      for (const dir of selfAndAncestors(mount, unified)) {
        const cpuMax = await readOrNull(join(dir, 'cpu.max'));
        if (cpuMax !== null) cpuLimits.push(parseCpuMax(cpuMax));
        const memoryMax = await readOrNull(join(dir, 'memory.max'));
        if (memoryMax !== null) memoryLimits.push(parseMemoryMax(memoryMax));
      }
    }
  }
  const cpuPath = v1.get('cpu');
  if (cpuPath !== undefined) {
    for (const mount of ['cpu', 'cpu,cpuacct']) {
      for (const dir of selfAndAncestors(join(sources.cgroupRoot, mount), cpuPath)) {
        const quota = await readOrNull(join(dir, 'cpu.cfs_quota_us'));
        const period = await readOrNull(join(dir, 'cpu.cfs_period_us'));
        if (quota !== null && period !== null) cpuLimits.push(parseCfsQuota(quota, period));
      }
    }
  }
  const memoryPath = v1.get('memory');
  if (memoryPath !== undefined) {
    for (const dir of selfAndAncestors(join(sources.cgroupRoot, 'memory'), memoryPath)) {
      const limit = await readOrNull(join(dir, 'memory.limit_in_bytes'));
      if (limit !== null) memoryLimits.push(parseMemoryMax(limit));
    }
  }
  return { cpus: tightest(cpuLimits), memoryBytes: tightest(memoryLimits) };
}

/** GPU ids from `nvidia-smi -L`; none when the command is missing, fails or hangs. */
export function listNvidiaGpus(command = DEFAULT_SOURCES.nvidiaSmi): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(command, ['-L'], { timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) => {
      // No command means no NVIDIA GPU; a failing one (no driver loaded) offers none either.
      resolve(error === null ? parseNvidiaSmiList(stdout) : []);
    });
  });
}

/** statfs of `dir`, or of its nearest existing ancestor when it is not made yet (same file system, as it will be). */
async function statfsOfNearest(dir: string): Promise<StatsFs> {
  for (let path = resolve(dir); ; path = dirname(path)) {
    try {
      return await fsp.statfs(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path === dirname(path)) throw error;
    }
  }
}

/**
 * The node's offer: cpus, memory (MiB), free disk of `executeDir` (KiB) and
 * GPUs. CUDA_VISIBLE_DEVICES, when set, is what the batch system gave the
 * pilot and wins over what nvidia-smi sees (which may be every GPU of a node
 * shared with other jobs).
 */
export async function detectResources(
  executeDir: string,
  env: NodeJS.ProcessEnv = process.env,
  sources: ResourceSources = DEFAULT_SOURCES,
): Promise<DetectedResources> {
  const limits = await cgroupLimits(sources);
  // availableParallelism honours the CPU affinity mask (SLURM's cpuset / task binding).
  let cpus = os.availableParallelism();
  if (limits.cpus !== null) cpus = Math.min(cpus, Math.max(1, Math.floor(limits.cpus)));
  const memoryBytes = Math.min(os.totalmem(), limits.memoryBytes ?? Infinity);
  const disk = await statfsOfNearest(executeDir);
  const cuda = env.CUDA_VISIBLE_DEVICES;
  const gpuIds = cuda !== undefined ? parseCudaVisibleDevices(cuda) : await listNvidiaGpus(sources.nvidiaSmi);
  return {
    cpus,
    memoryMb: Math.floor(memoryBytes / MIB),
    // bavail, not bfree: blocks reserved for root are not the pilot's to offer.
    diskKb: Math.floor((disk.bavail * disk.bsize) / 1024),
    gpus: gpuIds.length,
    gpuIds,
  };
}

/** HTCondor's spelling of the architecture (its `Arch` attribute). */
export function htcondorArch(arch: string = os.arch(), endianness: string = os.endianness()): string {
  switch (arch) {
    case 'x64':
      return 'X86_64';
    case 'ia32':
      return 'INTEL';
    case 'arm64':
      return 'aarch64';
    case 'ppc64':
      return endianness === 'LE' ? 'ppc64le' : 'PPC64';
    default:
      return arch;
  }
}

/** os-release IDs HTCondor recognises, with the OpSysName it gives them. */
const OS_NAMES: Readonly<Record<string, string>> = {
  almalinux: 'AlmaLinux',
  amzn: 'AmazonLinux',
  centos: 'CentOS',
  debian: 'Debian',
  fedora: 'Fedora',
  'opensuse-leap': 'openSUSE',
  rhel: 'RedHat',
  rocky: 'Rocky',
  sles: 'SLES',
  ubuntu: 'Ubuntu',
};

/**
 * OpSysName, OpSysMajorVer and OpSysAndVer ("Debian12") from /etc/os-release
 * text; empty for a distribution we do not know how HTCondor names, rather
 * than a guess that a job's requirements would then match by accident.
 */
export function parseOsRelease(text: string): Record<string, string | number> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=("?)(.*)\2\s*$/.exec(line.trim());
    if (match !== null) fields.set(match[1]!, match[3]!);
  }
  const name = OS_NAMES[fields.get('ID') ?? ''];
  const major = Number.parseInt(fields.get('VERSION_ID') ?? '', 10);
  if (name === undefined || !Number.isInteger(major)) return {};
  return { OpSysName: name, OpSysMajorVer: major, OpSysAndVer: `${name}${major}` };
}

/**
 * Slot attributes for `hello.attributes`, named and spelled as HTCondor's
 * startd advertises them, so job requirements written for HTCondor
 * (`Arch == "X86_64" && OpSys == "LINUX"`) match. Totals are the node's offer.
 */
export async function slotAttributes(resources: Resources, osReleaseFile = '/etc/os-release'): Promise<Record<string, string | number | boolean>> {
  const opSys = process.platform === 'linux' ? 'LINUX' : process.platform === 'darwin' ? 'macOS' : process.platform.toUpperCase();
  const osRelease = process.platform === 'linux' ? parseOsRelease((await readOrNull(osReleaseFile)) ?? '') : {};
  return {
    Arch: htcondorArch(),
    OpSys: opSys,
    ...osRelease,
    TotalCpus: resources.cpus,
    TotalMemory: resources.memoryMb,
    TotalDisk: resources.diskKb,
    TotalGPUs: resources.gpus,
  };
}
