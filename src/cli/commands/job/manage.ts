/**
 * The job commands that talk to the access point: list, status, history,
 * hold / release / remove, edit. Output is condor_q-like text, or JSON with
 * --json (an array with one object per job ad for list).
 */
import { ClassAd, parseJsonClassAd, printOldClassAd } from '../../../classad/index.ts';
import { HtcError } from '../../../errors.ts';
import type { ActionResponse, JobSummary, ListResponse } from '../../../protocol/api.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import type { Register, TextSink } from '../../command.ts';
import { createOutput, withJsonOption } from '../../output.ts';

function when(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A whole ad (JSON text from the AP) in old syntax, attributes sorted as condor_q -long sorts them. */
function oldSyntax(ad: string): string {
  const parsed = parseJsonClassAd(ad);
  return printOldClassAd(new ClassAd(parsed.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** condor_q's batch summary: one row per batch (batch name, else cluster). */
function printSummary(list: ListResponse, out: TextSink): void {
  interface Row { owner: string; batch: string; submitted: number; run: number; idle: number; hold: number; total: number; ids: string[] }
  const rows = new Map<string, Row>();
  const row = (owner: string, batchName: string | null, clusterId: number, submitted: number): Row => {
    const key = `${owner}\u0000${batchName ?? `ID: ${clusterId}`}`;
    let r = rows.get(key);
    if (r === undefined) rows.set(key, (r = { owner, batch: batchName ?? `ID: ${clusterId}`, submitted, run: 0, idle: 0, hold: 0, total: 0, ids: [] }));
    return r;
  };
  const counts = { idle: 0, running: 0, held: 0, completed: 0, removed: 0 };
  for (const j of list.jobs) {
    const r = row(j.owner, j.batchName, j.clusterId, j.submittedAt);
    r.total++;
    r.ids.push(j.id);
    if (j.status === 2 || j.status === 6) { r.run++; counts.running++; }
    else if (j.status === 5) { r.hold++; counts.held++; }
    else if (j.status === 1) { r.idle++; counts.idle++; }
    else if (j.status === 4) counts.completed++;
    else if (j.status === 3) counts.removed++;
  }
  for (const p of list.pending) {
    const r = row(p.owner, p.batchName, p.clusterId, 0);
    r.idle += p.count;
    r.total += p.count;
    counts.idle += p.count;
  }
  const header = ['OWNER', 'BATCH_NAME', 'SUBMITTED', 'RUN', 'IDLE', 'HOLD', 'TOTAL', 'JOB_IDS'];
  const table = [...rows.values()].map((r) => [
    r.owner, r.batch, r.submitted === 0 ? '' : when(r.submitted),
    r.run === 0 ? '_' : String(r.run), r.idle === 0 ? '_' : String(r.idle), r.hold === 0 ? '_' : String(r.hold), String(r.total),
    r.ids.length === 0 ? '' : r.ids.length === 1 ? r.ids[0]! : `${r.ids[0]!} ... ${r.ids.at(-1)!}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out.write(`${fmt(header)}\n`);
  for (const t of table) out.write(`${fmt(t)}\n`);
  const total = counts.idle + counts.running + counts.held + counts.completed + counts.removed;
  out.write(`\nTotal for query: ${total} jobs; ${counts.completed} completed, ${counts.removed} removed, ${counts.idle} idle, ${counts.running} running, ${counts.held} held\n`);
}

const registerList: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('list').description('the jobs in the queue: a summary by batch, like condor_q')))
    .argument('[ids...]', 'jobs (CLUSTER or CLUSTER.PROC) to show; default: all of yours')
    .option('--all', "everyone's jobs, not only yours", false)
    .option('--constraint <expr>', 'only jobs whose ad makes this ClassAd expression true')
    .option('--long', 'every job ad in full (old ClassAd syntax)', false)
    .action(async (ids: string[], options: { all: boolean; constraint?: string; long: boolean; json: boolean; dir?: string }) => {
      const long = options.long || options.json;
      const list = await withClient(options.dir, (c) => c.list({
        all: options.all,
        long,
        ...(options.constraint === undefined ? {} : { constraint: options.constraint }),
        ...(ids.length === 0 ? {} : { ids }),
      }));
      if (options.json) ctx.stdout.write(`[${(list.ads ?? []).join(',\n')}]\n`);
      else if (options.long) ctx.stdout.write((list.ads ?? []).map(oldSyntax).join('\n'));
      else printSummary(list, ctx.stdout);
    });
};

function describeJob(s: JobSummary): Record<string, unknown> {
  const since = new Date(s.enteredStatusAt * 1000).toISOString();
  return {
    job: s.id,
    state: s.statusName,
    since: `${since} (${Math.max(0, Math.floor(Date.now() / 1000) - s.enteredStatusAt)} s ago)`,
    owner: s.owner,
    command: [s.cmd, s.args].filter((x) => x !== null && x !== '').join(' '),
    ...(s.annex === null ? {} : { annex: s.annex }),
    ...(s.holdReason === null ? {} : { 'hold reason': s.holdReason }),
  };
}

const registerStatus: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('status').description("one job: its state in words, since when, where, which annex, why it is held")))
    .argument('<id>', 'the job (CLUSTER.PROC)')
    .action(async (id: string, options: { json: boolean; dir?: string }) => {
      const job = await withClient(options.dir, (c) => c.job(id));
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      if (options.json) ctx.stdout.write(`${JSON.stringify({ ...job.summary, ad: 'AD' }).replace('"AD"', job.ad)}\n`);
      else out.record(describeJob(job.summary));
    });
};

const registerHistory: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('history').description('jobs that have left the queue (completed or removed), newest first')))
    .option('--all', "everyone's jobs, not only yours", false)
    .option('--limit <n>', 'at most this many', '1000')
    .action(async (options: { all: boolean; limit: string; json: boolean; dir?: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new HtcError('USAGE', `--limit: expected a whole number of 1 or more, got ${JSON.stringify(options.limit)}`);
      const entries = await withClient(options.dir, (c) => c.history({ all: options.all, limit }));
      if (options.json) {
        ctx.stdout.write(`[${entries.map((e) => e.ad).join(',\n')}]\n`);
        return;
      }
      createOutput({ json: false, stdout: ctx.stdout }).list(entries.map((e) => ({
        ID: e.id,
        OWNER: e.owner,
        STATUS: e.statusName,
        COMPLETED: when(e.completedAt),
        CMD: e.cmd ?? '',
      })));
    });
};

function registerAction(action: 'hold' | 'release' | 'remove', description: string, verb: string): Register {
  return (parent, ctx) => {
    withDirOption(withJsonOption(parent.command(action).description(description)))
      .argument('[ids...]', 'jobs (CLUSTER.PROC) or clusters (CLUSTER)')
      .option('--constraint <expr>', 'the jobs whose ad makes this ClassAd expression true')
      .option('--reason <text>', 'why (recorded in the job ad)')
      .action(async (ids: string[], options: { constraint?: string; reason?: string; json: boolean; dir?: string }) => {
        if (ids.length === 0 && options.constraint === undefined) throw new HtcError('USAGE', `${action}: give job ids or --constraint`);
        const result: ActionResponse = await withClient(options.dir, (c) => c.act({
          action,
          ...(ids.length === 0 ? {} : { ids }),
          ...(options.constraint === undefined ? {} : { constraint: options.constraint }),
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        }));
        if (options.json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          for (const id of result.changed) ctx.stdout.write(`Job ${id} ${verb}\n`);
          if ((result.abandoned ?? 0) > 0) ctx.stdout.write(`${result.abandoned} job(s) not yet made ${verb}\n`);
        }
        // Many refusals of one kind (a whole cluster already removed) are summarized.
        for (const r of result.refused.slice(0, 10)) ctx.stderr.write(`htc: job ${r.id} not ${verb}: ${r.reason}\n`);
        if (result.refused.length > 10) ctx.stderr.write(`htc: ... and ${result.refused.length - 10} more job(s) not ${verb}\n`);
        if (result.changed.length === 0 && (result.abandoned ?? 0) === 0) {
          if (result.refused.length === 0) throw new HtcError('NOT_FOUND', `${action}: no job matched`);
          throw new HtcError('CONFLICT', `${action}: no job was ${verb}`);
        }
      });
  };
}

const registerEdit: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('edit').description('set one attribute of a job to a ClassAd expression')))
    .argument('<id>', 'the job (CLUSTER.PROC)')
    .argument('<attribute>', 'the attribute to set')
    .argument('<expression>', 'its new value, a ClassAd expression (quote strings: \'"text"\')')
    .action(async (id: string, attribute: string, expression: string, options: { json: boolean; dir?: string }) => {
      const result = await withClient(options.dir, (c) => c.edit({ id, attribute, expression }));
      if (options.json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
      else ctx.stdout.write(`Set attribute ${result.attribute} of job ${result.id} to ${result.value}\n`);
    });
};

function registerStream(verb: 'out' | 'err' | 'log', description: string): Register {
  return (parent, ctx) => {
    withDirOption(withJsonOption(parent.command(verb).description(description)))
      .argument('<id>', 'the job (CLUSTER.PROC)')
      .action(async (id: string, options: { json: boolean; dir?: string }) => {
        const result = await withClient(options.dir, (c) => (verb === 'log' ? c.jobLog(id) : c.jobOutput(id, verb)));
        if (options.json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
        else ctx.stdout.write(result.text);
      });
  };
}

const registerResources: Register = (parent, ctx) => {
  withDirOption(withJsonOption(parent.command('resources').description('what a job used: CPU, memory peak and wall time, against what it asked for')))
    .argument('<id>', 'the job (CLUSTER.PROC), in the queue or in history')
    .action(async (id: string, options: { json: boolean; dir?: string }) => {
      const r = await withClient(options.dir, (c) => c.jobResources(id));
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      if (options.json) {
        out.record({ ...r });
        return;
      }
      const seconds = (v: number): string => `${v.toFixed(2)} s`;
      out.record({
        job: `${r.id} (${r.statusName}, ${r.starts} run${r.starts === 1 ? '' : 's'})`,
        cpu: `${seconds(r.userCpuSeconds)} user, ${seconds(r.sysCpuSeconds)} system`,
        memory: `${r.memoryPeakMb === null ? '-' : `${r.memoryPeakMb} MiB peak`} (requested ${r.requestMemoryMb ?? '-'} MiB)`,
        wall: `${seconds(r.wallSeconds)}${r.lastRunWallSeconds === null ? '' : ` (last run ${seconds(r.lastRunWallSeconds)})`}`,
        cpus: r.requestCpus ?? '-',
        disk: `requested ${r.requestDiskKb ?? '-'} KiB`,
        host: r.lastHost ?? '-',
      });
    });
};

export const JOB_MANAGEMENT_VERBS: readonly Register[] = [
  registerList,
  registerStatus,
  registerResources,
  registerHistory,
  registerAction('hold', 'hold jobs (they stay in the queue and do not run until released)', 'held'),
  registerAction('release', 'release held jobs', 'released'),
  registerAction('remove', 'remove jobs from the queue (to history)', 'removed'),
  registerEdit,
  registerStream('out', "a job's standard output"),
  registerStream('err', "a job's standard error"),
  registerStream('log', "a job's events, as HTCondor's user log writes them"),
];
