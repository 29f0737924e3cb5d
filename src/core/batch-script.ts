/**
 * The SLURM batch script of an annex request: one pilot per node, started
 * with `srun`, for the lifetime plus a clean-up margin, and a trap that
 * removes the pilot directory however the job ends. Rendered here, pure,
 * so `annex create --dry-run` shows exactly what the back-end submits.
 *
 * Invariants:
 * - The script names no remote path: the back-end runs `sbatch` from inside
 *   the pilot directory, so the job starts there ($SLURM_SUBMIT_DIR) and
 *   finds `htc-pilot` (a link to the cached executable) and `pilot.json`
 *   beside it. Paths on the login node are known only there.
 * - Every value in a `#SBATCH` line comes from a validated request
 *   (core/annex-request.ts) or the annex name (letters, digits, `._-`); the
 *   shell part is constant text.
 * - `--time` never exceeds the queue's limit (sites refuse such jobs at
 *   submit): when the lifetime plus the margin does not fit, the margin
 *   shrinks, and the pilot still ends before it (it stops at its lifetime
 *   minus its own end margin).
 */
import type { ValidatedRequest } from './annex-request.ts';

/** HTCondor's clean-up margin past the lifetime (reference/hpc-systems.md). */
export const CLEANUP_MARGIN_SECONDS = 300;

/** The batch job's time limit in whole minutes (SLURM's granularity): lifetime + margin, capped at the queue's limit. */
export function batchTimeMinutes(request: Pick<ValidatedRequest, 'lifetimeSeconds' | 'limits'>): number {
  const wanted = request.lifetimeSeconds + CLEANUP_MARGIN_SECONDS;
  const limit = request.limits.maxDurationSeconds;
  const seconds = limit === null ? wanted : Math.min(wanted, limit);
  // Rounding up must not cross the limit either: a limit in whole minutes is the usual case.
  const minutes = Math.ceil(seconds / 60);
  return limit !== null && minutes * 60 > limit ? Math.max(1, Math.floor(limit / 60)) : minutes;
}

/** The `sbatch` options of a request, in the order they are written. */
export function sbatchOptions(annexName: string, request: ValidatedRequest, gpuFlag: string | undefined): string[] {
  const o = [`--job-name=htc-annex-${annexName}`];
  o.push(request.queueOption === 'qos' ? `--qos=${request.queue}` : `--partition=${request.queue}`);
  o.push(`--nodes=${request.nodes}`, '--ntasks-per-node=1');
  // Whole-node queues: the pilot offers the whole node, so no other job may share it.
  if (request.allocation === 'node') o.push('--exclusive');
  if (request.cpus !== null) o.push(`--cpus-per-task=${request.cpus}`);
  if (request.memoryMb !== null) o.push(`--mem=${request.memoryMb}`);
  if (request.gpus !== null && request.gpus > 0) {
    const flag = gpuFlag ?? '--gpus-per-node';
    o.push(`${flag}=${request.gpuType === null ? '' : `${request.gpuType}:`}${request.gpus}`);
  }
  o.push(`--time=${batchTimeMinutes(request)}`);
  if (request.project !== null) o.push(`--account=${request.project}`);
  if (request.constraint !== null) o.push(`--constraint=${request.constraint}`);
  // Relative to the submit directory, the pilot directory: it goes with it.
  o.push('--output=slurm-%j.out');
  // A requeued job would find its pilot directory removed by the first run.
  o.push('--no-requeue');
  return o;
}

/**
 * The batch script. The body is POSIX sh: it starts one pilot per node in
 * the background (so a signal reaches the trap at once, not after srun),
 * and on any exit forwards SIGTERM to the pilots, gives them a moment to
 * vacate their jobs, and removes the pilot directory.
 */
export function batchScript(annexName: string, requestId: string, request: ValidatedRequest, gpuFlag: string | undefined): string {
  const lines = [
    '#!/bin/sh',
    `# htc annex ${annexName}, request ${requestId}: one pilot per node for ${request.lifetimeSeconds} s.`,
    '# Written by "htc annex create"; the pilot directory (this one) is removed when the job ends.',
    ...sbatchOptions(annexName, request, gpuFlag).map((o) => `#SBATCH ${o}`),
    '',
    'dir=${SLURM_SUBMIT_DIR:-$(pwd)}',
    '# Only the pilot directory is ever removed (not wherever someone runs this script by hand).',
    `case $dir in */'${annexName}.${requestId}') ;; *) echo "not a pilot directory of request ${requestId}: $dir" >&2; exit 2 ;; esac`,
    'srun_pid=',
    'cleanup() {',
    '  trap - EXIT INT TERM',
    '  if [ -n "$srun_pid" ] && kill -0 "$srun_pid" 2>/dev/null; then',
    '    kill -TERM "$srun_pid" 2>/dev/null',
    '    # The pilots vacate their jobs back to the queue; then the directory goes.',
    '    n=0',
    '    # (up to 25 s: their jobs get 5 s to stop, their reports a moment more; sites kill after KillWait, often 30 s)',
    '    while kill -0 "$srun_pid" 2>/dev/null && [ "$n" -lt 50 ]; do sleep 0.5; n=$((n + 1)); done',
    '  fi',
    '  cd / && rm -rf "$dir"',
    '}',
    'trap cleanup EXIT',
    "trap 'exit 143' INT TERM",
    '# The user\'s NODE_OPTIONS would apply to the pilot (a Node single executable) and can stop it starting.',
    'unset NODE_OPTIONS',
    'srun --nodes="${SLURM_JOB_NUM_NODES:-1}" --ntasks-per-node=1 --kill-on-bad-exit=0 \\',
    '  /bin/sh -c \'exec "$1" --config "$2" --work-dir "$3/node-$SLURM_PROCID"\' htc-pilot "$dir/htc-pilot" "$dir/pilot.json" "$dir" &',
    'srun_pid=$!',
    'wait "$srun_pid"',
    'status=$?',
    'srun_pid=',
    'exit "$status"',
    '',
  ];
  return lines.join('\n');
}
