/**
 * Timing helpers for benchmarks. A benchmark times its candidate and its
 * baseline in the same run on the same machine (DESIGN.md), so the ratio is
 * meaningful even where absolute numbers are noisy.
 */
import { performance } from 'node:perf_hooks';

export interface MeasureOptions {
  /** Minimum measured time in ms. Default 1000. */
  readonly minMs?: number;
  /** Warm-up time in ms before measuring (lets the JIT settle). Default minMs / 4. */
  readonly warmupMs?: number;
  /** Print `name: N ops/s` to stdout. Default true. */
  readonly print?: boolean;
}

/** Results are kept here so the JIT cannot drop the work as dead code. */
let sink: unknown;

/**
 * Runs `fn` in a loop until `minMs` have elapsed (after a warm-up) and returns
 * its rate in operations per second. Synchronous functions are run in growing
 * batches so the clock is read rarely; a function returning a promise is
 * awaited on every call.
 */
export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<number> {
  const minMs = options.minMs ?? 1000;
  const warmupMs = options.warmupMs ?? minMs / 4;
  const isAsync = isThenable(fn());
  const loop = isAsync ? asyncLoop : syncLoop;
  await loop(fn, warmupMs);
  const { iterations, ms } = await loop(fn, minMs);
  const opsPerSec = (iterations * 1000) / ms;
  if (options.print ?? true) {
    console.log(`${name}: ${formatRate(opsPerSec)} ops/s (${iterations} ops in ${ms.toFixed(0)} ms)`);
  }
  return opsPerSec;
}

function syncLoop(fn: () => unknown, minMs: number): Promise<{ iterations: number; ms: number }> {
  let iterations = 0;
  let batch = 1;
  const start = performance.now();
  for (;;) {
    for (let i = 0; i < batch; i++) sink = fn();
    iterations += batch;
    const ms = performance.now() - start;
    if (ms >= minMs) return Promise.resolve({ iterations, ms });
    if (ms < minMs / 20) batch *= 2;
  }
}

async function asyncLoop(fn: () => unknown, minMs: number): Promise<{ iterations: number; ms: number }> {
  let iterations = 0;
  const start = performance.now();
  for (;;) {
    sink = await fn();
    iterations += 1;
    const ms = performance.now() - start;
    if (ms >= minMs) return { iterations, ms };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** `1234567` → `1.23M`: three significant digits with a unit. */
export function formatRate(perSec: number): string {
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, unit] of units) if (perSec >= scale) return `${(perSec / scale).toPrecision(3)}${unit}`;
  return perSec.toPrecision(3);
}

/** For tests of the harness itself: the last value a measured function returned. */
export function lastResult(): unknown {
  return sink;
}
