/**
 * The typed client of the access point's API (the CLI and the web page use
 * it; never the store or core). Finds the AP through its access file,
 * authenticates once per client on the Unix socket by proving file
 * ownership, then sends JSON requests with the session as bearer token.
 *
 * Errors: an AP that is not running is AP_NOT_RUNNING with a hint; an error
 * the AP answered is rethrown as the same HtcError (code and message).
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { answerChallenge } from '../auth/index.ts';
import { createPinnedAgent } from '../auth/pin.ts';
import { HtcError } from '../errors.ts';
import { ACCESS_FILE, type AccessFile } from '../protocol/access-file.ts';
import type { AnnexCreateRequest, AnnexCreateResponse, AnnexLaunch, AnnexRequestStatus, AnnexShutdownResponse, AnnexStatus, AnnexWithdrawal } from '../protocol/annex.ts';
import {
  type JobResources,
  API_PREFIX, errorFromBody,
  type ActionRequest, type ActionResponse, type ApStatus, type AuthChallenge, type AuthSession, type EditRequest,
  type HistoryEntry, type JobSummary, type JobsetSummary, type ListRequest, type ListResponse, type SubmitRequest, type SubmitResponse,
} from '../protocol/api.ts';

/** How requests reach the AP: its Unix socket, or HTTPS with a pinned certificate and a token. */
type Transport =
  | { readonly kind: 'local'; readonly socket: string }
  | { readonly kind: 'remote'; readonly url: URL; readonly token: string };

export class ApClient {
  private session: AuthSession | undefined;
  private readonly agent: Agent;

  private constructor(
    readonly dir: string,
    readonly access: AccessFile,
    private readonly transport: Transport,
    fingerprint?: string,
  ) {
    this.agent = transport.kind === 'local' ? new Agent({ keepAlive: true, maxSockets: 4 }) : createPinnedAgent(fingerprint ?? '', { keepAlive: true, maxSockets: 4 });
  }

  /**
   * A client of a remote AP over HTTPS: its URL, the SHA-256 fingerprint of
   * its certificate (pinned: no other certificate is accepted) and a token.
   */
  static remote(url: string, fingerprint: string, token: string): ApClient {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new HtcError('USAGE', `${JSON.stringify(url)} is not a URL (expected https://HOST:PORT)`);
    }
    if (parsed.protocol !== 'https:') throw new HtcError('USAGE', `${url}: only https:// access points are supported`);
    const access: AccessFile = { version: 1, pid: 0, socket: '', url, fingerprint, owner: '', domain: '', startedAt: 0 };
    return new ApClient(url, access, { kind: 'remote', url: parsed, token }, fingerprint);
  }

  /** A client of the AP in `dir` (not yet authenticated: the first request does it). */
  static open(dir: string): ApClient {
    let access: AccessFile;
    try {
      access = JSON.parse(readFileSync(join(dir, ACCESS_FILE), 'utf8')) as AccessFile;
    } catch {
      throw new HtcError('AP_NOT_RUNNING', `no access point is running in ${dir} (no ${ACCESS_FILE}); start one with "htc ap start"`);
    }
    return new ApClient(dir, access, { kind: 'local', socket: access.socket });
  }

  close(): void {
    this.agent.destroy();
  }

  private send<T>(method: 'GET' | 'POST', path: string, body?: unknown, authenticated = true): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (text !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(text));
    }
    const t = this.transport;
    if (t.kind === 'remote') headers.authorization = `Bearer ${t.token}`;
    else if (authenticated && this.session !== undefined) headers.authorization = `Bearer ${this.session.token}`;
    return new Promise<T>((resolve, reject) => {
      const options: RequestOptions = { path: `${API_PREFIX}${path}`, method, headers, agent: this.agent };
      const onResponse = (res: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = chunks.length === 0 ? null : JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new HtcError('AP_FAILED', `the access point answered HTTP ${res.statusCode} with a body that is not JSON`));
            return;
          }
          if (res.statusCode === 200) resolve(parsed as T);
          else reject(errorFromBody(res.statusCode ?? 0, parsed));
        });
        res.on('error', reject);
      };
      const req: ClientRequest = t.kind === 'local'
        ? request({ ...options, socketPath: t.socket }, onResponse)
        : httpsRequest({ ...options, host: t.url.hostname.replace(/^\[|\]$/g, ''), port: t.url.port === '' ? 443 : Number(t.url.port) }, onResponse);
      req.on('error', (error: NodeJS.ErrnoException) => {
        const where = t.kind === 'local' ? t.socket : t.url.href;
        if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') {
          reject(new HtcError('AP_NOT_RUNNING', t.kind === 'local'
            ? `no access point answers on ${where} (pid ${this.access.pid} in ${this.dir} is gone?); start one with "htc ap start"`
            : `no access point answers at ${where}`));
        } else {
          reject(new HtcError('AP_FAILED', `cannot reach the access point at ${where}: ${error.message}`, { cause: error }));
        }
      });
      if (text !== undefined) req.write(text);
      req.end();
    });
  }

  /** Proves who we are by creating the file the AP names (HTCondor's FS method). */
  private async authenticate(): Promise<void> {
    if (this.transport.kind === 'remote') return;
    if (this.session !== undefined && this.session.expiresAt > Date.now() / 1000 + 30) return;
    const challenge = await this.send<AuthChallenge>('POST', '/auth/local', undefined, false);
    await answerChallenge(challenge.path);
    this.session = await this.send<AuthSession>('POST', '/auth/local/answer', { challengeId: challenge.challengeId }, false);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    await this.authenticate();
    return this.send<T>(method, path, body);
  }

  identity(): string | undefined {
    return this.session?.identity;
  }

  status(): Promise<ApStatus> {
    return this.call('GET', '/status');
  }

  submit(request: SubmitRequest): Promise<SubmitResponse> {
    return this.call('POST', '/jobs/submit', request);
  }

  list(request: ListRequest): Promise<ListResponse> {
    return this.call('POST', '/jobs/list', request);
  }

  job(id: string): Promise<{ summary: JobSummary; ad: string }> {
    return this.call('GET', `/jobs/status?id=${encodeURIComponent(id)}`);
  }

  act(request: ActionRequest): Promise<ActionResponse> {
    return this.call('POST', '/jobs/action', request);
  }

  edit(request: EditRequest): Promise<{ id: string; attribute: string; value: string }> {
    return this.call('POST', '/jobs/edit', request);
  }

  jobOutput(id: string, stream: 'out' | 'err'): Promise<{ text: string }> {
    return this.call('GET', `/jobs/output?id=${encodeURIComponent(id)}&stream=${stream}`);
  }

  jobResources(id: string): Promise<JobResources> {
    return this.call('GET', `/jobs/resources?id=${encodeURIComponent(id)}`);
  }

  jobLog(id: string): Promise<{ text: string }> {
    return this.call('GET', `/jobs/log?id=${encodeURIComponent(id)}`);
  }

  jobsets(all = false): Promise<JobsetSummary[]> {
    return this.call('GET', `/jobsets?all=${all}`);
  }

  jobset(id: string): Promise<JobsetSummary> {
    return this.call('GET', `/jobsets/status?id=${encodeURIComponent(id)}`);
  }

  removeJobset(id: string, reason?: string): Promise<ActionResponse> {
    return this.call('POST', '/jobsets/remove', { id, ...(reason === undefined ? {} : { reason }) });
  }

  createToken(request: { subject?: string; scopes?: string[]; lifetimeSeconds?: number }): Promise<{ token: string; id: string; expiresAt: number; subject: string; scopes: string[] }> {
    return this.call('POST', '/tokens/create', request);
  }

  tokens(): Promise<{ id: string; subject: string; scopes: string[]; issuedAt: number; expiresAt: number; revoked: boolean }[]> {
    return this.call('GET', '/tokens');
  }

  revokeToken(id: string): Promise<{ id: string; revoked: boolean }> {
    return this.call('POST', '/tokens/revoke', { id });
  }

  history(options: { all?: boolean; limit?: number } = {}): Promise<HistoryEntry[]> {
    return this.call('GET', `/jobs/history?all=${options.all === true}&limit=${options.limit ?? 1000}`);
  }

  createAnnex(request: AnnexCreateRequest): Promise<AnnexCreateResponse> {
    return this.call('POST', '/annexes/create', request);
  }

  annexes(name?: string): Promise<AnnexStatus[]> {
    return this.call('GET', `/annexes${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`);
  }

  shutdownAnnex(name: string): Promise<AnnexShutdownResponse> {
    return this.call('POST', '/annexes/shutdown', { name });
  }

  /** Records where a request's pilots were submitted (its SLURM job, its pilot directory). */
  recordAnnexLaunch(launch: AnnexLaunch): Promise<AnnexRequestStatus> {
    return this.call('POST', '/annexes/launched', launch);
  }

  /** Ends one request that never started or whose batch job is gone, with the reason. */
  withdrawAnnexRequest(withdrawal: AnnexWithdrawal): Promise<AnnexRequestStatus> {
    return this.call('POST', '/annexes/withdraw', withdrawal);
  }
}
