/**
 * `npm run demo`: htc end to end on this machine, with nothing set up.
 *
 * 1. starts an access point in a temporary directory;
 * 2. submits the sample jobset (demo/study.jobset: 300 jobs that each
 *    write a result file) bound to the annex `demo`;
 * 3. creates a local annex (`htc annex create demo local@local`): a pilot
 *    process on this machine offering its cpus;
 * 4. shows progress (jobs done / total, slots busy) until every job is done;
 * 5. prints a summary (jobs, makespan, where the outputs are), shuts the
 *    annex down, stops the access point, and exits 0.
 *
 * Every step is the real `htc` command (printed as it runs), so the demo is
 * also a walk-through. $HTC_DEMO_JOBS changes the number of jobs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { ApClient } from '../src/client/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'htc.js');
const JOBS = Number(process.env.HTC_DEMO_JOBS) || 300;

const work = mkdtempSync(join(tmpdir(), 'htc-demo-'));
const apDir = join(work, 'ap');
const env = { ...process.env, HTC_DIR: apDir, HTC_LOCAL_SCRATCH: join(work, 'scratch') };

/** Runs `htc ARGS` in the work directory, showing the command; stops the demo if it fails. */
function htc(args: string[], quiet = false): string {
  process.stdout.write(`$ htc ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, env, encoding: 'utf8' });
  if (!quiet && r.stdout !== '') process.stdout.write(r.stdout.replace(/^(?=.)/gm, '  '));
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`htc ${args.join(' ')} failed (exit ${r.status})`);
  }
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  console.log(`htc demo: ${JOBS} jobs through a local annex, in ${work}\n`);
  for (const f of ['study.jobset', 'square.sh']) copyFileSync(join(ROOT, 'demo', f), join(work, f));
  chmodSync(join(work, 'square.sh'), 0o755);
  writeFileSync(join(work, 'seeds.txt'), `${Array.from({ length: JOBS }, (_, i) => String(i + 1)).join('\n')}\n`);
  mkdirSync(join(work, 'results'));
  mkdirSync(join(work, 'logs'));

  htc(['ap', 'start']);
  const submitted = JSON.parse(htc(['jobset', 'submit', 'study.jobset', '--annex-name', 'demo', '--json'], true)) as { jobsetId: number; jobs: number };
  console.log(`  jobset ${submitted.jobsetId}: ${submitted.jobs} jobs, waiting for the annex "demo"`);
  const cpus = Math.max(1, availableParallelism());
  const started = performance.now();
  htc(['annex', 'create', 'demo', 'local@local', '--yes', '--cpus', String(cpus), '--idle-time', '60', '--lifetime', '3600']);
  console.log('');

  const client = ApClient.open(apDir);
  const bar = new SingleBar({
    format: 'jobs {bar} {value}/{total} done | slots busy {busy}/{cpus} | {duration_formatted}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  });
  bar.start(submitted.jobs, 0, { busy: 0, cpus: 0 });
  let held: number;
  try {
    for (;;) {
      const set = await client.jobset(String(submitted.jobsetId));
      const annexes = await client.annexes('demo').catch(() => []);
      const slots = annexes.flatMap((a) => a.slots);
      bar.update(submitted.jobs - set.queued, { busy: slots.reduce((n, s) => n + s.busyCpus, 0), cpus: slots.reduce((n, s) => n + s.cpus, 0) });
      held = set.held;
      if (set.queued === set.held) break;
      await sleep(200);
    }
  } finally {
    bar.stop();
    client.close();
  }
  const makespan = (performance.now() - started) / 1000;
  const results = readdirSync(join(work, 'results')).length;
  console.log('');
  htc(['annex', 'shutdown', 'demo']);
  htc(['ap', 'stop']);
  const sample = readFileSync(join(work, 'results', 'result.1.txt'), 'utf8').trim();
  console.log(`
Summary
  jobs:      ${submitted.jobs} submitted, ${submitted.jobs - held} completed, ${held} held
  makespan:  ${makespan.toFixed(1)} s from "annex create" to the last result (${(submitted.jobs / makespan).toFixed(0)} jobs/s on ${cpus} cpus)
  outputs:   ${results} files in ${join(work, 'results')} (e.g. result.1.txt: "${sample}")
  logs:      stdout/stderr and the user log in ${join(work, 'logs')}
  queue:     ${apDir} (history: HTC_DIR=${apDir} htc job history)
`);
  if (held > 0 || results !== submitted.jobs) throw new Error(`expected ${submitted.jobs} results, found ${results} (${held} held)`);
}

main().catch((error: unknown) => {
  console.error(`htc demo failed: ${error instanceof Error ? error.message : String(error)}`);
  // Whatever the demo started must not outlive it.
  spawnSync(process.execPath, [BIN, 'annex', 'shutdown', 'demo', '--wait', '5'], { cwd: work, env, stdio: 'ignore' });
  spawnSync(process.execPath, [BIN, 'ap', 'stop'], { cwd: work, env, stdio: 'ignore' });
  process.exitCode = 1;
});
