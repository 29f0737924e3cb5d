/**
 * Shared helpers for the ClassAd test files: evaluating text, comparing
 * values exactly (type and value), printing trees fully parenthesised to
 * check how they were grouped, and catching parse errors.
 *
 * Test-only: nothing outside *.test.ts files imports this module.
 */
import assert from 'node:assert/strict';
import { HtcError } from '../errors.ts';
import type { Node } from './ast.ts';
import {
  AbsTime, ClassAd, ClassAdSyntaxError, ListValue, Real, RelTime,
  evaluate, parseClassAd, parseExpression, printClassAd, printValue, typeOf,
  type Value,
} from './index.ts';

export { AbsTime, ClassAd, ListValue, Real, RelTime };

/** Evaluates `text` with MY = `my` and TARGET = `target`. */
export function ev(text: string, my: ClassAd | null = null, target: ClassAd | null = null): Value {
  return evaluate(text, my, target);
}

/** An ad from new-syntax text. */
export function ad(text: string): ClassAd {
  return parseClassAd(text);
}

/** A short, type-revealing description of a value for assertion messages. */
export function describeValue(v: Value): string {
  return `${typeOf(v)} ${printValue(v, 'new')}`;
}

/**
 * Exact equality of values: same type and same value. Reals compare with
 * Object.is (so -0 differs from 0 and NaN equals NaN); integers compare
 * across number/bigint; ads compare by their printed text.
 */
export function sameValue(a: Value, b: Value): boolean {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  switch (ta) {
    case 'integer':
      return BigInt(a as number | bigint) === BigInt(b as number | bigint);
    case 'real':
      return Object.is((a as Real).v, (b as Real).v);
    case 'boolean':
    case 'string':
      return a === b;
    case 'undefined':
    case 'error':
      return true;
    case 'abstime':
      return (a as AbsTime).seconds === (b as AbsTime).seconds && (a as AbsTime).offset === (b as AbsTime).offset;
    case 'reltime':
      return Object.is((a as RelTime).seconds, (b as RelTime).seconds);
    case 'list': {
      const x = (a as ListValue).items;
      const y = (b as ListValue).items;
      return x.length === y.length && x.every((item, i) => sameValue(item, y[i]!));
    }
    case 'classad':
      return printClassAd(a as ClassAd) === printClassAd(b as ClassAd);
  }
}

/** Asserts that `actual` is exactly `expected`, naming `what` on failure. */
export function assertValue(actual: Value, expected: Value, what: string): void {
  if (!sameValue(actual, expected)) {
    assert.fail(`${what}: expected ${describeValue(expected)}, got ${describeValue(actual)}`);
  }
}

/** Evaluates `text` and asserts the result. */
export function check(text: string, expected: Value, my: ClassAd | null = null, target: ClassAd | null = null): void {
  let actual: Value;
  try {
    actual = ev(text, my, target);
  } catch (e) {
    assert.fail(`${text}: threw ${String(e)}`);
  }
  assertValue(actual, expected, text);
}

/** Shorthands for expected values. */
export const r = (n: number): Real => new Real(n);
export const list = (...items: Value[]): ListValue => new ListValue(items);

/**
 * A tree printed with every operator application in parentheses, so that
 * tests can see how the parser grouped it: `a || b && c` gives
 * `(a || (b && c))`. Parentheses written in the source show as `paren(...)`,
 * to keep them apart from the added ones.
 */
export function grouping(node: Node): string {
  switch (node.kind) {
    case 'literal':
      return printValue(node.value, 'new');
    case 'attr':
      return (node.absolute ? '.' : '') + node.name;
    case 'select':
      return `(${grouping(node.base)}.${node.name})`;
    case 'subscript':
      return `(${grouping(node.base)}[${grouping(node.index)}])`;
    case 'unary':
      return `(${node.op}${grouping(node.operand)})`;
    case 'binary':
      return `(${grouping(node.left)} ${node.op} ${grouping(node.right)})`;
    case 'ternary':
      return `(${grouping(node.cond)} ? ${grouping(node.then)} : ${grouping(node.otherwise)})`;
    case 'elvis':
      return `(${grouping(node.left)} ?: ${grouping(node.right)})`;
    case 'call':
      return `${node.name}(${node.args.map(grouping).join(', ')})`;
    case 'list':
      return `{${node.items.map(grouping).join(', ')}}`;
    case 'record':
      return `[${node.attrs.map(([n, v]) => `${n} = ${grouping(v)}`).join('; ')}]`;
    case 'paren':
      return `paren(${grouping(node.inner)})`;
  }
}

/** How `text` parses, fully parenthesised. */
export function groupingOf(text: string): string {
  return grouping(parseExpression(text));
}

/**
 * Runs `fn`, which must throw a ClassAd syntax error; returns it. Checks the
 * error's class, code and that it has a 1-based position.
 */
export function syntaxError(fn: () => unknown, what = 'input'): ClassAdSyntaxError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ClassAdSyntaxError, `${what}: expected a ClassAdSyntaxError, got ${String(e)}`);
    assert.ok(e instanceof HtcError);
    assert.equal(e.code, 'CLASSAD_PARSE');
    assert.ok(e.position !== undefined, `${what}: the error has no position`);
    assert.ok(e.position.line >= 1 && e.position.column >= 1, `${what}: bad position ${JSON.stringify(e.position)}`);
    return e;
  }
  assert.fail(`${what}: expected a syntax error, but it parsed`);
}

/** Asserts a syntax error at `line`:`column` whose message matches `message`. */
export function assertSyntaxError(fn: () => unknown, what: string, line: number, column: number, message?: RegExp): ClassAdSyntaxError {
  const e = syntaxError(fn, what);
  assert.deepEqual({ line: e.position?.line, column: e.position?.column }, { line, column }, `${what}: position (message: ${e.message})`);
  if (message !== undefined) assert.match(e.message, message, `${what}: message`);
  return e;
}
