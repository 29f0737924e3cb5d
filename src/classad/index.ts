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
import { compile, evaluateAttribute, EMPTY_ENV, type FunctionTable } from './evaluate.ts';
import { BUILTINS } from './functions/index.ts';
import { parseExpression, parseOldRecord, parseRecord, parseRecords } from './parser.ts';
import type { Value } from './value.ts';

export type { Node, BinaryOp, UnaryOp } from './ast.ts';
export { ClassAd, type Env, type Compiled } from './classad.ts';
export { ClassAdSyntaxError } from './lexer.ts';
export { parseExpression } from './parser.ts';
export { printValue, printClassAd, printOldClassAd, unparse, printReal, printString, printName, type Syntax } from './printer.ts';
export * from './value.ts';
export { BUILTINS };
export type { FunctionTable, Builtin, CallSite } from './evaluate.ts';

/** Compiles a tree with the built-in functions. */
export function compileExpression(node: Node, functions: FunctionTable = BUILTINS): Compiled {
  return compile(node, functions);
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
  return compile(node, BUILTINS)(my === null && target === null ? EMPTY_ENV : { scope: my, target });
}

/** The value of attribute `name` of `ad` (UNDEFINED when absent), TARGET = `target`. */
export function evaluateAttr(ad: ClassAd, name: string, target: ClassAd | null = null): Value {
  const attr = ad.lookupKey(name.toLowerCase());
  if (attr === undefined) return evaluate('undefined');
  const env: Env = { scope: ad, target };
  return evaluateAttribute(attr, env, BUILTINS);
}
