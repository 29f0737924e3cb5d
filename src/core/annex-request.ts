/**
 * Annex requests checked against the catalog, before any login: the types of
 * a catalog entry (a system and its queues) and the rules of HTCondor's HPC
 * Annex (reference/hpc-systems.md), applied in the order given there.
 *
 * Invariants:
 * - Pure: no I/O. The catalog is data handed in (src/annex/catalog.ts loads
 *   it); these types are its format, so a user adds a site with a JSON file
 *   and no code. System-specific facts (Bridges-2's GPU node kinds,
 *   Perlmutter's QOS sizes, EM's CPU multiples) are data too: `variants`,
 *   `cpusMultipleOf`, `memoryFromCpus`.
 * - First failure wins: `validateAnnexRequest` checks the rules one after the
 *   other and throws `HtcError('USAGE')` at the first one broken, with a
 *   message that names the option, the value and the limit. Two requests
 *   with the same first fault get the same message whatever else is wrong.
 * - What comes out is what the back-end asks for: GPU counts in the unit
 *   the site's flag takes, memory defaulted where the site requires it.
 */
import { HtcError } from '../errors.ts';

/**
 * How a queue hands out nodes:
 * - `node`: whole nodes (you get and pay for all of each): no --cpus/--mem_mb.
 * - `cores_or_ram`: a share of one node: --cpus and/or --mem_mb required.
 * - `gpu-shared`: CPUs and memory follow the GPU count: no --cpus/--mem_mb.
 * - `flexible`: whole node unless --cpus/--mem_mb ask for less (the `local`
 *   system, where a pilot is a process on this machine).
 */
export const ALLOCATION_TYPES = ['node', 'cores_or_ram', 'gpu-shared', 'flexible'] as const;
export type AllocationType = (typeof ALLOCATION_TYPES)[number];

/** What starts the pilots: SLURM over SSH, local processes, or (not yet) others. */
export const BATCH_SYSTEMS = ['slurm', 'local', 'htcondor', 'aws-ec2'] as const;
export type BatchSystem = (typeof BATCH_SYSTEMS)[number];

/** The limit fields a node kind (variant) may override. null: no limit, or not known. */
export interface NodeLimits {
  readonly maxNodes?: number | null;
  readonly coresPerNode?: number | null;
  /** MB (MiB, as SLURM counts). */
  readonly ramPerNodeMb?: number | null;
  readonly gpusPerNode?: number | null;
  /** SLURM `--constraint` for this kind of node (Perlmutter: `gpu` or `cpu`). */
  readonly constraint?: string | null;
}

/** When a variant applies; every key given must match the request. */
export interface VariantCondition {
  readonly gpuType?: string;
  readonly gpus?: number;
  /** true: the request asks for GPUs (--gpus > 0); false: it does not. */
  readonly withGpus?: boolean;
}

/**
 * One kind of node behind a queue, chosen by what the request asks for
 * (Bridges-2's GPU types, Perlmutter's GPU and CPU nodes). The first variant
 * whose condition matches is laid over the queue's own limits.
 */
export interface QueueVariant extends NodeLimits {
  readonly when: VariantCondition;
  readonly note?: string;
}

export interface QueueEntry extends NodeLimits {
  /** The SLURM partition (or QOS, see `SlurmFacts.queueOption`); matched exactly. */
  readonly name: string;
  readonly allocation: AllocationType;
  /** Longest lifetime, seconds (the site's wall-clock limit); null: none. */
  readonly maxDurationSeconds: number | null;
  /** The GPU types a request chooses from (--gpu-type T or --gpus T:N). */
  readonly gpuTypes?: readonly string[];
  /** `job`: the site's GPU flag takes the count for the whole job (GPUs x nodes). Default `node`. */
  readonly gpuCountPer?: 'node' | 'job';
  /** The site refuses a job without a memory request: a missing one becomes `ramPerNodeMb`. */
  readonly memoryRequired?: boolean;
  /** The site's per-user queue depth (informative). */
  readonly maxJobsInQueue?: number | null;
  /** --cpus is required and must be a multiple of this (Bridges-2 EM: 24). */
  readonly cpusMultipleOf?: number;
  /** Memory follows the CPU count: --mem_mb is refused (Bridges-2 RM-shared, EM). */
  readonly memoryFromCpus?: boolean;
  readonly variants?: readonly QueueVariant[];
  readonly note?: string;
}

/** How the batch script is written for a SLURM site. */
export interface SlurmFacts {
  /** `partition`: `-p QUEUE`; `qos`: `-q QUEUE` (Perlmutter's "queues" are QOS values). */
  readonly queueOption: 'partition' | 'qos';
  /** The sbatch option that takes the GPU count: `--gpus`, `--gpus-per-node`, `--gpus-per-task`. */
  readonly gpuFlag?: string;
  /** A constraint every job of the site needs (Delta: `scratch`). */
  readonly constraint?: string;
}

export interface SystemEntry {
  /** What QUEUE@SYSTEM names; matched case-insensitively. */
  readonly name: string;
  readonly displayName?: string;
  /** false: listed so users know of it, refused by validation (`note` says why). */
  readonly supported: boolean;
  readonly note?: string;
  readonly batchSystem: BatchSystem;
  readonly loginHost?: string;
  readonly loginPort?: number;
  /** The login name when it is fixed (the test cluster's user); else ssh's default. */
  readonly loginName?: string;
  readonly defaultQueue: string;
  /** A project (SLURM account, --project) must be given, even if the user has only one. */
  readonly requiresProject: boolean;
  /** Where pilot directories go on the login node; may use the site's variables ($USER, $PSCRATCH). */
  readonly scratch?: string;
  readonly slurm?: SlurmFacts;
  /** The container runtime pilots find there: a command, and a module to load first. */
  readonly containerRuntime?: { readonly command: string; readonly module?: string };
  readonly queues: readonly QueueEntry[];
}

/** A queue's limits for one kind of node, every field present. */
export interface QueueLimits {
  readonly maxNodes: number | null;
  readonly coresPerNode: number | null;
  readonly ramPerNodeMb: number | null;
  readonly gpusPerNode: number | null;
  readonly maxDurationSeconds: number | null;
  readonly constraint: string | null;
}

/** What `annex create`/`add` asks for, as the options give it (null: not given). */
export interface AnnexRequestInput {
  readonly queue: string;
  readonly nodes: number;
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  readonly gpus: number | null;
  readonly gpuType: string | null;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
  readonly project: string | null;
}

/** A request that passed every rule, adjusted to what the batch script asks for. */
export interface ValidatedRequest {
  readonly system: string;
  readonly queue: string;
  readonly queueOption: 'partition' | 'qos';
  readonly allocation: AllocationType;
  readonly nodes: number;
  /** Per node; null: the whole node, or what the site gives for the memory asked. */
  readonly cpus: number | null;
  /** Per node, MB; `ramPerNodeMb` where the queue requires a memory request. */
  readonly memoryMb: number | null;
  /** GPUs each pilot gets; a whole-node queue's default is all of the node's. */
  readonly gpusPerNode: number | null;
  /** The count for the site's GPU flag: gpusPerNode x nodes where the queue counts per job. */
  readonly gpus: number | null;
  readonly gpuType: string | null;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
  readonly project: string | null;
  /** SLURM --constraint (the node kind's, and the site's), or null. */
  readonly constraint: string | null;
  /** The limits the request was checked against (the node kind chosen). */
  readonly limits: QueueLimits;
}

const usage = (message: string): HtcError => new HtcError('USAGE', message);

const systemList = (systems: readonly SystemEntry[]): string => {
  const supported = systems.filter((s) => s.supported).map((s) => s.name);
  const others = systems.filter((s) => !s.supported).map((s) => s.name);
  return others.length === 0 ? supported.join(', ') : `${supported.join(', ')} (not supported yet: ${others.join(', ')})`;
};

const queueList = (system: SystemEntry): string => `its queues are ${system.queues.map((q) => q.name).join(', ')} (default ${system.defaultQueue})`;

/** The system named `name`, compared case-insensitively (HTCondor's rule). */
export function systemNamed(systems: readonly SystemEntry[], name: string): SystemEntry | undefined {
  const wanted = name.toLowerCase();
  return systems.find((s) => s.name.toLowerCase() === wanted);
}

/** Rule 1: the queue, named exactly, or an error naming the queues and the default. */
export function queueNamed(system: SystemEntry, name: string): QueueEntry {
  const queue = system.queues.find((q) => q.name === name);
  if (queue === undefined) throw usage(`${system.name} has no queue ${JSON.stringify(name)}; ${queueList(system)}`);
  return queue;
}

/**
 * `QUEUE@SYSTEM` → the system and queue. System names are matched
 * case-insensitively, queue names exactly. The system is what follows the
 * last `@` (system names cannot hold one; the catalog refuses it).
 */
export function parseTarget(text: string, systems: readonly SystemEntry[]): { system: SystemEntry; queue: QueueEntry } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    // A bare system name is the likeliest slip: show its queues as well.
    const bare = at === -1 ? systemNamed(systems, text) : undefined;
    const hint = bare === undefined ? '' : `; ${bare.name}'s queues are ${bare.queues.map((q) => q.name).join(', ')} (default ${bare.defaultQueue}), e.g. ${bare.defaultQueue}@${bare.name}`;
    throw usage(`${JSON.stringify(text)}: the argument must have the form queue@system; the systems are ${systemList(systems)}${hint}`);
  }
  const systemName = text.slice(at + 1);
  const system = systemNamed(systems, systemName);
  if (system === undefined) throw usage(`unknown system ${JSON.stringify(systemName)}; the systems are ${systemList(systems)} ("htc annex systems" lists their queues)`);
  return { system, queue: queueNamed(system, text.slice(0, at)) };
}

/**
 * `--gpus N` or `--gpus TYPE:N` → the count and the type (null when not
 * given). The type is everything before the last `:`.
 */
export function parseGpus(text: string): { count: number; type: string | null } {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const type = colon === -1 ? null : trimmed.slice(0, colon).trim();
  const count = colon === -1 ? trimmed : trimmed.slice(colon + 1).trim();
  if (type === '' || !/^\d+$/.test(count)) {
    throw usage(`--gpus ${JSON.stringify(text)}: must be a whole number N or TYPE:N (e.g. 4 or v100-32:8)`);
  }
  return { count: Number(count), type };
}

/**
 * The GPU options together: `--gpus TYPE:N` and `--gpu-type TYPE` may both
 * name a type only if it is the same one (HTCondor lets the first silently
 * win; a contradiction is more likely a mistake).
 */
export function gpuOptions(gpus: string | null, gpuType: string | null): { gpus: number | null; gpuType: string | null } {
  if (gpus === null) return { gpus: null, gpuType };
  const parsed = parseGpus(gpus);
  if (parsed.type !== null && gpuType !== null && parsed.type !== gpuType) {
    throw usage(`--gpus ${gpus} and --gpu-type ${gpuType} name different GPU types; give the type once`);
  }
  return { gpus: parsed.count, gpuType: parsed.type ?? gpuType };
}

function matches(when: VariantCondition, gpus: number | null, gpuType: string | null): boolean {
  if (when.gpuType !== undefined && when.gpuType !== gpuType) return false;
  if (when.gpus !== undefined && when.gpus !== gpus) return false;
  if (when.withGpus !== undefined && when.withGpus !== (gpus !== null && gpus > 0)) return false;
  return true;
}

/** The queue's limits with a variant laid over them (a field the variant leaves out keeps the queue's value). */
export function queueLimits(queue: QueueEntry, variant: QueueVariant | null = null): QueueLimits {
  const pick = <K extends keyof NodeLimits>(key: K): NonNullable<NodeLimits[K]> | null => (variant?.[key] !== undefined ? variant[key] : queue[key]) ?? null;
  return {
    maxNodes: pick('maxNodes'),
    coresPerNode: pick('coresPerNode'),
    ramPerNodeMb: pick('ramPerNodeMb'),
    gpusPerNode: pick('gpusPerNode'),
    maxDurationSeconds: queue.maxDurationSeconds,
    constraint: pick('constraint'),
  };
}

/** Words for a variant's condition, for listings: "with GPUs", "GPU type v100-32, 16 GPUs". */
export function describeVariant(when: VariantCondition): string {
  const parts: string[] = [];
  if (when.withGpus !== undefined) parts.push(when.withGpus ? 'with GPUs' : 'without GPUs');
  if (when.gpuType !== undefined) parts.push(`GPU type ${when.gpuType}`);
  if (when.gpus !== undefined) parts.push(`${when.gpus} GPUs`);
  return parts.length === 0 ? 'any request' : parts.join(', ');
}

/**
 * The kind of node a request gets from a queue. Part of rule 1: until the
 * node kind is known the queue's limits are not, so a queue whose node kinds
 * differ by GPU type (Bridges-2 GPU, GPU-shared) refuses a request without a
 * type, or with a type it does not have, here, naming its types.
 */
function nodeKind(system: SystemEntry, queue: QueueEntry, gpus: number | null, gpuType: string | null): QueueLimits {
  const variants = queue.variants ?? [];
  if (variants.length === 0) return queueLimits(queue);
  const variant = variants.find((v) => matches(v.when, gpus, gpuType));
  if (variant !== undefined) return queueLimits(queue, variant);
  const where = `queue ${queue.name} on ${system.name}`;
  if (queue.gpuTypes !== undefined && queue.gpuTypes.length > 0) {
    const types = queue.gpuTypes.join(', ');
    if (gpuType === null) throw usage(`${where} has GPUs of types ${types}: choose one with --gpu-type TYPE or --gpus TYPE:N`);
    throw usage(`GPU type ${gpuType}: ${where} has GPUs of types ${types} only`);
  }
  throw usage(`${where} has no kind of node for this request; its kinds are: ${variants.map((v) => describeVariant(v.when)).join('; ')}`);
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

function checkWholeNumber(flag: string, value: number | null, min: number): void {
  if (value === null) return;
  if (!Number.isSafeInteger(value) || value < min) throw usage(`${flag} ${value}: must be a whole number of at least ${min}`);
}

/**
 * Checks `request` against `system` (rules 1-12 of hpc-systems.md, in
 * order; first failure wins) and returns it adjusted for the batch script.
 * Before rule 1, two checks the reference leaves to the command line: the
 * numbers are whole and in range, and the system is supported.
 */
export function validateAnnexRequest(system: SystemEntry, request: AnnexRequestInput): ValidatedRequest {
  checkWholeNumber('--nodes', request.nodes, 1);
  checkWholeNumber('--cpus', request.cpus, 1);
  checkWholeNumber('--mem_mb', request.memoryMb, 1);
  checkWholeNumber('--gpus', request.gpus, 0);
  checkWholeNumber('--lifetime', request.lifetimeSeconds, 1);
  checkWholeNumber('--idle-time', request.idleSeconds, 1);
  if (!system.supported) throw usage(`${system.name} is not supported yet${system.note === undefined ? '' : `: ${system.note}`}`);

  const { nodes, cpus, memoryMb, gpuType, lifetimeSeconds, idleSeconds } = request;
  let gpus = request.gpus;
  const project = request.project !== null && request.project.trim() !== '' ? request.project : null;

  // 1. The queue, and the kind of node it gives for this request.
  const queue = queueNamed(system, request.queue);
  const limits = nodeKind(system, queue, gpus, gpuType);
  const where = `queue ${queue.name} on ${system.name}`;
  const given = cpus !== null ? `--cpus ${cpus}` : `--mem_mb ${memoryMb}`;
  const checkNodes = (): void => {
    if (limits.maxNodes !== null && nodes > limits.maxNodes) throw usage(`--nodes ${nodes}: ${where} allows at most ${plural(limits.maxNodes, 'node', 'nodes')} per job`);
  };
  // "128 cores and 262144 MB", or as much of it as the catalog knows.
  const nodeSize = [limits.coresPerNode === null ? null : plural(limits.coresPerNode, 'core', 'cores'), limits.ramPerNodeMb === null ? null : `${limits.ramPerNodeMb} MB`]
    .filter((p) => p !== null)
    .join(' and ');

  // 2. A shared queue needs to know how much of a node.
  if (queue.allocation === 'cores_or_ram' && cpus === null && memoryMb === null) {
    throw usage(`${where} shares nodes: give --cpus N and/or --mem_mb MB${nodeSize === '' ? '' : ` (a node has ${nodeSize})`}`);
  }
  // 3. Whole nodes: nothing smaller can be asked for.
  if (queue.allocation === 'node') {
    if (cpus !== null || memoryMb !== null) throw usage(`${given}: ${where} gives whole nodes${nodeSize === '' ? '' : ` (${nodeSize} each)`}; do not give --cpus or --mem_mb`);
    checkNodes();
  }
  // 4. A share of a node: no more than a node has.
  if (queue.allocation === 'cores_or_ram' || queue.allocation === 'flexible') {
    if (memoryMb !== null && limits.ramPerNodeMb !== null && memoryMb > limits.ramPerNodeMb) throw usage(`--mem_mb ${memoryMb}: ${where} allows at most ${limits.ramPerNodeMb} MB per node`);
    if (cpus !== null && limits.coresPerNode !== null && cpus > limits.coresPerNode) throw usage(`--cpus ${cpus}: ${where} allows at most ${plural(limits.coresPerNode, 'core', 'cores')} per node`);
    checkNodes();
  }
  // 5. CPUs and memory follow the GPUs.
  if (queue.allocation === 'gpu-shared') {
    if (cpus !== null || memoryMb !== null) throw usage(`${given}: ${where} assigns CPUs and memory in proportion to the GPUs; do not give --cpus or --mem_mb`);
    checkNodes();
  }
  // 6, 7. Time.
  if (limits.maxDurationSeconds !== null && lifetimeSeconds > limits.maxDurationSeconds) {
    throw usage(`--lifetime ${lifetimeSeconds}: ${where} allows at most ${limits.maxDurationSeconds} seconds`);
  }
  if (idleSeconds > lifetimeSeconds) throw usage(`--idle-time ${idleSeconds} is longer than --lifetime ${lifetimeSeconds}`);
  // 8. Whose allocation pays.
  if (system.requiresProject && project === null) throw usage(`${system.name} requires a project: give --project NAME (even if you have only one)`);
  // 9. A GPU queue: a count it can give (a whole node's worth on whole-node queues).
  const perNode = limits.gpusPerNode;
  if (perNode !== null) {
    if (gpus === null && queue.allocation === 'node') gpus = perNode;
    if (gpus === null || gpus <= 0) throw usage(`${gpus === null ? '' : `--gpus ${gpus}: `}${where} is a GPU queue: give --gpus N (at most ${perNode} per node)`);
    if (gpus > perNode) throw usage(`--gpus ${gpus}: ${where} allows at most ${plural(perNode, 'GPU', 'GPUs')} per node`);
    if (queue.allocation === 'node' && gpus !== perNode) throw usage(`--gpus ${gpus}: ${where} gives whole nodes with ${plural(perNode, 'GPU', 'GPUs')} each; give --gpus ${perNode} or leave it out`);
  } else {
    // 10. No GPUs to give.
    if (gpus !== null && gpus > 0) throw usage(`--gpus ${gpus}: ${where} has no GPUs`);
    gpus = null;
  }
  // 11. The GPU type, where there is a choice. (It may have come from
  // --gpu-type T or from --gpus T:N, so the messages name the type, not a flag.)
  if (gpuType !== null) {
    if (queue.gpuTypes === undefined || queue.gpuTypes.length === 0) throw usage(`GPU type ${gpuType}: ${where} has no choice of GPU type; leave the type out`);
    if (!queue.gpuTypes.includes(gpuType)) throw usage(`GPU type ${gpuType}: ${where} has GPUs of types ${queue.gpuTypes.join(', ')} only`);
  }
  // 12. Site rules kept as data (Bridges-2 EM and RM-shared).
  if (queue.cpusMultipleOf !== undefined) {
    const m = queue.cpusMultipleOf;
    const choices: number[] = [];
    for (let n = m; limits.coresPerNode !== null && n <= limits.coresPerNode && choices.length < 16; n += m) choices.push(n);
    const multiples = choices.length === 0 ? '' : ` (${choices.join(', ')})`;
    if (cpus === null) throw usage(`${where} needs --cpus, a multiple of ${m}${multiples}`);
    if (cpus % m !== 0) throw usage(`--cpus ${cpus}: ${where} takes CPUs in multiples of ${m}${multiples}`);
  }
  if (queue.memoryFromCpus === true && memoryMb !== null) {
    throw usage(`--mem_mb ${memoryMb}: ${where} assigns memory in proportion to the CPUs; give --cpus only`);
  }

  // After validation: counts in the units the site takes.
  const gpusPerNode = gpus;
  const flagGpus = gpusPerNode !== null && queue.gpuCountPer === 'job' ? gpusPerNode * nodes : gpusPerNode;
  const memory = memoryMb ?? (queue.memoryRequired === true ? limits.ramPerNodeMb : null);
  const constraints = [limits.constraint, system.slurm?.constraint ?? null].filter((c): c is string => c !== null && c !== '');
  return {
    system: system.name,
    queue: queue.name,
    queueOption: system.slurm?.queueOption ?? 'partition',
    allocation: queue.allocation,
    nodes,
    cpus,
    memoryMb: memory,
    gpusPerNode,
    gpus: flagGpus,
    gpuType,
    lifetimeSeconds,
    idleSeconds,
    project,
    constraint: constraints.length === 0 ? null : constraints.join('&'),
    limits,
  };
}
