/**
 * The access point's HTTP API: routing, authentication of each request,
 * body limits, and the one mapping from errors to responses.
 *
 * Invariants: every request is authenticated (a session from local
 * file-system authentication, or later a bearer token) before it reaches a
 * handler, except the two authentication steps themselves; bodies over
 * MAX_REQUEST_BYTES are refused with 413 before parsing; any HtcError
 * becomes `{error: {code, message}}` with its HTTP status, anything else a
 * 500 with a generic message (and the stack in the AP's log).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { HtcError, httpStatusFor } from '../errors.ts';
import { API_PREFIX, MAX_REQUEST_BYTES, asObject, parseActionRequest, parseEditRequest, parseListRequest, parseSubmitRequest } from '../protocol/api.ts';
import { createChallenge, hasScope, isScope, parseIdentity, verifyChallenge, type Challenge, type Scope, type TokenIssuer } from '../auth/index.ts';
import { readJobFile } from './job-files.ts';
import type { AnnexService } from './annex-service.ts';
import type { Caller, JobService } from './job-service.ts';
import { checkAnnexName, parseAnnexCreateRequest, parseAnnexLaunch, parseAnnexWithdrawal } from '../protocol/annex.ts';

/** How long a local session lasts; the CLI authenticates once per command. */
const SESSION_SECONDS = 600;

interface Session {
  readonly caller: Caller;
  readonly expiresAt: number;
}

/** What an authenticated request may do: local sessions may read and write; tokens carry scopes. */
interface Authenticated {
  readonly caller: Caller;
  readonly scopes: readonly Scope[];
}

/** Unanswered local-authentication challenges kept at once (each expires after a minute). */
const MAX_PENDING_CHALLENGES = 1000;

/** The longest token lifetime `htc token create` grants. */
const MAX_TOKEN_SECONDS = 366 * 24 * 3600;

export interface ApiContext {
  readonly jobs: JobService;
  readonly annexes?: AnnexService;
  readonly tokens: TokenIssuer;
  /** The challenge directory for local (file-system) authentication. */
  readonly challengeDir: string;
  /** The domain local identities belong to. */
  readonly domain: string;
  /** The AP's owner: changes every job. */
  readonly owner: string;
  readonly status: () => unknown;
  readonly log: (line: string) => void;
  /** Routes that stream (pilots' sandbox files): true when the request was one of them and is answered. */
  readonly streams?: (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<boolean>;
  /** Called after a request that may have made new work (submits): the AP's loops wake up. */
  readonly onChange: () => void;
}

type Handler = (caller: Caller, body: unknown, query: URLSearchParams, scopes?: readonly Scope[]) => unknown;

/** A route: its handler and the scope a token needs for it. */
interface Route {
  readonly scope: Scope;
  readonly handle: Handler;
}

export class HttpApi {
  private readonly sessions = new Map<string, Session>();
  private readonly challenges = new Map<string, Challenge>();
  private readonly routes: Map<string, Route>;

  constructor(private readonly ctx: ApiContext) {
    const jobs = ctx.jobs;
    const read = (handle: Handler): Route => ({ scope: 'READ', handle });
    const write = (handle: Handler): Route => ({ scope: 'WRITE', handle });
    const changing = (handle: Handler): Handler => (caller, body, query) => {
      const result = handle(caller, body, query);
      ctx.onChange();
      return result;
    };
    this.routes = new Map<string, Route>([
      ['GET /status', read(() => ctx.status())],
      ['POST /jobs/submit', write(changing((caller, body) => jobs.submit(caller, parseSubmitRequest(body))))],
      ['POST /jobs/list', read((caller, body) => jobs.list(caller, parseListRequest(body)))],
      ['GET /jobs/status', read((_caller, _body, query) => jobs.job(requiredQuery(query, 'id')))],
      ['POST /jobs/action', write(changing((caller, body) => jobs.act(caller, parseActionRequest(body))))],
      ['POST /jobs/edit', write(changing((caller, body) => jobs.edit(caller, parseEditRequest(body))))],
      ['GET /jobsets', read((caller, _body, query) => jobs.jobsets(caller, query.get('all') === 'true'))],
      ['GET /jobsets/status', read((caller, _body, query) => jobs.jobset(caller, requiredQuery(query, 'id')))],
      ['POST /jobsets/remove', write(changing((caller, body) => {
        const o = asObject(body, 'jobset remove');
        if (typeof o.id !== 'string') throw new HtcError('BAD_REQUEST', 'jobset remove: "id" (a jobset id or name) is required');
        return jobs.removeJobset(caller, o.id, typeof o.reason === 'string' ? o.reason : undefined);
      }))],
      ['POST /annexes/create', write((caller, body) => this.annexes().create(caller, parseAnnexCreateRequest(body)))],
      ['GET /annexes', read((caller, _body, query) => this.annexes().status(caller, query.get('name') ?? undefined))],
      ['POST /annexes/shutdown', write((caller, body) => this.annexes().shutdown(caller, checkAnnexName(asObject(body, 'annex shutdown').name)))],
      ['POST /annexes/launched', write((caller, body) => this.annexes().recordLaunch(caller, parseAnnexLaunch(body)))],
      ['POST /annexes/withdraw', write((caller, body) => this.annexes().withdraw(caller, parseAnnexWithdrawal(body)))],
      ['POST /tokens/create', { scope: 'WRITE', handle: (caller, body, _query, scopes) => this.createToken(caller, body, scopes ?? []) }],
      ['GET /tokens', { scope: 'READ', handle: (caller) => this.ownerOnly(caller, 'list tokens', () => ctx.tokens.list()) }],
      ['POST /tokens/revoke', { scope: 'READ', handle: (caller, body) => this.revokeToken(caller, body) }],
      ['GET /jobs/log', read((_caller, _body, query) => ({ text: jobs.jobLog(requiredQuery(query, 'id')) }))],
      ['GET /jobs/output', read((caller, _body, query) => {
        const stream = requiredQuery(query, 'stream');
        if (stream !== 'out' && stream !== 'err') throw new HtcError('BAD_REQUEST', 'stream must be out or err');
        const id = requiredQuery(query, 'id');
        const { path, owner } = jobs.streamPath(caller, id, stream);
        try {
          return { text: readJobFile(path, owner, MAX_OUTPUT_BYTES, `job ${id}'s ${stream === 'out' ? 'output' : 'error output'}`) };
        } catch (error) {
          if (error instanceof HtcError && error.code === 'NOT_FOUND') throw new HtcError('NOT_FOUND', `job ${id} has no output at ${path} yet (it has not run, or its output has not come back)`);
          throw error;
        }
      })],
      ['GET /jobs/resources', read((_caller, _body, query) => jobs.resources(requiredQuery(query, 'id')))],
      ['GET /jobs/history', read((caller, _body, query) => jobs.history(caller, { all: query.get('all') === 'true', limit: Number(query.get('limit') ?? '1000') }))],
    ]);
  }

  /** The node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.serve(req, res).catch((error: unknown) => this.fail(res, error));
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ap');
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw new HtcError('NOT_FOUND', `no such API path: ${url.pathname}`);
    const path = url.pathname.slice(API_PREFIX.length);
    // Sandbox files stream; they never go through the JSON body reader.
    if (this.ctx.streams !== undefined && (await this.ctx.streams(req, res, path, url.searchParams))) return;
    const body = await readBody(req);
    if (req.method === 'POST' && path === '/auth/local') return this.reply(res, await this.startLocalAuth());
    if (req.method === 'POST' && path === '/auth/local/answer') return this.reply(res, await this.finishLocalAuth(body));
    const route = this.routes.get(`${req.method ?? 'GET'} ${path}`);
    if (route === undefined) throw new HtcError('NOT_FOUND', `no such API request: ${req.method ?? 'GET'} ${url.pathname}`);
    const { caller, scopes } = this.authenticate(req);
    if (!hasScope({ scopes }, route.scope)) {
      throw new HtcError('FORBIDDEN', `this request needs the ${route.scope} scope; the token has ${scopes.join(', ') || 'none'}`);
    }
    this.reply(res, await route.handle(caller, body, url.searchParams, scopes));
  }

  private async startLocalAuth(): Promise<{ challengeId: string; path: string }> {
    const now = Date.now();
    for (const [id, c] of this.challenges) if (c.expiresAt < now) this.challenges.delete(id);
    if (this.challenges.size >= MAX_PENDING_CHALLENGES) throw new HtcError('CONFLICT', 'too many authentications under way; try again in a minute');
    const challenge = await createChallenge(this.ctx.challengeDir, { domain: this.ctx.domain });
    this.challenges.set(challenge.nonce, challenge);
    return { challengeId: challenge.nonce, path: challenge.path };
  }

  private async finishLocalAuth(body: unknown): Promise<{ token: string; identity: string; expiresAt: number }> {
    const id = asObject(body, 'auth').challengeId;
    if (typeof id !== 'string') throw new HtcError('BAD_REQUEST', 'auth: "challengeId" is required');
    const challenge = this.challenges.get(id);
    this.challenges.delete(id);
    if (challenge === undefined) throw new HtcError('AUTH_FAILED', 'local authentication failed: unknown or used challenge');
    const identity = await verifyChallenge(challenge);
    const token = randomBytes(24).toString('base64url');
    const expiresAt = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
    this.sessions.set(token, { caller: { user: identity.user, domain: identity.domain, isAdministrator: identity.user === this.ctx.owner }, expiresAt });
    this.forgetExpired();
    return { token, identity: `${identity.user}@${identity.domain}`, expiresAt };
  }

  private forgetExpired(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [token, s] of this.sessions) if (s.expiresAt < now) this.sessions.delete(token);
  }

  /**
   * A local session (from file-system authentication) or a bearer token the
   * AP issued. The caller's identity is always the authenticated one.
   */
  private authenticate(req: IncomingMessage): Authenticated {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
    if (token === undefined) throw new HtcError('AUTH_FAILED', 'not authenticated: authenticate first (the htc client does this by itself)');
    const session = this.sessions.get(token);
    if (session !== undefined) {
      if (session.expiresAt < Date.now() / 1000) throw new HtcError('AUTH_FAILED', 'the session has expired: authenticate again');
      return { caller: session.caller, scopes: session.caller.isAdministrator ? ['ADMINISTRATOR'] : ['WRITE'] };
    }
    if (!token.includes('.')) throw new HtcError('AUTH_FAILED', 'the session is unknown (the AP restarted?): authenticate again');
    const claims = this.ctx.tokens.verifySync(token);
    // A token acts for the AP's owner only as far as its scopes say: administering needs ADMINISTRATOR.
    const isAdministrator = hasScope(claims, 'ADMINISTRATOR');
    return { caller: { user: claims.identity.user, domain: claims.identity.domain, isAdministrator }, scopes: claims.scopes };
  }

  private annexes(): AnnexService {
    if (this.ctx.annexes === undefined) throw new HtcError('NOT_FOUND', 'this access point does not run annexes');
    return this.ctx.annexes;
  }

  private ownerOnly<T>(caller: Caller, what: string, fn: () => T): T {
    if (!caller.isAdministrator) throw new HtcError('FORBIDDEN', `only the access point's owner may ${what}`);
    return fn();
  }

  /** `htc token create`: the owner issues tokens for anyone; others only for themselves, with no more than READ and WRITE. */
  private async createToken(caller: Caller, body: unknown, held: readonly Scope[]): Promise<unknown> {
    const o = asObject(body, 'token');
    const subject = typeof o.subject === 'string' ? parseIdentity(o.subject) : { user: caller.user, domain: caller.domain };
    const scopes = o.scopes ?? ['READ', 'WRITE'];
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && isScope(s))) {
      throw new HtcError('BAD_REQUEST', 'token: "scopes" must be a non-empty list of READ, WRITE, ADVERTISE_STARTD, ADMINISTRATOR');
    }
    const lifetime = o.lifetimeSeconds ?? 30 * 24 * 3600;
    if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 60 || lifetime > MAX_TOKEN_SECONDS) {
      throw new HtcError('BAD_REQUEST', `token: "lifetimeSeconds" must be a whole number from 60 to ${MAX_TOKEN_SECONDS}`);
    }
    const self = subject.user === caller.user && subject.domain === caller.domain;
    if (!caller.isAdministrator && (!self || scopes.some((s) => s !== 'READ' && s !== 'WRITE'))) {
      throw new HtcError('FORBIDDEN', "only the access point's owner may issue tokens for others or with ADVERTISE_STARTD or ADMINISTRATOR");
    }
    // No token grants more than the credential that asked for it.
    const notHeld = (scopes).filter((s) => !hasScope({ scopes: held }, s));
    if (notHeld.length > 0) throw new HtcError('FORBIDDEN', `you cannot issue a token with ${notHeld.join(', ')}: your credential does not have it`);
    const issued = await this.ctx.tokens.issue({ subject: `${subject.user}@${subject.domain}`, scopes: scopes, lifetimeSeconds: lifetime });
    return { ...issued, subject: `${subject.user}@${subject.domain}`, scopes };
  }

  private async revokeToken(caller: Caller, body: unknown): Promise<unknown> {
    const id = asObject(body, 'revoke').id;
    if (typeof id !== 'string') throw new HtcError('BAD_REQUEST', 'revoke: "id" is required');
    if (!caller.isAdministrator) throw new HtcError('FORBIDDEN', "only the access point's owner may revoke tokens");
    return this.ctx.tokens.revoke(id);
  }

  private reply(res: ServerResponse, value: unknown): void {
    const text = JSON.stringify(value ?? null);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    sendError(res, error, this.ctx.log);
  }
}

/** The one mapping from an error to a response: `{error: {code, message}}` with the code's HTTP status. */
export function sendError(res: ServerResponse, error: unknown, log: (line: string) => void): void {
  const known = error instanceof HtcError;
  if (!known) log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const status = httpStatusFor(error);
  const body = JSON.stringify({ error: known ? { code: error.code, message: error.describe() } : { code: 'INTERNAL', message: 'internal error in the access point (see its log)' } });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** How much of a job's output file `htc job out|err` returns (the end of it). */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

function requiredQuery(query: URLSearchParams, name: string): string {
  const v = query.get(name);
  if (v === null || v === '') throw new HtcError('BAD_REQUEST', `the query parameter "${name}" is required`);
  return v;
}

/** The request body as JSON (undefined when empty); over the limit is a 413, bad JSON a 400. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_REQUEST_BYTES) {
    req.resume();
    throw new HtcError('REQUEST_TOO_LARGE', `the request is ${declared} bytes; the limit is ${MAX_REQUEST_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new HtcError('REQUEST_TOO_LARGE', `the request is over the limit of ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HtcError('BAD_REQUEST', `the request body is not JSON: ${(error as Error).message}`);
  }
}
