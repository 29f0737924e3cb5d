/**
 * The access point: the composition root of the daemon. It owns its
 * directory (queue database, access file, Unix socket, authentication
 * material), serves the API, and runs its background loops.
 *
 * Invariants: one AP per directory (a live access file refuses a second);
 * the access file exists only while the AP serves; stopping closes the
 * listener, then the queue (every acknowledged change is already durable),
 * then removes the socket and access file.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { TokenIssuer, ensureChallengeDir, ensureTlsMaterial } from '../auth/index.ts';
import { HtcError } from '../errors.ts';
import { isAlive } from '../processes.ts';
import { ACCESS_FILE, SOCKET_FILE, type AccessFile } from '../protocol/access-file.ts';
import type { ApStatus } from '../protocol/api.ts';
import { openJobQueue, type JobQueue } from '../store/index.ts';
import { AnnexService } from './annex-service.ts';
import { serveClaimFiles } from './claim-files.ts';
import { HttpApi } from './http-api.ts';
import { appendUserLog } from './job-files.ts';
import { JobRuns } from './job-runs.ts';
import { JobService } from './job-service.ts';
import { PilotGateway } from './pilot-gateway.ts';
import { DEFAULT_LEASES, Scheduler, type Leases } from './scheduler.ts';

/** Leases from the environment (tests shorten them), else the defaults. */
export function leasesFromEnv(env: NodeJS.ProcessEnv = process.env): Leases {
  const seconds = (name: string, fallback: number): number => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    slotLeaseSeconds: seconds('HTC_SLOT_LEASE_SECONDS', DEFAULT_LEASES.slotLeaseSeconds),
    jobLeaseSeconds: seconds('HTC_JOB_LEASE_SECONDS', DEFAULT_LEASES.jobLeaseSeconds),
    heartbeatSeconds: seconds('HTC_HEARTBEAT_SECONDS', DEFAULT_LEASES.heartbeatSeconds),
  };
}

export interface AccessPointOptions {
  readonly dir: string;
  /** Serve HTTPS (remote clients with tokens, pilots) on HOST:PORT; default 127.0.0.1 on a free port (pilots on this machine). */
  readonly listen?: string;
  /** Slot and job leases; default DEFAULT_LEASES ($HTC_SLOT_LEASE_SECONDS, $HTC_JOB_LEASE_SECONDS, $HTC_HEARTBEAT_SECONDS override, for tests). */
  readonly leases?: Leases;
  /** How often periodic policies are evaluated. Default 60 s ($HTC_POLICY_INTERVAL_MS overrides, for tests). */
  readonly policyIntervalMs?: number;
  /** Domain of local identities; default: this host's name. */
  readonly domain?: string;
  readonly log?: (line: string) => void;
}

/** `HOST:PORT` (IPv6 in brackets); port 0 picks a free one. */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new HtcError('USAGE', `--listen ${JSON.stringify(text)}: expected HOST:PORT, e.g. 127.0.0.1:9618`);
  return { host: m[1] ?? m[2]!, port };
}

/** Where the AP remembers the port it chose, to take it again after a restart. */
const LISTEN_FILE = 'listen.json';

function readPreviousPort(dir: string, host: string): number | undefined {
  try {
    const saved = JSON.parse(readFileSync(join(dir, LISTEN_FILE), 'utf8')) as { host?: unknown; port?: unknown };
    return saved.host === host && typeof saved.port === 'number' && saved.port > 0 ? saved.port : undefined;
  } catch {
    return undefined;
  }
}

/** Where the AP keeps how far it has written user logs. */
const USER_LOG_SEQ_FILE = 'userlog.seq';

function readFileOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export function readAccessFile(dir: string): AccessFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, ACCESS_FILE), 'utf8')) as AccessFile;
  } catch {
    return undefined;
  }
}

export { isAlive };

export class AccessPoint {
  private server: Server | undefined;
  private httpsServer: HttpsServer | undefined;
  private queue: JobQueue | undefined;
  private jobs: JobService | undefined;
  private scheduler: Scheduler | undefined;
  private gateway: PilotGateway | undefined;
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private readonly dir: string;
  private readonly log: (line: string) => void;
  private materializeTimer: NodeJS.Timeout | undefined;
  private policyTimer: NodeJS.Timeout | undefined;
  private userLogTimer: NodeJS.Timeout | undefined;
  /** Events up to this sequence number are in the user logs (kept in the AP dir across restarts). */
  private userLogSeq = 0;
  private stopping = false;
  private url: string | null = null;

  constructor(private readonly options: AccessPointOptions) {
    this.dir = resolve(options.dir);
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  }

  get socketPath(): string {
    return join(this.dir, SOCKET_FILE);
  }

  async start(): Promise<AccessFile> {
    // o+x: other local users reach the socket and the authentication directory through it.
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    const existing = readAccessFile(this.dir);
    if (existing !== undefined && existing.pid !== process.pid && isAlive(existing.pid)) {
      throw new HtcError('CONFLICT', `an access point is already running in ${this.dir} (pid ${existing.pid})`);
    }
    this.queue = openJobQueue(join(this.dir, 'queue.db'));
    this.jobs = new JobService(this.queue, undefined, `<${hostname()}:${this.socketPath}>`);
    const owner = userInfo().username;
    const domain = (this.options.domain ?? hostname()).toLowerCase();
    const challengeDir = await ensureChallengeDir(this.dir);
    const tokens = await TokenIssuer.open(join(this.dir, 'keys'), { issuer: domain });
    const runs = new JobRuns(this.queue, this.jobs);
    const scheduler = new Scheduler({
      queue: this.queue,
      jobs: this.jobs,
      runs,
      leases: this.options.leases ?? leasesFromEnv(),
      fairShareFile: join(this.dir, 'fair-share.json'),
      log: this.log,
      onQueueChange: () => {
        this.scheduleMaterialize();
        this.scheduleUserLogs();
      },
      onPilotAttached: (identity, now) => annexes.pilotAttached(identity, now),
    });
    this.scheduler = scheduler;
    let url: string | null = null;
    let fingerprint: string | null = null;
    const annexes = new AnnexService(this.queue, this.jobs, scheduler, tokens, () => (url === null || fingerprint === null ? null : { url, fingerprint }));
    const api = new HttpApi({
      jobs: this.jobs,
      annexes,
      tokens,
      challengeDir,
      domain,
      owner,
      status: () => this.status(),
      log: this.log,
      streams: (req, res, path, query) => serveClaimFiles({ tokens, claimFor: (id, who) => scheduler.claimFor(id, who) }, req, res, path, query),
      onChange: () => {
        this.scheduleMaterialize();
        this.scheduleUserLogs();
        scheduler.jobsChanged();
        scheduler.reconcile();
      },
    });
    rmSync(this.socketPath, { force: true });
    const server = createServer(api.handle);
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolveListen());
    });
    // Every local user may connect: each request is authenticated anyway.
    chmodSync(this.socketPath, 0o777);
    const swept = this.jobs.sweepFinished();
    if (swept > 0) this.log(`moved ${swept} finished job(s) left in the queue to history`);
    this.server = server;
    const { host, port: asked } = parseListen(this.options.listen ?? '127.0.0.1:0');
    const tls = await ensureTlsMaterial(join(this.dir, 'keys'), [host]);
    const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, api.handle);
    https.keepAliveTimeout = 5000;
    this.gateway = new PilotGateway(tokens, scheduler, this.log);
    https.on('upgrade', this.gateway.upgrade);
    // Pilots keep the URL they were given: an AP on a free port takes the same one again after a restart.
    const previous = asked === 0 ? readPreviousPort(this.dir, host) : undefined;
    const listenOn = (port: number): Promise<void> =>
      new Promise<void>((resolveListen, reject) => {
        const onError = (e: NodeJS.ErrnoException): void => reject(e);
        https.once('error', onError);
        https.listen(port, host, () => {
          https.off('error', onError);
          resolveListen();
        });
      });
    try {
      if (previous === undefined) await listenOn(asked);
      else await listenOn(previous).catch(() => listenOn(0));
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new HtcError('USAGE', `--listen ${this.options.listen ?? '127.0.0.1:0'}: ${e.code === 'EADDRINUSE' ? 'that address is in use' : e.message}`);
    }
    this.httpsServer = https;
    const address = https.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : asked;
    url = `https://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    if (asked === 0) writeFileSync(join(this.dir, LISTEN_FILE), `${JSON.stringify({ host, port: boundPort })}\n`);
    fingerprint = tls.fingerprint;
    scheduler.start();
    this.url = url;
    const access: AccessFile = { version: 1, pid: process.pid, socket: this.socketPath, url, fingerprint, owner, domain, startedAt: this.startedAt };
    const tmp = join(this.dir, `${ACCESS_FILE}.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(access, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, join(this.dir, ACCESS_FILE));
    this.log(`access point serving ${this.socketPath}${url === null ? '' : ` and ${url}`} (pid ${process.pid})`);
    this.scheduleMaterialize();
    const seqText = readFileOr(join(this.dir, USER_LOG_SEQ_FILE), '0').trim();
    if (!/^\d+$/.test(seqText)) throw new HtcError('AP_FAILED', `${join(this.dir, USER_LOG_SEQ_FILE)} is damaged (${JSON.stringify(seqText.slice(0, 20))}); put the last user-log event number in it, or 0 to write every event again`);
    this.userLogSeq = Number(seqText);
    this.scheduleUserLogs();
    const interval = this.options.policyIntervalMs ?? (Number(process.env.HTC_POLICY_INTERVAL_MS) || 60_000);
    this.policyTimer = setInterval(() => {
      try {
        if ((this.jobs?.applyPeriodicPolicies() ?? 0) > 0) {
          this.scheduleUserLogs();
          // Released jobs may match; held or removed running ones must be stopped on their pilots.
          this.scheduler?.jobsChanged();
          this.scheduler?.reconcile();
        }
      } catch (error) {
        this.log(`evaluating periodic policies failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }, interval);
    return access;
  }

  /** Writes new queue events into the jobs' user logs, soon (coalescing bursts). */
  private scheduleUserLogs(): void {
    if (this.userLogTimer !== undefined || this.stopping) return;
    this.userLogTimer = setTimeout(() => {
      this.userLogTimer = undefined;
      this.flushUserLogs();
    }, 20);
  }

  private flushUserLogs(): void {
    if (this.jobs === undefined) return;
    try {
      const seq = this.jobs.writeUserLogs(this.userLogSeq, (path, owner, text) => appendUserLog(path, owner, text), (m) => this.log(m));
      if (seq !== this.userLogSeq) {
        this.userLogSeq = seq;
        const tmp = join(this.dir, `${USER_LOG_SEQ_FILE}.tmp`);
        writeFileSync(tmp, `${seq}\n`);
        renameSync(tmp, join(this.dir, USER_LOG_SEQ_FILE));
      }
    } catch (error) {
      this.log(`writing user logs failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Makes procs of factory clusters in small steps, so requests are never kept waiting long. */
  private scheduleMaterialize(): void {
    if (this.materializeTimer !== undefined || this.stopping) return;
    this.materializeTimer = setTimeout(() => {
      this.materializeTimer = undefined;
      try {
        // New procs go straight into the matchmaker's index: no rescan of every idle job.
        if (this.jobs !== undefined && this.jobs.materializeSome(2000, (clusterId, from, count) => this.scheduler?.addIdle(clusterId, from, count)) > 0) {
          this.scheduleMaterialize();
        }
      } catch (error) {
        this.log(`materializing procs failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }, 10);
  }

  status(): ApStatus {
    const counts = this.jobs?.counts() ?? { idle: 0, running: 0, held: 0, completed: 0, removed: 0, transferringOutput: 0 };
    const clusters = this.queue?.clusters() ?? [];
    const unmade = clusters.reduce((n, c) => n + (c.procCount - c.materializedCount), 0);
    return {
      pid: process.pid,
      dir: this.dir,
      socket: this.socketPath,
      url: this.url,
      startedAt: this.startedAt,
      uptimeSeconds: Math.floor(Date.now() / 1000) - this.startedAt,
      owner: userInfo().username,
      jobs: { ...counts, idle: counts.idle + unmade },
      clusters: clusters.length,
    };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.materializeTimer !== undefined) clearTimeout(this.materializeTimer);
    if (this.policyTimer !== undefined) clearInterval(this.policyTimer);
    if (this.userLogTimer !== undefined) clearTimeout(this.userLogTimer);
    this.scheduler?.stop();
    this.gateway?.close();
    this.flushUserLogs();
    const https = this.httpsServer;
    if (https !== undefined) {
      await new Promise<void>((done) => {
        https.close(() => done());
        https.closeAllConnections();
      });
    }
    const server = this.server;
    if (server !== undefined) {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    }
    this.queue?.close();
    rmSync(this.socketPath, { force: true });
    const access = readAccessFile(this.dir);
    if (access?.pid === process.pid) rmSync(join(this.dir, ACCESS_FILE), { force: true });
    this.log('access point stopped');
  }
}

