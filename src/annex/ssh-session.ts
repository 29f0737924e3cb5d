/**
 * One SSH login per campaign (DESIGN.md decision 6): the system's OpenSSH
 * client with a ControlMaster socket in the user's htc directory, so the
 * first connection — made in the user's terminal, where password and
 * second-factor prompts pass through — serves every later step (mkdir,
 * copy, sbatch, squeue, scancel, clean-up) without asking again.
 *
 * Invariants:
 * - no remote command is built by pasting text into a shell string: a
 *   remote command is an argument vector, quoted for the remote POSIX shell
 *   by `shellQuote` alone (ssh joins its arguments with spaces and hands the
 *   line to the login shell, so quoting is the only safe way);
 * - every command after the login runs with BatchMode and the control
 *   socket only: it never prompts, and a master that went away is reported
 *   (SSH_DISCONNECTED) instead of hanging or opening a new login silently;
 * - the user's ~/.ssh/config applies; `loginName`/`loginHost` (the
 *   `--login-name`/`--login-host` options) override it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HtcError } from '../errors.ts';

/**
 * One argument for a POSIX shell, as a single word: plain words as they are,
 * anything else in single quotes (a single quote itself as '\''), the empty
 * string as ''. NUL cannot be passed at all and is refused.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new HtcError('USAGE', 'an argument for a remote command cannot contain a NUL character');
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argument vector as one remote command line. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new HtcError('USAGE', 'a remote command needs a program');
  return argv.map(shellQuote).join(' ');
}

/**
 * The line ssh hands to the login node's login shell for `argv`: a POSIX
 * `sh` that decodes the command (base64) and runs it. The login shell sees
 * only safe characters, so the command means the same under any login shell
 * (csh and tcsh, still common on HPC login nodes, refuse a newline inside
 * quotes and expand `!` even there); `sh` sees `shellCommand(argv)`.
 */
export function remoteCommandLine(argv: readonly string[]): string {
  const encoded = Buffer.from(shellCommand(argv), 'utf8').toString('base64');
  return `/bin/sh -c 'eval "$(echo ${encoded} | base64 -d)"'`;
}

/**
 * Whether a login may prompt: in a terminal, or where the user has an
 * askpass program answer prompts (SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force,
 * as OpenSSH documents it). Otherwise the login runs in BatchMode and fails
 * rather than hang on a prompt nobody sees.
 */
export function canPrompt(env: NodeJS.ProcessEnv = process.env, stdinIsTty = process.stdin.isTTY === true): boolean {
  return stdinIsTty || (env.SSH_ASKPASS !== undefined && env.SSH_ASKPASS !== '' && env.SSH_ASKPASS_REQUIRE?.toLowerCase() === 'force');
}

export interface SshTarget {
  /** Host name or ssh_config alias. */
  readonly host: string;
  readonly loginName?: string;
  readonly port?: number;
  /** A private key file (tests; users rely on their ssh config and agent). */
  readonly identityFile?: string;
  /** A known_hosts file to use instead of the user's (tests pin the test cluster's key). */
  readonly knownHostsFile?: string;
}

export interface RemoteResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `user@host:port` as far as the target names them (how requests record a login). */
export function describeTarget(target: SshTarget): string {
  return `${target.loginName === undefined ? '' : `${target.loginName}@`}${target.host}${target.port === undefined ? '' : `:${target.port}`}`;
}

/** How long a multiplexed command may take before it is called hung. */
const COMMAND_TIMEOUT_MS = 10 * 60_000;

export class SshSession {
  readonly controlPath: string;

  constructor(
    readonly target: SshTarget,
    /** Where control sockets live (the user's htc directory, private). */
    controlDir: string,
  ) {
    mkdirSync(controlDir, { recursive: true, mode: 0o700 });
    // Socket paths are limited to ~104 bytes: a short hash names the connection.
    const id = createHash('sha256').update(`${target.loginName ?? ''}@${target.host}:${target.port ?? ''}`).digest('hex').slice(0, 16);
    this.controlPath = join(controlDir, `cm-${id}`);
  }

  /** Options every ssh/scp call shares: the control socket, the target's overrides. */
  private baseOptions(): string[] {
    const o = ['-o', `ControlPath=${this.controlPath}`];
    if (this.target.port !== undefined) o.push('-o', `Port=${this.target.port}`);
    if (this.target.loginName !== undefined) o.push('-o', `User=${this.target.loginName}`);
    if (this.target.identityFile !== undefined) o.push('-o', `IdentityFile=${this.target.identityFile}`, '-o', 'IdentitiesOnly=yes');
    if (this.target.knownHostsFile !== undefined) o.push('-o', `UserKnownHostsFile=${this.target.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes');
    return o;
  }

  /** Whether a master connection is up. */
  isOpen(): boolean {
    const r = spawnSync('ssh', [...this.baseOptions(), '-O', 'check', this.target.host], { encoding: 'utf8', timeout: 15_000 });
    return r.status === 0;
  }

  /**
   * Logs in (once): the master connection is made with the terminal
   * attached, so prompts (password, second factor) reach the user; it then
   * stays in the background for `persistSeconds` after the last use.
   */
  async open(options: { persistSeconds?: number; interactive?: boolean } = {}): Promise<void> {
    if (this.isOpen()) return;
    const args = [
      ...this.baseOptions(),
      '-o', 'ControlMaster=yes',
      '-o', `ControlPersist=${options.persistSeconds ?? 3600}`,
      '-o', 'ServerAliveInterval=30',
      ...(options.interactive === false ? ['-o', 'BatchMode=yes'] : []),
      '-f', '-N', this.target.host,
    ];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('ssh', args, { stdio: options.interactive === false ? ['ignore', 'ignore', 'pipe'] : 'inherit' });
      let err = '';
      child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      child.once('error', reject);
      child.once('exit', (c) => {
        if (c !== 0 && err !== '') process.stderr.write(err);
        resolve(c ?? 255);
      });
    });
    if (code !== 0 || !this.isOpen()) {
      throw new HtcError('SSH_FAILED', `could not log in to ${this.describe()} (ssh exited ${code}); check the host, your ssh config and keys, and try again`);
    }
  }

  describe(): string {
    return describeTarget(this.target);
  }

  /** Refuses to go on without a master: later steps must never prompt or log in again on their own. */
  private requireOpen(): void {
    if (!this.isOpen()) {
      throw new HtcError('SSH_DISCONNECTED', `the connection to ${this.describe()} is closed (it timed out or the network dropped); log in again with "htc annex login"`);
    }
  }

  /** ssh's arguments for one remote command over the master: never a prompt, never a new master. */
  private commandArgs(argv: readonly string[]): string[] {
    return [...this.baseOptions(), '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', this.target.host, '--', remoteCommandLine(argv)];
  }

  /** After ssh exited `status`: 255 is ssh's own failure (the connection), not the remote program's. */
  private checkConnection(status: number | null, argv: readonly string[]): void {
    if (status === 255 && !this.isOpen()) {
      throw new HtcError('SSH_DISCONNECTED', `the connection to ${this.describe()} dropped while running ${argv[0]}; log in again with "htc annex login"`);
    }
  }

  /** Runs a remote program (an argument vector) over the master connection. */
  run(argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): RemoteResult {
    this.requireOpen();
    const r = spawnSync('ssh', this.commandArgs(argv), {
      encoding: 'utf8',
      input: options.input,
      timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.error !== undefined) {
      const timedOut = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
      throw new HtcError('SSH_FAILED', `${argv[0]} on ${this.describe()} ${timedOut ? 'did not finish in time' : `could not run: ${r.error.message}`}`);
    }
    this.checkConnection(r.status, argv);
    return { status: r.status ?? 255, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * Runs a remote program with `source` streamed to its standard input (a
   * large file: the pilot executable), calling `onBytes` as it goes so the
   * caller can show progress.
   */
  async send(argv: readonly string[], source: Readable, onBytes?: (sent: number) => void): Promise<RemoteResult> {
    this.requireOpen();
    const child = spawn('ssh', this.commandArgs(argv), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let sent = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        onBytes?.(sent);
        done(null, chunk);
      },
    });
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? 255));
    });
    // A remote side that ends early closes the pipe: its exit status tells why, not EPIPE.
    // A local read error is ours, though: the remote side would only see a short copy.
    let readError: Error | undefined;
    source.once('error', (error: Error) => (readError = error));
    // A copy that stalls (a network that went quiet) ends as a failure, not a hang.
    const timer = setTimeout(() => child.kill('SIGTERM'), COMMAND_TIMEOUT_MS);
    await pipeline(source, counted, child.stdin).catch(() => undefined);
    if (readError !== undefined) {
      child.kill('SIGTERM');
      await exited.catch(() => undefined);
      clearTimeout(timer);
      throw new HtcError('SSH_FAILED', `reading the local file to send to ${this.describe()} failed: ${readError.message}`);
    }
    const status = await exited.finally(() => clearTimeout(timer));
    this.checkConnection(status, argv);
    return { status, stdout, stderr };
  }

  /** Copies a local file to a remote path over the master connection (scp, no new login). */
  copyTo(localPath: string, remotePath: string): void {
    this.requireOpen();
    // scp takes the remote path as written (-s: the SFTP protocol, no remote shell in between).
    const r = spawnSync('scp', ['-q', '-s', ...this.baseOptions(), '-o', 'BatchMode=yes', localPath, `${this.target.host}:${remotePath}`], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
    if (r.status !== 0) throw new HtcError('SSH_FAILED', `copying ${localPath} to ${this.describe()}:${remotePath} failed: ${r.stderr.trim() || `scp exited ${r.status}`}`);
  }

  /** Ends the master connection (later steps would need a new login). */
  close(): void {
    spawnSync('ssh', [...this.baseOptions(), '-O', 'exit', this.target.host], { stdio: 'ignore', timeout: 15_000 });
  }
}
