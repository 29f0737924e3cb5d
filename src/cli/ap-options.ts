/** The `--dir` option every command that talks to an access point takes, and opening a client. */
import type { Command } from 'commander';
import { ApClient } from '../client/index.ts';
import { apDirectory } from '../protocol/access-file.ts';

export function withDirOption(command: Command): Command {
  return command.option('--dir <dir>', 'the access point directory (default: $HTC_DIR, else ~/.local/share/htc)');
}

/** Runs `fn` with a client of the AP in `--dir`, closing it afterwards. */
export async function withClient<T>(dir: string | undefined, fn: (client: ApClient) => Promise<T>): Promise<T> {
  const client = ApClient.open(apDirectory(dir));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
