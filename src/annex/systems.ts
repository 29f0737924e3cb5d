/**
 * The systems an annex can be made on, and the `QUEUE@SYSTEM` argument.
 * For now only `local` (pilots as processes on this machine); the HPC
 * catalog (Perlmutter, Delta, Expanse, Anvil, Bridges-2, the test cluster)
 * joins it with the SSH front-end.
 *
 * System names are matched case-insensitively, queue names exactly
 * (HTCondor's HPC Annex rules).
 */
import { HtcError } from '../errors.ts';

export interface SystemQueue {
  readonly name: string;
  /** Longest lifetime, seconds, or null for no limit. */
  readonly maxDurationSeconds: number | null;
  readonly maxNodes: number | null;
}

export interface AnnexSystem {
  readonly name: string;
  readonly description: string;
  readonly defaultQueue: string;
  readonly queues: readonly SystemQueue[];
}

export const SYSTEMS: readonly AnnexSystem[] = [
  {
    name: 'local',
    description: 'pilots as processes on this machine (tests, demos, a workstation)',
    defaultQueue: 'local',
    queues: [{ name: 'local', maxDurationSeconds: null, maxNodes: 64 }],
  },
];

/** `QUEUE@SYSTEM` → the system and queue; errors list what exists. */
export function parseTarget(text: string): { system: AnnexSystem; queue: SystemQueue } {
  const names = SYSTEMS.map((s) => s.name).join(', ');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    throw new HtcError('USAGE', `${JSON.stringify(text)}: the target must have the form queue@system (systems: ${names})`);
  }
  const queueName = text.slice(0, at);
  const systemName = text.slice(at + 1);
  const system = SYSTEMS.find((s) => s.name.toLowerCase() === systemName.toLowerCase());
  if (system === undefined) throw new HtcError('USAGE', `unknown system ${JSON.stringify(systemName)} (systems: ${names}; "htc annex systems" lists them)`);
  const queue = system.queues.find((q) => q.name === queueName);
  if (queue === undefined) {
    throw new HtcError('USAGE', `${system.name} has no queue ${JSON.stringify(queueName)}; its queues are ${system.queues.map((q) => q.name).join(', ')} (default ${system.defaultQueue})`);
  }
  return { system, queue };
}

export interface AnnexShape {
  readonly nodes: number;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
}

/** The request checked against the queue's limits, before anything starts. */
export function validateRequest(queue: SystemQueue, shape: AnnexShape): void {
  if (queue.maxNodes !== null && shape.nodes > queue.maxNodes) throw new HtcError('USAGE', `--nodes ${shape.nodes}: queue ${queue.name} allows at most ${queue.maxNodes}`);
  if (queue.maxDurationSeconds !== null && shape.lifetimeSeconds > queue.maxDurationSeconds) {
    throw new HtcError('USAGE', `--lifetime ${shape.lifetimeSeconds}: queue ${queue.name} allows at most ${queue.maxDurationSeconds} s`);
  }
  if (shape.idleSeconds > shape.lifetimeSeconds) throw new HtcError('USAGE', `--idle-time ${shape.idleSeconds} is longer than --lifetime ${shape.lifetimeSeconds}`);
}
