/**
 * Bearer tokens of the access point (DESIGN.md decision 8): JWTs signed with
 * HS256 under a key id, carrying issuer, subject `user@domain`, scopes, issue
 * time, expiry and an id (`jti`) by which they can be revoked. Annex tokens
 * are also bound to one annex name and owner (claim `annex`).
 *
 * Files in the AP directory:
 * - `token-key.jwk`: the signing key, a JSON Web Key (RFC 7517, kty "oct",
 *   alg "HS256", 32 random bytes, a random `kid`), mode 0600, made on first
 *   open and never replaced (removing it invalidates every token).
 * - `tokens.json`: the registry of issued tokens (id, subject, scopes, times,
 *   annex binding, revoked flag), mode 0600, replaced atomically on every
 *   change. It never holds token text: a token cannot be recovered from it.
 *
 * Invariants:
 * - `verify` accepts a token only if all hold: three base64url parts; header
 *   `alg` HS256 with this key's `kid` and no `crit`; the HMAC matches
 *   (constant-time comparison); `iss` is this issuer; `sub` is a valid
 *   identity; `exp` is in the future (and `nbf`, if present, not); every scope
 *   is known; the `jti` is in the registry and not revoked. Anything else is a
 *   TOKEN_INVALID error saying which check failed.
 * - A token whose id is missing from the registry is refused, so the registry
 *   is the list of live tokens: pruning a record (done one day after its
 *   token expired) can never revive anything, and deleting the registry
 *   revokes every token.
 * - `issue` returns only after the token's record is durable; `revoke` takes
 *   effect in memory at once (even if saving fails: failing safe) and returns
 *   after the revocation is durable.
 * - One process (the AP) owns a directory's issuer; the registry is read at
 *   open, so revocations made by another process are not seen until reopened.
 *
 * Tokens are issued with jose (a standard JWT implementation) and verified
 * with node:crypto's HMAC directly: the same standard checks, without jose's
 * asynchronous WebCrypto path (about 10x the verify rate). Tests check that
 * each side accepts the other's tokens.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { HtcError } from '../errors.ts';
import { createFileOnce, ensureDirectory, readSecretFile, writeFileAtomic } from './files.ts';
import { checkDomain, formatIdentity, parseIdentity, type Identity } from './identity.ts';

/** Authorization levels, as HTCondor names them. */
export const SCOPES = ['READ', 'WRITE', 'ADVERTISE_STARTD', 'ADMINISTRATOR'] as const;
export type Scope = (typeof SCOPES)[number];

/** What holding a scope also grants (HTCondor: ADMINISTRATOR implies WRITE, WRITE implies READ). */
const IMPLIED: Record<Scope, readonly Scope[]> = {
  READ: ['READ'],
  WRITE: ['WRITE', 'READ'],
  ADVERTISE_STARTD: ['ADVERTISE_STARTD'],
  ADMINISTRATOR: ['ADMINISTRATOR', 'WRITE', 'READ'],
};

export const KEY_FILE = 'token-key.jwk';
export const REGISTRY_FILE = 'tokens.json';
const MAX_TOKEN_LENGTH = 8192;
/** Records stay listed this long after their token expired, then are pruned. */
const PRUNE_AFTER_SECONDS = 86_400;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface AnnexBinding {
  readonly name: string;
  /** `user@domain` of the annex's owner. */
  readonly owner: string;
}

export interface IssueRequest {
  /** `user@domain`. */
  readonly subject: string;
  readonly scopes: readonly Scope[];
  readonly lifetimeSeconds: number;
  readonly annex?: AnnexBinding;
}

export interface IssuedToken {
  readonly token: string;
  readonly id: string;
  /** Seconds since the epoch (the token's `exp`). */
  readonly expiresAt: number;
}

export interface TokenClaims {
  readonly id: string;
  readonly issuer: string;
  /** `user@domain`, canonical (domain in lower case). */
  readonly subject: string;
  readonly identity: Identity;
  readonly scopes: readonly Scope[];
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly annex?: AnnexBinding;
}

/** What the registry remembers of a token (never its text). */
export interface TokenRecord {
  readonly id: string;
  readonly subject: string;
  readonly scopes: readonly Scope[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revoked: boolean;
  readonly revokedAt?: number;
  readonly annex?: AnnexBinding;
}

export interface TokenIssuerOptions {
  /** The `iss` of tokens issued and required of tokens verified. Default: the host name (lower case). */
  readonly issuer?: string;
  /** Current time in seconds since the epoch (tests move it). Default: the system clock. */
  readonly clock?: () => number;
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** True when the claims grant `scope`, directly or by implication. */
export function hasScope(claims: Pick<TokenClaims, 'scopes'>, scope: Scope): boolean {
  return claims.scopes.some((held) => IMPLIED[held].includes(scope));
}

/** Throw FORBIDDEN unless the claims grant `scope`. */
export function requireScope(claims: Pick<TokenClaims, 'scopes' | 'subject'>, scope: Scope): void {
  if (!hasScope(claims, scope)) {
    throw new HtcError('FORBIDDEN', `${claims.subject} is not authorized for ${scope} (token scopes: ${claims.scopes.join(', ') || 'none'})`);
  }
}

function invalidToken(reason: string): HtcError {
  return new HtcError('TOKEN_INVALID', `token refused: ${reason}`);
}

function material(message: string, cause?: unknown): HtcError {
  return new HtcError('AUTH_MATERIAL_INVALID', message, cause === undefined ? {} : { cause });
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken(`its ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidToken(`its ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function checkAnnex(value: unknown, where: string): AnnexBinding {
  if (typeof value !== 'object' || value === null) throw new Error(`${where}: annex binding is not an object`);
  const { name, owner } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0) throw new Error(`${where}: annex name is missing`);
  if (typeof owner !== 'string') throw new Error(`${where}: annex owner is missing`);
  return { name, owner: formatIdentity(parseIdentity(owner)) };
}

function checkScopes(scopes: readonly unknown[]): Scope[] {
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) throw new Error(`unknown scope(s) ${unknown.map((s) => JSON.stringify(s)).join(', ')}; known: ${SCOPES.join(', ')}`);
  if (scopes.length === 0) throw new Error('no scopes');
  return [...new Set(scopes as Scope[])];
}

interface SigningKey {
  readonly kid: string;
  readonly secret: Buffer;
}

function parseKey(text: string, path: string): SigningKey {
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw material(`signing key ${path} is not valid JSON; remove it to make a new key (every token becomes invalid)`, error);
  }
  const secret = typeof jwk.k === 'string' && BASE64URL.test(jwk.k) ? Buffer.from(jwk.k, 'base64url') : undefined;
  if (jwk.kty !== 'oct' || (jwk.alg !== undefined && jwk.alg !== 'HS256') || typeof jwk.kid !== 'string' || jwk.kid === '' || secret === undefined || secret.length < 32) {
    throw material(`signing key ${path} is not an HS256 JSON Web Key with a kid and at least 32 bytes; remove it to make a new key`);
  }
  return { kid: jwk.kid, secret };
}

function parseRegistry(text: string, path: string): Map<string, TokenRecord> {
  const records = new Map<string, TokenRecord>();
  try {
    const data = JSON.parse(text);
    if (data?.version !== 1 || !Array.isArray(data.tokens)) throw new Error('expected {"version": 1, "tokens": [...]}');
    for (const raw of data.tokens as Record<string, unknown>[]) {
      const { id, subject, scopes, issuedAt, expiresAt, revoked, revokedAt, annex } = raw;
      if (typeof id !== 'string' || typeof subject !== 'string' || !Array.isArray(scopes)) throw new Error(`bad record ${JSON.stringify(raw)}`);
      if (typeof issuedAt !== 'number' || typeof expiresAt !== 'number' || typeof revoked !== 'boolean') throw new Error(`bad record ${id}`);
      records.set(id, {
        id,
        subject,
        scopes: checkScopes(scopes),
        issuedAt,
        expiresAt,
        revoked,
        ...(typeof revokedAt === 'number' ? { revokedAt } : {}),
        ...(annex === undefined ? {} : { annex: checkAnnex(annex, id) }),
      });
    }
  } catch (error) {
    // Never start with an empty registry in place of an unreadable one: that would lose revocations.
    throw material(`token registry ${path} is damaged (${(error as Error).message}); fix or remove it (removing revokes every token)`, error);
  }
  return records;
}

export class TokenIssuer {
  readonly issuer: string;
  readonly keyId: string;
  readonly #secret: Buffer;
  readonly #registryPath: string;
  readonly #records: Map<string, TokenRecord>;
  readonly #clock: () => number;
  #saving: Promise<void> = Promise.resolve();

  private constructor(issuer: string, key: SigningKey, registryPath: string, records: Map<string, TokenRecord>, clock: () => number) {
    this.issuer = issuer;
    this.keyId = key.kid;
    this.#secret = key.secret;
    this.#registryPath = registryPath;
    this.#records = records;
    this.#clock = clock;
  }

  /** Open the issuer of an AP directory, making the directory and signing key on first use. */
  static async open(dir: string, options: TokenIssuerOptions = {}): Promise<TokenIssuer> {
    const issuer = options.issuer ?? checkDomain(hostname());
    if (issuer.length === 0) throw new HtcError('USAGE', 'token issuer name is empty');
    await ensureDirectory(dir);
    const keyPath = join(dir, KEY_FILE);
    let keyText = await readSecretFile(keyPath, 'signing key');
    if (keyText === undefined) {
      const jwk = { kty: 'oct', alg: 'HS256', use: 'sig', kid: randomBytes(8).toString('hex'), k: randomBytes(32).toString('base64url') };
      await createFileOnce(keyPath, `${JSON.stringify(jwk)}\n`, 0o600);
      // Read back whichever key won if another process made one at the same moment.
      keyText = await readSecretFile(keyPath, 'signing key');
      if (keyText === undefined) throw material(`signing key ${keyPath} vanished while being created`);
    }
    const key = parseKey(keyText, keyPath);
    const registryPath = join(dir, REGISTRY_FILE);
    const registryText = await readSecretFile(registryPath, 'token registry');
    const records = registryText === undefined ? new Map<string, TokenRecord>() : parseRegistry(registryText, registryPath);
    return new TokenIssuer(issuer, key, registryPath, records, options.clock ?? (() => Date.now() / 1000));
  }

  /** Sign a new token and record it durably. Bad requests are USAGE errors. */
  async issue(request: IssueRequest): Promise<IssuedToken> {
    let subject: string;
    let scopes: Scope[];
    let annex: AnnexBinding | undefined;
    try {
      subject = formatIdentity(parseIdentity(request.subject));
      scopes = checkScopes(request.scopes);
      annex = request.annex === undefined ? undefined : checkAnnex(request.annex, 'token request');
    } catch (error) {
      throw new HtcError('USAGE', `cannot issue token: ${(error as Error).message}`, { cause: error });
    }
    const lifetime = request.lifetimeSeconds;
    if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
      throw new HtcError('USAGE', `cannot issue token: lifetime must be a positive whole number of seconds, not ${lifetime}`);
    }
    const issuedAt = Math.floor(this.#clock());
    const expiresAt = issuedAt + lifetime;
    const id = randomBytes(12).toString('hex');
    const token = await new SignJWT({ scope: scopes.join(' '), ...(annex === undefined ? {} : { annex }) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: this.keyId })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(id)
      .sign(this.#secret);
    const record: TokenRecord = { id, subject, scopes, issuedAt, expiresAt, revoked: false, ...(annex === undefined ? {} : { annex }) };
    this.#records.set(id, record);
    try {
      await this.#save();
    } catch (error) {
      this.#records.delete(id);
      throw error;
    }
    return { token, id, expiresAt };
  }

  /** Check a token (see the module comment for every check); its claims, or a TOKEN_INVALID error. */
  async verify(token: string): Promise<TokenClaims> {
    return this.verifySync(token);
  }

  /** `verify` without the promise, for hot paths. */
  verifySync(token: string): TokenClaims {
    if (typeof token !== 'string' || token.length === 0) throw invalidToken('no token given');
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken(`longer than ${MAX_TOKEN_LENGTH} characters`);
    const parts = token.split('.');
    if (parts.length !== 3) throw invalidToken('not a JWT (expected three dot-separated parts)');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) {
      throw invalidToken('not a JWT (parts must be base64url)');
    }
    const header = decodeJsonPart(headerPart, 'header');
    if (header.alg !== 'HS256') throw invalidToken(`algorithm ${JSON.stringify(header.alg)} is not accepted (only HS256)`);
    if (header.crit !== undefined) throw invalidToken('it has critical header extensions, which are not supported');
    if (header.typ !== undefined && header.typ !== 'JWT') throw invalidToken(`type ${JSON.stringify(header.typ)} is not JWT`);
    if (header.kid !== this.keyId) throw invalidToken(`signed with key ${JSON.stringify(header.kid)}, not this AP's key`);

    const expected = createHmac('sha256', this.#secret).update(`${headerPart}.${payloadPart}`).digest('base64url');
    const given = Buffer.from(signaturePart, 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'latin1'))) {
      throw invalidToken('bad signature');
    }

    const payload = decodeJsonPart(payloadPart, 'payload');
    const { iss, sub, exp, iat, nbf, jti, scope, annex } = payload;
    if (iss !== this.issuer) throw invalidToken(`issuer ${JSON.stringify(iss)} is not ${JSON.stringify(this.issuer)}`);
    if (typeof jti !== 'string' || jti.length === 0) throw invalidToken('it has no id (jti)');
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalidToken('it has no expiry (exp)');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidToken('it has no issue time (iat)');
    const now = this.#clock();
    if (now >= exp) throw invalidToken(`it expired at ${new Date(exp * 1000).toISOString()}`);
    if (nbf !== undefined && (typeof nbf !== 'number' || now < nbf)) throw invalidToken('it is not valid yet (nbf)');
    if (typeof sub !== 'string') throw invalidToken('it has no subject (sub)');
    let identity: Identity;
    let scopes: Scope[];
    let binding: AnnexBinding | undefined;
    try {
      identity = parseIdentity(sub);
      if (typeof scope !== 'string') throw new Error('no scope claim');
      scopes = checkScopes(scope.split(' ').filter((s) => s !== ''));
      binding = annex === undefined ? undefined : checkAnnex(annex, 'token');
    } catch (error) {
      throw invalidToken((error as Error).message);
    }
    const record = this.#records.get(jti);
    if (record === undefined) throw invalidToken(`token ${jti} is not known to this AP (not issued here, or its record was removed)`);
    if (record.revoked) throw invalidToken(`token ${jti} was revoked`);
    // The record is the authority: a token whose claims differ from what was
    // issued under its id (someone holding the key minting on an old id) is refused.
    if (record.subject !== formatIdentity(identity) || record.expiresAt !== exp || record.scopes.join(' ') !== scopes.join(' ')) {
      throw invalidToken(`token ${jti} does not match what was issued under that id`);
    }
    return {
      id: jti,
      issuer: iss,
      subject: formatIdentity(identity),
      identity,
      scopes,
      issuedAt: iat,
      expiresAt: exp,
      ...(binding === undefined ? {} : { annex: binding }),
    };
  }

  /** Revoke a token by id (idempotent); TOKEN_NOT_FOUND for an id never issued (or long pruned). */
  async revoke(id: string): Promise<TokenRecord> {
    const record = this.#records.get(id);
    if (record === undefined) throw new HtcError('TOKEN_NOT_FOUND', `no token with id ${JSON.stringify(id)}`);
    if (record.revoked) return record;
    const revoked: TokenRecord = { ...record, revoked: true, revokedAt: Math.floor(this.#clock()) };
    this.#records.set(id, revoked);
    try {
      await this.#save();
    } catch (error) {
      throw material(`token ${id} is revoked until the AP restarts, but saving the revocation failed: ${(error as Error).message}`, error);
    }
    return revoked;
  }

  /** Records of issued tokens (expired ones stay listed for a day), oldest first. */
  list(): TokenRecord[] {
    return [...this.#records.values()].sort((a, b) => a.issuedAt - b.issuedAt || a.id.localeCompare(b.id));
  }

  /** Write the whole registry; writes run one at a time, each saving the state current when it starts. */
  #save(): Promise<void> {
    const run = async (): Promise<void> => {
      const cutoff = this.#clock() - PRUNE_AFTER_SECONDS;
      for (const [id, record] of this.#records) if (record.expiresAt < cutoff) this.#records.delete(id);
      const text = `${JSON.stringify({ version: 1, tokens: this.list() }, null, 1)}\n`;
      await writeFileAtomic(this.#registryPath, text, 0o600);
    };
    const saved = this.#saving.then(run, run);
    this.#saving = saved.catch(() => undefined);
    return saved;
  }
}
