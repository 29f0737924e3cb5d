/** `htc job submit FILE [--annex-name NAME] --dry-run [--json]`. */
import { hostname, userInfo } from 'node:os';
import { SubmitDescription, type SubmitOptions } from '../../../submit/index.ts';
import { HtcError } from '../../../errors.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import type { Register } from '../../command.ts';
import { readTextFile } from '../../input.ts';
import { createOutput, withJsonOption } from '../../output.ts';
import { printDryRun, printWarnings } from './dry-run.ts';

interface SubmitFlags {
  dryRun: boolean;
  json: boolean;
  annexName?: string;
  dir?: string;
}

/** What a submit from this process knows about its user and surroundings. */
export function localSubmitOptions(extra: { annexName?: string } = {}): SubmitOptions {
  return {
    owner: userInfo().username,
    now: Math.floor(Date.now() / 1000),
    cwd: process.cwd(),
    env: process.env,
    fileSystemDomain: hostname(),
    ...(extra.annexName === undefined ? {} : { annexName: extra.annexName }),
  };
}

export const registerJobSubmit: Register = (parent, ctx) => {
  withDirOption(withJsonOption(
    parent
      .command('submit')
      .description('submit the jobs a submit description file describes')
      .argument('<file>', 'the submit description file (- for stdin)')
      .option('--annex-name <name>', 'run the jobs only on this annex (sets TargetAnnexName)')
      .option('--dry-run', 'print the job ads that would be queued (cluster 1) and queue nothing', false),
  )).action(async (file: string, flags: SubmitFlags) => {
    if (flags.annexName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(flags.annexName)) {
      throw new HtcError('USAGE', `--annex-name: ${JSON.stringify(flags.annexName)} is not an annex name (letters, digits, _ . - only)`);
    }
    const text = await readTextFile(file, 'FILE', ctx.stdin);
    const description = SubmitDescription.compile(text, file === '-' ? 'stdin' : file, localSubmitOptions(flags.annexName === undefined ? {} : { annexName: flags.annexName }));
    printWarnings(description.warnings, ctx.stderr);
    if (flags.dryRun) {
      const jobs = printDryRun([description.materialize(1)], flags.json, ctx.stdout);
      ctx.stderr.write(`${jobs} job(s) dry-run to cluster 1.\n`);
      return;
    }
    const result = await withClient(flags.dir, (client) => client.submit({
      factory: description.toFactory(),
      ...(flags.annexName === undefined ? {} : { annexName: flags.annexName }),
    }));
    const out = createOutput({ json: flags.json, stdout: ctx.stdout });
    if (flags.json) out.record({ ...result });
    else out.line(`${result.procCount} job(s) submitted to cluster ${result.clusterId}.`);
  });
};
