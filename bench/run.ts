/**
 * The benchmark runner: `npm run bench -- NAME...` runs bench/NAME.bench.ts;
 * with no names it lists the benchmarks.
 *
 * Each bench module exports `async function run(): Promise<BenchResult>`. It
 * prints its own human-readable lines, times a baseline side by side with the
 * candidate, and returns at least `{ bench, baseline, ratio }`. The runner then
 * prints that object as one JSON line, the final line of the output, which is
 * what docs/benchmarks.md records.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

export interface BenchResult extends Record<string, unknown> {
  /** What was measured, e.g. `classad`. */
  readonly bench: string;
  /** What it was compared with, in the same run. */
  readonly baseline: string;
  /** Candidate rate / baseline rate (above 1: the candidate is faster). */
  readonly ratio: number;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const SUFFIX = '.bench.ts';

function available(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

function isBenchResult(value: unknown): value is BenchResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.bench === 'string' && typeof v.baseline === 'string' && typeof v.ratio === 'number';
}

async function main(names: readonly string[]): Promise<number> {
  const benches = available();
  if (names.length === 0) {
    console.log('usage: npm run bench -- NAME...');
    console.log(`available benchmarks: ${benches.length === 0 ? '(none yet)' : benches.join(', ')}`);
    return 0;
  }
  const unknown = names.filter((n) => !benches.includes(n));
  if (unknown.length > 0) {
    console.error(`bench: unknown benchmark ${unknown.join(', ')}; available: ${benches.join(', ') || '(none)'}`);
    return 2;
  }
  for (const name of names) {
    const mod = (await import(pathToFileURL(join(dir, `${name}${SUFFIX}`)).href)) as { run?: unknown };
    if (typeof mod.run !== 'function') {
      console.error(`bench: ${name}${SUFFIX} does not export a run() function`);
      return 1;
    }
    const result: unknown = await (mod.run as () => Promise<unknown>)();
    if (!isBenchResult(result)) {
      console.error(`bench: ${name}${SUFFIX} run() must return at least { bench, baseline, ratio }`);
      return 1;
    }
    console.log(JSON.stringify(result));
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
