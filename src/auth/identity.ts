/**
 * Identities: who an authenticated party is, written `user@domain` as
 * HTCondor writes them (a token's subject, a job's owner).
 *
 * Invariants:
 * - An `Identity` made by `parseIdentity` or `makeIdentity` is valid: `user`
 *   and `domain` are non-empty, contain no `@`, no whitespace or control
 *   characters, and stay within the character sets below.
 * - The domain is canonical lower case (domains are DNS-like names, which are
 *   case-insensitive), so two identities are the same exactly when their
 *   formatted texts are equal. User names keep their case (Unix user names
 *   are case-sensitive).
 */
import { HtcError } from '../errors.ts';

export interface Identity {
  readonly user: string;
  readonly domain: string;
}

/** POSIX portable user names plus upper case and a trailing `$` (Samba machine accounts). */
const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;
/** Host names and HTCondor trust/UID domains: dot-separated labels of letters, digits, `-` and `_`. */
const DOMAIN = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
const MAX_USER = 64;
const MAX_DOMAIN = 253;

function invalid(message: string): HtcError {
  return new HtcError('IDENTITY_INVALID', message);
}

/** Check a user name; returns it unchanged. */
export function checkUserName(user: string): string {
  if (user.length === 0) throw invalid('user name is empty');
  if (user.length > MAX_USER) throw invalid(`user name '${user.slice(0, 20)}...' is longer than ${MAX_USER} characters`);
  if (!USER.test(user)) {
    throw invalid(
      `user name ${JSON.stringify(user)} is not valid: use letters, digits, '.', '_' and '-' (not starting with '.' or '-')`,
    );
  }
  return user;
}

/** Check a domain; returns it in canonical lower case. */
export function checkDomain(domain: string): string {
  const lower = domain.toLowerCase();
  if (lower.length === 0) throw invalid('domain is empty');
  if (lower.length > MAX_DOMAIN) throw invalid(`domain is longer than ${MAX_DOMAIN} characters`);
  if (!DOMAIN.test(lower)) {
    throw invalid(
      `domain ${JSON.stringify(domain)} is not valid: use dot-separated labels of letters, digits, '-' and '_'`,
    );
  }
  return lower;
}

export function makeIdentity(user: string, domain: string): Identity {
  return { user: checkUserName(user), domain: checkDomain(domain) };
}

/** Parse `user@domain`. Errors say what is wrong and what was expected. */
export function parseIdentity(text: string): Identity {
  const at = text.indexOf('@');
  if (at < 0) throw invalid(`identity ${JSON.stringify(text)} has no '@': expected user@domain`);
  if (text.indexOf('@', at + 1) >= 0) {
    throw invalid(`identity ${JSON.stringify(text)} has more than one '@': expected user@domain`);
  }
  const user = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (user.length === 0) throw invalid(`identity ${JSON.stringify(text)} has no user before '@': expected user@domain`);
  if (domain.length === 0) throw invalid(`identity ${JSON.stringify(text)} has no domain after '@': expected user@domain`);
  return makeIdentity(user, domain);
}

export function formatIdentity(identity: Identity): string {
  return `${identity.user}@${identity.domain}`;
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.user === b.user && a.domain === b.domain;
}
