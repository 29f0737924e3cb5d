/**
 * `htc token create | list | revoke`: bearer tokens for remote clients
 * (HTTPS). The AP's owner issues tokens for anyone, with any scope; other
 * users only for themselves, with READ and WRITE. `create` prints the token
 * with the AP's URL and certificate fingerprint as the HTC_* variables a
 * remote `htc` reads.
 */
import { HtcError } from '../../../errors.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import { registerNoun, type Register } from '../../command.ts';
import { createOutput, withJsonOption } from '../../output.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "3600", "90m", "12h", "30d", "2w" as seconds. */
export function parseLifetime(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/i.exec(text.trim());
  if (m === null) throw new HtcError('USAGE', `--lifetime: ${JSON.stringify(text)} is not a duration (e.g. 3600, 90m, 12h, 30d)`);
  return Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase() || 's']!;
}

const registerCreate: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('create').description('issue a token (printed once: keep it secret)')))
    .option('--subject <user@domain>', "whom the token identifies (default: you); others' tokens need the AP's owner")
    .option('--scope <scopes>', 'comma-separated: READ, WRITE, ADVERTISE_STARTD, ADMINISTRATOR', 'READ,WRITE')
    .option('--lifetime <duration>', 'how long it is valid: seconds, or with m, h, d, w', '30d')
    .action(async (options: { subject?: string; scope: string; lifetime: string; json: boolean; dir?: string }) => {
      const scopes = options.scope.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
      const lifetimeSeconds = parseLifetime(options.lifetime);
      const { issued, url, fingerprint } = await withClient(options.dir, async (c) => ({
        issued: await c.createToken({ scopes, lifetimeSeconds, ...(options.subject === undefined ? {} : { subject: options.subject }) }),
        url: c.access.url,
        fingerprint: c.access.fingerprint,
      }));
      if (options.json) {
        ctx.stdout.write(`${JSON.stringify({ ...issued, url, fingerprint })}\n`);
        return;
      }
      ctx.stdout.write(`# token ${issued.id} for ${issued.subject} (${issued.scopes.join(', ')}), valid until ${new Date(issued.expiresAt * 1000).toISOString()}\n`);
      if (url === null) ctx.stdout.write('# this access point serves no HTTPS address yet: start it with --listen HOST:PORT for remote use\n');
      else ctx.stdout.write(`HTC_URL=${url}\nHTC_FINGERPRINT=${fingerprint ?? ''}\n`);
      ctx.stdout.write(`HTC_TOKEN=${issued.token}\n`);
    });
};

const registerList: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('list').description('the tokens issued (never their text)'))).action(async (options: { json: boolean; dir?: string }) => {
    const tokens = await withClient(options.dir, (c) => c.tokens());
    const out = createOutput({ json: options.json, stdout: ctx.stdout });
    if (options.json) {
      ctx.stdout.write(`${JSON.stringify(tokens)}\n`);
      return;
    }
    out.list(tokens.map((t) => ({
      ID: t.id,
      SUBJECT: t.subject,
      SCOPES: t.scopes.join(','),
      EXPIRES: new Date(t.expiresAt * 1000).toISOString(),
      REVOKED: t.revoked ? 'yes' : 'no',
    })));
  });
};

const registerRevoke: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('revoke').description('revoke a token: it is refused from now on')))
    .argument('<id>', 'the token id (htc token list)')
    .action(async (id: string, options: { json: boolean; dir?: string }) => {
      const record = await withClient(options.dir, (c) => c.revokeToken(id));
      if (options.json) ctx.stdout.write(`${JSON.stringify(record)}\n`);
      else ctx.stdout.write(`Token ${record.id} revoked\n`);
    });
};

export const registerToken: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'token', description: 'bearer tokens for remote clients', verbs: [registerCreate, registerList, registerRevoke] });
};
