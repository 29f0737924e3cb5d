/**
 * Submit benchmark: procs materialized per second, with memory used, for
 *   - a 100,000-item `queue ... from FILE` whose commands use the item, and
 *   - a plain `queue 1000000`,
 * side by side with the baseline of eager materialization (every proc's
 * whole ad built and kept, as a queue without a proc factory would hold
 * them) on the same `queue from` workload in the same run. The ratio is
 * factory rate / eager rate; the heap figures show what each keeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SubmitDescription, type SubmitOptions } from '../src/submit/index.ts';
import type { BenchResult } from './run.ts';

interface Run {
  readonly procs: number;
  readonly seconds: number;
  readonly perSec: number;
  readonly heapMiB: number;
}

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Materializes every proc's differences (what the AP stores) and reports the rate and heap growth. */
function materializeAll(description: SubmitDescription, limit = Infinity): Run {
  (globalThis as { gc?: () => void }).gc?.();
  const before = heapMiB();
  const start = performance.now();
  const factory = description.materialize(1);
  const n = Math.min(factory.procCount, limit);
  let attributes = 0;
  for (let p = 0; p < n; p++) attributes += factory.procDiff(p).size;
  const seconds = (performance.now() - start) / 1000;
  if (attributes < n) throw new Error('every proc has at least ProcId');
  return { procs: n, seconds, perSec: n / seconds, heapMiB: Math.max(0, heapMiB() - before) };
}

/**
 * The baseline: eager materialization, as a queue without a proc factory
 * would hold jobs: every proc's whole ad built up front and kept.
 */
function eager(description: SubmitDescription): Run {
  (globalThis as { gc?: () => void }).gc?.();
  const before = heapMiB();
  const start = performance.now();
  const factory = description.materialize(1);
  const ads = [];
  for (let p = 0; p < factory.procCount; p++) ads.push(factory.procAd(p));
  const seconds = (performance.now() - start) / 1000;
  const grown = heapMiB() - before;
  if (ads.length !== factory.procCount) throw new Error('every proc is built');
  return { procs: ads.length, seconds, perSec: ads.length / seconds, heapMiB: Math.max(0, grown) };
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'htc-bench-submit-'));
  try {
    const rows = Array.from({ length: 100_000 }, (_, i) => `sample${i}.dat, ${i % 97}, run ${i}`).join('\n');
    const itemsFile = join(dir, 'items.txt');
    writeFileSync(itemsFile, rows);
    const opts: SubmitOptions = { owner: 'bench', now: 1_700_000_000, cwd: dir, env: {}, random: Math.random };

    const fromText = [
      'executable = /usr/bin/analyze',
      `arguments = "--input $(file) --seed $(seed) --label '$(label)'"`,
      'output = out/$(Cluster).$(Process).out',
      'error = out/$(Cluster).$(Process).err',
      'transfer_input_files = $(file)',
      'request_memory = 2G',
      'request_cpus = 1',
      'queue file, seed, label from items.txt',
    ].join('\n');
    const fromFile = join(dir, 'from.sub');
    writeFileSync(fromFile, fromText);
    const compileStart = performance.now();
    const fromDescription = SubmitDescription.compile(fromText, fromFile, opts);
    const fromCompileMs = performance.now() - compileStart;
    const from = materializeAll(fromDescription);
    console.log(`queue from (100,000 items): compile ${fromCompileMs.toFixed(0)} ms, ${from.procs} procs in ${from.seconds.toFixed(2)} s = ${Math.round(from.perSec)} procs/s, heap +${from.heapMiB.toFixed(1)} MiB`);

    const eagerRun = eager(fromDescription);
    console.log(`baseline, eager (every whole ad built and kept): ${eagerRun.procs} procs in ${eagerRun.seconds.toFixed(2)} s = ${Math.round(eagerRun.perSec)} procs/s, heap +${eagerRun.heapMiB.toFixed(1)} MiB`);

    const millionText = 'executable = /bin/sleep\narguments = 60\nrequest_memory = 512M\nqueue 1000000\n';
    const millionFile = join(dir, 'million.sub');
    writeFileSync(millionFile, millionText);
    const millionDescription = SubmitDescription.compile(millionText, millionFile, opts);
    (globalThis as { gc?: () => void }).gc?.();
    const heapBeforeFactory = heapMiB();
    const factory = millionDescription.materialize(1);
    console.log(`queue 1000000: factory ready with ${factory.procCount} procs, heap +${Math.max(0, heapMiB() - heapBeforeFactory).toFixed(1)} MiB before any proc is made`);
    const million = materializeAll(millionDescription);
    console.log(`queue 1000000: ${million.procs} procs in ${million.seconds.toFixed(2)} s = ${Math.round(million.perSec)} procs/s, heap +${million.heapMiB.toFixed(1)} MiB (differences made and dropped one at a time)`);

    return {
      bench: 'submit',
      baseline: 'eager materialization: every whole proc ad built and kept',
      ratio: Number((from.perSec / eagerRun.perSec).toFixed(2)),
      queueFromProcsPerSec: Math.round(from.perSec),
      queueFromSeconds: Number(from.seconds.toFixed(2)),
      queueFromCompileMs: Math.round(fromCompileMs),
      queueFromHeapMiB: Number(from.heapMiB.toFixed(1)),
      baselineProcsPerSec: Math.round(eagerRun.perSec),
      baselineHeapMiB: Number(eagerRun.heapMiB.toFixed(1)),
      queueMillionProcsPerSec: Math.round(million.perSec),
      queueMillionSeconds: Number(million.seconds.toFixed(2)),
      queueMillionHeapMiB: Number(million.heapMiB.toFixed(1)),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
