/**
 * The AP's TLS material: a self-signed certificate and its private key, made
 * on first start and reused ever after, so the fingerprint that clients and
 * pilots pin (from the access file) stays the same across restarts.
 *
 * Files in the given directory:
 * - `tls.pem`: private key and certificate together, mode 0600, created once
 *   (atomically, never replaced: of two processes starting at once, one
 *   certificate wins and both use it).
 * - `tls-cert.pem`: a copy of the certificate alone (public, mode 0644) for
 *   people who want to trust it in a browser; rewritten when missing.
 *
 * Invariants:
 * - The certificate is ECDSA P-256 / SHA-256, valid from a day before it was
 *   made for ten years, for localhost, 127.0.0.1, ::1 and the host names given
 *   at creation. Host names given later do not replace it (that would change
 *   the pinned fingerprint); remove `tls.pem` to make a new one.
 * - Material that is damaged (no certificate, no key, or a key that does not
 *   match the certificate) or readable by others is refused, not regenerated.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { HtcError } from '../errors.ts';
import { createFileOnce, ensureDirectory, readSecretFile, writeFileAtomic } from './files.ts';
import { fingerprintOf } from './pin.ts';

export const TLS_FILE = 'tls.pem';
export const TLS_CERT_FILE = 'tls-cert.pem';
const VALID_YEARS = 10;
const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1'];

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the DER certificate, lower-case hex with colons. */
  readonly fingerprint: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\r?\n?/;
const KEY_BLOCK = /-----BEGIN ((?:EC |RSA )?PRIVATE KEY)-----[\s\S]+?-----END \1-----\r?\n?/;

function damaged(path: string, what: string, cause?: unknown): HtcError {
  return new HtcError(
    'AUTH_MATERIAL_INVALID',
    `TLS material ${path} ${what}; remove it to make a new certificate (clients must then pin the new fingerprint)`,
    cause === undefined ? {} : { cause },
  );
}

function parseMaterial(text: string, path: string): TlsMaterial {
  const certPem = CERT_BLOCK.exec(text)?.[0];
  const keyPem = KEY_BLOCK.exec(text)?.[0];
  if (certPem === undefined) throw damaged(path, 'holds no certificate');
  if (keyPem === undefined) throw damaged(path, 'holds no private key');
  try {
    const certificate = new X509Certificate(certPem);
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) throw damaged(path, 'holds a key that does not match its certificate');
  } catch (error) {
    if (error instanceof HtcError) throw error;
    throw damaged(path, `cannot be read (${(error as Error).message})`, error);
  }
  return { certPem, keyPem, fingerprint: fingerprintOf(certPem) };
}

async function makeMaterial(hostnames: readonly string[]): Promise<string> {
  const names = [...new Set([...DEFAULT_NAMES, ...hostnames.map((h) => h.trim().toLowerCase()).filter((h) => h !== '')])];
  const notBefore = new Date(Date.now() - 86_400_000);
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + VALID_YEARS);
  const commonName = names.find((n) => n !== 'localhost' && isIP(n) === 0) ?? 'localhost';
  const pems = await generate([{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'htc access point' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) === 0 ? { type: 2 as const, value: n } : { type: 7 as const, ip: n })) },
    ],
  });
  const keyPem = pems.private.endsWith('\n') ? pems.private : `${pems.private}\n`;
  const certPem = pems.cert.endsWith('\n') ? pems.cert : `${pems.cert}\n`;
  return keyPem + certPem;
}

/**
 * The AP's certificate and key in `dir`, made on the first call (valid for
 * localhost, 127.0.0.1, ::1 and `hostnames`) and the same on every later call.
 */
export async function ensureTlsMaterial(dir: string, hostnames: readonly string[] = []): Promise<TlsMaterial> {
  await ensureDirectory(dir);
  const path = join(dir, TLS_FILE);
  let text = await readSecretFile(path, 'TLS key and certificate');
  if (text === undefined) {
    await createFileOnce(path, await makeMaterial(hostnames), 0o600);
    text = await readSecretFile(path, 'TLS key and certificate');
    if (text === undefined) throw damaged(path, 'vanished while being created');
  }
  const material = parseMaterial(text, path);
  const certPath = join(dir, TLS_CERT_FILE);
  const copy = await fsp.readFile(certPath, 'utf8').catch(() => undefined);
  if (copy !== material.certPem) await writeFileAtomic(certPath, material.certPem, 0o644);
  return material;
}

export { fingerprintOf } from './pin.ts';
