/**
 * `htc jobset submit | list | status | remove`: HTCondor jobset files (one
 * cluster per job block, one job per iterator row), submitted together and
 * managed by name or id.
 */
import { compileJobset } from '../../../submit/index.ts';
import type { JobsetSummary } from '../../../protocol/api.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import { registerNoun, type Register } from '../../command.ts';
import { readTextFile } from '../../input.ts';
import { createOutput, withJsonOption } from '../../output.ts';
import { printDryRun, printWarnings } from '../job/dry-run.ts';
import { localSubmitOptions } from '../job/submit.ts';

const registerJobsetSubmit: Register = (parent, ctx) => {
  withDirOption(withJsonOption(
    parent
      .command('submit')
      .description('submit a jobset: one cluster per job block, one job per iterator row')
      .argument('<file>', 'the jobset file')
      .option('--dry-run', 'print the job ads that would be queued (clusters 1, 2, ...) and queue nothing', false)
      .option('--annex-name <name>', 'run the jobs only on this annex of yours'),
  )).action(async (file: string, flags: { dryRun: boolean; json: boolean; dir?: string; annexName?: string }) => {
    const text = await readTextFile(file, 'FILE', ctx.stdin);
    const jobset = compileJobset(text, file, localSubmitOptions());
    for (const c of jobset.clusters) printWarnings(c.warnings, ctx.stderr);
    if (flags.dryRun) {
      const jobs = printDryRun(jobset.clusters.map((c, i) => c.materialize(i + 1)), flags.json, ctx.stdout);
      ctx.stderr.write(`jobset ${jobset.name}: ${jobs} job(s) in ${jobset.clusters.length} cluster(s) dry-run.\n`);
      return;
    }
    const result = await withClient(flags.dir, async (client) => {
      let jobsetId: number | undefined;
      const clusters: number[] = [];
      let jobs = 0;
      for (const c of jobset.clusters) {
        const r = await client.submit({
          factory: c.toFactory(),
          jobset: jobsetId === undefined ? { name: jobset.name } : { id: jobsetId },
          ...(flags.annexName === undefined ? {} : { annexName: flags.annexName }),
        });
        jobsetId = r.jobsetId ?? undefined;
        clusters.push(r.clusterId);
        jobs += r.procCount;
      }
      return { jobsetId: jobsetId ?? null, name: jobset.name, clusters, jobs };
    });
    if (flags.json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
    else ctx.stdout.write(`Submitted jobset ${result.name} (id ${result.jobsetId ?? '?'}) with ${result.jobs} job(s) in ${result.clusters.length} cluster(s): ${result.clusters.join(', ')}.\n`);
  });
};

function row(j: JobsetSummary): Record<string, unknown> {
  return {
    ID: j.jobsetId,
    NAME: j.name,
    OWNER: j.owner,
    CLUSTERS: j.clusters.join(','),
    IDLE: j.idle,
    RUN: j.running,
    HOLD: j.held,
    QUEUED: j.queued,
    TOTAL: j.total,
  };
}

const registerJobsetList: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('list').description('your jobsets, with their jobs by state')))
    .option('--all', "everyone's jobsets", false)
    .action(async (options: { all: boolean; json: boolean; dir?: string }) => {
      const sets = await withClient(options.dir, (c) => c.jobsets(options.all));
      if (options.json) ctx.stdout.write(`${JSON.stringify(sets)}\n`);
      else if (sets.length === 0) ctx.stdout.write('No jobsets.\n');
      else createOutput({ json: false, stdout: ctx.stdout }).list(sets.map(row));
    });
};

const registerJobsetStatus: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('status').description('one jobset: its clusters and jobs by state')))
    .argument('<jobset>', 'the jobset id or name')
    .action(async (ref: string, options: { json: boolean; dir?: string }) => {
      const set = await withClient(options.dir, (c) => c.jobset(ref));
      if (options.json) ctx.stdout.write(`${JSON.stringify(set)}\n`);
      else createOutput({ json: false, stdout: ctx.stdout }).record(row(set));
    });
};

const registerJobsetRemove: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('remove').description("remove every job of a jobset")))
    .argument('<jobset>', 'the jobset id or name')
    .option('--reason <text>', 'why (recorded in the job ads)')
    .action(async (ref: string, options: { reason?: string; json: boolean; dir?: string }) => {
      const result = await withClient(options.dir, (c) => c.removeJobset(ref, options.reason));
      if (options.json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
      else ctx.stdout.write(`Removed ${result.changed.length} job(s) of jobset ${ref}.\n`);
      for (const r of result.refused) ctx.stderr.write(`htc: job ${r.id} not removed: ${r.reason}\n`);
    });
};

export const registerJobset: Register = (parent, ctx) => {
  registerNoun(parent, ctx, {
    name: 'jobset',
    description: 'submit and manage jobsets',
    verbs: [registerJobsetSubmit, registerJobsetList, registerJobsetStatus, registerJobsetRemove],
  });
};
