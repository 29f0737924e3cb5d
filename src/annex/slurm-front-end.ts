/**
 * The annex front-end for SLURM systems: the steps of `annex create | add |
 * status | shutdown` in order, over one SSH login (prompts pass through in
 * a terminal) — copy the pilot executable if the login node's cache lacks
 * it, run the back-end, record the batch job on the request; ask `squeue`;
 * `scancel` and sweep. The CLI supplies the AP (`AnnexApi`, the client) and
 * the progress display.
 *
 * Invariants: a failure leaves nothing behind — the login comes before the
 * AP records anything, and a refused batch job withdraws its request with
 * SLURM's message; status never prompts (it asks squeue only over a login
 * that is open); shutdown logs in before the AP is told anything.
 */
import type { SystemEntry, ValidatedRequest } from '../core/annex-request.ts';
import { batchScript } from '../core/batch-script.ts';
import { HtcError } from '../errors.ts';
import type { AnnexCreateRequest, AnnexCreateResponse, AnnexLaunch, AnnexRequestStatus, AnnexStatus, AnnexWithdrawal } from '../protocol/annex.ts';
import { buildPilotExecutable } from './pilot-executable.ts';
import { cancelRequests, ENDED_STATES, ensureRemoteExecutable, pilotConfig, remoteExecutablePath, scratchTemplate, slurmJobStates, submitPilots, type SlurmJobState } from './slurm-system.ts';
import { canPrompt, describeTarget, SshSession, type SshTarget } from './ssh-session.ts';

/** What the front-end needs of the access point (the client has it). */
export interface AnnexApi {
  createAnnex(request: AnnexCreateRequest): Promise<AnnexCreateResponse>;
  recordAnnexLaunch(launch: AnnexLaunch): Promise<AnnexRequestStatus>;
  withdrawAnnexRequest(withdrawal: AnnexWithdrawal): Promise<AnnexRequestStatus>;
}

export interface LoginOptions {
  loginName?: string;
  loginHost?: string;
  identityFile?: string;
  knownHosts?: string;
}

/** `user@host:port` (any part may be missing) and the key options, as one target. */
function target(host: string, loginName: string | undefined, port: number | undefined, options: LoginOptions): SshTarget {
  return {
    host,
    ...(loginName === undefined ? {} : { loginName }),
    ...(port === undefined ? {} : { port }),
    ...(options.identityFile === undefined ? {} : { identityFile: options.identityFile }),
    ...(options.knownHosts === undefined ? {} : { knownHostsFile: options.knownHosts }),
  };
}

/** Where to log in for `system`: the catalog's login node, with the options laid over it. */
export function loginTarget(system: SystemEntry, options: LoginOptions): SshTarget {
  const host = options.loginHost ?? system.loginHost;
  if (host === undefined) throw new HtcError('USAGE', `${system.name} has no login node in the catalog: give --login-host`);
  return target(host, options.loginName ?? system.loginName, system.loginPort, options);
}

/** A login as recorded on requests (`user@host:port`) back into a target; the options add the key and known hosts. */
export function parseLogin(login: string, options: LoginOptions): SshTarget {
  const m = /^(?:([^@]+)@)?([^:@]+)(?::(\d+))?$/.exec(login);
  if (m === null) throw new HtcError('INTERNAL', `the request's login ${JSON.stringify(login)} is not user@host:port`);
  return target(m[2]!, m[1], m[3] === undefined ? undefined : Number(m[3]), options);
}

/** Opens the login (once: an open one is reused); in a terminal it may prompt, without one it must not. */
async function login(session: SshSession): Promise<void> {
  await session.open({ persistSeconds: 3600, interactive: canPrompt() });
}

export interface SlurmCreate {
  readonly add: boolean;
  readonly annexName: string;
  readonly system: SystemEntry;
  readonly request: ValidatedRequest;
  readonly allowEmpty: boolean;
  readonly login: LoginOptions;
  readonly sshDir: string;
}

/** What `--dry-run` prints: every step, and the batch script, with no login and nothing recorded. */
export function dryRun(c: SlurmCreate): string {
  const scratch = scratchTemplate(c.system);
  const steps = [
    `1. Log in to ${describeTarget(loginTarget(c.system, c.login))} once (password and second-factor prompts appear here); every later step reuses that connection.`,
    `2. Copy the pilot executable to ~/${remoteExecutablePath('<sha256>')} on the login node, unless a copy with the same content is there.`,
    `3. Ask the access point for the request record and an annex token for ${c.annexName}.`,
    `4. Run the back-end on the login node: make ${scratch}/${c.annexName}.<request-id> (mode 0700), write pilot.json (with the token, mode 0600) and batch.sh there, and submit batch.sh with sbatch.`,
    `5. Record the SLURM job id and the pilot directory on the request ("htc annex status ${c.annexName}" shows them).`,
  ];
  return `${steps.join('\n')}\n\nbatch.sh:\n${batchScript(c.annexName, '<request-id>', c.request, c.system.slurm?.gpuFlag)}`;
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
export async function createOnSlurm(c: SlurmCreate, client: AnnexApi, onCopy?: (sent: number, total: number) => void): Promise<SlurmCreated> {
  const session = new SshSession(loginTarget(c.system, c.login), c.sshDir);
  const executable = await buildPilotExecutable();
  await login(session);
  const { remotePath, copied } = await ensureRemoteExecutable(session, executable, onCopy);
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
  try {
    await client.recordAnnexLaunch({ name: c.annexName, requestId: created.requestId, login: session.describe(), jobId: launched.jobId, pilotDir: launched.pilotDir, backendPid: launched.pid });
  } catch (error) {
    // A batch job the AP has no record of would never be shut down: take it back.
    await cancelRequests(session, [{ requestId: created.requestId, annexName: c.annexName, jobId: launched.jobId, pilotDir: launched.pilotDir }]).catch(() => undefined);
    const reason = `the access point could not record SLURM job ${launched.jobId}, so it was cancelled: ${error instanceof Error ? error.message : String(error)}`;
    await client.withdrawAnnexRequest({ name: c.annexName, requestId: created.requestId, reason }).catch(() => undefined);
    throw error;
  }
  return { requestId: created.requestId, clusterId: created.clusterId, jobId: launched.jobId, pilotDir: launched.pilotDir, login: session.describe(), executableCopied: copied };
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
export async function slurmStatus(annexes: readonly AnnexStatus[], client: AnnexApi, options: LoginOptions, sshDir: string): Promise<{ views: Map<string, SlurmView>; reconciled: AnnexRequestStatus[] }> {
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
    const session = new SshSession(parseLogin(loginText, options), sshDir);
    if (!session.isOpen()) continue;
    let states: Map<string, SlurmJobState>;
    try {
      states = slurmJobStates(session, entries.map((e) => e.request.jobId!));
    } catch {
      continue; // SLURM's view of this login is missing from the answer, not the whole status
    }
    for (const { annex, request } of entries) {
      const state = states.get(request.jobId!);
      views.set(request.requestId, { requestId: request.requestId, state: state?.state ?? 'GONE', reason: state?.reason ?? '' });
      const attached = annex.slots.some((s) => s.requestId === request.requestId);
      if (attached || (state !== undefined && !ENDED_STATES.has(state.state))) continue;
      const reason =
        state === undefined
          ? `SLURM job ${request.jobId} is no longer known to SLURM on ${loginText}`
          : `SLURM job ${request.jobId} ended: ${state.state}${state.reason === '' ? '' : ` (${state.reason})`}`;
      // A batch job that completed ended with its pilots (idle, lifetime): the request is over, not failed.
      reconciled.push(await client.withdrawAnnexRequest({ name: annex.name, requestId: request.requestId, reason, completed: state?.state === 'COMPLETED' }));
    }
  }
  return { views, reconciled };
}

/**
 * The SLURM side of a shutdown: logs in (before the AP is told anything, so
 * a failed login changes nothing), lets `shutdown` tell the pilots, then
 * cancels what SLURM still holds and removes what is left on disk.
 */
export async function prepareSlurmShutdown(annexes: readonly AnnexStatus[], options: LoginOptions, sshDir: string): Promise<Map<string, SshSession>> {
  const sessions = new Map<string, SshSession>();
  for (const a of annexes) {
    for (const r of a.requests) {
      if (r.state === 'retired' || r.login === null || sessions.has(r.login)) continue;
      const session = new SshSession(parseLogin(r.login, options), sshDir);
      await login(session);
      sessions.set(r.login, session);
    }
  }
  return sessions;
}

export async function finishSlurmShutdown(requests: readonly AnnexRequestStatus[], annexName: string, sessions: Map<string, SshSession>): Promise<{ cancelled: number; dirsRemoved: number; left: string[]; checked: string[] }> {
  const total = { cancelled: 0, dirsRemoved: 0, left: [] as string[], checked: [] as string[] };
  for (const [loginText, session] of sessions) {
    const mine = requests.filter((r) => r.login === loginText).map((r) => ({ requestId: r.requestId, annexName, jobId: r.jobId, pilotDir: r.pilotDir }));
    if (mine.length === 0) continue;
    const r = await cancelRequests(session, mine);
    total.checked.push(loginText);
    total.cancelled += r.cancelled;
    total.dirsRemoved += r.dirsRemoved;
    total.left.push(...r.left);
  }
  return total;
}
