/**
 * Test helpers for the function library: evaluate expression text end to
 * end (parser → compiler with BUILTINS) and show the result as ClassAd text.
 */
import { ClassAd } from '../classad.ts';
import { compile } from '../evaluate.ts';
import { parseExpression, parseRecord } from '../parser.ts';
import { printValue } from '../printer.ts';
import type { Value } from '../value.ts';
import { BUILTINS } from './index.ts';

/** Evaluates `text`, optionally with `adText` (a new-syntax ad, `[...]`) as its scope and `targetText` as TARGET. */
export function ev(text: string, adText?: string, targetText?: string): Value {
  const scope = adText === undefined ? null : new ClassAd(parseRecord(adText));
  const target = targetText === undefined ? null : new ClassAd(parseRecord(targetText));
  return compile(parseExpression(text), BUILTINS)({ scope, target });
}

/** The result of `ev` printed in new syntax. */
export function show(text: string, adText?: string, targetText?: string): string {
  return printValue(ev(text, adText, targetText));
}
