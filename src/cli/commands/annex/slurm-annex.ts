/**
 * The annex commands on SLURM systems: one SSH login (prompts pass through
 * in a terminal) serves every step of `create`/`add` — copy the pilot
 * executable if the login node's cache lacks it, run the back-end, record
 * the batch job on the request — and `status`/`shutdown` reuse it to ask
 * `squeue` and to `scancel`. The order of steps is chosen so that a
 * failure leaves nothing: the login comes before the AP records anything,
 * and a refused batch job withdraws its request with SLURM's message.
 */
import { SingleBar } from 'cli-progress';
import { join } from 'node:path';
import type { ApClient } from '../../../client/index.ts';
import type { SystemEntry, ValidatedRequest } from '../../../core/annex-request.ts';
import { batchScript } from '../../../core/batch-script.ts';
import { HtcError } from '../../../errors.ts';
import { buildPilotExecutable } from '../../../annex/pilot-executable.ts';
import { cancelRequests, ENDED_STATES, ensureRemoteExecutable, pilotConfig, remoteExecutablePath, slurmJobStates, submitPilots, type SlurmJobState } from '../../../annex/slurm-system.ts';
import { SshSession, type SshTarget } from '../../../annex/ssh-session.ts';
import { apDirectory } from '../../../protocol/access-file.ts';
import type { AnnexRequestStatus, AnnexStatus } from '../../../protocol/annex.ts';
import type { Command } from 'commander';

export interface LoginOptions {
  loginName?: string;
  loginHost?: string;
  identityFile?: string;
  knownHosts?: string;
}

export function withLoginOptions(command: Command): Command {
  return command
    .option('--login-name <user>', 'your user name on the login node (default: your ssh config, else the catalog)')
    .option('--login-host <host>', 'the login node (default: the catalog)')
    .option('--identity-file <file>', 'a private key to log in with (default: your ssh config and agent)')
    .option('--known-hosts <file>', "a known_hosts file to check the login node's key against (default: yours)");
}

/** Where to log in for `system`: the catalog's login node, with the options laid over it. */
export function loginTarget(system: SystemEntry, options: LoginOptions): SshTarget {
  const host = options.loginHost ?? system.loginHost;
  if (host === undefined) throw new HtcError('USAGE', `${system.name} has no login node in the catalog: give --login-host`);
  const loginName = options.loginName ?? system.loginName;
  return {
    host,
    ...(loginName === undefined ? {} : { loginName }),
    ...(system.loginPort === undefined ? {} : { port: system.loginPort }),
    ...(options.identityFile === undefined ? {} : { identityFile: options.identityFile }),
    ...(options.knownHosts === undefined ? {} : { knownHostsFile: options.knownHosts }),
  };
}

/** A login as recorded on requests (`user@host:port`) back into a target; the options add the key and known hosts. */
export function parseLogin(login: string, options: LoginOptions): SshTarget {
  const m = /^(?:([^@]+)@)?([^:@]+)(?::(\d+))?$/.exec(login);
  if (m === null) throw new HtcError('INTERNAL', `the request's login ${JSON.stringify(login)} is not user@host:port`);
  return {
    host: m[2]!,
    ...(m[1] === undefined ? {} : { loginName: m[1] }),
    ...(m[3] === undefined ? {} : { port: Number(m[3]) }),
    ...(options.identityFile === undefined ? {} : { identityFile: options.identityFile }),
    ...(options.knownHosts === undefined ? {} : { knownHostsFile: options.knownHosts }),
  };
}

export function sessionFor(target: SshTarget, dir: string | undefined): SshSession {
  return new SshSession(target, join(apDirectory(dir), 'ssh'));
}

/** Opens the login (once: an open one is reused); in a terminal it may prompt, without one it must not. */
async function login(session: SshSession): Promise<void> {
  await session.open({ persistSeconds: 3600, interactive: process.stdin.isTTY === true });
}

export interface SlurmCreate {
  readonly add: boolean;
  readonly annexName: string;
  readonly system: SystemEntry;
  readonly request: ValidatedRequest;
  readonly allowEmpty: boolean;
  readonly login: LoginOptions;
  readonly dir: string | undefined;
}

/** What `--dry-run` prints: every step, and the batch script, with no login and nothing recorded. */
export function dryRun(c: SlurmCreate): string {
  const target = loginTarget(c.system, c.login);
  const session = sessionFor(target, c.dir);
  const scratch = c.system.scratch ?? '$HOME/htc-annex-scratch';
  const steps = [
    `1. Log in to ${session.describe()} once (password and second-factor prompts appear here); every later step reuses that connection.`,
    `2. Copy the pilot executable to ~/${remoteExecutablePath('<sha256>')} on the login node, unless a copy with the same content is there.`,
    `3. Ask the access point for the request record and an annex token for ${c.annexName}.`,
    `4. Run the back-end on the login node: make ${scratch}/${c.annexName}.<request-id> (mode 0700), write pilot.json (with the token, mode 0600) and batch.sh there, and submit batch.sh with sbatch.`,
    `5. Record the SLURM job id and the pilot directory on the request ("htc annex status ${c.annexName}" shows them).`,
  ];
  return `${steps.join('\n')}\n\nbatch.sh:\n${batchScript(c.annexName, '<request-id>', c.request, c.system.slurm?.gpuFlag)}`;
}

/** Progress of the copy: a bar in a terminal, two lines otherwise. */
function copyProgress(stderr: NodeJS.WriteStream, what: string, total: number): { update: (sent: number) => void; stop: () => void } {
  const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
  if (stderr.isTTY !== true) {
    stderr.write(`Copying ${what} (${mb(total)} MB)...\n`);
    const started = Date.now();
    return { update: () => undefined, stop: () => stderr.write(`Copied in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`) };
  }
  const bar = new SingleBar({ format: `${what} [{bar}] {percentage}% {sent}/{size} MB`, stream: stderr, hideCursor: true, clearOnComplete: false });
  bar.start(total, 0, { sent: '0.0', size: mb(total) });
  return { update: (sent) => bar.update(sent, { sent: mb(sent) }), stop: () => bar.stop() };
}

export interface SlurmCreated {
  readonly requestId: string;
  readonly clusterId: number;
  readonly jobId: string;
  readonly pilotDir: string;
  readonly login: string;
  readonly executableCopied: boolean;
}

/** `annex create | add` on a SLURM system. `client` talks to the AP; errors are HtcErrors for the user. */
export async function createOnSlurm(c: SlurmCreate, client: ApClient, stderr: NodeJS.WriteStream): Promise<SlurmCreated> {
  const session = sessionFor(loginTarget(c.system, c.login), c.dir);
  const executable = await buildPilotExecutable();
  await login(session);
  const progress = { bar: null as ReturnType<typeof copyProgress> | null };
  const { remotePath, copied } = await ensureRemoteExecutable(session, executable, (sent, total) => {
    progress.bar ??= copyProgress(stderr, 'the pilot executable', total);
    progress.bar.update(sent);
  });
  progress.bar?.stop();
  const { request } = c;
  const created = await client.createAnnex({
    name: c.annexName, system: c.system.name, queue: request.queue, nodes: request.nodes, cpus: request.cpus, memoryMb: request.memoryMb, gpus: request.gpus,
    lifetimeSeconds: request.lifetimeSeconds, idleSeconds: request.idleSeconds, add: c.add, allowEmpty: c.allowEmpty,
  });
  let launched;
  try {
    launched = submitPilots(session, {
      system: c.system,
      annexName: c.annexName,
      requestId: created.requestId,
      executable: remotePath,
      config: pilotConfig({ annexName: c.annexName, requestId: created.requestId, url: created.url, fingerprint: created.fingerprint, token: created.token, request }),
      batchScript: batchScript(c.annexName, created.requestId, request, c.system.slurm?.gpuFlag),
    });
  } catch (error) {
    // The request will never have pilots: end it with the reason, so the name is free and history says why.
    const reason = error instanceof HtcError ? error.message : String(error);
    await client.withdrawAnnexRequest({ name: c.annexName, requestId: created.requestId, reason }).catch(() => undefined);
    throw error;
  }
  await client.recordAnnexLaunch({ name: c.annexName, requestId: created.requestId, login: session.describe(), jobId: launched.jobId!, pilotDir: launched.pilotDir!, backendPid: launched.pid });
  return { requestId: created.requestId, clusterId: created.clusterId, jobId: launched.jobId!, pilotDir: launched.pilotDir!, login: session.describe(), executableCopied: copied };
}

/** A request's SLURM job as squeue shows it, when the login is open. */
export interface SlurmView extends SlurmJobState {
  readonly requestId: string;
}

/**
 * The SLURM side of the annexes' open requests, from squeue over logins
 * that are open (status never prompts); reconciles records whose batch job
 * ended or vanished while no pilot of theirs is attached: they are
 * withdrawn, with SLURM's state and reason, and shown as retired.
 */
export async function slurmStatus(annexes: readonly AnnexStatus[], client: ApClient, options: LoginOptions, dir: string | undefined): Promise<{ views: Map<string, SlurmView>; reconciled: AnnexRequestStatus[] }> {
  const views = new Map<string, SlurmView>();
  const reconciled: AnnexRequestStatus[] = [];
  const byLogin = new Map<string, { annex: AnnexStatus; request: AnnexRequestStatus }[]>();
  for (const annex of annexes) {
    for (const request of annex.requests) {
      if (request.state === 'retired' || request.login === null || request.jobId === null) continue;
      const list = byLogin.get(request.login) ?? [];
      list.push({ annex, request });
      byLogin.set(request.login, list);
    }
  }
  for (const [loginText, entries] of byLogin) {
    const session = sessionFor(parseLogin(loginText, options), dir);
    if (!session.isOpen()) continue;
    const states = slurmJobStates(session, entries.map((e) => e.request.jobId!));
    for (const { annex, request } of entries) {
      const state = states.get(request.jobId!);
      views.set(request.requestId, { requestId: request.requestId, state: state?.state ?? 'GONE', reason: state?.reason ?? '' });
      const attached = annex.slots.some((s) => s.requestId === request.requestId);
      if (attached || (state !== undefined && !ENDED_STATES.has(state.state))) continue;
      const reason =
        state === undefined
          ? `SLURM job ${request.jobId} is no longer known to SLURM on ${loginText}`
          : `SLURM job ${request.jobId} ended: ${state.state}${state.reason === '' ? '' : ` (${state.reason})`}`;
      reconciled.push(await client.withdrawAnnexRequest({ name: annex.name, requestId: request.requestId, reason }));
    }
  }
  return { views, reconciled };
}

/**
 * The SLURM side of a shutdown: logs in (before the AP is told anything, so
 * a failed login changes nothing), lets `shutdown` tell the pilots, then
 * cancels what SLURM still holds and removes what is left on disk.
 */
export async function prepareSlurmShutdown(annexes: readonly AnnexStatus[], options: LoginOptions, dir: string | undefined): Promise<Map<string, SshSession>> {
  const sessions = new Map<string, SshSession>();
  for (const a of annexes) {
    for (const r of a.requests) {
      if (r.login === null || sessions.has(r.login)) continue;
      const session = sessionFor(parseLogin(r.login, options), dir);
      await login(session);
      sessions.set(r.login, session);
    }
  }
  return sessions;
}

export async function finishSlurmShutdown(requests: readonly AnnexRequestStatus[], annexName: string, sessions: Map<string, SshSession>): Promise<{ cancelled: number; dirsRemoved: number; left: string[] }> {
  const total = { cancelled: 0, dirsRemoved: 0, left: [] as string[] };
  for (const [loginText, session] of sessions) {
    const mine = requests.filter((r) => r.login === loginText).map((r) => ({ requestId: r.requestId, annexName, jobId: r.jobId, pilotDir: r.pilotDir }));
    if (mine.length === 0) continue;
    const r = await cancelRequests(session, mine);
    total.cancelled += r.cancelled;
    total.dirsRemoved += r.dirsRemoved;
    total.left.push(...r.left);
  }
  return total;
}
