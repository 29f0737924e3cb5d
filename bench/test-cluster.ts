/**
 * The test cluster for benchmarks: its login details (from the environment
 * `scripts/test-env.sh env` prints, else asked of the script), a way to run
 * commands as its user over one shared SSH connection, and the `htc`
 * options that log in with its key. Benchmarks need it up
 * (`scripts/test-env.sh up`, as root).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/test-env.sh', import.meta.url));

export interface TestCluster {
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly key: string;
  readonly knownHosts: string;
  /** `htc annex` options that log in with the cluster's key and pinned host key. */
  readonly loginOptions: readonly string[];
  /** A command on the login node as the cluster's user (one shared connection); throws on failure. */
  remote(command: string, input?: string): string;
  close(): void;
}

export function testCluster(): TestCluster {
  const status = spawnSync('bash', [SCRIPT, 'status'], { encoding: 'utf8' });
  if (/not running/.test(status.stdout)) throw new Error(`the test cluster is not up: run "bash scripts/test-env.sh up" (as root) first\n${status.stdout}`);
  const env = new Map<string, string>();
  for (const line of spawnSync('bash', [SCRIPT, 'env'], { encoding: 'utf8' }).stdout.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m !== null) env.set(m[1]!, m[2]!);
  }
  const get = (name: string): string => process.env[name] ?? env.get(name) ?? '';
  const host = get('HTC_TEST_SSH_HOST');
  const port = get('HTC_TEST_SSH_PORT');
  const user = get('HTC_TEST_SSH_USER');
  const key = get('HTC_TEST_SSH_KEY');
  const knownHosts = get('HTC_TEST_SSH_KNOWN_HOSTS');
  const controlDir = mkdtempSync(join(tmpdir(), 'htc-bench-ssh-'));
  const base = ['-p', port, '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', `ControlPath=${join(controlDir, 'cm')}`, '-o', 'ControlMaster=auto', '-o', 'ControlPersist=60'];
  const target = `${user}@${host}`;
  return {
    host, port, user, key, knownHosts,
    loginOptions: ['--identity-file', key, '--known-hosts', knownHosts],
    remote(command: string, input?: string): string {
      const r = spawnSync('ssh', [...base, target, command], { encoding: 'utf8', input, timeout: 600_000, maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`ssh ${command.slice(0, 80)}: exit ${r.status}: ${r.stderr}`);
      return r.stdout;
    },
    close(): void {
      spawnSync('ssh', [...base, '-O', 'exit', target], { stdio: 'ignore' });
      rmSync(controlDir, { recursive: true, force: true });
    },
  };
}
