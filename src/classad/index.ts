/**
 * The ClassAd language: the public face of `src/classad`.
 *
 * Everything outside this directory imports from here. Parsing yields
 * expression trees (immutable) and ads; evaluation compiles a tree once and
 * caches the closure, so evaluating the same expression again is cheap.
 * Nothing here does I/O.
 */
import type { Node } from './ast.ts';
import { ClassAd, type Compiled, type Env } from './classad.ts';
import { compile, evaluateAttribute, evaluateCompiled, EMPTY_ENV, type FunctionTable } from './evaluate.ts';
import { BUILTINS } from './functions/index.ts';
import { parseExpression, parseOldRecord, parseRecord, parseRecords } from './parser.ts';
import { UNDEFINED, type Value } from './value.ts';
import { HtcError } from '../errors.ts';
import { parseJsonClassAds } from './json.ts';

export type { Node, BinaryOp, UnaryOp } from './ast.ts';
export { ClassAd, type Env, type Compiled } from './classad.ts';
export { ClassAdSyntaxError } from './lexer.ts';
export { parseExpression } from './parser.ts';
export { printValue, printClassAd, printOldClassAd, unparse, printReal, printString, printName, type Syntax } from './printer.ts';
export * from './value.ts';
export { BUILTINS };
export { booleanEquivalent } from './operators.ts';
export type { FunctionTable, Builtin, CallSite } from './evaluate.ts';
export { symmetricMatch, requirementsHold, rank, type MatchResult } from './match.ts';
export { parseJsonClassAd, parseJsonClassAds, printJsonClassAds, classAdToJson, encodeTypedValue, encodeValue, encodedType, writeJson, JsonRaw, type JsonOut } from './json.ts';

/** The three textual forms of an ad. */
export type AdSyntax = 'new' | 'old' | 'json';

/** Which form a text is in: `[` starts new syntax, `{` or a JSON array JSON, else old. */
export function detectSyntax(text: string): AdSyntax {
  const body = text.replace(/^(?:\s|\/\/[^\n]*\n|#[^\n]*\n)*/, '');
  if (body.startsWith('[')) {
    // A JSON array of objects also starts with "[": look at what follows.
    return /^\[\s*(?:\{|\])/.test(body) && !/^\[\s*\]\s*$/.test(body) ? 'json' : 'new';
  }
  return body.startsWith('{') ? 'json' : 'old';
}

/**
 * Every ad in `text`, in the given or detected syntax. Old syntax separates
 * ads by blank lines (as `condor_q -long` prints them).
 */
export function parseClassAdsText(text: string, options: { syntax?: AdSyntax; file?: string } = {}): ClassAd[] {
  const syntax = options.syntax ?? detectSyntax(text);
  if (syntax === 'new') return parseClassAds(text, options.file);
  if (syntax === 'json') return parseJsonClassAds(text, options.file);
  const ads: ClassAd[] = [];
  const lines = text.split('\n');
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || lines[i]!.trim() === '') {
      if (lines.slice(start, i).some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
        // Keep line numbers true to the file: pad with the lines before this ad.
        ads.push(new ClassAd(parseOldRecord('\n'.repeat(start) + lines.slice(start, i).join('\n'), options.file)));
      }
      start = i + 1;
    }
  }
  return ads;
}

/** Exactly one ad from `text` (any syntax); `what` names it in the error. */
export function parseOneClassAd(text: string, options: { syntax?: AdSyntax; file?: string } = {}): ClassAd {
  const ads = parseClassAdsText(text, options);
  if (ads.length === 1) return ads[0]!;
  const where = options.file === undefined ? '' : `${options.file}: `;
  throw new HtcError('CLASSAD_INVALID', `${where}expected one ClassAd, found ${ads.length}`);
}

/**
 * Compiles a tree with the built-in functions into a closure to call with
 * `{ scope: MY, target: TARGET }` as often as needed. Never throws when
 * called; a circular reference makes the result ERROR.
 */
export function compileExpression(node: Node, functions: FunctionTable = BUILTINS): Compiled {
  const compiled = compile(node, functions);
  return (env) => evaluateCompiled(compiled, env);
}

/** An ad from new-syntax text `[ a = 1; b = "x" ]`. */
export function parseClassAd(text: string, file?: string): ClassAd {
  return new ClassAd(parseRecord(text, file));
}

/** Every ad in new-syntax text holding several `[ ... ]` one after another. */
export function parseClassAds(text: string, file?: string): ClassAd[] {
  return parseRecords(text, file).map((attrs) => new ClassAd(attrs));
}

/** An ad from old-syntax text: one `Name = expr` per line. */
export function parseOldClassAd(text: string, file?: string): ClassAd {
  return new ClassAd(parseOldRecord(text, file));
}

/**
 * Evaluates an expression (text or tree) with MY = `my` and TARGET = `target`.
 * For repeated evaluation, compile once with `compileExpression` and call the
 * closure with `{ scope: my, target }`.
 */
export function evaluate(expr: string | Node, my: ClassAd | null = null, target: ClassAd | null = null): Value {
  const node = typeof expr === 'string' ? parseExpression(expr) : expr;
  return compileExpression(node)(my === null && target === null ? EMPTY_ENV : { scope: my, target });
}

/** The value of attribute `name` of `ad` (UNDEFINED when absent), TARGET = `target`. */
export function evaluateAttr(ad: ClassAd, name: string, target: ClassAd | null = null): Value {
  const attr = ad.lookupKey(name.toLowerCase());
  if (attr === undefined) return UNDEFINED;
  const env: Env = { scope: ad, target };
  return evaluateAttribute(attr, env, BUILTINS);
}
