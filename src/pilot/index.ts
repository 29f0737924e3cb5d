/**
 * The pilot's entry point (what `htc pilot` runs): the Pilot and its
 * configuration, validated here because it arrives as a file.
 */
import { HtcError } from '../errors.ts';
import { normalizeFingerprint } from '../auth/pin.ts';
import { Pilot, type PilotConfig } from './pilot.ts';

export { Pilot, type PilotConfig };

/** A pilot configuration file's text, checked; errors name the file and the field. */
export function parsePilotConfig(text: string, file: string): PilotConfig {
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
    fingerprint: normalizeFingerprint(str('fingerprint')),
    token: str('token'),
    annexName: str('annexName'),
    requestId: typeof o.requestId === 'string' ? o.requestId : null,
    executeDir: str('executeDir'),
    removeOnExit: typeof o.removeOnExit === 'string' ? o.removeOnExit : null,
    idleSeconds: num('idleSeconds', 300),
    endTime: o.endTime === null || o.endTime === undefined ? null : num('endTime'),
    endMarginSeconds: num('endMarginSeconds', 60),
    resources: { ...(cpus === undefined ? {} : { cpus }), ...(memoryMb === undefined ? {} : { memoryMb }), ...(diskKb === undefined ? {} : { diskKb }), ...(gpus === undefined ? {} : { gpus }) },
    ...(typeof o.vacateGraceMs === 'number' ? { vacateGraceMs: o.vacateGraceMs } : {}),
  };
}
