/**
 * The pilot's entry point (what `htc pilot` and the standalone `htc-pilot`
 * executable run, see main.ts): the Pilot and its configuration, validated
 * here because it arrives as a file.
 *
 * Where the pilot works comes from the file (`executeDir`, `removeOnExit`)
 * or, when one file serves several nodes, from the caller (`workDir`, the
 * `--work-dir` option): sandboxes in WORK_DIR/execute, WORK_DIR removed at
 * exit. When it ends comes from the file too: `endTime` (epoch seconds) or
 * `lifetimeSeconds`, counted from when the file is loaded (a batch job may
 * wait in the queue for hours before the pilot starts).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HtcError } from '../errors.ts';
import { normalizeFingerprint } from '../auth/pin.ts';
import { Pilot, type PilotConfig } from './pilot.ts';

export { Pilot, type PilotConfig };

export interface PilotConfigOptions {
  /**
   * This pilot's own directory (`--work-dir`): sandboxes go in DIR/execute
   * and DIR is removed at exit, whatever the file says. Without it the file
   * must give `executeDir`.
   */
  readonly workDir?: string;
  /** The current time in epoch milliseconds, from which `lifetimeSeconds` counts (tests set it). */
  readonly now?: number;
}

/**
 * Reads and checks a pilot configuration file; errors (HtcError) name the
 * file, and the field when the file is wrong.
 */
export function loadPilotConfig(file: string, options: PilotConfigOptions = {}): PilotConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HtcError('FILE_NOT_FOUND', `--config ${file}: no such file`);
    if (code === 'EISDIR') throw new HtcError('USAGE', `--config ${file}: is a directory, not a file`);
    throw new HtcError('FILE_UNREADABLE', `--config ${file}: ${(error as Error).message}`);
  }
  return parsePilotConfig(text, file, options);
}

/** A pilot configuration file's text, checked; errors name the file and the field. */
export function parsePilotConfig(text: string, file: string, options: PilotConfigOptions = {}): PilotConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HtcError('USAGE', `${file}: not JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new HtcError('USAGE', `${file}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof o[key] !== 'string' || o[key] === '') throw new HtcError('USAGE', `${file}: "${key}" must be a non-empty string`);
    return o[key];
  };
  const num = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HtcError('USAGE', `${file}: "${key}" must be a number >= 0`);
    return v;
  };
  const url = str('url');
  if (!/^https:\/\//.test(url)) throw new HtcError('USAGE', `${file}: "url" must be the access point's https:// address`);
  const resources = (o.resources ?? {}) as Record<string, unknown>;
  const resource = (key: string): number | undefined => {
    const v = resources[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new HtcError('USAGE', `${file}: "resources.${key}" must be a whole number`);
    return v;
  };
  const cpus = resource('cpus');
  const memoryMb = resource('memoryMb');
  const diskKb = resource('diskKb');
  const gpus = resource('gpus');
  return {
    url,
    fingerprint: fingerprintOf(str('fingerprint'), file),
    token: str('token'),
    annexName: str('annexName'),
    requestId: typeof o.requestId === 'string' ? o.requestId : null,
    ...workPlaces(o, file, options.workDir),
    idleSeconds: num('idleSeconds', 300),
    endTime: endTimeOf(o, file, options.now ?? Date.now()),
    endMarginSeconds: num('endMarginSeconds', 60),
    resources: { ...(cpus === undefined ? {} : { cpus }), ...(memoryMb === undefined ? {} : { memoryMb }), ...(diskKb === undefined ? {} : { diskKb }), ...(gpus === undefined ? {} : { gpus }) },
    ...(typeof o.vacateGraceMs === 'number' ? { vacateGraceMs: o.vacateGraceMs } : {}),
  };
}

function fingerprintOf(text: string, file: string): string {
  try {
    return normalizeFingerprint(text);
  } catch (error) {
    throw error instanceof HtcError ? new HtcError('USAGE', `${file}: "fingerprint": ${error.message}`) : error;
  }
}

/** Where the pilot works: the caller's work dir if given, else the file's executeDir (and removeOnExit). */
function workPlaces(o: Record<string, unknown>, file: string, workDir: string | undefined): Pick<PilotConfig, 'executeDir' | 'removeOnExit'> {
  if (workDir !== undefined) {
    if (workDir === '') throw new HtcError('USAGE', '--work-dir: must be a directory path, not empty');
    const dir = resolve(workDir);
    return { executeDir: join(dir, 'execute'), removeOnExit: dir };
  }
  if (typeof o.executeDir !== 'string' || o.executeDir === '') {
    throw new HtcError('USAGE', `${file}: "executeDir" must be a non-empty string (or give the pilot --work-dir DIR)`);
  }
  return { executeDir: o.executeDir, removeOnExit: typeof o.removeOnExit === 'string' ? o.removeOnExit : null };
}

/**
 * When the pilot's lifetime ends, in whole epoch seconds (the wire carries
 * whole seconds; rounding down ends the pilot early, never late): `endTime`
 * as given, or now + `lifetimeSeconds`, or null for no end.
 */
function endTimeOf(o: Record<string, unknown>, file: string, nowMs: number): number | null {
  const endTime = o.endTime ?? null;
  const lifetime = o.lifetimeSeconds ?? null;
  if (endTime !== null && lifetime !== null) throw new HtcError('USAGE', `${file}: give "endTime" or "lifetimeSeconds", not both`);
  if (lifetime !== null) {
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) throw new HtcError('USAGE', `${file}: "lifetimeSeconds" must be a number > 0`);
    return Math.floor(nowMs / 1000 + lifetime);
  }
  if (endTime === null) return null;
  if (typeof endTime !== 'number' || !Number.isFinite(endTime) || endTime < 0) throw new HtcError('USAGE', `${file}: "endTime" must be a number >= 0`);
  return Math.floor(endTime);
}
