/**
 * SLURM systems over SSH: the front-end's side of an annex request on an
 * HPC system. Everything runs over the user's one login (SshSession): the
 * pilot executable is copied once into a cache on the login node (named by
 * its content hash), the back-end (slurm-backend.sh, POSIX sh) makes the
 * pilot directory and submits the batch script, and later `squeue` and
 * `scancel` check and end the request's SLURM job.
 *
 * Invariants:
 * - The annex token never appears on a command line (where `ps` on the login
 *   node shows it): it travels on the back-end's standard input into a file
 *   of mode 0600.
 * - A cached executable is complete: it is written to a temporary name,
 *   checked against its SHA-256 on the login node, then renamed.
 * - Only directories named like a pilot directory (`.../ANNEX.REQUEST_ID`)
 *   are ever removed, and only after their SLURM job is gone.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { HtcError } from '../errors.ts';
import type { SystemEntry, ValidatedRequest } from '../core/annex-request.ts';
import { endMargin } from './local-system.ts';
import type { PilotExecutable } from './pilot-executable.ts';
import type { SshSession } from './ssh-session.ts';

/** Where pilot executables are cached on login nodes, relative to the home directory. */
export const REMOTE_CACHE = '.cache/htc-annex';

export const BACKEND_SCRIPT = readFileSync(new URL('./slurm-backend.sh', import.meta.url), 'utf8');

export function remoteExecutablePath(sha256: string): string {
  return `${REMOTE_CACHE}/htc-pilot-${sha256.slice(0, 16)}`;
}

/** The pilot's configuration (pilot.json). Its lifetime counts from the pilot's start: the batch job may wait in the queue. */
export function pilotConfig(options: {
  readonly annexName: string;
  readonly requestId: string;
  readonly url: string;
  readonly fingerprint: string;
  readonly token: string;
  readonly request: ValidatedRequest;
}): Record<string, unknown> {
  const { request } = options;
  // What the pilot offers: what was asked for, else the node as the catalog knows it (the
  // batch job's cgroup may not show it, and a node's other cores are not the annex's).
  const cpus = request.cpus ?? request.limits.coresPerNode;
  const memoryMb = request.memoryMb ?? request.limits.ramPerNodeMb;
  return {
    url: options.url,
    fingerprint: options.fingerprint,
    token: options.token,
    annexName: options.annexName,
    requestId: options.requestId,
    idleSeconds: request.idleSeconds,
    lifetimeSeconds: request.lifetimeSeconds,
    endMarginSeconds: endMargin(request.lifetimeSeconds),
    resources: {
      ...(cpus === null ? {} : { cpus }),
      ...(memoryMb === null ? {} : { memoryMb }),
      ...(request.gpusPerNode === null ? {} : { gpus: request.gpusPerNode }),
    },
  };
}

/** Where the system puts pilot directories (the catalog's template, expanded on the login node). */
export function scratchTemplate(system: SystemEntry): string {
  return system.scratch ?? '$HOME/htc-annex-scratch';
}

/**
 * Makes sure the login node has the pilot executable in its cache; copies it
 * (reporting bytes sent) when it is not there. Returns its path there
 * (relative to the home directory) and whether it was copied.
 */
export async function ensureRemoteExecutable(session: SshSession, local: Pick<PilotExecutable, 'path' | 'sha256' | 'bytes'>, onBytes?: (sent: number, total: number) => void): Promise<{ remotePath: string; copied: boolean }> {
  const remotePath = remoteExecutablePath(local.sha256);
  if (session.run(['test', '-x', remotePath]).status === 0) return { remotePath, copied: false };
  const install =
    'umask 077; mkdir -p "${1%/*}" || exit 1; part="$1.part.$$"; ' +
    'cat > "$part" && chmod 700 "$part" && sum=$(sha256sum "$part") && [ "${sum%% *}" = "$2" ] && mv -f "$part" "$1" && exit 0; ' +
    'rm -f "$part"; echo "the copy arrived damaged or could not be written" >&2; exit 1';
  const r = await session.send(['sh', '-c', install, 'htc-install', remotePath, local.sha256], createReadStream(local.path), (sent) => onBytes?.(sent, local.bytes));
  if (r.status !== 0) throw new HtcError('SSH_FAILED', `copying the pilot executable to ${session.describe()}:${remotePath} failed: ${r.stderr.trim() || `exit ${r.status}`}`);
  return { remotePath, copied: true };
}

/** What the back-end's exit codes mean (slurm-backend.sh). */
export const BACKEND_FAILURES: Readonly<Record<number, string>> = {
  2: 'the back-end was given bad arguments',
  3: 'the scratch directory on the login node cannot be used',
  4: 'the pilot directory could not be made',
  5: 'the pilot executable is missing on the login node',
  6: 'sbatch is not available on the login node',
  7: 'SLURM refused the batch job',
};

export interface BackendResult {
  readonly pid: string | null;
  readonly pilotDir: string | null;
  readonly jobId: string | null;
}

/** The back-end's progress lines (KEY=VALUE), as far as it got. */
export function parseBackendOutput(stdout: string): BackendResult {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^hpc_annex_(PID|PILOT_DIR|JOB_ID)=(.*)$/.exec(line);
    if (m !== null) values.set(m[1]!, m[2]!);
  }
  return { pid: values.get('PID') ?? null, pilotDir: values.get('PILOT_DIR') ?? null, jobId: values.get('JOB_ID') ?? null };
}

/** A batch job the back-end submitted: the job, and the pilot directory it made first. */
export interface SubmittedPilots {
  readonly pid: string | null;
  readonly pilotDir: string;
  readonly jobId: string;
}

/**
 * Runs the back-end on the login node: pilot directory, config, batch
 * script, sbatch. Throws ANNEX_BACKEND_FAILED with the cause in words and
 * what SLURM or the shell said.
 */
export function submitPilots(
  session: SshSession,
  options: { readonly system: SystemEntry; readonly annexName: string; readonly requestId: string; readonly executable: string; readonly config: Record<string, unknown>; readonly batchScript: string },
): SubmittedPilots {
  const scratch = scratchTemplate(options.system);
  const input = `${JSON.stringify(options.config)}\n${options.batchScript}`;
  const r = session.run(['sh', '-c', BACKEND_SCRIPT, 'htc-annex-backend', scratch, options.annexName, options.requestId, options.executable], { input, timeoutMs: 120_000 });
  const { pid, pilotDir, jobId } = parseBackendOutput(r.stdout);
  if (r.status !== 0 || jobId === null || pilotDir === null) {
    const cause = BACKEND_FAILURES[r.status] ?? `the back-end failed (exit ${r.status})`;
    const said = r.stderr.trim();
    throw new HtcError('ANNEX_BACKEND_FAILED', `${cause} on ${session.describe()}${said === '' ? '' : `: ${said}`}`);
  }
  return { pid, pilotDir, jobId };
}

export interface SlurmJobState {
  /** SLURM's state: PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT, ... */
  readonly state: string;
  /** Why it pends or how it ended (SLURM's reason), or ''. */
  readonly reason: string;
}

/** The SLURM states of jobs (finished ones stay visible for the site's MinJobAge); a job not listed has vanished. */
export function slurmJobStates(session: SshSession, jobIds: readonly string[]): Map<string, SlurmJobState> {
  const out = new Map<string, SlurmJobState>();
  if (jobIds.length === 0) return out;
  const r = session.run(['squeue', '-h', '-t', 'all', '-j', jobIds.join(','), '-o', '%i|%T|%r']);
  // squeue exits 1 when none of the ids is known any more: that is an answer, not a failure.
  if (r.status !== 0 && !/Invalid job id/i.test(r.stderr)) throw new HtcError('SSH_FAILED', `squeue on ${session.describe()} failed: ${r.stderr.trim() || `exit ${r.status}`}`);
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.split('|');
    if (id === undefined || state === undefined || id.trim() === '') continue;
    out.set(id.trim(), { state: state.trim(), reason: (reason ?? '').trim() === 'None' ? '' : (reason ?? '').trim() });
  }
  return out;
}

/** SLURM states of a job that is over. */
export const ENDED_STATES = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'SPECIAL_EXIT']);

export interface LaunchedRequest {
  readonly requestId: string;
  readonly annexName: string;
  readonly jobId: string | null;
  readonly pilotDir: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `dir` is a pilot directory of `request` (the only kind of path ever removed). */
export function isPilotDir(dir: string, request: Pick<LaunchedRequest, 'annexName' | 'requestId'>): boolean {
  return dir.startsWith('/') && !dir.includes('/../') && dir.endsWith(`/${request.annexName}.${request.requestId}`);
}

/**
 * Ends requests' SLURM jobs and makes sure nothing of them is left: scancel
 * the jobs still pending or running, wait until SLURM reports them ended (or
 * forgets them), then remove pilot directories still there (a job cancelled
 * while pending never ran its clean-up) and check that they are gone.
 */
export async function cancelRequests(session: SshSession, requests: readonly LaunchedRequest[], timeoutMs = 60_000): Promise<{ cancelled: number; dirsRemoved: number; left: string[] }> {
  const jobIds = requests.map((r) => r.jobId).filter((id): id is string => id !== null);
  const before = slurmJobStates(session, jobIds);
  const live = jobIds.filter((id) => { const s = before.get(id); return s !== undefined && !ENDED_STATES.has(s.state); });
  if (live.length > 0) {
    const r = session.run(['scancel', ...live]);
    if (r.status !== 0) throw new HtcError('SSH_FAILED', `scancel ${live.join(' ')} on ${session.describe()} failed: ${r.stderr.trim() || `exit ${r.status}`}`);
  }
  const deadline = Date.now() + timeoutMs;
  let waiting = live;
  while (waiting.length > 0 && Date.now() < deadline) {
    const states = slurmJobStates(session, waiting);
    waiting = waiting.filter((id) => { const s = states.get(id); return s !== undefined && !ENDED_STATES.has(s.state); });
    if (waiting.length > 0) await sleep(250);
  }
  // A directory is removed only once its batch job is gone: never under a live pilot.
  const stillRunning = requests.filter((r) => r.jobId !== null && waiting.includes(r.jobId));
  const dirs = requests.filter((r) => !stillRunning.includes(r) && r.pilotDir !== null && isPilotDir(r.pilotDir, r)).map((r) => r.pilotDir!);
  const left = [...waiting.map((id) => `SLURM job ${id}`), ...stillRunning.filter((r) => r.pilotDir !== null).map((r) => r.pilotDir!)];
  let dirsRemoved = 0;
  if (dirs.length > 0) {
    // Prints the directories it found (and removed), then those still there.
    const sweep = 'for d in "$@"; do if [ -e "$d" ]; then echo "found $d"; rm -rf "$d"; fi; done; for d in "$@"; do if [ -e "$d" ]; then echo "left $d"; fi; done; echo swept';
    const r = session.run(['sh', '-c', sweep, 'htc-sweep', ...dirs]);
    const lines = r.stdout.split('\n');
    // No answer is not "nothing left": the sweep must say it finished.
    if (r.status !== 0 || !lines.includes('swept')) throw new HtcError('SSH_FAILED', `checking the pilot directories on ${session.describe()} failed: ${r.stderr.trim() || `exit ${r.status}`}; they may still be there: ${dirs.join(', ')}`);
    dirsRemoved = lines.filter((l) => l.startsWith('found ')).length;
    left.push(...lines.filter((l) => l.startsWith('left ')).map((l) => l.slice(5)));
  }
  return { cancelled: live.length, dirsRemoved, left };
}
