/** `htc jobset ...`: HTCondor jobset files (one cluster per job block). */
import { compileJobset } from '../../../submit/index.ts';
import { registerNoun, type Register } from '../../command.ts';
import { readTextFile } from '../../input.ts';
import { withJsonOption } from '../../output.ts';
import { printDryRun, printWarnings } from '../job/dry-run.ts';
import { HtcError } from '../../../errors.ts';
import { localSubmitOptions } from '../job/submit.ts';

const registerJobsetSubmit: Register = (parent, ctx) => {
  withJsonOption(
    parent
      .command('submit')
      .description('submit a jobset: one cluster per job block, one job per iterator row')
      .argument('<file>', 'the jobset file')
      .option('--dry-run', 'print the job ads that would be queued (clusters 1, 2, ...) and queue nothing', false),
  ).action(async (file: string, flags: { dryRun: boolean; json: boolean }) => {
    if (!flags.dryRun) throw new HtcError('USAGE', 'jobset submit to an access point arrives with the jobset commands; use --dry-run to see the jobs');
    const text = await readTextFile(file, 'FILE', ctx.stdin);
    const jobset = compileJobset(text, file, localSubmitOptions());
    for (const c of jobset.clusters) printWarnings(c.warnings, ctx.stderr);
    const jobs = printDryRun(jobset.clusters.map((c, i) => c.materialize(i + 1)), flags.json, ctx.stdout);
    ctx.stderr.write(`jobset ${jobset.name}: ${jobs} job(s) in ${jobset.clusters.length} cluster(s) dry-run.\n`);
  });
};

export const registerJobset: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'jobset', description: 'submit jobsets', verbs: [registerJobsetSubmit] });
};
