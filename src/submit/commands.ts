/**
 * The submit commands: each handler reads some commands and writes job ad
 * attributes with HTCondor's names, types and defaults.
 *
 * Every handler declares the commands it reads (the planner also records the
 * commands and attributes it touches while building the first proc). That
 * is what late materialization relies on: a handler whose commands do not
 * depend on per-proc macros ($(Process), $(Item), ...) runs once for the
 * cluster; the others run again for each proc, writing only that proc's
 * differences. Small handlers keep per-proc work small.
 * Handlers run in table order; Requirements comes after the resource
 * requests it refers to, and `+Attr` / `MY.Attr` come last so they override.
 *
 * Choices that differ from condor_submit's defaults, because htc's execute
 * nodes never share a file system with the access point:
 * ShouldTransferFiles defaults to YES, RequestMemory to 128 (MiB) and
 * RequestDisk to 1048576 (KiB, 1 GiB) (docs/decisions/0004).
 */
import { isAbsolute, resolve } from 'node:path';
import { ClassAdSyntaxError, childrenOf, parseExpression, Real, type Node } from '../classad/index.ts';
import { parseArguments } from './arguments.ts';
import { formatEnvironmentV2, mergeGetenv, parseEnvironment, type JobEnvironment } from './environment.ts';
import type { JobBuilder } from './job-builder.ts';
import { parseRequestCpus, parseRequestDisk, parseRequestGpus, parseRequestMemory, type RequestValue } from './units.ts';

export interface Handler {
  /** Lower-case names of the commands this handler reads. */
  readonly commands: readonly string[];
  apply(job: JobBuilder): void;
}

/** JobUniverse numbers (HTCondor's). */
export const UNIVERSE = { vanilla: 5, local: 12 } as const;
const KNOWN_UNSUPPORTED = new Set(['standard', 'pipe', 'linda', 'pvm', 'pvmd', 'scheduler', 'mpi', 'grid', 'java', 'parallel', 'vm', 'docker']);

const DEFAULT_REQUEST_MEMORY_MIB = 128;
const DEFAULT_REQUEST_DISK_KIB = 1048576;
/** The platform htc's pilots run on. */
export const TARGET_ARCH = 'X86_64';
export const TARGET_OPSYS = 'LINUX';

const IWD = ['initialdir', 'initial_dir', 'iwd', 'job_iwd'];
const REQUESTS = ['request_cpus', 'request_memory', 'request_disk', 'request_gpus'];

function universeName(job: JobBuilder): 'vanilla' | 'container' | 'local' {
  const v = job.value('universe');
  if (v === undefined) return job.value('container_image') !== undefined ? 'container' : 'vanilla';
  const name = v.toLowerCase();
  if (name === 'vanilla' || name === '5') return job.value('container_image') !== undefined ? 'container' : 'vanilla';
  if (name === 'container') return 'container';
  if (name === 'local' || name === '12') return 'local';
  if (KNOWN_UNSUPPORTED.has(name)) job.fail('universe', `the ${name} universe is not supported by htc; use vanilla, container or local`);
  return job.fail('universe', `unknown universe ${JSON.stringify(v)}; expected vanilla, container or local`);
}

function iwd(job: JobBuilder): string {
  const given = job.first(...IWD);
  return given === undefined ? job.options.cwd : resolve(job.options.cwd, given[1]);
}

/** A comma- (or space-) separated file list, as HTCondor normalizes it. */
function fileList(text: string): string {
  if (text === '""') return '';
  return text.split(/[\s,]+/).filter((x) => x !== '').join(',');
}

function requestNode(v: RequestValue, job: JobBuilder, command: string): Node {
  return v.kind === 'number' ? { kind: 'literal', value: v.value } : job.parse(v.text, command);
}

function numericLiteral(node: Node | undefined): number | undefined {
  if (node === undefined || node.kind !== 'literal') return undefined;
  const v = node.value;
  return typeof v === 'number' ? v : v instanceof Real ? v.v : undefined;
}

function optionalExpression(job: JobBuilder, command: string, attribute: string): void {
  const v = job.value(command);
  if (v !== undefined) job.setExpression(attribute, v, command);
}

function optionalString(job: JobBuilder, command: string, attribute: string): void {
  const v = job.value(command);
  if (v !== undefined) job.set(attribute, stripQuotes(v));
}

function stripQuotes(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export const HANDLERS: readonly Handler[] = [
  {
    commands: ['universe', 'container_image', 'transfer_container'],
    apply(job) {
      const universe = universeName(job);
      job.set('JobUniverse', universe === 'local' ? UNIVERSE.local : UNIVERSE.vanilla);
      const image = job.value('container_image');
      if (universe === 'container') {
        if (image === undefined) return job.fail('universe', 'container jobs need a container_image');
        if (/^(instance|library|shub):\/\//i.test(image)) return job.fail('container_image', `${image} is not a container image htc can run (expected docker://..., a .sif file or a directory)`);
        job.set('WantContainer', true);
        job.set('ContainerImage', image);
        if (/^docker:/i.test(image)) job.set('WantDockerImage', true);
        else if (image.toLowerCase().endsWith('.sif')) job.set('WantSIF', true);
        else job.set('WantSandboxImage', true);
      } else if (image !== undefined) {
        job.set('ContainerImage', image);
      }
      const transferContainer = job.boolean('transfer_container');
      if (transferContainer !== undefined) job.set('TransferContainer', transferContainer);
    },
  },
  {
    commands: [...IWD],
    apply(job) {
      job.set('Iwd', iwd(job));
    },
  },
  {
    commands: ['executable', 'transfer_executable', 'universe', 'container_image', ...IWD],
    apply(job) {
      const exe = job.value('executable');
      if (exe === undefined) {
        if (universeName(job) !== 'container') job.fail('executable', 'no executable: every job needs "executable = PROGRAM"');
        return;
      }
      const transfer = job.value('transfer_executable');
      const transferred = transfer === undefined || !/^f/i.test(transfer);
      if (!transferred) job.set('TransferExecutable', false);
      // A transferred executable is found from the submit directory; one
      // that is not stays as written (a path on the execute node).
      job.set('Cmd', transferred && !isAbsolute(exe) ? resolve(job.options.cwd, exe) : exe);
    },
  },
  {
    commands: ['arguments', 'args'],
    apply(job) {
      const given = job.first('arguments', 'args');
      if (given === undefined) return;
      try {
        const parsed = parseArguments(given[1]);
        job.set(parsed.attribute, parsed.value);
      } catch (error) {
        job.rethrow(error, given[0]);
      }
    },
  },
  {
    commands: ['environment', 'env', 'getenv'],
    apply(job) {
      const given = job.first('environment', 'env');
      let env: JobEnvironment | undefined;
      if (given !== undefined) {
        try {
          env = parseEnvironment(given[1]);
        } catch (error) {
          job.rethrow(error, given[0]);
        }
      }
      const getenv = job.value('getenv');
      if (getenv !== undefined) {
        try {
          env = mergeGetenv(env, getenv, job.options.env);
        } catch (error) {
          job.rethrow(error, 'getenv');
        }
      }
      job.set('Environment', env === undefined ? '' : formatEnvironmentV2(env.vars));
    },
  },
  ...([
    ['In', 'input', 'stdin', 'TransferIn', 'transfer_input'],
    ['Out', 'output', 'stdout', 'TransferOut', 'transfer_output'],
    ['Err', 'error', 'stderr', 'TransferErr', 'transfer_error'],
  ] as const).map(([attribute, command, alias, transferAttribute, transferCommand]): Handler => ({
    commands: [command, alias, transferCommand],
    apply(job) {
      const given = job.first(command, alias);
      if (given === undefined || given[1] === '/dev/null') {
        job.set(attribute, '/dev/null');
        job.set(transferAttribute, false);
        return;
      }
      job.set(attribute, given[1]);
      const transfer = job.boolean(transferCommand);
      if (transfer !== undefined) job.set(transferAttribute, transfer);
    },
  })),
  {
    commands: ['log', ...IWD],
    apply(job) {
      const log = job.value('log');
      if (log !== undefined) job.set('UserLog', resolve(iwd(job), log));
    },
  },
  {
    commands: ['should_transfer_files', 'when_to_transfer_output'],
    apply(job) {
      const should = (job.value('should_transfer_files') ?? 'YES').toUpperCase();
      const shouldValue = should === 'TRUE' || should === 'ALWAYS' ? 'YES' : should === 'FALSE' || should === 'NEVER' ? 'NO' : should;
      if (!['YES', 'NO', 'IF_NEEDED'].includes(shouldValue)) {
        job.fail('should_transfer_files', `invalid value ${JSON.stringify(job.value('should_transfer_files'))}: expected YES, NO or IF_NEEDED`);
      }
      job.set('ShouldTransferFiles', shouldValue);
      if (shouldValue !== 'YES' && job.options.fileSystemDomain !== undefined) job.set('FileSystemDomain', job.options.fileSystemDomain);
      if (shouldValue === 'NO') {
        if (job.value('when_to_transfer_output') !== undefined) job.fail('when_to_transfer_output', 'when_to_transfer_output is set, but should_transfer_files = NO');
        return;
      }
      const when = (job.value('when_to_transfer_output') ?? 'ON_EXIT').toUpperCase();
      if (!['ON_EXIT', 'ON_EXIT_OR_EVICT', 'ON_SUCCESS'].includes(when)) {
        job.fail('when_to_transfer_output', `invalid value ${JSON.stringify(job.value('when_to_transfer_output'))}: expected ON_EXIT, ON_EXIT_OR_EVICT or ON_SUCCESS`);
      }
      job.set('WhenToTransferOutput', when);
    },
  },
  ...([
    ['transfer_input_files', 'TransferInput'],
    ['transfer_output_files', 'TransferOutput'],
  ] as const).map(([command, attribute]): Handler => ({
    commands: [command],
    apply(job) {
      const files = job.value(command);
      if (files === undefined) return;
      if (job.literal('ShouldTransferFiles') === 'NO') job.fail(command, 'files to transfer are listed, but should_transfer_files = NO');
      job.set(attribute, fileList(files));
    },
  })),
  {
    commands: ['transfer_output_remaps'],
    apply(job) {
      const remaps = job.value('transfer_output_remaps');
      if (remaps === undefined) return;
      if (!(remaps.length >= 2 && remaps.startsWith('"') && remaps.endsWith('"'))) {
        job.fail('transfer_output_remaps', 'transfer_output_remaps must be a quoted string: "name = newname; ..."');
      }
      const body = remaps.slice(1, -1);
      // `\;` and `\=` escape the separators inside names (HTCondor's remap syntax).
      for (const [i, pair] of body.split(/(?<!\\);/).entries()) {
        if (pair.trim() !== '' && !/(?<!\\)=/.test(pair)) job.fail('transfer_output_remaps', `remap ${i + 1} (${pair.trim()}) is not "name = newname"`, 1 + body.indexOf(pair));
      }
      job.set('TransferOutputRemaps', body);
    },
  },
  {
    commands: REQUESTS,
    apply(job) {
      const requests: [string, string, (v: string) => RequestValue, number | undefined][] = [
        ['request_cpus', 'RequestCpus', parseRequestCpus, 1],
        ['request_memory', 'RequestMemory', parseRequestMemory, DEFAULT_REQUEST_MEMORY_MIB],
        ['request_disk', 'RequestDisk', parseRequestDisk, DEFAULT_REQUEST_DISK_KIB],
        ['request_gpus', 'RequestGPUs', parseRequestGpus, undefined],
      ];
      for (const [command, attribute, parse, fallback] of requests) {
        const v = job.value(command);
        if (v === undefined || v.toLowerCase() === 'undefined') {
          if (fallback !== undefined && v === undefined) job.set(attribute, fallback);
          continue;
        }
        let parsed: RequestValue;
        try {
          parsed = parse(v);
        } catch (error) {
          return job.rethrow(error, command);
        }
        job.setNode(attribute, requestNode(parsed, job, command));
      }
    },
  },
  {
    commands: ['rank'],
    apply(job) {
      const rank = job.value('rank');
      if (rank === undefined) job.set('Rank', new Real(0));
      else job.setExpression('Rank', rank, 'rank');
    },
  },
  {
    commands: ['hold'],
    apply(job) {
      if (job.boolean('hold') === true) {
        job.set('JobStatus', 5);
        job.set('HoldReason', "submitted on hold at user's request");
        job.set('HoldReasonCode', 15);
      } else {
        job.set('JobStatus', 1);
      }
      job.set('EnteredCurrentStatus', job.options.now);
    },
  },
  {
    commands: ['leave_in_queue', 'on_exit_remove', 'on_exit_hold', 'on_exit_hold_reason', 'on_exit_hold_subcode', 'periodic_hold', 'periodic_hold_reason', 'periodic_hold_subcode', 'periodic_release', 'periodic_remove', 'max_retries', 'success_exit_code', 'retry_until'],
    apply(job) {
      const expr = (command: string, attribute: string, fallback: string): void => {
        job.setExpression(attribute, job.value(command) ?? fallback, command);
      };
      expr('leave_in_queue', 'LeaveJobInQueue', 'false');
      expr('on_exit_hold', 'OnExitHold', 'false');
      expr('periodic_hold', 'PeriodicHold', 'false');
      expr('periodic_release', 'PeriodicRelease', 'false');
      expr('periodic_remove', 'PeriodicRemove', 'false');
      optionalExpression(job, 'on_exit_hold_reason', 'OnExitHoldReason');
      optionalExpression(job, 'on_exit_hold_subcode', 'OnExitHoldSubCode');
      optionalExpression(job, 'periodic_hold_reason', 'PeriodicHoldReason');
      optionalExpression(job, 'periodic_hold_subcode', 'PeriodicHoldSubCode');
      const retries = job.integer('max_retries', 0);
      const success = job.integer('success_exit_code');
      const until = job.value('retry_until');
      if (retries === undefined && success === undefined && until === undefined) {
        expr('on_exit_remove', 'OnExitRemove', 'true');
        return;
      }
      // HTCondor's retry policy: remove once retries are spent or the job succeeded.
      job.set('JobMaxRetries', retries ?? 2);
      if (success !== undefined) job.set('JobSuccessExitCode', success);
      let policy = `NumJobCompletions > JobMaxRetries || ExitCode =?= ${success ?? 0}`;
      if (until !== undefined) {
        policy += /^-?\d+$/.test(until.trim()) ? ` || ExitCode =?= ${until.trim()}` : ` || (${until})`;
      }
      const own = job.value('on_exit_remove');
      if (own !== undefined) policy += ` || (${own})`;
      job.setExpression('OnExitRemove', policy, own !== undefined ? 'on_exit_remove' : until !== undefined ? 'retry_until' : 'max_retries');
    },
  },
  {
    commands: ['job_batch_name', 'batch_name', 'notification', 'notify_user', 'priority', 'prio', 'accounting_group', 'accounting_group_user', 'max_materialize', 'max_idle', 'materialize_max_idle', 'description'],
    apply(job) {
      const batch = job.first('batch_name', 'job_batch_name');
      if (batch !== undefined) job.set('JobBatchName', stripQuotes(batch[1]));
      const notification = (job.value('notification') ?? 'never').toLowerCase();
      const codes: Record<string, number> = { never: 0, always: 1, complete: 2, error: 3 };
      if (codes[notification] === undefined) job.fail('notification', 'notification must be Never, Always, Complete or Error');
      job.set('JobNotification', codes[notification]!);
      optionalString(job, 'notify_user', 'NotifyUser');
      const prio = job.first('priority', 'prio');
      job.set('JobPrio', prio === undefined ? 0 : job.integer(prio[0])!);
      const group = job.value('accounting_group');
      const groupUser = job.value('accounting_group_user');
      if (group !== undefined || groupUser !== undefined) {
        for (const [command, v] of [['accounting_group', group], ['accounting_group_user', groupUser]] as const) {
          if (v !== undefined && !/^[A-Za-z0-9_.@-]+$/.test(v)) job.fail(command, `invalid ${command}: ${v} (letters, digits, _ . @ - only)`);
        }
        const user = groupUser ?? job.options.owner;
        if (group !== undefined) job.set('AcctGroup', group);
        job.set('AcctGroupUser', user);
        job.set('AccountingGroup', group === undefined ? user : `${group}.${user}`);
      }
      const limit = job.integer('max_materialize', 1);
      if (limit !== undefined) job.set('JobMaterializeLimit', limit);
      const idle = job.first('max_idle', 'materialize_max_idle');
      if (idle !== undefined) job.set('JobMaterializeMaxIdle', job.integer(idle[0], 1)!);
      optionalString(job, 'description', 'JobDescription');
    },
  },
  {
    // How long the job may run once started (seconds): the pilot ends it past
    // this, and the matchmaker keeps it off slots that end sooner.
    commands: ['allowed_job_duration'],
    apply(job) {
      const seconds = job.integer('allowed_job_duration', 1);
      if (seconds !== undefined) job.set('AllowedJobDuration', seconds);
    },
  },
  {
    // The resource requests and ShouldTransferFiles it reads are attributes:
    // the planner sees those reads, so they need not be listed here.
    commands: ['requirements', 'universe', 'container_image', 'my.requirements'],
    apply(job) {
      if (job.value('my.requirements') !== undefined) {
        if (job.value('requirements') !== undefined) job.warn('requirements', 'MY.Requirements (or +Requirements) overrides requirements: remove one of them');
        return; // the custom attribute handler sets it verbatim
      }
      job.setExpression('Requirements', buildRequirements(job), 'requirements');
    },
  },
];

/** Attribute names referenced by an expression text (for "does the user already check Disk?"). */
function referencesTarget(text: string, names: readonly string[]): boolean {
  let node: Node;
  try {
    node = parseExpression(text);
  } catch (error) {
    if (error instanceof ClassAdSyntaxError) return false;
    throw error;
  }
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const stack: Node[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if ((n.kind === 'attr' || n.kind === 'select') && wanted.has(n.name.toLowerCase())) return true;
    stack.push(...childrenOf(n));
  }
  return false;
}

/**
 * condor_submit's Requirements: the user's `requirements` in parentheses,
 * then the clauses it does not already cover, in HTCondor's order.
 */
function buildRequirements(job: JobBuilder): string {
  const user = job.value('requirements');
  const clauses: string[] = user === undefined ? [] : [`(${user})`];
  if (user !== undefined) job.parse(user, 'requirements'); // a clear error at the user's text, not the combined one
  const checks = (...names: string[]): boolean => user !== undefined && referencesTarget(user, names);
  const universe = universeName(job);
  if (universe === 'container') {
    clauses.push('TARGET.HasContainer');
    const image = job.value('container_image') ?? '';
    clauses.push(/^docker:/i.test(image) ? 'TARGET.HasDockerURL' : image.toLowerCase().endsWith('.sif') ? 'TARGET.HasSIF' : 'TARGET.HasSandboxImage');
  } else {
    if (!checks('Arch')) clauses.push(`(TARGET.Arch == "${TARGET_ARCH}")`);
    if (!checks('OpSys', 'OpSysAndVer', 'OpSysLongName', 'OpSysShortName', 'OpSysName')) clauses.push(`(TARGET.OpSys == "${TARGET_OPSYS}")`);
  }
  if (job.get('RequestDisk') !== undefined) {
    const disk = numericLiteral(job.get('RequestDisk'));
    if (disk === undefined || disk > 0) clauses.push('(TARGET.Disk >= RequestDisk)');
  }
  const memory = numericLiteral(job.get('RequestMemory'));
  if (job.get('RequestMemory') !== undefined && (memory === undefined || memory > 1)) clauses.push('(TARGET.Memory >= RequestMemory)');
  const cpus = numericLiteral(job.get('RequestCpus'));
  if (!checks('Cpus') && job.get('RequestCpus') !== undefined && (cpus === undefined || cpus > 1)) clauses.push('(TARGET.Cpus >= RequestCpus)');
  const gpus = numericLiteral(job.get('RequestGPUs'));
  if (!checks('GPUs') && job.get('RequestGPUs') !== undefined && (gpus === undefined || gpus > 0)) clauses.push('(TARGET.GPUs >= RequestGPUs)');
  if (universe !== 'local') {
    const should = job.literal('ShouldTransferFiles');
    if (should === 'NO') {
      if (!checks('FileSystemDomain')) clauses.push('(TARGET.FileSystemDomain == MY.FileSystemDomain)');
    } else if (!checks('HasFileTransfer')) {
      clauses.push(should === 'IF_NEEDED' ? '((TARGET.FileSystemDomain == MY.FileSystemDomain) || (TARGET.HasFileTransfer))' : '(TARGET.HasFileTransfer)');
    }
  }
  return clauses.join(' && ');
}

/** Every command some handler reads (lower case), for the unused-line warning. */
export const KNOWN_COMMANDS: ReadonlySet<string> = new Set([...HANDLERS.flatMap((h) => h.commands), 'queue']);
