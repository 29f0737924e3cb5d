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
import { JobBuilder, type CommandValues, type JobOptions } from './job-builder.ts';
import { expand, type ExpandContext, type MacroLookup } from './macros.ts';
import { parseQueueStatement, splitItem, type QueueSpec } from './queue.ts';
import { MacroTable, readSubmitDescription, type QueueStatement } from './source.ts';
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
    const context: ExpandContext = { env: options.env, random: options.random ?? Math.random };
    const table = new MacroTable();
    for (const [name, value] of options.predefined ?? []) table.define({ name, value, site: { file, line: 0, column: 1 }, text: `${name} = ${value}` });
    const groups: QueueGroup[] = [];
    let nextProc = 0;
    const onQueue = (statement: QueueStatement, current: MacroTable): void => {
      if (statement.site.file !== file) throw new SubmitError('a queue statement is not allowed in an included file', statement.site);
      const snapshot = current.snapshot();
      let text: string;
      try {
        text = expand(statement.text, snapshot, context).text;
      } catch (error) {
        if (error instanceof ValueError) throw atValue(error, statement.site, 'queue');
        throw error;
      }
      const spec = parseQueueStatement(text, statement.site, { files, submitFile: file });
      const procCount = spec.count * (spec.items?.length ?? 1);
      groups.push({ table: snapshot, spec, site: statement.site, firstProc: nextProc, procCount });
      nextProc += procCount;
    };
    readSubmitDescription(text, file, table, { files, context, onQueue });
    if (groups.length === 0) throw new SubmitError('no queue statement: nothing would be submitted (add "queue")', { file, line: text.split('\n').length, column: 1 });
    const warnings: SubmitWarning[] = [];
    const description = new SubmitDescription(file, groups, warnings, options, context);
    // Build each group's first proc now: mistakes surface before anything is queued.
    const used = new Set<string>();
    for (const group of groups) {
      if (group.procCount > 0) description.plan(group, 1, used, warnings);
    }
    warnUnused(table, groups, used, warnings);
    return description;
  }

  /** The cluster this description makes, as cluster `clusterId`. */
  materialize(clusterId: number): ClusterFactory {
    const plans = this.groups.map((g) => (g.procCount > 0 ? this.plan(g, clusterId, new Set(), []) : undefined));
    const first = plans.find((p) => p !== undefined);
    if (first === undefined) {
      const empty = new ClassAd();
      return { clusterId, clusterAd: empty, procCount: 0, procDiff: () => new ClassAd(), procAd: () => empty.copy() };
    }
    const clusterAd = first.full.copy();
    // Static attributes of later groups that differ from the cluster ad go into each of their procs.
    const groupDiffs = plans.map((p) => {
      const diff = new ClassAd();
      if (p === undefined || p === first) return diff;
      for (const [name, node] of p.full.entries()) {
        if (p.dynamicAttributes.has(name.toLowerCase())) continue;
        const base = clusterAd.get(name);
        if (base === undefined || unparse(base) !== unparse(node)) diff.set(name, node);
      }
      return diff;
    });
    const groups = this.groups;
    const procCount = this.procCount;
    const procDiff = (procId: number): ClassAd => {
      if (!Number.isInteger(procId) || procId < 0 || procId >= procCount) throw new RangeError(`proc ${procId} is outside 0..${procCount - 1}`);
      let g = 0;
      while (procId >= groups[g]!.firstProc + groups[g]!.procCount) g++;
      const diff = groupDiffs[g]!.copy();
      plans[g]!.buildProc(procId, clusterAd, diff);
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
   * Works out, for one queue group, which handlers depend on per-proc
   * macros, and builds the group's first proc in full.
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
    const isDynamic = (h: Handler): boolean => h.commands.some((c) => dynamicCommands.has(c));
    const dynamicHandlers = handlers.filter(isDynamic);
    const full = new ClassAd();
    this.baseAttributes(full, clusterId);
    const builder = new JobBuilder(this.commandValues(group, firstMacros, used), this.options, null, full, warnings);
    for (const h of handlers) h.apply(builder);
    // Which attributes the dynamic handlers write: build proc 0's differences once to find out.
    const probe = new ClassAd();
    const probeBuilder = new JobBuilder(this.commandValues(group, firstMacros, new Set()), this.options, full, probe, []);
    for (const h of dynamicHandlers) h.apply(probeBuilder);
    const dynamicAttributes = new Set(probe.names().map((n) => n.toLowerCase()));
    const buildProc = (procId: number, clusterAd: ClassAd, out: ClassAd): void => {
      if (dynamicHandlers.length === 0) return;
      const macros = this.procMacros(group, clusterId, procId);
      const b = new JobBuilder(this.commandValues(group, macros, undefined), this.options, clusterAd, out, []);
      for (const h of dynamicHandlers) h.apply(b);
    };
    return { full, dynamicAttributes, buildProc };
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
      ['itemindex', String(spec.itemIndex(item))],
      ['row', String(spec.itemIndex(item))],
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
      // A command that is not given is missing from the job its queue statement makes.
      site: (command) => table.definition(command)?.site ?? group.site,
    };
  }
}

interface GroupPlan {
  /** The group's first proc, whole. */
  readonly full: ClassAd;
  /** Attributes written by handlers that depend on per-proc macros (lower case). */
  readonly dynamicAttributes: ReadonlySet<string>;
  /** Writes proc `procId`'s dynamic attributes into `out`. */
  readonly buildProc: (procId: number, clusterAd: ClassAd, out: ClassAd) => void;
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

/** condor_submit's warning for lines nothing used (a misspelt command, usually). */
function warnUnused(table: MacroTable, groups: readonly QueueGroup[], used: ReadonlySet<string>, warnings: SubmitWarning[]): void {
  const queueVars = new Set(groups.flatMap((g) => g.spec.vars.map((v) => v.toLowerCase())));
  for (const [key, def] of table.entries()) {
    if (key.includes('.') || KNOWN_COMMANDS.has(key) || used.has(key) || queueVars.has(key) || def.site.line === 0) continue;
    warnings.push({
      message: `the line '${def.text}' was unused by htc. Is it a typo?`,
      position: { ...(def.site.file === undefined ? {} : { file: def.site.file }), line: def.site.line, column: 1 },
    });
  }
}
