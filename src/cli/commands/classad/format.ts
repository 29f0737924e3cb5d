/** `htc classad format FILE --to new|old|json [--from ...]`: converts ads between the three syntaxes. */
import { parseClassAdsText, printClassAd, printJsonClassAds, printOldClassAd } from '../../../classad/index.ts';
import { HtcError } from '../../../errors.ts';
import type { Register } from '../../command.ts';
import { readTextFile } from '../../input.ts';
import { parseSyntaxOption } from './ads.ts';

export const registerFormat: Register = (parent, ctx) => {
  parent
    .command('format')
    .description('print the ads of FILE (- for stdin) in another syntax')
    .argument('<file>', 'file holding one or more ads')
    .requiredOption('--to <syntax>', 'new (one ad per line), old (Name = expr lines, blank line between ads) or json')
    .option('--from <syntax>', 'syntax of FILE (default: detected)')
    .action(async (file: string, options: { to: string; from?: string }) => {
      const to = parseSyntaxOption(options.to, '--to');
      const from = parseSyntaxOption(options.from, '--from');
      if (to === undefined) throw new HtcError('USAGE', '--to is required');
      const text = await readTextFile(file, 'FILE', ctx.stdin);
      const ads = parseClassAdsText(text, from === undefined ? { file } : { file, syntax: from });
      if (to === 'json') ctx.stdout.write(printJsonClassAds(ads));
      else if (to === 'new') ctx.stdout.write(ads.map((ad) => `${printClassAd(ad)}\n`).join(''));
      else ctx.stdout.write(ads.map(printOldClassAd).join('\n'));
    });
};
