/**
 * TLS material: made once and reused, fingerprint form and stability, key
 * file mode, refusal of damaged material, and pinning against a real HTTPS
 * server on 127.0.0.1 (right fingerprint connects, wrong one sends nothing).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { createPinnedAgent, normalizeFingerprint, pinnedServerIdentity } from './pin.ts';
import { TLS_CERT_FILE, TLS_FILE, ensureTlsMaterial, fingerprintOf, type TlsMaterial } from './tls.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htc-tls-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const FINGERPRINT = /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/;

describe('ensureTlsMaterial', () => {
  it('makes the material once and reuses it: same certificate, same fingerprint', async () => {
    const dir = tempDir();
    const first = await ensureTlsMaterial(dir, ['ap.example.org', '192.0.2.7']);
    assert.match(first.fingerprint, FINGERPRINT);
    assert.equal(first.fingerprint, fingerprintOf(first.certPem));
    assert.equal(first.fingerprint, new X509Certificate(first.certPem).fingerprint256.toLowerCase());
    const second = await ensureTlsMaterial(dir, ['other-name']);
    assert.deepEqual(second, first);
    assert.equal(statSync(join(dir, TLS_FILE)).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, TLS_CERT_FILE), 'utf8'), first.certPem);
  });

  it('the certificate names localhost, loopback addresses and the given host names', async () => {
    const { certPem } = await ensureTlsMaterial(tempDir(), ['AP.example.org', '192.0.2.7']);
    const cert = new X509Certificate(certPem);
    for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:ap.example.org', 'IP Address:192.0.2.7']) {
      assert.ok(cert.subjectAltName?.includes(name), `${name} in ${cert.subjectAltName}`);
    }
    assert.equal(cert.checkHost('ap.example.org'), 'ap.example.org');
    assert.equal(cert.ca, false);
    assert.ok(new Date(cert.validTo).getTime() > Date.now() + 9 * 365 * 86_400_000);
  });

  it('concurrent first calls agree on one certificate', async () => {
    const dir = tempDir();
    const all = await Promise.all([1, 2, 3].map(() => ensureTlsMaterial(dir, [])));
    assert.equal(new Set(all.map((m) => m.fingerprint)).size, 1);
  });

  it('refuses material readable by others, or damaged', async () => {
    const dir = tempDir();
    await ensureTlsMaterial(dir, []);
    chmodSync(join(dir, TLS_FILE), 0o644);
    await assert.rejects(ensureTlsMaterial(dir, []), (e: unknown) => e instanceof HtcError && e.code === 'AUTH_MATERIAL_INVALID');
    const other = await ensureTlsMaterial(tempDir(), []);
    const mixed = readFileSync(join(dir, TLS_FILE), 'utf8').replace(/-----BEGIN CERTIFICATE-----[\s\S]+$/, other.certPem);
    writeFileSync(join(dir, TLS_FILE), mixed, { mode: 0o600 });
    chmodSync(join(dir, TLS_FILE), 0o600);
    await assert.rejects(ensureTlsMaterial(dir, []), /does not match its certificate/);
    writeFileSync(join(dir, TLS_FILE), other.certPem);
    await assert.rejects(ensureTlsMaterial(dir, []), /no private key/);
  });

  it('normalizes fingerprints written other ways', () => {
    const fp = 'ab:'.repeat(31) + 'cd';
    assert.equal(normalizeFingerprint(fp.toUpperCase()), fp);
    assert.equal(normalizeFingerprint(`sha256:${fp.replace(/:/g, '')}`), fp);
    assert.throws(() => normalizeFingerprint('ab:cd'), /not a SHA-256 certificate fingerprint/);
  });
});

describe('pinning against a real HTTPS server', () => {
  let material: TlsMaterial;
  let server: https.Server;
  let port: number;
  let requests = 0;
  const wrong = `00:${'11:'.repeat(30)}22`;

  before(async () => {
    material = await ensureTlsMaterial(tempDir(), []);
    server = https.createServer({ cert: material.certPem, key: material.keyPem }, (_req, res) => {
      requests += 1;
      res.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function get(options: https.RequestOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/', headers: { authorization: 'Bearer secret' }, ...options }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
  }

  it('a pinned agent with the right fingerprint connects', async () => {
    const agent = createPinnedAgent(material.fingerprint);
    assert.equal(await get({ agent }), 'hello');
    assert.equal(await get({ agent }), 'hello', 'and again on the same agent');
    agent.destroy();
  });

  it('a pinned agent with a wrong fingerprint fails before sending anything', async () => {
    const before = requests;
    const agent = createPinnedAgent(wrong);
    await assert.rejects(get({ agent }), (e: NodeJS.ErrnoException) => e.code === 'ERR_HTC_CERT_PIN' && e.message.includes(material.fingerprint));
    assert.equal(requests, before, 'the server saw no request');
    agent.destroy();
  });

  it('with the certificate as ca, checkServerIdentity comparing the fingerprint pins it', async () => {
    assert.equal(await get({ agent: false, ca: material.certPem, checkServerIdentity: pinnedServerIdentity(material.fingerprint) }), 'hello');
    const before = requests;
    await assert.rejects(get({ agent: false, ca: material.certPem, checkServerIdentity: pinnedServerIdentity(wrong) }), (e: NodeJS.ErrnoException) => e.code === 'ERR_HTC_CERT_PIN');
    assert.equal(requests, before);
  });

  it('pitfall kept visible: rejectUnauthorized false never calls checkServerIdentity', async () => {
    let called = false;
    const check = (): Error => {
      called = true;
      return new Error('pin');
    };
    assert.equal(await get({ agent: false, rejectUnauthorized: false, checkServerIdentity: check }), 'hello');
    assert.equal(called, false, 'this form accepts any server: use createPinnedAgent');
  });

  it('without pinning, the self-signed certificate is refused', async () => {
    await assert.rejects(get({ agent: false }), (e: NodeJS.ErrnoException) => e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});
