/**
 * `htc classad eval [--ad FILE] [--target FILE] [--json] EXPR...` and the
 * batch form `htc classad eval --jsonl` (one request per stdin line, one
 * answer per stdout line, in order; a bad line answers with a parse_error
 * and the batch goes on).
 */
import {
  BUILTINS, ClassAd, compileExpression, encodeTypedValue, parseExpression, printValue, writeJson,
  type ClassAd as Ad,
} from '../../../classad/index.ts';
import { HtcError } from '../../../errors.ts';
import type { Register } from '../../command.ts';
import { forEachLine } from '../../input.ts';
import { withJsonOption } from '../../output.ts';
import { adFromField, parseSyntaxOption, readAdFile } from './ads.ts';

interface EvalOptions {
  ad?: string;
  target?: string;
  syntax?: string;
  json: boolean;
  jsonl: boolean;
}

export const registerEval: Register = (parent, ctx) => {
  withJsonOption(
    parent
      .command('eval')
      .description('evaluate expressions with MY = --ad and TARGET = --target; print each value in new syntax')
      .argument('[expr...]', 'ClassAd expressions (put -- before them if one starts with "-")')
      .option('--ad <file>', 'the ad the expressions are evaluated in (MY); new, old or JSON syntax')
      .option('--target <file>', 'the ad TARGET refers to')
      .option('--syntax <syntax>', 'syntax of the ad files: new, old or json (default: detected)')
      .option('--jsonl', 'batch mode: read {"expr", "ad"?, "target"?, "syntax"?} lines on stdin', false),
  ).action(async (exprs: string[], options: EvalOptions) => {
    if (options.jsonl) {
      if (exprs.length > 0 || options.ad !== undefined || options.target !== undefined) {
        throw new HtcError('USAGE', '--jsonl reads everything from stdin: give no EXPR, --ad or --target with it');
      }
      await forEachLine(ctx.stdin, (line) => {
        if (line.trim() === '') return;
        ctx.stdout.write(`${evaluateRequest(line)}\n`);
      });
      return;
    }
    if (exprs.length === 0) throw new HtcError('USAGE', 'eval: give at least one EXPR (or --jsonl to read requests from stdin)');
    const syntax = parseSyntaxOption(options.syntax, '--syntax');
    const my = options.ad === undefined ? new ClassAd() : await readAdFile(options.ad, '--ad', ctx.stdin, syntax);
    const target = options.target === undefined ? null : await readAdFile(options.target, '--target', ctx.stdin, syntax);
    // Parse every expression before printing anything, so a typo in the
    // third prints no partial output.
    const compiled = exprs.map((text, i) => {
      try {
        return compileExpression(parseExpression(text, `EXPR ${i + 1}`));
      } catch (error) {
        if (error instanceof HtcError) throw new HtcError(error.code, `${error.describe()} in ${JSON.stringify(text)}`);
        throw error;
      }
    });
    const env = { scope: my, target };
    for (const evaluate of compiled) {
      const value = evaluate(env);
      // The env goes along so an ad value's attributes see the same TARGET.
      ctx.stdout.write(`${options.json ? encodeTypedValue(value, BUILTINS, env) : printValue(value)}\n`);
    }
  });
};

/**
 * Answers one JSONL request line. Never throws: every failure is an answer,
 * even one that is a bug (reported as an internal error), so one bad line
 * cannot stop the batch.
 */
export function evaluateRequest(line: string): string {
  try {
    return answerRequest(line);
  } catch (error) {
    return parseError(`internal error: ${String(error)}`);
  }
}

function answerRequest(line: string): string {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return parseError(`request is not JSON: ${(error as Error).message}`);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return parseError('request must be a JSON object');
  const r = request as Record<string, unknown>;
  if (typeof r.expr !== 'string') return parseError('"expr" must be a string');
  try {
    if (r.syntax !== undefined && typeof r.syntax !== 'string') return parseError('"syntax" must be "new", "old" or "json"');
    const syntax = parseSyntaxOption(r.syntax, '"syntax"');
    const my: Ad = r.ad === undefined ? new ClassAd() : adFromField(r.ad, 'ad', syntax);
    const target = r.target === undefined ? null : adFromField(r.target, 'target', syntax);
    const env = { scope: my, target };
    const value = compileExpression(parseExpression(r.expr, 'expr'))(env);
    return encodeTypedValue(value, BUILTINS, env);
  } catch (error) {
    if (error instanceof HtcError) return parseError(error.describe());
    throw error;
  }
}

function parseError(message: string): string {
  return writeJson({ type: 'error', parse_error: message });
}
