/**
 * An annex request as the front-end checks it before anything starts:
 * `QUEUE@SYSTEM` looked up in the catalog (shipped systems plus the user's
 * own, catalog.ts), then every rule of the system's queue applied in order
 * (core/annex-request.ts). No login, no access point: `--test` is this and
 * nothing else.
 */
import { gpuOptions, parseTarget, validateAnnexRequest, type QueueEntry, type SystemEntry, type ValidatedRequest } from '../core/annex-request.ts';
import { loadCatalog, type Catalog } from './catalog.ts';

export interface RequestOptions {
  readonly nodes: number;
  readonly cpus: number | null;
  readonly memoryMb: number | null;
  /** `--gpus N` or `--gpus TYPE:N`. */
  readonly gpus: string | null;
  readonly gpuType: string | null;
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
  readonly project: string | null;
}

export interface PlannedRequest {
  readonly system: SystemEntry;
  readonly queue: QueueEntry;
  readonly request: ValidatedRequest;
}

/** The request checked against its system and queue; HtcError('USAGE') at the first rule it breaks. */
export function planRequest(target: string, options: RequestOptions, catalog: Catalog = loadCatalog()): PlannedRequest {
  const { system, queue } = parseTarget(target, catalog.systems);
  const gpus = gpuOptions(options.gpus, options.gpuType);
  const request = validateAnnexRequest(system, {
    queue: queue.name,
    nodes: options.nodes,
    cpus: options.cpus,
    memoryMb: options.memoryMb,
    gpus: gpus.gpus,
    gpuType: gpus.gpuType,
    lifetimeSeconds: options.lifetimeSeconds,
    idleSeconds: options.idleSeconds,
    project: options.project,
  });
  return { system, queue, request };
}
