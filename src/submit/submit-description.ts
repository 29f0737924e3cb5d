/**
 * A submit description compiled: its queue groups, and late materialization
 * of the cluster they make.
 *
 * `compileSubmitDescription` reads the file (definitions, includes,
 * conditionals, queue statements) and checks it by building the first proc
 * of every queue statement, so mistakes are reported before anything is
 * queued. `materialize(clusterId)` then gives the cluster ad, built once,
 * and a factory that yields each proc's differences on demand: a handler
 * whose commands do not use a per-proc macro ($(Process), $(Item), ...)
 * contributes to the cluster ad only, so `queue 1000000` creates no million
 * ads until someone asks for them, and each one asked for is small.
 *
 * Invariants: proc numbers run 0..procCount-1 across all queue statements
 * of one file (one cluster per file, as condor_submit makes); for each item,
 * `count` procs are made in a row ($(Step) 0..count-1).
 */
import { ClassAd, Real, unparse } from '../classad/index.ts';
import { HANDLERS, KNOWN_COMMANDS, type Handler } from './commands.ts';
import { localFiles, type SubmitFiles } from './files.ts';
import { JobBuilder, type AccessLog, type CommandValues, type JobOptions } from './job-builder.ts';
import { expand, type ExpandContext, type MacroLookup } from './macros.ts';
import { parseQueueStatement, splitItem, type QueueSpec } from './queue.ts';
import { MacroTable, readSubmitDescription, type Definition, type QueueStatement } from './source.ts';
import { SubmitError, ValueError, atValue, type SubmitWarning, type ValueSite } from './submit-error.ts';

export interface SubmitOptions extends JobOptions {
  readonly files?: SubmitFiles;
  /** Random numbers for $RANDOM_INTEGER and friends; Math.random by default. */
  readonly random?: () => number;
  /** Definitions made before the file is read (jobset variables, command-line overrides). */
  readonly predefined?: ReadonlyMap<string, string>;
}

/** One queue statement with the definitions in force at it. */
export interface QueueGroup {
  readonly table: MacroTable;
  readonly spec: QueueSpec;
  readonly site: ValueSite;
  /** ProcId of the group's first proc. */
  readonly firstProc: number;
  readonly procCount: number;
}

/** Names whose value changes from proc to proc (lower case); queue variables are added per group. */
const LIVE_NAMES = ['process', 'procid', 'step', 'itemindex', 'row', 'jobid', 'node'];

/** The cluster ad and, on demand, each proc's differences from it. */
export interface ClusterFactory {
  readonly clusterId: number;
  readonly clusterAd: ClassAd;
  readonly procCount: number;
  /** Proc `procId`'s attributes that differ from the cluster ad (always ProcId). */
  procDiff(procId: number): ClassAd;
  /** Proc `procId`'s whole ad: the cluster ad with its differences applied. */
  procAd(procId: number): ClassAd;
}

export class SubmitDescription {
  private constructor(
    readonly file: string,
    readonly groups: readonly QueueGroup[],
    readonly warnings: readonly SubmitWarning[],
    private readonly options: SubmitOptions,
    private readonly context: ExpandContext,
  ) {}

  get procCount(): number {
    return this.groups.reduce((n, g) => n + g.procCount, 0);
  }

  static compile(text: string, file: string, options: SubmitOptions): SubmitDescription {
    const files = options.files ?? localFiles;
    const context: ExpandContext = { env: options.env, random: options.random ?? Math.random, cwd: options.cwd };
    const table = new MacroTable();
    for (const [name, value] of options.predefined ?? []) table.define({ name, value, site: { file, line: 0, column: 1 }, text: `${name} = ${value}` });
    const groups: QueueGroup[] = [];
    const used = new Set<string>();
    let nextProc = 0;
    const onQueue = (statement: QueueStatement, current: MacroTable): void => {
      if (statement.site.file !== file) throw new SubmitError('a queue statement is not allowed in an included file', statement.site);
      const snapshot = current.snapshot();
      let text: string;
      try {
        const e = expand(statement.text, snapshot, context);
        for (const name of e.used) used.add(name);
        text = e.text;
      } catch (error) {
        if (error instanceof ValueError) throw atValue(error, statement.site, 'queue');
        throw error;
      }
      const spec = parseQueueStatement(text, statement.site, { files, submitFile: file });
      const procCount = spec.count * (spec.items?.length ?? 1);
      groups.push({ table: snapshot, spec, site: statement.site, firstProc: nextProc, procCount });
      nextProc += procCount;
    };
    readSubmitDescription(text, file, table, { files, context, onQueue, used });
    if (groups.length === 0) throw new SubmitError('no queue statement: nothing would be submitted (add "queue")', { file, line: text.split('\n').length, column: 1 });
    const warnings: SubmitWarning[] = [];
    const description = new SubmitDescription(file, groups, warnings, options, context);
    // Build each group's first proc now: mistakes surface before anything is queued.
    for (const group of groups) {
      if (group.procCount > 0) description.plan(group, 1, used, warnings);
    }
    warnUnused(table, groups, used, warnings);
    return description;
  }

  /**
   * The description as text the queue can keep and `fromFactory` can turn
   * back into the same description later (after a restart), without reading
   * any file again: definitions, items and the submit's options. The
   * submitter's environment is kept only when a definition reads it
   * ($ENV or getenv).
   */
  toFactory(): string {
    const o = this.options;
    const groups = this.groups.map((g) => ({
      table: [...g.table.entries()].map(([, d]) => d),
      spec: { count: g.spec.count, vars: g.spec.vars, items: g.spec.items ?? null, indexes: g.spec.indexes ?? null, splitFields: g.spec.splitFields },
      site: g.site,
      firstProc: g.firstProc,
      procCount: g.procCount,
    }));
    const needsEnv = groups.some((g) => g.table.some((d) => d.value.includes('$ENV(') || d.name.toLowerCase() === 'getenv'));
    return JSON.stringify({
      version: 1,
      file: this.file,
      options: { owner: o.owner, now: o.now, cwd: o.cwd, annexName: o.annexName ?? null, env: needsEnv ? o.env : {} },
      groups,
    });
  }

  /** A description from `toFactory` text. Throws SubmitError if the text is not one. */
  static fromFactory(text: string, overrides: Partial<SubmitOptions> = {}): SubmitDescription {
    let data: FactoryData;
    try {
      data = JSON.parse(text) as FactoryData;
    } catch {
      throw new SubmitError('the stored submit factory is not valid JSON', undefined);
    }
    if (data.version !== 1) throw new SubmitError(`the stored submit factory has version ${String(data.version)}; this htc reads version 1`, undefined);
    const options: SubmitOptions = {
      owner: data.options.owner,
      now: data.options.now,
      cwd: data.options.cwd,
      env: data.options.env,
      ...(data.options.annexName === null ? {} : { annexName: data.options.annexName }),
      ...overrides,
    };
    const context: ExpandContext = { env: options.env, random: options.random ?? Math.random, cwd: options.cwd };
    const groups: QueueGroup[] = data.groups.map((g) => ({
      table: new MacroTable(g.table.map((d) => [d.name.toLowerCase(), d] as const)),
      spec: { count: g.spec.count, vars: g.spec.vars, items: g.spec.items ?? undefined, indexes: g.spec.indexes ?? undefined, splitFields: g.spec.splitFields },
      site: g.site,
      firstProc: g.firstProc,
      procCount: g.procCount,
    }));
    return new SubmitDescription(data.file, groups, [], options, context);
  }

  /**
   * The cluster this description makes, as cluster `clusterId`.
   *
   * The cluster ad holds what every proc shares: attributes of static
   * handlers with the same value in every queue group. A proc's differences
   * are its group's other static attributes plus what its dynamic handlers
   * write for it, so an attribute a dynamic handler writes for one proc and
   * not another (HoldReason when `hold = $(h)`) is never inherited.
   */
  materialize(clusterId: number): ClusterFactory {
    const plans = this.groups.map((g) => (g.procCount > 0 ? this.plan(g, clusterId, new Set(), []) : undefined));
    const present = plans.filter((p): p is GroupPlan => p !== undefined);
    const clusterAd = new ClassAd();
    if (present.length > 0) {
      for (const [name, node] of present[0]!.staticAd.entries()) {
        const text = unparse(node);
        if (present.every((p) => { const other = p.staticAd.get(name); return other !== undefined && unparse(other) === text; })) clusterAd.set(name, node);
      }
    }
    const groupDiffs = plans.map((p) => {
      const diff = new ClassAd();
      if (p === undefined) return diff;
      for (const [name, node] of p.staticAd.entries()) if (!clusterAd.has(name)) diff.set(name, node);
      return diff;
    });
    const groups = this.groups;
    const procCount = this.procCount;
    const procDiff = (procId: number): ClassAd => {
      if (!Number.isInteger(procId) || procId < 0 || procId >= procCount) throw new RangeError(`proc ${procId} is outside 0..${procCount - 1}`);
      let g = 0;
      while (procId >= groups[g]!.firstProc + groups[g]!.procCount) g++;
      const diff = groupDiffs[g]!.copy();
      plans[g]!.buildProc(procId, diff);
      diff.setValue('ProcId', procId);
      return diff;
    };
    return {
      clusterId,
      clusterAd,
      procCount,
      procDiff,
      procAd: (procId) => clusterAd.copy().update(procDiff(procId)),
    };
  }

  /**
   * Proc `procId`'s whole ad built from scratch, every handler run for it:
   * what `materialize(...).procAd` must equal. The reference for tests of
   * the static/dynamic split, and the naive baseline of the benchmark.
   */
  referenceProcAd(clusterId: number, procId: number): ClassAd {
    const group = this.groups.find((g) => procId >= g.firstProc && procId < g.firstProc + g.procCount);
    if (group === undefined) throw new RangeError(`proc ${procId} is outside 0..${this.procCount - 1}`);
    const ad = new ClassAd();
    this.baseAttributes(ad, clusterId);
    const builder = new JobBuilder(this.commandValues(group, this.procMacros(group, clusterId, procId), undefined), this.options, null, ad, []);
    for (const h of [...HANDLERS, ...customAttributeHandlers(group.table)]) h.apply(builder);
    ad.setValue('ProcId', procId);
    return ad;
  }

  /**
   * Splits one queue group's handlers into static (run once) and dynamic
   * (run per proc), and builds the group's static attributes.
   *
   * A handler is dynamic when a command it reads (declared, or seen read in
   * the first proc's build) uses a per-proc macro, or when it reads or
   * writes an attribute a dynamic handler writes (so `+Args` still
   * overrides `arguments = $(Process)`, and Requirements follows a per-proc
   * RequestMemory). Repeated until nothing changes.
   */
  private plan(group: QueueGroup, clusterId: number, used: Set<string>, warnings: SubmitWarning[]): GroupPlan {
    const live = new Set([...LIVE_NAMES, ...group.spec.vars.map((v) => v.toLowerCase())]);
    const dynamicCommands = new Set<string>();
    const firstMacros = this.procMacros(group, clusterId, group.firstProc);
    for (const [key, def] of group.table.entries()) {
      let expansion;
      try {
        expansion = expand(def.value, firstMacros, this.context);
      } catch (error) {
        if (error instanceof ValueError) throw atValue(error, def.site, def.name);
        throw error;
      }
      for (const name of expansion.used) used.add(name);
      if (expansion.random || [...expansion.used].some((n) => live.has(n))) dynamicCommands.add(key);
    }
    const handlers = [...HANDLERS, ...customAttributeHandlers(group.table)];
    // The first proc, built whole, recording what each handler touches.
    const full = new ClassAd();
    this.baseAttributes(full, clusterId);
    const touched = handlers.map((h) => ({ commands: new Set(h.commands), reads: new Set<string>(), writes: new Set<string>() }));
    let current = touched[0]!;
    const log: AccessLog = {
      command: (name) => current.commands.add(name),
      read: (name) => current.reads.add(name),
      write: (name) => current.writes.add(name),
    };
    const builder = new JobBuilder(this.commandValues(group, firstMacros, used), this.options, null, full, warnings, log);
    handlers.forEach((h, i) => {
      current = touched[i]!;
      h.apply(builder);
    });
    const dynamic = touched.map((t) => [...t.commands].some((c) => dynamicCommands.has(c)));
    for (let changed = true; changed;) {
      changed = false;
      const dynamicWrites = new Set(touched.flatMap((t, i) => (dynamic[i] ? [...t.writes] : [])));
      touched.forEach((t, i) => {
        if (!dynamic[i] && [...t.reads, ...t.writes].some((a) => dynamicWrites.has(a))) {
          dynamic[i] = true;
          changed = true;
        }
      });
    }
    const dynamicHandlers = handlers.filter((_, i) => dynamic[i]);
    const dynamicAttributes = new Set(touched.flatMap((t, i) => (dynamic[i] ? [...t.writes] : [])));
    const staticAd = new ClassAd(full.entries().filter(([name]) => !dynamicAttributes.has(name.toLowerCase())));
    const buildProc = (procId: number, out: ClassAd): void => {
      if (dynamicHandlers.length === 0) return;
      const macros = this.procMacros(group, clusterId, procId);
      const b = new JobBuilder(this.commandValues(group, macros, undefined), this.options, staticAd, out, []);
      for (const h of dynamicHandlers) h.apply(b);
    };
    return { staticAd, buildProc };
  }

  /** The attributes every job starts with (condor_submit's base ad). */
  private baseAttributes(ad: ClassAd, clusterId: number): void {
    const o = this.options;
    ad.setValue('MyType', 'Job').setValue('TargetType', 'Machine');
    ad.setValue('ClusterId', clusterId).setValue('QDate', o.now).setValue('Owner', o.owner);
    for (const name of ['RemoteWallClockTime', 'RemoteUserCpu', 'RemoteSysCpu', 'CumulativeRemoteUserCpu', 'CumulativeRemoteSysCpu']) ad.setValue(name, new Real(0));
    for (const name of ['ExitStatus', 'NumCkpts', 'NumJobStarts', 'NumJobCompletions', 'NumRestarts', 'NumSystemHolds', 'CommittedTime', 'CommittedSlotTime', 'CumulativeSlotTime', 'TotalSuspensions', 'LastSuspensionTime', 'CumulativeSuspensionTime', 'CommittedSuspensionTime', 'CurrentHosts']) ad.setValue(name, 0);
    ad.setValue('ExitBySignal', false).setValue('MinHosts', 1).setValue('MaxHosts', 1);
    if (o.annexName !== undefined) ad.setValue('TargetAnnexName', o.annexName);
  }

  /** Macro values for one proc: its live values over the group's definitions and the predefined ones. */
  private procMacros(group: QueueGroup, clusterId: number, procId: number): MacroLookup {
    const offset = procId - group.firstProc;
    const spec = group.spec;
    const item = spec.items === undefined ? 0 : Math.floor(offset / spec.count);
    const live = new Map<string, string>([
      ['cluster', String(clusterId)],
      ['clusterid', String(clusterId)],
      ['process', String(procId)],
      ['procid', String(procId)],
      ['step', String(spec.items === undefined ? offset : offset % spec.count)],
      ['itemindex', String(spec.indexes?.[item] ?? item)],
      ['row', String(spec.indexes?.[item] ?? item)],
      ['jobid', `${clusterId}.${procId}`],
    ]);
    if (spec.items !== undefined) {
      const fields = spec.splitFields ? splitItem(spec.items[item]!, spec.vars.length) : [spec.items[item]!];
      spec.vars.forEach((v, i) => live.set(v.toLowerCase(), fields[i] ?? ''));
    }
    const predefined = this.predefinedMacros;
    return {
      get: (name) => {
        const key = name.toLowerCase();
        return live.get(key) ?? group.table.get(name) ?? predefined.get(key);
      },
    };
  }

  private predefinedCache: Map<string, string> | undefined;
  private get predefinedMacros(): Map<string, string> {
    if (this.predefinedCache !== undefined) return this.predefinedCache;
    const d = new Date(this.options.now * 1000);
    const pad = (n: number): string => String(n).padStart(2, '0');
    this.predefinedCache = new Map([
      ['submit_file', this.file],
      ['submit_time', String(this.options.now)],
      ['year', String(d.getFullYear())],
      ['month', pad(d.getMonth() + 1)],
      ['day', pad(d.getDate())],
      ['arch', 'X86_64'],
      ['opsys', 'LINUX'],
      ['islinux', '1'],
      ['iswindows', '0'],
      ['node', ''],
      ['request_cpus', '$(RequestCpus)'],
      ['request_memory', '$(RequestMemory)'],
    ]);
    return this.predefinedCache;
  }

  /** Expanded command values for one build, each expanded at most once. */
  private commandValues(group: QueueGroup, macros: MacroLookup, used: Set<string> | undefined): CommandValues {
    const table = group.table;
    const cache = new Map<string, string | undefined>();
    const context = this.context;
    return {
      value(command) {
        const key = command.toLowerCase();
        if (cache.has(key)) return cache.get(key);
        const def = table.definition(key);
        let value: string | undefined;
        if (def !== undefined) {
          try {
            const e = expand(def.value, macros, context);
            if (used !== undefined) for (const n of e.used) used.add(n);
            value = e.text.trim() === '' ? undefined : e.text.trim();
          } catch (error) {
            if (error instanceof ValueError) throw atValue(error, def.site, def.name);
            throw error;
          }
        }
        cache.set(key, value);
        return value;
      },
      expanded: (command) => table.get(command)?.includes('$') ?? false,
      // A command that is not given is missing from the job its queue statement makes.
      site: (command) => table.definition(command)?.site ?? group.site,
    };
  }
}

/** The shape of `toFactory` text. */
interface FactoryData {
  readonly version: number;
  readonly file: string;
  readonly options: { owner: string; now: number; cwd: string; annexName: string | null; env: Record<string, string | undefined> };
  readonly groups: {
    table: Definition[];
    spec: { count: number; vars: string[]; items: string[] | null; indexes: number[] | null; splitFields: boolean };
    site: ValueSite;
    firstProc: number;
    procCount: number;
  }[];
}

interface GroupPlan {
  /** The group's attributes that are the same for all its procs. */
  readonly staticAd: ClassAd;
  /** Writes proc `procId`'s dynamic attributes into `out`. */
  readonly buildProc: (procId: number, out: ClassAd) => void;
}

/** `+Attr` / `MY.Attr`: each a handler of its own, run after the built-in commands. */
function customAttributeHandlers(table: MacroTable): Handler[] {
  const handlers: Handler[] = [];
  for (const [key, def] of table.entries()) {
    if (!key.startsWith('my.')) continue;
    const attribute = def.name.slice(3);
    handlers.push({
      commands: [key],
      apply(job) {
        const v = job.value(key);
        job.setExpression(attribute, v ?? 'undefined', def.name);
      },
    });
  }
  return handlers;
}

/**
 * condor_submit's warnings for lines nothing used (a misspelt command,
 * usually), for queue variables nothing uses, and for commands written after
 * the last queue statement (they apply to no job).
 */
function warnUnused(table: MacroTable, groups: readonly QueueGroup[], used: ReadonlySet<string>, warnings: SubmitWarning[]): void {
  const at = (site: ValueSite): SubmitWarning['position'] => ({ ...(site.file === undefined ? {} : { file: site.file }), line: site.line, column: 1 });
  const last = groups.at(-1)!;
  for (const [key, def] of table.entries()) {
    if (def.site.line === 0 || key.includes('.')) continue;
    if (last.table.definition(key) !== def) {
      warnings.push({ message: `the line '${def.text}' comes after the last queue statement, so no job uses it`, position: at(def.site) });
    } else if (!KNOWN_COMMANDS.has(key) && !used.has(key)) {
      warnings.push({ message: `the line '${def.text}' was unused by htc. Is it a typo?`, position: at(def.site) });
    }
  }
  for (const group of groups) {
    if (group.spec.items === undefined) continue;
    for (const v of group.spec.vars) {
      if (!used.has(v.toLowerCase())) warnings.push({ message: `the Queue variable '${v}' was unused by htc. Is it a typo?`, position: at(group.site) });
    }
  }
}
