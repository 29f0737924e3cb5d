/** The `--dir` option every command that talks to an access point takes, and opening a client. */
import type { Command } from 'commander';
import { ApClient } from '../client/index.ts';
import { HtcError } from '../errors.ts';
import { apDirectory } from '../protocol/access-file.ts';

export function withDirOption(command: Command): Command {
  return command.option('--dir <dir>', 'the access point directory (default: $HTC_DIR, else ~/.local/share/htc)');
}

/**
 * Runs `fn` with a client, closing it afterwards: a remote AP when
 * $HTC_URL is set (with $HTC_TOKEN and $HTC_FINGERPRINT, as `htc token
 * create` prints them), else the local AP in `--dir`.
 */
export async function withClient<T>(dir: string | undefined, fn: (client: ApClient) => Promise<T>): Promise<T> {
  const url = process.env.HTC_URL;
  let client: ApClient;
  if (url !== undefined && url !== '' && dir === undefined) {
    const token = process.env.HTC_TOKEN;
    const fingerprint = process.env.HTC_FINGERPRINT;
    if (token === undefined || token === '' || fingerprint === undefined || fingerprint === '') {
      throw new HtcError('USAGE', 'HTC_URL is set, so HTC_TOKEN and HTC_FINGERPRINT must be too (htc token create prints all three)');
    }
    client = ApClient.remote(url, fingerprint, token);
  } else {
    client = ApClient.open(apDirectory(dir));
  }
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
