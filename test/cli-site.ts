/**
 * What the end-to-end tests share: running the real `htc` CLI as a user
 * would (in a directory, with an environment), and waiting for a state with
 * a deadline (waits assert on states, never on durations).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/htc.js', import.meta.url));

/** Where a test runs the CLI: its working directory and environment (HTC_DIR and the like). */
export interface CliSite {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

export function htc(s: CliSite, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: s.dir, env: s.env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `htc ARGS` that must succeed; its standard output. */
export function ok(s: CliSite, args: readonly string[]): string {
  const r = htc(s, args);
  assert.equal(r.status, 0, `htc ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it gives a value (not undefined or false), or fails
 * after `timeoutMs`; `explain`, when given, says what the state was then.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000, pollMs = 200, explain?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${explained(explain)}`);
    }
    await sleep(pollMs);
  }
}

function explained(explain: (() => string) | undefined): string {
  if (explain === undefined) return '';
  try {
    return `; state then: ${explain()}`;
  } catch (error) {
    return `; the state could not be read: ${(error as Error).message}`;
  }
}
