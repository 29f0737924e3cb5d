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
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { answerChallenge } from '../auth/index.ts';
import { HtcError } from '../errors.ts';
import { ACCESS_FILE, type AccessFile } from '../protocol/access-file.ts';
import {
  API_PREFIX, errorFromBody,
  type ActionRequest, type ActionResponse, type ApStatus, type AuthChallenge, type AuthSession, type EditRequest,
  type HistoryEntry, type JobSummary, type ListRequest, type ListResponse, type SubmitRequest, type SubmitResponse,
} from '../protocol/api.ts';

export class ApClient {
  private session: AuthSession | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  private constructor(
    readonly dir: string,
    readonly access: AccessFile,
  ) {}

  /** A client of the AP in `dir` (not yet authenticated: the first request does it). */
  static open(dir: string): ApClient {
    let access: AccessFile;
    try {
      access = JSON.parse(readFileSync(join(dir, ACCESS_FILE), 'utf8')) as AccessFile;
    } catch {
      throw new HtcError('AP_NOT_RUNNING', `no access point is running in ${dir} (no ${ACCESS_FILE}); start one with "htc ap start"`);
    }
    return new ApClient(dir, access);
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
    if (authenticated && this.session !== undefined) headers.authorization = `Bearer ${this.session.token}`;
    return new Promise<T>((resolve, reject) => {
      const req = request({ socketPath: this.access.socket, path: `${API_PREFIX}${path}`, method, headers, agent: this.agent }, (res) => {
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
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') {
          reject(new HtcError('AP_NOT_RUNNING', `no access point answers on ${this.access.socket} (pid ${this.access.pid} in ${this.dir} is gone?); start one with "htc ap start"`));
        } else {
          reject(new HtcError('AP_FAILED', `cannot reach the access point: ${error.message}`, { cause: error }));
        }
      });
      if (text !== undefined) req.write(text);
      req.end();
    });
  }

  /** Proves who we are by creating the file the AP names (HTCondor's FS method). */
  private async authenticate(): Promise<void> {
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

  jobLog(id: string): Promise<{ text: string }> {
    return this.call('GET', `/jobs/log?id=${encodeURIComponent(id)}`);
  }

  history(options: { all?: boolean; limit?: number } = {}): Promise<HistoryEntry[]> {
    return this.call('GET', `/jobs/history?all=${options.all === true}&limit=${options.limit ?? 1000}`);
  }
}
