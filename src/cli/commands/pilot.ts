/**
 * `htc pilot --config FILE`: runs a pilot (internal: annex front-ends start
 * it, on compute nodes or as local processes). The config file holds the
 * AP's address, its certificate fingerprint and the annex token; it is
 * written mode 0600 by the launcher and removed with the pilot's directory.
 */
import { readFileSync } from 'node:fs';
import { HtcError } from '../../errors.ts';
import { Pilot, parsePilotConfig } from '../../pilot/index.ts';
import type { Register } from '../command.ts';

export const registerPilot: Register = (parent) => {
  parent
    .command('pilot', { hidden: true })
    .description('run a pilot (started by annex front-ends)')
    .requiredOption('--config <file>', 'the pilot configuration (JSON)')
    .action(async (options: { config: string }) => {
      let text: string;
      try {
        text = readFileSync(options.config, 'utf8');
      } catch (error) {
        throw new HtcError('FILE_NOT_FOUND', `--config ${options.config}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
      }
      const code = await new Pilot(parsePilotConfig(text, options.config)).run();
      process.exitCode = code;
    });
};
