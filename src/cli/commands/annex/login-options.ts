/**
 * What the annex commands that log in to a system share on the command line:
 * the login options, where the control sockets live, and the progress of
 * the pilot executable's copy (a bar in a terminal, two lines otherwise).
 */
import { SingleBar } from 'cli-progress';
import { join } from 'node:path';
import type { Command } from 'commander';
import { apDirectory } from '../../../protocol/access-file.ts';

export function withLoginOptions(command: Command): Command {
  return command
    .option('--login-name <user>', 'your user name on the login node (default: your ssh config, else the catalog)')
    .option('--login-host <host>', 'the login node (default: the catalog)')
    .option('--identity-file <file>', 'a private key to log in with (default: your ssh config and agent)')
    .option('--known-hosts <file>', "a known_hosts file to check the login node's key against (default: yours)");
}

/** Control sockets: in the user's htc directory, private. */
export function sshDirectory(dir: string | undefined): string {
  return join(apDirectory(dir), 'ssh');
}

/** A progress callback for a copy of `what`, started at its first call. */
export function copyProgress(stderr: NodeJS.WriteStream, what: string): { onBytes: (sent: number, total: number) => void; stop: () => void } {
  const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
  let stop = (): void => undefined;
  let update: ((sent: number) => void) | null = null;
  return {
    onBytes(sent, total) {
      if (update === null) {
        if (stderr.isTTY !== true) {
          stderr.write(`${what} (${mb(total)} MB)...\n`);
          const started = Date.now();
          update = () => undefined;
          stop = () => stderr.write(`Copied in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
        } else {
          const bar = new SingleBar({ format: `${what} [{bar}] {percentage}% {sent}/{size} MB`, stream: stderr, hideCursor: true, clearOnComplete: false });
          bar.start(total, 0, { sent: '0.0', size: mb(total) });
          update = (n) => bar.update(n, { sent: mb(n) });
          stop = () => bar.stop();
        }
      }
      update(sent);
    },
    stop: () => stop(),
  };
}
