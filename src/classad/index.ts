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
import { stripBom } from './lexer.ts';
import { parseJsonClassAds } from './json.ts';

export type { Node, BinaryOp, UnaryOp } from './ast.ts';
export { childrenOf } from './ast.ts';
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

/** Where the text starts after white space and `//`, `/* *\/` and `#` comments. */
function skipComments(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('//', i) || text[i] === '#') {
      const end = text.indexOf('\n', i);
      if (end < 0) return text.length;
      i = end + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return i; // unterminated: leave it for the parser to report
      i = end + 2;
    } else {
      return i;
    }
  }
}

/**
 * Which form a text is in, looking past a byte-order mark and leading
 * comments: `{`, `[` followed by `{`, or exactly `[]` (an empty JSON array)
 * is JSON; any other `[` starts new syntax (`[  ]` is an empty ad, and
 * `[ ]` may be followed by more ads); anything else is old syntax.
 */
export function detectSyntax(text: string): AdSyntax {
  const stripped = stripBom(text);
  const body = stripped.slice(skipComments(stripped));
  if (body.startsWith('[')) return /^\[\s*\{/.test(body) || body.trimEnd() === '[]' ? 'json' : 'new';
  return body.startsWith('{') ? 'json' : 'old';
}

/**
 * Every ad in `text`, in the given or detected syntax. Old syntax separates
 * ads by blank lines (as `condor_q -long` prints them).
 */
export function parseClassAdsText(text: string, options: { syntax?: AdSyntax; file?: string } = {}): ClassAd[] {
  const body = stripBom(text);
  const syntax = options.syntax ?? detectSyntax(body);
  if (syntax === 'new') return parseClassAds(body, options.file);
  if (syntax === 'json') return parseJsonClassAds(body, options.file);
  const ads: ClassAd[] = [];
  const lines = body.split('\n');
  let start = 0;
  let hasAttributes = false;
  for (let i = 0; i <= lines.length; i++) {
    const trimmed = i === lines.length ? '' : lines[i]!.trim();
    if (trimmed === '') {
      // Line numbers stay true to the file: the ad starts on line start + 1.
      if (hasAttributes) ads.push(new ClassAd(parseOldRecord(lines.slice(start, i).join('\n'), options.file, start + 1)));
      start = i + 1;
      hasAttributes = false;
    } else if (!trimmed.startsWith('#')) {
      hasAttributes = true;
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
