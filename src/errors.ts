/**
 * Typed errors shared by every module.
 *
 * Every error a user can cause or see is an `HtcError` with a stable `code`
 * (never renamed once released: scripts match on it). The code's category
 * decides how the error leaves the program, in exactly one place
 * (`exitCodeFor`, `httpStatusFor`): bad input exits 2 / answers 4xx, a
 * failure exits 1 / answers 5xx. Anything that is not an HtcError is a bug
 * and is reported with its stack by the boundary that catches it.
 *
 * This module is a leaf: it imports nothing, so every layer may use it.
 */

/** Where in a text an error was found; 1-based, as editors count. */
export interface SourcePosition {
  readonly file?: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Stable error codes. `input` errors are the user's to fix (exit 2, HTTP
 * 400-range); `failure` errors are the environment's (exit 1, HTTP 500-range).
 */
export const ERROR_CODES = {
  USAGE: { category: 'input', http: 400 },
  CLASSAD_PARSE: { category: 'input', http: 400 },
  CLASSAD_INVALID: { category: 'input', http: 400 },
  SUBMIT_INVALID: { category: 'input', http: 400 },
  BAD_REQUEST: { category: 'input', http: 400 },
  NOT_FOUND: { category: 'input', http: 404 },
  CONFLICT: { category: 'input', http: 409 },
  REQUEST_TOO_LARGE: { category: 'input', http: 413 },
  AP_NOT_RUNNING: { category: 'failure', http: 503 },
  AP_FAILED: { category: 'failure', http: 502 },
  FILE_NOT_FOUND: { category: 'input', http: 404 },
  FILE_UNREADABLE: { category: 'failure', http: 500 },
  STORE_INCOMPATIBLE: { category: 'failure', http: 500 },
  AUTH_FAILED: { category: 'input', http: 401 },
  TOKEN_INVALID: { category: 'input', http: 401 },
  FORBIDDEN: { category: 'input', http: 403 },
  IDENTITY_INVALID: { category: 'input', http: 400 },
  TOKEN_NOT_FOUND: { category: 'input', http: 404 },
  AUTH_MATERIAL_INVALID: { category: 'failure', http: 500 },
  /**
   * An annex request that breaks its system's rules. Exit 1, not 2: HTCondor's
   * `annex create --test 1` exits 1 for an invalid request, and scripts rely on it.
   */
  ANNEX_REQUEST_INVALID: { category: 'failure', http: 400 },
  /** An ssh login or a remote command could not be carried out. */
  SSH_FAILED: { category: 'failure', http: 502 },
  /** The shared ssh connection is gone: the user logs in again. */
  SSH_DISCONNECTED: { category: 'failure', http: 503 },
  /** The back-end on the login node could not submit the pilots (the message says why, in words and SLURM's). */
  ANNEX_BACKEND_FAILED: { category: 'failure', http: 502 },
  /** The self-contained pilot executable could not be built (bundling, Node's single-executable steps, or the cache). */
  PILOT_BUILD_FAILED: { category: 'failure', http: 500 },
  /** A pilot moved files for a claim the AP does not hold (yet: it may have just restarted). */
  CLAIM_NOT_ACTIVE: { category: 'failure', http: 410 },
  INTERNAL: { category: 'failure', http: 500 },
} as const satisfies Record<string, { category: 'input' | 'failure'; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HtcError extends Error {
  readonly code: ErrorCode;
  readonly position: SourcePosition | undefined;

  constructor(code: ErrorCode, message: string, options: { position?: SourcePosition; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HtcError';
    this.code = code;
    this.position = options.position;
  }

  /** `file:line:column: message`, the form editors and compilers use. */
  describe(): string {
    const p = this.position;
    if (p === undefined) return this.message;
    const where = `${p.file === undefined ? '' : `${p.file}:`}${p.line}:${p.column}`;
    return `${where}: ${this.message}`;
  }
}

export function isInputError(error: unknown): boolean {
  return error instanceof HtcError && ERROR_CODES[error.code].category === 'input';
}

/** The one mapping from errors to process exit codes: 2 bad input, 1 failure. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return isInputError(error) ? 2 : 1;
}

/** The one mapping from errors to HTTP status codes. */
export function httpStatusFor(error: unknown): number {
  return error instanceof HtcError ? ERROR_CODES[error.code].http : 500;
}
