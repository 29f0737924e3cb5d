/**
 * Certificate pinning for clients and pilots of an AP with a self-signed
 * certificate: they know the certificate's SHA-256 fingerprint (from the
 * access file) and nothing else. Node builtins only, so the pilot bundle can
 * use it without the AP's dependencies.
 *
 * Fingerprint form: SHA-256 of the DER certificate, lower-case hex bytes
 * joined by colons (`ab:01:...`, 95 characters). `normalizeFingerprint`
 * also accepts upper case, no colons and a `sha256:` prefix.
 *
 * Pitfall this module exists for: with `rejectUnauthorized: false`, Node never
 * calls `checkServerIdentity` for a self-signed certificate (it runs only when
 * chain verification succeeded), so "pinning" written that way accepts any
 * server. Two correct ways:
 * - `createPinnedAgent(fingerprint)`: the agent finishes the TLS handshake,
 *   compares the fingerprint, and only then gives the socket to the HTTP
 *   client, so nothing (no bearer token) is sent to a server that fails the pin.
 * - with the certificate itself at hand: `{ ca: certPem, checkServerIdentity:
 *   pinnedServerIdentity(fingerprint) }`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { HtcError } from '../errors.ts';

function colonHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1:');
}

/** SHA-256 fingerprint of a certificate's DER bytes. */
export function fingerprintOfDer(der: Uint8Array): string {
  return colonHex(createHash('sha256').update(der).digest());
}

/** SHA-256 fingerprint of the (first) certificate in a PEM text. */
export function fingerprintOf(certPem: string): string {
  return fingerprintOfDer(new X509Certificate(certPem).raw);
}

/** The canonical form of a SHA-256 fingerprint; USAGE error when it is not one. */
export function normalizeFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new HtcError('USAGE', `${JSON.stringify(text)} is not a SHA-256 certificate fingerprint (64 hex digits, colons allowed)`);
  }
  return colonHex(Buffer.from(hex, 'hex'));
}

function pinError(expected: string, actual: string | undefined): Error {
  const error = new Error(
    actual === undefined
      ? 'the server presented no certificate'
      : `the server's certificate fingerprint ${actual} is not the pinned ${expected}`,
  ) as NodeJS.ErrnoException;
  error.code = 'ERR_HTC_CERT_PIN';
  return error;
}

/**
 * A `checkServerIdentity` that accepts exactly the pinned certificate. Only
 * effective when chain verification succeeds first (pass the certificate as
 * `ca`); see the module comment.
 */
export function pinnedServerIdentity(fingerprint: string): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  const expected = normalizeFingerprint(fingerprint);
  return (_host, cert) => {
    const actual = cert.raw === undefined ? undefined : fingerprintOfDer(cert.raw);
    return actual === expected ? undefined : pinError(expected, actual);
  };
}

class PinnedAgent extends https.Agent {
  readonly #expected: string;

  constructor(expected: string, options: https.AgentOptions) {
    // No TLS session cache: every connection is checked by a full handshake.
    super({ ...options, maxCachedSessions: 0 });
    this.#expected = expected;
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const done = callback ?? (() => undefined);
    // Chain verification is replaced by the pin, checked below before the socket is handed over.
    const socket = tls.connect({ ...(options as tls.ConnectionOptions), rejectUnauthorized: false, session: undefined });
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      done(error, socket);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate(false).raw as Buffer | undefined;
      const actual = raw === undefined ? undefined : fingerprintOfDer(raw);
      if (actual !== this.#expected) {
        fail(pinError(this.#expected, actual));
        return;
      }
      settled = true;
      socket.removeListener('error', fail);
      done(null, socket);
    });
    return undefined;
  }
}

/** An HTTPS agent that talks only to the server whose certificate has this fingerprint. */
export function createPinnedAgent(fingerprint: string, options: https.AgentOptions = {}): https.Agent {
  return new PinnedAgent(normalizeFingerprint(fingerprint), options);
}
