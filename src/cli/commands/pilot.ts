/**
 * `htc pilot --config FILE [--work-dir DIR]`: runs a pilot (internal: annex
 * front-ends start it, on compute nodes or as local processes). The config
 * file holds the AP's address, its certificate fingerprint and the annex
 * token; it is written mode 0600 by the launcher and removed with the
 * pilot's directory. The same pilot, without Node installed, is the
 * `htc-pilot` executable (src/pilot/main.ts); both load the config with
 * `loadPilotConfig`.
 */
import { Pilot, loadPilotConfig } from '../../pilot/index.ts';
import type { Register } from '../command.ts';

export const registerPilot: Register = (parent) => {
  parent
    .command('pilot', { hidden: true })
    .description('run a pilot (started by annex front-ends)')
    .requiredOption('--config <file>', 'the pilot configuration (JSON)')
    .option('--work-dir <dir>', "this pilot's own directory: sandboxes in DIR/execute, DIR removed at exit (overrides the config's executeDir and removeOnExit)")
    .action(async (options: { config: string; workDir?: string }) => {
      const config = loadPilotConfig(options.config, options.workDir === undefined ? {} : { workDir: options.workDir });
      process.exitCode = await new Pilot(config).run();
    });
};
