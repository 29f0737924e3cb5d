/**
 * The catalog: the systems an annex can be made on, as data. The shipped
 * systems live in `systems.json` beside this file (HTCondor's HPC Annex
 * table reshaped, plus `local` and the project's test cluster); a user adds
 * or replaces a site with a file in `<config>/systems/*.json`, no code.
 *
 * Invariants:
 * - One format, the core's `SystemEntry` (src/core/annex-request.ts), and
 *   one validator for shipped and user files alike: unknown fields, wrong
 *   types and dangling names are errors naming the file and the field.
 * - A user entry whose name (case-insensitively) is a shipped system's
 *   replaces that system whole, in its place in the list: a site's limits
 *   change, and the user must not wait for a release to follow them. Two
 *   user files naming the same system is an error (which one wins would be
 *   an accident of file names).
 * - Reading is synchronous and done per command: the files are small and a
 *   command that validates a request must see the file as it is now.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ALLOCATION_TYPES, BATCH_SYSTEMS, describeVariant, queueLimits, systemNamed,
  type AllocationType, type QueueEntry, type QueueVariant, type SlurmFacts, type SystemEntry, type VariantCondition,
} from '../core/annex-request.ts';
import { HtcError } from '../errors.ts';

/** The systems shipped with htc. */
export const SHIPPED_SYSTEMS_FILE = fileURLToPath(new URL('./systems.json', import.meta.url));

/** What `sources` says for a shipped system. */
export const BUILT_IN = 'built-in';

export interface Catalog {
  readonly systems: readonly SystemEntry[];
  /** Where each system came from, by lower-case name: BUILT_IN or the user's file. */
  readonly sources: ReadonlyMap<string, string>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The user's htc config directory: `configDir`, else $HTC_CONFIG_DIR, else $XDG_CONFIG_HOME/htc, else ~/.config/htc. */
export function configDirectory(configDir?: string, env: Env = process.env): string {
  if (configDir !== undefined && configDir !== '') return configDir;
  const own = env.HTC_CONFIG_DIR;
  if (own !== undefined && own !== '') return own;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'htc');
  return join(homedir(), '.config', 'htc');
}

// ---- validation ------------------------------------------------------------

type Obj = Readonly<Record<string, unknown>>;

const describe = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  // What is left from JSON.parse: a string (shown quoted), a number or a boolean.
  return JSON.stringify(v) ?? 'nothing';
};
const at = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);

/** Field readers bound to one file, so every error names it. */
function reader(file: string) {
  const fail = (path: string, message: string): never => {
    throw new HtcError('USAGE', `${file}: ${path === '' ? '' : `${path}: `}${message}`);
  };
  const object = (value: unknown, path: string, fields: readonly string[]): Obj => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(path, `must be an object, not ${describe(value)}`);
    for (const key of Object.keys(value)) {
      // "$comment" is the one free field: JSON has no comments.
      if (key !== '$comment' && !fields.includes(key)) fail(at(path, key), `unknown field (fields here: ${fields.join(', ')})`);
    }
    return value as Obj;
  };
  const list = (value: unknown, path: string): readonly unknown[] => (Array.isArray(value) ? value : fail(path, `must be a list, not ${describe(value)}`));
  const text = (value: unknown, path: string): string => (typeof value === 'string' && value.trim() !== '' ? value : fail(path, `must be a non-empty string, not ${describe(value)}`));
  const flag = (value: unknown, path: string): boolean => (typeof value === 'boolean' ? value : fail(path, `must be true or false, not ${describe(value)}`));
  const whole = (value: unknown, path: string, min: number): number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min ? value : fail(path, `must be a whole number >= ${min}, not ${describe(value)}`);
  const wholeOrNull = (value: unknown, path: string, min: number): number | null =>
    value === null ? null : typeof value === 'number' && Number.isSafeInteger(value) && value >= min ? value : fail(path, `must be a whole number >= ${min} or null (no limit), not ${describe(value)}`);
  const oneOf = <T extends string>(value: unknown, path: string, choices: readonly T[]): T =>
    (choices as readonly unknown[]).includes(value) ? (value as T) : fail(path, `must be one of ${choices.join(', ')}, not ${describe(value)}`);
  /** The field `key` of `o` read by `parse`, or undefined when absent. */
  const optional = <T>(o: Obj, path: string, key: string, parse: (v: unknown, p: string) => T): T | undefined => (o[key] === undefined ? undefined : parse(o[key], at(path, key)));
  const required = <T>(o: Obj, path: string, key: string, parse: (v: unknown, p: string) => T): T =>
    key in o && o[key] !== undefined ? parse(o[key], at(path, key)) : fail(at(path, key), 'is required');
  return { fail, object, list, text, flag, whole, wholeOrNull, oneOf, optional, required };
}

type Reader = ReturnType<typeof reader>;

/** Drops the keys whose value is undefined, so entries hold only what was given. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const LIMIT_FIELDS = ['maxNodes', 'coresPerNode', 'ramPerNodeMb', 'gpusPerNode', 'constraint'] as const;
const VARIANT_FIELDS = ['when', ...LIMIT_FIELDS, 'note'] as const;
const QUEUE_FIELDS = [
  'name', 'allocation', 'maxDurationSeconds', ...LIMIT_FIELDS, 'gpuTypes', 'gpuCountPer', 'memoryRequired', 'maxJobsInQueue',
  'cpusMultipleOf', 'memoryFromCpus', 'variants', 'note',
] as const;
const SYSTEM_FIELDS = [
  'name', 'displayName', 'supported', 'note', 'batchSystem', 'loginHost', 'loginPort', 'loginName', 'defaultQueue',
  'requiresProject', 'scratch', 'slurm', 'containerRuntime', 'queues',
] as const;

function readLimits(r: Reader, o: Obj, path: string) {
  return {
    maxNodes: r.optional(o, path, 'maxNodes', (v, p) => r.wholeOrNull(v, p, 1)),
    coresPerNode: r.optional(o, path, 'coresPerNode', (v, p) => r.wholeOrNull(v, p, 1)),
    ramPerNodeMb: r.optional(o, path, 'ramPerNodeMb', (v, p) => r.wholeOrNull(v, p, 1)),
    gpusPerNode: r.optional(o, path, 'gpusPerNode', (v, p) => r.wholeOrNull(v, p, 1)),
    constraint: r.optional(o, path, 'constraint', (v, p) => (v === null ? null : r.text(v, p))),
  };
}

function readVariant(r: Reader, value: unknown, path: string, gpuTypes: readonly string[] | undefined): QueueVariant {
  const o = r.object(value, path, VARIANT_FIELDS);
  const whenPath = at(path, 'when');
  const w = r.required(o, path, 'when', (v, p) => r.object(v, p, ['gpuType', 'gpus', 'withGpus']));
  const when: VariantCondition = compact({
    gpuType: r.optional(w, whenPath, 'gpuType', r.text),
    gpus: r.optional(w, whenPath, 'gpus', (v, p) => r.whole(v, p, 0)),
    withGpus: r.optional(w, whenPath, 'withGpus', r.flag),
  });
  if (Object.keys(when).length === 0) r.fail(whenPath, 'must name at least one of gpuType, gpus, withGpus');
  if (when.gpuType !== undefined && !(gpuTypes ?? []).includes(when.gpuType)) {
    r.fail(at(whenPath, 'gpuType'), `${JSON.stringify(when.gpuType)} is not one of the queue's gpuTypes (${(gpuTypes ?? []).join(', ') || 'none'})`);
  }
  return compact({ when, ...readLimits(r, o, path), note: r.optional(o, path, 'note', r.text) });
}

function readQueue(r: Reader, value: unknown, path: string): QueueEntry {
  const o = r.object(value, path, QUEUE_FIELDS);
  const name = r.required(o, path, 'name', r.text);
  if (/[@\s]/.test(name)) r.fail(at(path, 'name'), `${JSON.stringify(name)} may not contain "@" or spaces (QUEUE@SYSTEM)`);
  const gpuTypes = r.optional(o, path, 'gpuTypes', (v, p) => {
    const types = r.list(v, p).map((t, i) => r.text(t, at(p, i)));
    if (types.length === 0) r.fail(p, 'must name at least one type (leave it out for a single kind of GPU)');
    const dup = types.find((t, i) => types.indexOf(t) !== i);
    if (dup !== undefined) r.fail(p, `names ${JSON.stringify(dup)} twice`);
    return types;
  });
  const queue: QueueEntry = compact({
    name,
    allocation: r.required(o, path, 'allocation', (v, p) => r.oneOf(v, p, ALLOCATION_TYPES)),
    maxDurationSeconds: r.required(o, path, 'maxDurationSeconds', (v, p) => r.wholeOrNull(v, p, 1)),
    ...readLimits(r, o, path),
    gpuTypes,
    gpuCountPer: r.optional(o, path, 'gpuCountPer', (v, p) => r.oneOf(v, p, ['node', 'job'] as const)),
    memoryRequired: r.optional(o, path, 'memoryRequired', r.flag),
    maxJobsInQueue: r.optional(o, path, 'maxJobsInQueue', (v, p) => r.wholeOrNull(v, p, 1)),
    cpusMultipleOf: r.optional(o, path, 'cpusMultipleOf', (v, p) => r.whole(v, p, 1)),
    memoryFromCpus: r.optional(o, path, 'memoryFromCpus', r.flag),
    variants: r.optional(o, path, 'variants', (v, p) => r.list(v, p).map((x, i) => readVariant(r, x, at(p, i), gpuTypes))),
    note: r.optional(o, path, 'note', r.text),
  });
  if (queue.memoryRequired === true) {
    // The default memory is the node's: it must be known for every node kind.
    const kinds = queue.variants === undefined || queue.variants.length === 0 ? [null] : queue.variants;
    if (kinds.some((v) => queueLimits(queue, v).ramPerNodeMb === null)) r.fail(at(path, 'memoryRequired'), 'needs ramPerNodeMb (on the queue or on every variant): it is the default memory');
  }
  return queue;
}

function readSystem(r: Reader, value: unknown, path: string): SystemEntry {
  const o = r.object(value, path, SYSTEM_FIELDS);
  const name = r.required(o, path, 'name', r.text);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) r.fail(at(path, 'name'), `${JSON.stringify(name)} must be letters, digits, ".", "_" or "-" (it is typed in QUEUE@SYSTEM)`);
  const queuesPath = at(path, 'queues');
  const queues = r.required(o, path, 'queues', (v, p) => r.list(v, p).map((q, i) => readQueue(r, q, at(p, i))));
  if (queues.length === 0) r.fail(queuesPath, 'must list at least one queue');
  queues.forEach((q, i) => {
    if (queues.findIndex((other) => other.name === q.name) !== i) r.fail(at(at(queuesPath, i), 'name'), `${JSON.stringify(q.name)} is listed twice`);
  });
  const slurm = r.optional(o, path, 'slurm', (v, p): SlurmFacts => {
    const s = r.object(v, p, ['queueOption', 'gpuFlag', 'constraint']);
    return compact({
      queueOption: r.optional(s, p, 'queueOption', (x, q) => r.oneOf(x, q, ['partition', 'qos'] as const)) ?? 'partition',
      gpuFlag: r.optional(s, p, 'gpuFlag', r.text),
      constraint: r.optional(s, p, 'constraint', r.text),
    });
  });
  const containerRuntime = r.optional(o, path, 'containerRuntime', (v, p) => {
    const c = r.object(v, p, ['command', 'module']);
    return compact({ command: r.required(c, p, 'command', r.text), module: r.optional(c, p, 'module', r.text) });
  });
  const system: SystemEntry = compact({
    name,
    displayName: r.optional(o, path, 'displayName', r.text),
    supported: r.optional(o, path, 'supported', r.flag) ?? true,
    note: r.optional(o, path, 'note', r.text),
    batchSystem: r.optional(o, path, 'batchSystem', (v, p) => r.oneOf(v, p, BATCH_SYSTEMS)) ?? 'slurm',
    loginHost: r.optional(o, path, 'loginHost', r.text),
    loginPort: r.optional(o, path, 'loginPort', (v, p) => {
      const port = r.whole(v, p, 1);
      return port <= 65535 ? port : r.fail(p, `must be a port number (1-65535), not ${port}`);
    }),
    loginName: r.optional(o, path, 'loginName', r.text),
    defaultQueue: r.required(o, path, 'defaultQueue', r.text),
    requiresProject: r.optional(o, path, 'requiresProject', r.flag) ?? false,
    scratch: r.optional(o, path, 'scratch', r.text),
    slurm,
    containerRuntime,
    queues,
  });
  // An unsupported system may name a default that is not a listed queue
  // (AWS: any instance type, default m4.large); a usable one may not.
  if (system.supported && !queues.some((q) => q.name === system.defaultQueue)) {
    r.fail(at(path, 'defaultQueue'), `${JSON.stringify(system.defaultQueue)} is not one of the queues (${queues.map((q) => q.name).join(', ')})`);
  }
  return system;
}

/**
 * A parsed catalog file → its systems, validated. A file holds one system
 * (an object) or several (a list); `file` names it in every error.
 */
export function parseSystems(value: unknown, file: string): SystemEntry[] {
  const r = reader(file);
  const systems = Array.isArray(value) ? value.map((v, i) => readSystem(r, v, `[${i}]`)) : [readSystem(r, value, '')];
  systems.forEach((s, i) => {
    const first = systems.findIndex((other) => other.name.toLowerCase() === s.name.toLowerCase());
    if (first !== i) r.fail(Array.isArray(value) ? `[${i}].name` : 'name', `${JSON.stringify(s.name)} is listed twice`);
  });
  return systems;
}

function readSystemsFile(file: string): SystemEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HtcError('FILE_UNREADABLE', `${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HtcError('USAGE', `${file}: not valid JSON: ${(error as Error).message}`);
  }
  return parseSystems(value, file);
}

/** The user's `*.json` files in `<config>/systems`, in name order; none when the directory does not exist. */
function userFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new HtcError('FILE_UNREADABLE', `${dir}: cannot list: ${(error as Error).message}`, { cause: error });
  }
  return names.filter((n) => n.endsWith('.json')).sort().map((n) => join(dir, n));
}

/**
 * The shipped systems, then the user's: `<configDir>/systems/*.json`
 * (configDir: see `configDirectory`). A user system with a shipped name
 * replaces it where it stands; new ones follow the shipped ones.
 */
export function loadCatalog(options: { configDir?: string; env?: Env } = {}): Catalog {
  let shipped: SystemEntry[];
  try {
    shipped = readSystemsFile(SHIPPED_SYSTEMS_FILE);
  } catch (error) {
    // Not the user's to fix: the shipped file is part of the program.
    throw new HtcError('INTERNAL', `the shipped catalog is broken: ${(error as Error).message}`, { cause: error });
  }
  const systems = [...shipped];
  const sources = new Map(shipped.map((s) => [s.name.toLowerCase(), BUILT_IN]));
  const fromUser = new Map<string, string>();
  for (const file of userFiles(join(configDirectory(options.configDir, options.env), 'systems'))) {
    for (const system of readSystemsFile(file)) {
      const key = system.name.toLowerCase();
      const earlier = fromUser.get(key);
      if (earlier !== undefined) throw new HtcError('USAGE', `${file}: system ${JSON.stringify(system.name)} is also defined in ${earlier}; keep one`);
      fromUser.set(key, file);
      const index = systems.findIndex((s) => s.name.toLowerCase() === key);
      if (index === -1) systems.push(system);
      else systems[index] = system; // the user's entry replaces the shipped one
      sources.set(key, file);
    }
  }
  return { systems, sources };
}

/** The system named `name` (case-insensitive), or undefined. */
export function findSystem(catalog: Catalog, name: string): SystemEntry | undefined {
  return systemNamed(catalog.systems, name);
}

/** One line of `htc annex systems`: a queue, or one node kind of it. */
export interface CatalogRow {
  readonly system: string;
  readonly queue: string;
  /** Which requests get this kind of node ("with GPUs", "GPU type v100-32"), or null when the queue has one kind. */
  readonly nodeKind: string | null;
  readonly isDefault: boolean;
  readonly allocation: AllocationType;
  readonly maxNodes: number | null;
  readonly coresPerNode: number | null;
  readonly ramPerNodeMb: number | null;
  readonly gpusPerNode: number | null;
  readonly maxLifetimeSeconds: number | null;
  readonly projectRequired: boolean;
  readonly supported: boolean;
}

/** The catalog flattened for listing: one row per queue, or per node kind where a queue has several. */
export function catalogRows(catalog: Catalog): CatalogRow[] {
  const rows: CatalogRow[] = [];
  for (const system of catalog.systems) {
    for (const queue of system.queues) {
      const kinds: (QueueVariant | null)[] = queue.variants === undefined || queue.variants.length === 0 ? [null] : [...queue.variants];
      for (const variant of kinds) {
        const limits = queueLimits(queue, variant);
        rows.push({
          system: system.name,
          queue: queue.name,
          nodeKind: variant === null ? null : describeVariant(variant.when),
          isDefault: queue.name === system.defaultQueue,
          allocation: queue.allocation,
          maxNodes: limits.maxNodes,
          coresPerNode: limits.coresPerNode,
          ramPerNodeMb: limits.ramPerNodeMb,
          gpusPerNode: limits.gpusPerNode,
          maxLifetimeSeconds: limits.maxDurationSeconds,
          projectRequired: system.requiresProject,
          supported: system.supported,
        });
      }
    }
  }
  return rows;
}
