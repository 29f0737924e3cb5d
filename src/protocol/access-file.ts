/**
 * The access file: what an access point writes in its directory so that
 * clients and pilots can find it and trust it (HyperQueue's server
 * directory). Written atomically by the AP when it is ready to serve, removed
 * when it stops; a file whose pid is not alive is stale.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const ACCESS_FILE = 'access.json';
export const SOCKET_FILE = 'ap.sock';

export interface AccessFile {
  readonly version: 1;
  readonly pid: number;
  /** The Unix socket local clients use. */
  readonly socket: string;
  /** The HTTPS URL remote clients and pilots use, when the AP listens on TCP. */
  readonly url: string | null;
  /** SHA-256 fingerprint of the AP's TLS certificate, for pinning. */
  readonly fingerprint: string | null;
  readonly owner: string;
  readonly domain: string;
  readonly startedAt: number;
}

/** The AP directory: `--dir`, else $HTC_DIR, else ~/.local/share/htc. */
export function apDirectory(dir: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (dir !== undefined && dir !== '') return dir;
  const fromEnv = env.HTC_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(homedir(), '.local', 'share', 'htc');
}
