/**
 * `htc classad match JOB MACHINE [--json]` and `htc classad match --jsonl`
 * (lines {"job": TEXT, "machine": TEXT} answered by
 * {"match", "jobRequirements", "machineRequirements"}).
 */
import { BUILTINS, symmetricMatch, writeJson, type MatchResult } from '../../../classad/index.ts';
import { HtcError } from '../../../errors.ts';
import type { Register } from '../../command.ts';
import { forEachLine } from '../../input.ts';
import { createOutput, withJsonOption } from '../../output.ts';
import { adFromField, parseSyntaxOption, readAdFile } from './ads.ts';

interface MatchOptions {
  syntax?: string;
  json: boolean;
  jsonl: boolean;
}

export const registerMatch: Register = (parent, ctx) => {
  withJsonOption(
    parent
      .command('match')
      .description("match a job ad and a machine ad: each side's Requirements against the other")
      .argument('[job]', 'file holding the job ad')
      .argument('[machine]', 'file holding the machine (slot) ad')
      .option('--syntax <syntax>', 'syntax of the ad files: new, old or json (default: detected)')
      .option('--jsonl', 'batch mode: read {"job", "machine"} lines on stdin', false),
  ).action(async (jobFile: string | undefined, machineFile: string | undefined, options: MatchOptions) => {
    if (options.jsonl) {
      if (jobFile !== undefined) throw new HtcError('USAGE', '--jsonl reads everything from stdin: give no JOB or MACHINE with it');
      await forEachLine(ctx.stdin, (line) => {
        if (line.trim() === '') return;
        ctx.stdout.write(`${matchRequest(line)}\n`);
      });
      return;
    }
    if (jobFile === undefined || machineFile === undefined) throw new HtcError('USAGE', 'match: give JOB and MACHINE ad files (or --jsonl)');
    const syntax = parseSyntaxOption(options.syntax, '--syntax');
    const job = await readAdFile(jobFile, 'JOB', ctx.stdin, syntax);
    const machine = await readAdFile(machineFile, 'MACHINE', ctx.stdin, syntax);
    const result = symmetricMatch(job, machine, BUILTINS);
    createOutput({ json: options.json, stdout: ctx.stdout }).record({ ...result });
  });
};

/**
 * Answers one JSONL match request. Never throws: every failure is an
 * answer, even one that is a bug (reported as an internal error), so one
 * bad line cannot stop the batch.
 */
export function matchRequest(line: string): string {
  try {
    return answerRequest(line);
  } catch (error) {
    return writeJson({ error: `internal error: ${String(error)}` });
  }
}

function answerRequest(line: string): string {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return writeJson({ error: `request is not JSON: ${(error as Error).message}` });
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return writeJson({ error: 'request must be a JSON object' });
  const r = request as Record<string, unknown>;
  try {
    const result: MatchResult = symmetricMatch(adFromField(r.job, 'job', undefined), adFromField(r.machine, 'machine', undefined), BUILTINS);
    return writeJson({ ...result });
  } catch (error) {
    if (error instanceof HtcError) return writeJson({ error: error.describe() });
    throw error;
  }
}
