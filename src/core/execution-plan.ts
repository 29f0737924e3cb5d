/**
 * The execution plan of a job: what a pilot needs to run it (executable,
 * argument vector, environment, sandbox names of its files) and what the
 * access point needs to move its files (where each input comes from and
 * where each output goes), derived from the job ad the way HTCondor's shadow
 * and starter read it.
 *
 * Names follow HTCondor: the transferred executable is `condor_exec.exe`,
 * stdin/stdout/stderr live in the sandbox as `_condor_stdin`,
 * `_condor_stdout`, `_condor_stderr` and go back to In/Out/Err; inputs land
 * at the top of the sandbox under their base name (a directory input `d`
 * as `d/...`, `d/` as its contents); outputs come back to Iwd under their
 * base name unless `transfer_output_remaps` says otherwise.
 *
 * Invariants: every sandbox name in a plan is a relative path without `..`
 * (a job whose ad asks for anything else gets a PlanError, which the AP
 * turns into a hold); AP-side paths are absolute. Pure: directories are
 * expanded by the AP, which reads the file system.
 */
import { evaluateAttr, type ClassAd } from '../classad/index.ts';
import { splitArgsV1Raw, splitArgsV2Raw } from '../submit/index.ts';
import { numberAttr, stringAttr } from './job.ts';

export const EXECUTABLE_NAME = 'condor_exec.exe';
export const STDIN_NAME = '_condor_stdin';
export const STDOUT_NAME = '_condor_stdout';
export const STDERR_NAME = '_condor_stderr';

/** Why a job cannot be planned: the AP holds it with this reason (HoldReasonCode 13, transfer input). */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/** A file or directory to send into the sandbox. */
export interface PlannedInput {
  /** Absolute path on the AP side. */
  readonly source: string;
  /** Sandbox-relative name; for a directory, the prefix of its files (`''` for "contents of"). */
  readonly name: string;
  /** The source named a directory's contents (`d/`): its files go to the top of the sandbox. */
  readonly contentsOnly: boolean;
  readonly executable: boolean;
}

export interface ExecutionPlan {
  readonly owner: string;
  readonly iwd: string;
  /** `condor_exec.exe` when transferred, else the absolute path on the execute node. */
  readonly executable: string;
  readonly arguments: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly inputs: readonly PlannedInput[];
  readonly stdin: string | null;
  readonly stdout: string | null;
  readonly stderr: string | null;
  /** Where stdout/stderr go on the AP (absolute), when captured. */
  readonly stdoutPath: string | null;
  readonly stderrPath: string | null;
  /** Sandbox names to send back; null: every new or changed top-level file. */
  readonly outputs: readonly string[] | null;
  /** Sandbox name → absolute destination on the AP. */
  readonly remaps: ReadonlyMap<string, string>;
  /** AllowedJobDuration, seconds. */
  readonly maxRuntimeSeconds: number | null;
}

function absolute(path: string, iwd: string): string {
  const joined = path.startsWith('/') ? path : `${iwd.replace(/\/+$/, '')}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Comma (and whitespace) separated file list, as condor_submit writes TransferInput/TransferOutput. */
export function splitFileList(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A sandbox-relative output name: refused when absolute or leaving the sandbox. */
function sandboxOutputName(name: string, what: string): string {
  if (name.startsWith('/')) throw new PlanError(`${what}: ${JSON.stringify(name)} is an absolute path; name a file inside the job's sandbox`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new PlanError(`${what}: ${JSON.stringify(name)} points outside the job's sandbox ("..")`);
  if (parts.length === 0) throw new PlanError(`${what}: ${JSON.stringify(name)} names no file`);
  return parts.join('/');
}

/** `a = b; c = d` (HTCondor's TransferOutputRemaps), with `\;` and `\=` escapes. */
export function parseRemaps(text: string | undefined, iwd: string): Map<string, string> {
  const remaps = new Map<string, string>();
  if (text === undefined) return remaps;
  for (const entry of text.split(/(?<!\\);/)) {
    if (entry.trim() === '') continue;
    const eq = entry.search(/(?<!\\)=/);
    if (eq < 0) throw new PlanError(`transfer_output_remaps: ${JSON.stringify(entry.trim())} has no "=" (expected "name = destination")`);
    const unescape = (s: string): string => s.trim().replace(/\\([;=])/g, '$1');
    const from = sandboxOutputName(unescape(entry.slice(0, eq)), 'transfer_output_remaps');
    const to = unescape(entry.slice(eq + 1));
    if (to === '') throw new PlanError(`transfer_output_remaps: ${JSON.stringify(from)} is remapped to an empty name`);
    remaps.set(from, absolute(to, iwd));
  }
  return remaps;
}

function environmentOf(ad: ClassAd): Record<string, string> {
  const env: Record<string, string> = {};
  const v2 = stringAttr(ad, 'Environment');
  const entries = v2 !== undefined ? splitArgsV2Raw(v2) : (stringAttr(ad, 'Env')?.split(';') ?? []);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function isFalse(ad: ClassAd, name: string): boolean {
  return evaluateAttr(ad, name) === false;
}

/** The plan for a job ad (a whole proc ad: cluster ad with the proc's differences). */
export function planExecution(ad: ClassAd): ExecutionPlan {
  const owner = stringAttr(ad, 'Owner') ?? '';
  const iwd = stringAttr(ad, 'Iwd') ?? '/';
  const cmd = stringAttr(ad, 'Cmd');
  if (cmd === undefined || cmd === '') throw new PlanError('the job has no executable (Cmd)');
  const transferFiles = (stringAttr(ad, 'ShouldTransferFiles') ?? 'YES').toUpperCase() !== 'NO';
  const transferExecutable = transferFiles && !isFalse(ad, 'TransferExecutable');
  const inputs: PlannedInput[] = [];
  const names = new Set<string>();
  const addInput = (input: PlannedInput): void => {
    if (input.name !== '' && names.has(input.name)) throw new PlanError(`transfer_input_files: two inputs would be named ${JSON.stringify(input.name)} in the sandbox`);
    names.add(input.name);
    inputs.push(input);
  };
  const executable = transferExecutable ? EXECUTABLE_NAME : absolute(cmd, iwd);
  if (transferExecutable) addInput({ source: absolute(cmd, iwd), name: EXECUTABLE_NAME, contentsOnly: false, executable: true });
  const inPath = stringAttr(ad, 'In');
  // Stdin comes into the sandbox only by transfer; without it the job reads /dev/null (no shared file system is assumed).
  const hasStdin = inPath !== undefined && inPath !== '' && inPath !== '/dev/null' && transferFiles && !isFalse(ad, 'TransferIn');
  if (hasStdin) addInput({ source: absolute(inPath, iwd), name: STDIN_NAME, contentsOnly: false, executable: false });
  if (transferFiles) {
    for (const entry of splitFileList(stringAttr(ad, 'TransferInput'))) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) throw new PlanError(`transfer_input_files: ${JSON.stringify(entry)} is a URL; URL transfers are not supported`);
      const contentsOnly = entry.endsWith('/');
      const name = contentsOnly ? '' : baseName(entry);
      if (!contentsOnly && (name === '' || name === '..' || name === '.')) throw new PlanError(`transfer_input_files: ${JSON.stringify(entry)} names no file`);
      addInput({ source: absolute(entry, iwd), name, contentsOnly, executable: false });
    }
  }
  const outPath = stringAttr(ad, 'Out');
  const errPath = stringAttr(ad, 'Err');
  const captured = (p: string | undefined): boolean => p !== undefined && p !== '' && p !== '/dev/null';
  const argsV2 = stringAttr(ad, 'Arguments');
  const outputsText = stringAttr(ad, 'TransferOutput');
  const duration = numberAttr(ad, 'AllowedJobDuration');
  return {
    owner,
    iwd,
    executable,
    arguments: argsV2 !== undefined ? splitArgsV2Raw(argsV2) : splitArgsV1Raw(stringAttr(ad, 'Args') ?? ''),
    environment: environmentOf(ad),
    inputs,
    stdin: hasStdin ? STDIN_NAME : null,
    stdout: captured(outPath) ? STDOUT_NAME : null,
    stderr: captured(errPath) ? STDERR_NAME : null,
    stdoutPath: captured(outPath) ? absolute(outPath!, iwd) : null,
    stderrPath: captured(errPath) ? absolute(errPath!, iwd) : null,
    outputs: !transferFiles ? [] : outputsText === undefined ? null : splitFileList(outputsText).map((n) => sandboxOutputName(n, 'transfer_output_files')),
    remaps: parseRemaps(stringAttr(ad, 'TransferOutputRemaps'), iwd),
    maxRuntimeSeconds: duration !== undefined && duration > 0 ? Math.ceil(duration) : null,
  };
}

/**
 * Where an output the pilot sends goes on the AP, or a refusal: stdout and
 * stderr go to Out/Err, a remapped name to its destination, any other name
 * the plan allows to Iwd under its base name.
 */
export function outputDestination(plan: ExecutionPlan, name: string): { path: string } | { refused: string } {
  if (name === plan.stdout && plan.stdoutPath !== null) return { path: plan.stdoutPath };
  if (name === plan.stderr && plan.stderrPath !== null) return { path: plan.stderrPath };
  let clean: string;
  try {
    clean = sandboxOutputName(name, 'output');
  } catch (error) {
    return { refused: (error as Error).message };
  }
  const allowed = plan.outputs === null ? !clean.includes('/') : plan.outputs.some((o) => clean === o || clean.startsWith(`${o}/`));
  if (!allowed) return { refused: `output ${JSON.stringify(name)} is not one of the job's transfer_output_files` };
  const remapped = plan.remaps.get(clean);
  if (remapped !== undefined) return { path: remapped };
  // A file inside a listed directory keeps its path below the directory's base name.
  const listed = plan.outputs?.find((o) => clean.startsWith(`${o}/`));
  const relative = listed === undefined ? baseName(clean) : `${baseName(listed)}/${clean.slice(listed.length + 1)}`;
  return { path: absolute(relative, plan.iwd) };
}
