/**
 * Authentication material of the access point (DESIGN.md decision 8):
 * identities `user@domain`, bearer tokens (JWT HS256 with key id, scopes,
 * revocation), file-system authentication of local clients on the Unix
 * socket, and the AP's self-signed TLS certificate with the fingerprint
 * clients pin.
 *
 * Clients and pilots that only need to pin the AP's certificate should import
 * `./pin.ts` directly: it uses Node builtins only (no jose, no selfsigned).
 */
export {
  checkDomain,
  checkUserName,
  formatIdentity,
  makeIdentity,
  parseIdentity,
  sameIdentity,
  type Identity,
} from './identity.ts';
export {
  KEY_FILE,
  REGISTRY_FILE,
  SCOPES,
  TokenIssuer,
  hasScope,
  isScope,
  requireScope,
  type AnnexBinding,
  type IssueRequest,
  type IssuedToken,
  type Scope,
  type TokenClaims,
  type TokenIssuerOptions,
  type TokenRecord,
} from './tokens.ts';
export {
  CHALLENGE_DIR,
  answerChallenge,
  createChallenge,
  ensureChallengeDir,
  parsePasswd,
  userNameForUid,
  verifyChallenge,
  type Challenge,
  type ChallengeOptions,
} from './local-auth.ts';
export { TLS_CERT_FILE, TLS_FILE, ensureTlsMaterial, type TlsMaterial } from './tls.ts';
export {
  createPinnedAgent,
  fingerprintOf,
  fingerprintOfDer,
  normalizeFingerprint,
  pinnedServerIdentity,
} from './pin.ts';
