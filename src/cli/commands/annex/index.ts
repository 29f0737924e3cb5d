/**
 * `htc annex create | add | status | shutdown | systems`: annexes, the
 * pilots that run your jobs on resources you hold. `create NAME
 * QUEUE@SYSTEM` validates the request against the queue's limits before
 * anything starts, asks the access point for the request record and its
 * annex token, then starts the pilots on the system (`local`: processes on
 * this machine). `shutdown` ends the pilots and checks that none is left.
 */
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { launchLocalPilots, launchRecords, livePilots, localScratch, reapLocalPilots } from '../../../annex/local-system.ts';
import { createOnSlurm, dryRun, finishSlurmShutdown, loginTarget, prepareSlurmShutdown, slurmStatus, type LoginOptions, type SlurmCreate, type SlurmView } from '../../../annex/slurm-front-end.ts';
import { copyProgress, sshDirectory, withLoginOptions } from './login-options.ts';
import { canPrompt, SshSession } from '../../../annex/ssh-session.ts';
import { catalogRows, findSystem, loadCatalog } from '../../../annex/catalog.ts';
import { planRequest } from '../../../annex/systems.ts';
import { HtcError } from '../../../errors.ts';
import type { AnnexRequestStatus, AnnexStatus } from '../../../protocol/annex.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import { registerNoun, type CliContext, type Register } from '../../command.ts';
import { createOutput, withJsonOption } from '../../output.ts';
import type { Command } from 'commander';

const HTC_BIN = fileURLToPath(new URL('../../../../bin/htc.js', import.meta.url));

function wholeNumber(flag: string, min: number): (text: string) => number {
  return (text: string) => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new HtcError('USAGE', `${flag}: ${JSON.stringify(text)} must be a whole number >= ${min}`);
    return Number(text);
  };
}

interface RequestOptions extends LoginOptions {
  yes: boolean;
  allowEmpty: boolean;
  nodes: number;
  cpus?: number;
  mem_mb?: number;
  gpus?: string;
  gpuType?: string;
  project?: string;
  lifetime: number;
  idleTime: number;
  test: boolean;
  dryRun: boolean;
  json: boolean;
  dir?: string;
}

function withRequestOptions(command: Command): Command {
  return withLoginOptions(command)
    .argument('<name>', 'the annex name (your jobs target it with --annex-name)')
    .argument('<queue@system>', 'where: a queue of a system (htc annex systems)')
    .option('--nodes <n>', 'pilots (one per node)', wholeNumber('--nodes', 1), 1)
    .option('--cpus <n>', 'cpus each pilot offers (default: what the node has)', wholeNumber('--cpus', 1))
    .option('--mem_mb <mb>', 'memory each pilot offers, MiB (default: what the node has)', wholeNumber('--mem_mb', 1))
    .option('--gpus <n>', 'GPUs per node: N, or TYPE:N')
    .option('--gpu-type <type>', 'the GPU type, where a queue has several')
    .option('--project <account>', 'the allocation to charge (required on some systems)')
    .option('--lifetime <seconds>', 'how long the pilots live', wholeNumber('--lifetime', 1), 3600)
    .option('--idle-time <seconds>', 'a pilot unclaimed this long ends', wholeNumber('--idle-time', 1), 300)
    .option('--test', 'only validate the request: print nothing, exit 0 when valid', false)
    .option('--dry-run', 'show every step and the batch script, without logging in or requesting anything', false)
    .option('--yes', 'do not ask for confirmation', false);
}

async function request(add: boolean, name: string, target: string, options: RequestOptions, ctx: CliContext): Promise<void> {
  const verb = add ? 'add' : 'create';
  let planned;
  try {
    planned = planRequest(target, {
      nodes: options.nodes, cpus: options.cpus ?? null, memoryMb: options.mem_mb ?? null, gpus: options.gpus ?? null, gpuType: options.gpuType ?? null,
      lifetimeSeconds: options.lifetime, idleSeconds: options.idleTime, project: options.project ?? null,
    });
  } catch (error) {
    if (error instanceof HtcError) throw new HtcError('ANNEX_REQUEST_INVALID', `Error while trying to run annex ${verb}: ${error.message}`);
    throw error;
  }
  const { system, queue } = planned;
  if (options.test) return;
  if (system.batchSystem !== 'slurm' && system.batchSystem !== 'local') {
    throw new HtcError('USAGE', `Error while trying to run annex ${verb}: the request is valid, but ${system.name} uses ${system.batchSystem}, which annexes cannot start yet; --test validates requests for every system`);
  }
  const slurm: SlurmCreate = { add, annexName: name, system, request: planned.request, allowEmpty: options.allowEmpty, login: options, sshDir: sshDirectory(options.dir) };
  if (options.dryRun) {
    ctx.stdout.write(
      system.batchSystem === 'slurm'
        ? dryRun(slurm)
        : `1. Start ${options.nodes} pilot process${options.nodes === 1 ? '' : 'es'} on this machine, in ${localScratch()}, with an annex token for ${name}.\n`,
    );
    return;
  }
  if (!options.yes) await confirm(summaryOf(name, options, queue.name, system.name), verb);
  const failed = (error: unknown): unknown => (error instanceof HtcError && !error.message.startsWith('Error while') ? new HtcError(error.code, `Error while trying to run annex ${verb}: ${error.message}`) : error);
  if (system.batchSystem === 'slurm') {
    let created;
    try {
      const progress = copyProgress(process.stderr, 'Copying the pilot executable');
      created = await withClient(options.dir, (c) => createOnSlurm(slurm, c, progress.onBytes)).finally(() => progress.stop());
    } catch (error) {
      throw failed(error);
    }
    const out = createOutput({ json: options.json, stdout: ctx.stdout });
    if (options.json) {
      out.record({ name, system: system.name, queue: queue.name, nodes: options.nodes, ...created });
    } else {
      ctx.stdout.write(`Annex ${name}: SLURM job ${created.jobId} submitted to ${queue.name}@${system.name} for ${options.nodes} node${options.nodes === 1 ? '' : 's'} (request ${created.requestId}).\n`);
      ctx.stdout.write(`Its pilots attach when SLURM starts it; "htc annex status ${name}" shows it, and jobs submitted with --annex-name ${name} run there.\n`);
    }
    return;
  }
  const created = await withClient(options.dir, (c) =>
    c.createAnnex({
      name, system: system.name, queue: queue.name, nodes: options.nodes, cpus: options.cpus ?? null, memoryMb: options.mem_mb ?? null, gpus: planned.request.gpus,
      lifetimeSeconds: options.lifetime, idleSeconds: options.idleTime, add, allowEmpty: options.allowEmpty,
    }),
  );
  let launched;
  try {
    launched = launchLocalPilots({
      annexName: name, requestId: created.requestId, nodes: options.nodes, cpus: options.cpus ?? null, memoryMb: options.mem_mb ?? null,
      lifetimeSeconds: options.lifetime, idleSeconds: options.idleTime, url: created.url, fingerprint: created.fingerprint, token: created.token, htcBin: HTC_BIN,
    });
  } catch (error) {
    // No pilot will ever come for the request: end it, so the name is free to try again.
    const reason = error instanceof HtcError ? error.message : String(error);
    await withClient(options.dir, (c) => c.withdrawAnnexRequest({ name, requestId: created.requestId, reason })).catch(() => undefined);
    throw failed(error);
  }
  const out = createOutput({ json: options.json, stdout: ctx.stdout });
  if (options.json) {
    out.record({ name, system: system.name, queue: queue.name, requestId: created.requestId, clusterId: created.clusterId, nodes: options.nodes, pids: launched.pids });
  } else {
    ctx.stdout.write(`Annex ${name}: ${options.nodes} pilot${options.nodes === 1 ? '' : 's'} started on ${queue.name}@${system.name} (request ${created.requestId}).\n`);
    ctx.stdout.write(`Jobs submitted with --annex-name ${name} run there; "htc annex status ${name}" shows it.\n`);
  }
}

function summaryOf(name: string, options: RequestOptions, queue: string, system: string): string {
  const hours = options.lifetime / 3600;
  return (
    `This will request ${options.nodes} node${options.nodes === 1 ? '' : 's'} for ${Number.isInteger(hours) ? hours : hours.toFixed(2)} hour${hours === 1 ? '' : 's'} ` +
    `for an annex named ${name} from the queue ${queue} on the system ${system}.`
  );
}

/**
 * Asks before anything is requested (HTCondor's annex asks too): in a
 * terminal, a y/N question; without one, the user must have said --yes.
 */
async function confirm(summary: string, verb: string): Promise<void> {
  const input = process.stdin;
  if (!input.isTTY) {
    throw new HtcError('USAGE', `${summary} annex ${verb} asks for confirmation: run it in a terminal, or add --yes`);
  }
  const rl = createInterface({ input, output: process.stdout });
  try {
    const answer = await rl.question(`${summary}\nContinue? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new HtcError('USAGE', `annex ${verb}: not confirmed; nothing was requested`);
  } finally {
    rl.close();
  }
}

const registerCreate: Register = (parent, ctx) => {
  withDirOption(withJsonOption(withRequestOptions(parent.command('create').description('start an annex: pilots on QUEUE@SYSTEM that run your jobs for NAME'))))
    .option('--allow-empty', 'create it even though no job targets it yet', false)
    .action((name: string, target: string, options: RequestOptions) => request(false, name, target, options, ctx));
};

const registerAdd: Register = (parent, ctx) => {
  withDirOption(withJsonOption(withRequestOptions(parent.command('add').description('add pilots to an existing annex'))))
    .action((name: string, target: string, options: RequestOptions) => request(true, name, target, { ...options, allowEmpty: true }, ctx));
};

const age = (seconds: number): string => (seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`);

/** One annex in words: its requests by state, its pilots, its jobs, and how old its requests are and how long they have left. */
function describe(a: AnnexStatus, views: Map<string, SlurmView>, now: number): Record<string, unknown> {
  const cpus = a.slots.reduce((n, s) => n + s.cpus, 0);
  const busy = a.slots.reduce((n, s) => n + s.busyCpus, 0);
  const open = a.requests.filter((r) => r.state !== 'retired');
  const count = (state: AnnexRequestStatus['state']): number => a.requests.filter((r) => r.state === state).length;
  const ages = open.map((r) => now - r.submittedAt);
  const left = open.map((r) => (r.startedAt === null ? r.lifetimeSeconds : r.startedAt + r.lifetimeSeconds - now));
  return {
    annex: a.name,
    owner: a.owner,
    requests: `${count('requested')} pending, ${count('running')} active, ${count('retired')} retired`,
    nodes: open.reduce((n, r) => n + r.nodes, 0),
    pilots: `${a.slots.length} attached, ${cpus} cpus, ${busy} busy`,
    jobs: `${a.jobs.idle} idle, ${a.jobs.running} running, ${a.jobs.held} held`,
    ...(open.length === 0 ? {} : { oldest: age(Math.max(...ages)), youngest: age(Math.min(...ages)), 'time left': age(Math.max(0, Math.max(...left))) }),
    ...Object.fromEntries(
      a.requests.map((r) => {
        const view = views.get(r.requestId);
        const slurm = r.jobId === null ? '' : ` SLURM job ${r.jobId}${view === undefined ? '' : ` ${view.state}${view.reason === '' ? '' : ` (${view.reason})`}`}`;
        const ended = r.state === 'retired' && r.endReason !== null ? `: ${r.endReason}` : '';
        return [`request ${r.requestId.slice(0, 8)}`, `${r.queue}@${r.system} ${r.nodes} node(s) ${r.state === 'requested' ? 'pending' : r.state === 'running' ? 'active' : 'retired'}${slurm}${ended}`];
      }),
    ),
  };
}

const registerStatus: Register = (parent, ctx) => {
  withLoginOptions(withDirOption(withJsonOption(parent.command('status').description('annexes: their requests (pending, active, retired), attached pilots, and jobs'))))
    .argument('[name]', 'one annex (default: all of yours)')
    .action(async (name: string | undefined, options: LoginOptions & { json: boolean; dir?: string }) => {
      const { annexes, apUrl, views } = await withClient(options.dir, async (c) => {
        let annexes = await c.annexes(name);
        // SLURM's view where a login is open; records whose batch job is gone are settled.
        const slurm = await slurmStatus(annexes, c, options, sshDirectory(options.dir));
        if (slurm.reconciled.length > 0) annexes = await c.annexes(name);
        return { annexes, apUrl: c.access.url, views: slurm.views };
      });
      // Local pilots that ended leave nothing behind: tidy the records of those all gone.
      for (const record of launchRecords(name, apUrl)) if (livePilots(record).length === 0) await reapLocalPilots(record, 0);
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      if (options.json) {
        ctx.stdout.write(`${JSON.stringify(annexes.map((a) => ({ ...a, requests: a.requests.map((r) => ({ ...r, slurm: views.get(r.requestId) ?? null })) })))}\n`);
        return;
      }
      if (annexes.length === 0) {
        ctx.stdout.write('You have no annexes.\n');
        return;
      }
      const now = Date.now() / 1000;
      for (const a of annexes) {
        out.record(describe(a, views, now));
        if (a.slots.length > 0) {
          out.list(a.slots.map((s) => ({ SLOT: s.slotName, CPUS: s.cpus, BUSY: s.busyCpus, MEMORY_MB: s.memoryMb, ENDS: s.endTime === null ? '-' : new Date(s.endTime * 1000).toISOString(), STATE: s.accepting ? 'accepting' : 'draining' })));
        }
      }
    });
};

const registerShutdown: Register = (parent, ctx) => {
  withLoginOptions(withDirOption(withJsonOption(parent.command('shutdown').description('end an annex: its pilots vacate their jobs (back to the queue) and exit; its batch jobs are cancelled'))))
    .argument('<name>', 'the annex')
    .option('--wait <seconds>', 'how long pilots get to end before they are killed', wholeNumber('--wait', 0), 30)
    .action(async (name: string, options: LoginOptions & { json: boolean; dir?: string; wait: number }) => {
      const { result, apUrl, slurm } = await withClient(options.dir, async (c) => {
        // Log in first (where batch jobs are): a login that fails changes nothing.
        const sessions = await prepareSlurmShutdown(await c.annexes(name), options, sshDirectory(options.dir));
        const result = await c.shutdownAnnex(name);
        // What SLURM still holds is checked even if one login fails; that failure is reported below.
        const slurm = await finishSlurmShutdown(result.requests, name, sessions).catch((error: unknown) => ({
          cancelled: 0, dirsRemoved: 0, checked: [] as string[], left: [`the SLURM side (${error instanceof Error ? error.message : String(error)})`],
        }));
        return { result, apUrl: c.access.url, slurm };
      });
      let killed = 0;
      let leftDirs = 0;
      let jobsKilled = 0;
      for (const record of launchRecords(name, apUrl)) {
        const reaped = await reapLocalPilots(record, options.wait * 1000);
        killed += reaped.killed;
        leftDirs += reaped.removedDirs;
        jobsKilled += reaped.jobsKilled;
      }
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      if (options.json) out.record({ name: result.name, pilotsTold: result.pilotsTold, requestsEnded: result.requestsEnded, killed, jobsKilled, leftoverDirsRemoved: leftDirs + slurm.dirsRemoved, slurmJobsCancelled: slurm.cancelled, checked: slurm.checked, left: slurm.left });
      else {
        ctx.stdout.write(`Annex ${name}: ${result.pilotsTold} pilot${result.pilotsTold === 1 ? '' : 's'} told to shut down; ${result.requestsEnded} request${result.requestsEnded === 1 ? '' : 's'} ended.\n`);
        if (slurm.cancelled > 0) ctx.stdout.write(`${slurm.cancelled} SLURM job${slurm.cancelled === 1 ? '' : 's'} cancelled.\n`);
        if (slurm.checked.length > 0 && slurm.left.length === 0) ctx.stdout.write(`Checked on ${slurm.checked.join(', ')}: no SLURM job and no pilot directory of the annex is left.\n`);
        if (killed > 0) ctx.stdout.write(`${killed} local pilot${killed === 1 ? '' : 's'} did not end within ${options.wait} s and were killed.\n`);
        if (jobsKilled > 0) ctx.stdout.write(`${jobsKilled} job process${jobsKilled === 1 ? '' : 'es'} left by pilots that died were killed.\n`);
      }
      if (slurm.left.length > 0) throw new HtcError('SSH_FAILED', `annex ${name}: still there after the shutdown: ${slurm.left.join(', ')}`);
    });
};

const registerSystems: Register = (parent, ctx) => {
  withJsonOption(parent.command('systems').description('the systems annexes can run on, their queues and limits (yours too: ~/.config/htc/systems/*.json)')).action((options: { json: boolean }) => {
    const catalog = loadCatalog();
    if (options.json) {
      ctx.stdout.write(`${JSON.stringify(catalog.systems)}\n`);
      return;
    }
    const hours = (s: number | null): string => (s === null ? '-' : `${+(s / 3600).toFixed(2)} h`);
    createOutput({ json: false, stdout: ctx.stdout }).list(
      catalogRows(catalog).map((r) => ({
        SYSTEM: r.system,
        QUEUE: r.nodeKind === null ? r.queue : `${r.queue} (${r.nodeKind})`,
        DEFAULT: r.isDefault ? 'yes' : '',
        KIND: r.allocation,
        NODES: r.maxNodes ?? '-',
        CORES: r.coresPerNode ?? '-',
        RAM_MB: r.ramPerNodeMb ?? '-',
        GPUS: r.gpusPerNode ?? '-',
        LIFETIME: hours(r.maxLifetimeSeconds),
        PROJECT: r.projectRequired ? 'required' : '',
        SUPPORTED: r.supported ? '' : 'not yet',
      })),
    );
  });
};

const registerLogin: Register = (parent, ctx) => {
  withLoginOptions(withDirOption(withJsonOption(parent.command('login').description("log in to a system's login node once; later annex commands reuse the connection"))))
    .argument('<system>', 'the system (htc annex systems)')
    .option('--persist <minutes>', 'how long the connection stays open unused', wholeNumber('--persist', 1), 60)
    .action(async (systemName: string, options: LoginOptions & { persist: number; json: boolean; dir?: string }) => {
      const system = findSystem(loadCatalog(), systemName);
      if (system === undefined) throw new HtcError('USAGE', `unknown system ${JSON.stringify(systemName)} ("htc annex systems" lists them)`);
      const session = new SshSession(loginTarget(system, options), sshDirectory(options.dir));
      // In a terminal the login may prompt (password, second factor); without one it must not.
      await session.open({ persistSeconds: options.persist * 60, interactive: canPrompt() });
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      if (options.json) out.record({ system: system.name, login: session.describe(), controlPath: session.controlPath, persistMinutes: options.persist });
      else ctx.stdout.write(`Logged in to ${session.describe()} (${system.name}); annex commands reuse this connection while it is used, for ${options.persist} min after.\n`);
    });
};

export const registerAnnex: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'annex', description: 'annexes: pilots on resources you hold that run your jobs', verbs: [registerCreate, registerAdd, registerStatus, registerShutdown, registerSystems, registerLogin] });
};
