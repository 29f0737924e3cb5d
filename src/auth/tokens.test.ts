/**
 * Tokens against real files in temporary directories: issue, verify, expiry,
 * revocation that survives a new issuer on the same directory, every refusal
 * (signature, issuer, key id, algorithm, scope, tampering, unknown id), file
 * permissions, and compatibility with jose in both directions.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import { HtcError, type ErrorCode } from '../errors.ts';
import { KEY_FILE, REGISTRY_FILE, TokenIssuer, hasScope, requireScope, type Scope } from './tokens.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htc-tokens-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A clock the test moves by hand, in seconds. */
function manualClock(start = 1_800_000_000): { now: () => number; advance: (s: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => (t += s) };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HtcError, `expected HtcError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

function keyOf(dir: string): { kid: string; secret: Uint8Array } {
  const jwk = JSON.parse(readFileSync(join(dir, KEY_FILE), 'utf8'));
  return { kid: jwk.kid, secret: Buffer.from(jwk.k, 'base64url') };
}

/** Re-sign (with jose) the claims of a token, changed by `edit`, as the issuer's key would. */
async function resign(dir: string, token: string, edit: (claims: Record<string, unknown>) => void, header: Record<string, unknown> = {}): Promise<string> {
  const { kid, secret } = keyOf(dir);
  const claims: Record<string, unknown> = { ...decodeJwt(token) };
  edit(claims);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid, ...header }).sign(secret);
}

const alice = { subject: 'alice@ap.example.org', scopes: ['READ', 'WRITE'] as Scope[], lifetimeSeconds: 3600 };

describe('TokenIssuer: key and files', () => {
  it('makes a 0600 JSON Web Key on first open and reuses it', async () => {
    const dir = tempDir();
    const first = await TokenIssuer.open(dir, { issuer: 'ap.example.org' });
    const keyPath = join(dir, KEY_FILE);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const jwk = JSON.parse(readFileSync(keyPath, 'utf8'));
    assert.equal(jwk.kty, 'oct');
    assert.equal(jwk.alg, 'HS256');
    assert.equal(Buffer.from(jwk.k, 'base64url').length, 32);
    assert.equal(jwk.kid, first.keyId);
    const second = await TokenIssuer.open(dir, { issuer: 'ap.example.org' });
    assert.equal(second.keyId, first.keyId);
  });

  it('two issuers opening a new directory at once agree on one key', async () => {
    const dir = tempDir();
    const issuers = await Promise.all([1, 2, 3, 4].map(() => TokenIssuer.open(dir)));
    assert.equal(new Set(issuers.map((i) => i.keyId)).size, 1);
  });

  it('registry is 0600 and never holds token text', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir, { issuer: 'ap.example.org' });
    const { token } = await issuer.issue(alice);
    const registry = readFileSync(join(dir, REGISTRY_FILE), 'utf8');
    assert.equal(statSync(join(dir, REGISTRY_FILE)).mode & 0o777, 0o600);
    const [, payload, signature] = token.split('.') as [string, string, string];
    assert.ok(!registry.includes(payload) && !registry.includes(signature));
  });

  it('refuses a signing key readable by others', async () => {
    const dir = tempDir();
    await TokenIssuer.open(dir);
    chmodSync(join(dir, KEY_FILE), 0o644);
    await rejectsWith(TokenIssuer.open(dir), 'AUTH_MATERIAL_INVALID', /accessible to other users.*chmod 600/);
  });

  it('refuses a damaged registry instead of forgetting revocations', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    await issuer.issue(alice);
    writeFileSync(join(dir, REGISTRY_FILE), '{"version":1,"tokens":[', { mode: 0o600 });
    await rejectsWith(TokenIssuer.open(dir), 'AUTH_MATERIAL_INVALID', /damaged/);
  });
});

describe('TokenIssuer: issue and verify', () => {
  it('a token verifies to its claims', async () => {
    const clock = manualClock();
    const issuer = await TokenIssuer.open(tempDir(), { issuer: 'ap.example.org', clock: clock.now });
    const issued = await issuer.issue({ ...alice, subject: 'alice@AP.example.org' });
    assert.equal(issued.expiresAt, 1_800_000_000 + 3600);
    const claims = await issuer.verify(issued.token);
    assert.deepEqual(claims, {
      id: issued.id,
      issuer: 'ap.example.org',
      subject: 'alice@ap.example.org',
      identity: { user: 'alice', domain: 'ap.example.org' },
      scopes: ['READ', 'WRITE'],
      issuedAt: 1_800_000_000,
      expiresAt: 1_800_003_600,
    });
  });

  it('is a standard JWT: jose verifies it with the stored key, header has kid', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir, { issuer: 'ap.example.org' });
    const { token, id } = await issuer.issue(alice);
    const { kid, secret } = keyOf(dir);
    const { payload, protectedHeader } = await jwtVerify(token, secret, { issuer: 'ap.example.org', algorithms: ['HS256'] });
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT', kid });
    assert.equal(payload.sub, 'alice@ap.example.org');
    assert.equal(payload.jti, id);
    assert.equal(payload.scope, 'READ WRITE');
  });

  it('accepts the same claims signed by jose (not only its own encoding)', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const { token, id } = await issuer.issue(alice);
    const again = await resign(dir, token, () => undefined, { typ: undefined });
    assert.notEqual(again, token);
    assert.equal((await issuer.verify(again)).id, id);
  });

  it('annex tokens carry their annex binding', async () => {
    const issuer = await TokenIssuer.open(tempDir());
    const annex = { name: 'gpus', owner: 'alice@ap.example.org' };
    const { token } = await issuer.issue({ subject: 'alice@ap.example.org', scopes: ['ADVERTISE_STARTD'], lifetimeSeconds: 60, annex });
    const claims = await issuer.verify(token);
    assert.deepEqual(claims.annex, annex);
    assert.deepEqual(issuer.list()[0]?.annex, annex);
  });

  it('refuses bad requests as USAGE errors', async () => {
    const issuer = await TokenIssuer.open(tempDir());
    await rejectsWith(issuer.issue({ ...alice, subject: 'alice' }), 'USAGE', /no '@'/);
    await rejectsWith(issuer.issue({ ...alice, scopes: ['READ', 'FLY' as Scope] }), 'USAGE', /unknown scope.*"FLY"/);
    await rejectsWith(issuer.issue({ ...alice, scopes: [] }), 'USAGE', /no scopes/);
    await rejectsWith(issuer.issue({ ...alice, lifetimeSeconds: 0 }), 'USAGE', /lifetime/);
    await rejectsWith(issuer.issue({ ...alice, lifetimeSeconds: 1.5 }), 'USAGE', /lifetime/);
    await rejectsWith(issuer.issue({ ...alice, annex: { name: '', owner: 'a@b' } }), 'USAGE', /annex name/);
    assert.deepEqual(issuer.list(), []);
  });

  it('concurrent issues are all recorded', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const issued = await Promise.all(Array.from({ length: 25 }, () => issuer.issue(alice)));
    const reopened = await TokenIssuer.open(dir);
    assert.equal(reopened.list().length, 25);
    for (const { token } of issued) await reopened.verify(token);
  });
});

describe('TokenIssuer: refusals', () => {
  it('expired tokens are refused', async () => {
    const clock = manualClock();
    const issuer = await TokenIssuer.open(tempDir(), { clock: clock.now });
    const { token } = await issuer.issue({ ...alice, lifetimeSeconds: 60 });
    clock.advance(59);
    await issuer.verify(token);
    clock.advance(1);
    await rejectsWith(issuer.verify(token), 'TOKEN_INVALID', /expired/);
  });

  it('revocation takes effect at once and survives a new issuer on the same directory', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const revokedOne = await issuer.issue(alice);
    const kept = await issuer.issue({ ...alice, subject: 'bob@ap.example.org' });
    const record = await issuer.revoke(revokedOne.id);
    assert.equal(record.revoked, true);
    await rejectsWith(issuer.verify(revokedOne.token), 'TOKEN_INVALID', /revoked/);
    assert.deepEqual(await issuer.revoke(revokedOne.id), record, 'revoking twice is harmless');

    const reopened = await TokenIssuer.open(dir);
    await rejectsWith(reopened.verify(revokedOne.token), 'TOKEN_INVALID', /revoked/);
    assert.equal((await reopened.verify(kept.token)).subject, 'bob@ap.example.org');
    const listed = new Map(reopened.list().map((r) => [r.id, r]));
    assert.equal(listed.size, 2);
    assert.deepEqual([listed.get(revokedOne.id)?.subject, listed.get(revokedOne.id)?.revoked], ['alice@ap.example.org', true]);
    assert.deepEqual([listed.get(kept.id)?.subject, listed.get(kept.id)?.revoked], ['bob@ap.example.org', false]);
    await rejectsWith(reopened.revoke('nope'), 'TOKEN_NOT_FOUND', /no token with id "nope"/);
  });

  it('a token signed with another key is refused', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const { token } = await issuer.issue(alice);
    const { kid } = keyOf(dir);
    const forged = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'HS256', kid }).sign(new Uint8Array(32).fill(7));
    await rejectsWith(issuer.verify(forged), 'TOKEN_INVALID', /bad signature/);
    const other = await TokenIssuer.open(tempDir());
    await rejectsWith(other.verify(token), 'TOKEN_INVALID', /not this AP's key/);
  });

  it('a token of another issuer name is refused', async () => {
    const dir = tempDir();
    const { token } = await (await TokenIssuer.open(dir, { issuer: 'ap-one' })).issue(alice);
    const renamed = await TokenIssuer.open(dir, { issuer: 'ap-two' });
    await rejectsWith(renamed.verify(token), 'TOKEN_INVALID', /issuer "ap-one" is not "ap-two"/);
  });

  it('a token with an unknown scope is refused even when validly signed', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const { token } = await issuer.issue(alice);
    const odd = await resign(dir, token, (c) => (c.scope = 'READ SUPERUSER'));
    await rejectsWith(issuer.verify(odd), 'TOKEN_INVALID', /unknown scope.*"SUPERUSER"/);
  });

  it('a tampered payload is refused', async () => {
    const issuer = await TokenIssuer.open(tempDir());
    const { token } = await issuer.issue(alice);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    for (const edit of [{ scope: 'ADMINISTRATOR' }, { sub: 'root@ap.example.org' }, { exp: claims.exp + 10 ** 6 }]) {
      const changed = Buffer.from(JSON.stringify({ ...claims, ...edit })).toString('base64url');
      await rejectsWith(issuer.verify(`${header}.${changed}.${signature}`), 'TOKEN_INVALID', /bad signature/);
    }
    const flipped = signature.slice(0, -2) + (signature.endsWith('A') ? 'B' : 'A') + signature.slice(-1);
    await rejectsWith(issuer.verify(`${header}.${payload}.${flipped}`), 'TOKEN_INVALID', /bad signature/);
  });

  it('other algorithms and malformed tokens are refused', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const { token } = await issuer.issue(alice);
    const [, payload] = token.split('.') as [string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: issuer.keyId })).toString('base64url')}.${payload}.`;
    await rejectsWith(issuer.verify(none), 'TOKEN_INVALID', /not a JWT|algorithm/);
    const { kid, secret } = keyOf(dir);
    const hs512 = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'HS512', kid }).sign(secret);
    await rejectsWith(issuer.verify(hs512), 'TOKEN_INVALID', /algorithm "HS512"/);
    const crit = await resign(dir, token, () => undefined, { crit: ['b64'], b64: true });
    await rejectsWith(issuer.verify(crit), 'TOKEN_INVALID', /critical/);
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', '!!.??.**', `${'a'.repeat(9000)}.b.c`]) {
      await rejectsWith(issuer.verify(bad), 'TOKEN_INVALID', /token refused/);
    }
  });

  it('a validly signed token whose id was never recorded is refused', async () => {
    const dir = tempDir();
    const issuer = await TokenIssuer.open(dir);
    const { token } = await issuer.issue(alice);
    const unknown = await resign(dir, token, (c) => (c.jti = 'f'.repeat(24)));
    await rejectsWith(issuer.verify(unknown), 'TOKEN_INVALID', /not known to this AP/);
  });
});

describe('scopes', () => {
  it('ADMINISTRATOR implies WRITE implies READ; ADVERTISE_STARTD stands alone', () => {
    const of = (...scopes: Scope[]) => ({ scopes, subject: 'a@b' });
    assert.ok(hasScope(of('ADMINISTRATOR'), 'READ') && hasScope(of('ADMINISTRATOR'), 'WRITE'));
    assert.ok(hasScope(of('WRITE'), 'READ') && !hasScope(of('WRITE'), 'ADMINISTRATOR'));
    assert.ok(!hasScope(of('READ'), 'WRITE'));
    assert.ok(!hasScope(of('ADVERTISE_STARTD'), 'READ') && !hasScope(of('ADMINISTRATOR'), 'ADVERTISE_STARTD'));
    assert.throws(() => requireScope(of('READ'), 'WRITE'), (e: unknown) => e instanceof HtcError && e.code === 'FORBIDDEN' && /a@b is not authorized for WRITE/.test(e.message));
  });
});
