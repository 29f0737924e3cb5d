/**
 * The evaluator: compiles an expression tree once into a tree of closures
 * and evaluates it many times (matchmaking evaluates millions).
 *
 * Scoping follows HTCondor's non-strict rules: an unscoped name is looked up
 * in the expression's own ad, then its enclosing ads, then the TARGET ad.
 * `MY.x` / `SELF.x` select from the own ad: its attribute x, else (as any
 * `ad.x` does) x of its enclosing ads, never the target. `TARGET.x` /
 * `OTHER.x` select from the target, `PARENT.x` from the enclosing ad. An
 * attribute found in the target is evaluated with the two sides swapped
 * (its MY is the target, its TARGET the own ad).
 *
 * MY, SELF, PARENT, ROOT and TOPLEVEL are HTCondor's special names: an
 * attribute of that name in the ad at hand wins, otherwise the name means
 * that scope. TARGET and OTHER are not special in HTCondor's library (they
 * resolve through the match context around the two ads), so an attribute
 * named TARGET in the ad or any enclosing ad wins; only when none exists
 * does TARGET mean the other side, seen from the ad at hand (the target of
 * an ad on the target side is the own ad, so TARGET.TARGET is MY).
 *
 * Invariants: evaluation never throws (bad operands yield ERROR); an
 * attribute that refers back to itself, directly or through others,
 * evaluates to ERROR instead of recursing forever; so does an evaluation
 * that does too much work (see MAX_ATTRIBUTE_EVALUATIONS).
 */
import type { BinaryOp, Node } from './ast.ts';
import { ClassAd, SCOPE_NAMES, type Attribute, type Compiled, type Env } from './classad.ts';
import { arithmetic, binary, booleanEquivalent, comparison, logicalAnd, logicalOr, unary } from './operators.ts';
import { ERROR, ListValue, UNDEFINED, isInt, intToNumber, type Value } from './value.ts';

export type { Compiled, Env };

/** What a built-in function is given: compiled arguments (evaluated on demand) and the call site. */
export interface CallSite {
  /** The argument trees, for functions that look at their arguments unevaluated (unparse). */
  readonly args: readonly Node[];
  readonly functions: FunctionTable;
}
export type Builtin = (args: readonly Compiled[], env: Env, site: CallSite) => Value;
/** Built-in functions by lower-case name. */
export type FunctionTable = ReadonlyMap<string, Builtin>;

export const EMPTY_ENV: Env = { scope: null, target: null };

/** The outermost ad of `ad`'s enclosing chain. */
export function rootOf(ad: ClassAd | null): ClassAd | null {
  let a = ad;
  while (a !== null && a.parent !== null) a = a.parent;
  return a;
}

/**
 * Compiled closures by tree, per function table: ads copied from one another
 * and nested-ad literals evaluated again share their trees, so they share
 * the compilation too. Weak, so trees no longer used are collected.
 */
const compiledTrees = new WeakMap<FunctionTable, WeakMap<Node, Compiled>>();

export function compileShared(node: Node, functions: FunctionTable): Compiled {
  let byNode = compiledTrees.get(functions);
  if (byNode === undefined) compiledTrees.set(functions, (byNode = new WeakMap()));
  let compiled = byNode.get(node);
  if (compiled === undefined) byNode.set(node, (compiled = compile(node, functions)));
  return compiled;
}

/**
 * How many evaluations (attribute references, plus the expression being
 * evaluated) may be nested: a chain a1 = a2 + 1, a2 = a3 + 1, ... HTCondor
 * stops at 400 as well; past it the evaluation fails, so a long chain
 * cannot exhaust the JS stack.
 */
export const MAX_REFERENCE_DEPTH = 400;
let activeEvaluations = 0;

/**
 * How many attribute evaluations one outermost evaluation may make before
 * it fails. HTCondor bounds the work of an evaluation (10,000,000 node
 * evaluations), so that `a1 = a0 + a0; ...; a40 = a39 + a39` (2^40
 * evaluations) fails instead of running for days. We count attribute
 * evaluations instead of nodes, which keeps the per-node hot path free of
 * bookkeeping; an attribute's expression is typically a handful of nodes,
 * so a million of them is the same order of work as HTCondor's budget,
 * about a second here, and far above anything real ads need (a match
 * evaluates tens).
 */
export const MAX_ATTRIBUTE_EVALUATIONS = 1_000_000;
let evaluationsLeft = MAX_ATTRIBUTE_EVALUATIONS;

/**
 * Set when a circular reference, the depth limit or the work limit is hit.
 * As in HTCondor, such a failure is not an ordinary ERROR value that `=?=`
 * or `isError()` could inspect: it fails every enclosing evaluation up to
 * the outermost one, which then yields ERROR and clears the flag.
 */
let evaluationFailed = false;

/** Runs one nested evaluation with the failure rules above. Never throws. */
function guarded(compiled: Compiled, env: Env): Value {
  if (activeEvaluations === 0) {
    evaluationsLeft = MAX_ATTRIBUTE_EVALUATIONS; // a new outermost evaluation
  } else if (activeEvaluations >= MAX_REFERENCE_DEPTH || --evaluationsLeft < 0) {
    evaluationFailed = true;
    return ERROR;
  }
  activeEvaluations++;
  let value: Value;
  try {
    value = compiled(env);
  } catch (error) {
    // Last line of defence: a stack overflow the limits did not prevent.
    if (!(error instanceof RangeError)) {
      if (activeEvaluations === 1) evaluationFailed = false;
      throw error;
    }
    evaluationFailed = true;
    value = ERROR;
  } finally {
    activeEvaluations--;
  }
  if (evaluationFailed) {
    if (activeEvaluations === 0) evaluationFailed = false;
    return ERROR;
  }
  return value;
}

/** Evaluates a compiled expression as an outermost evaluation (see `guarded`). */
export function evaluateCompiled(compiled: Compiled, env: Env): Value {
  return guarded(compiled, env);
}

/** Evaluates one attribute of `ad` in `env` (whose scope is `ad` or a child of it). */
export function evaluateAttribute(attr: Attribute, env: Env, functions: FunctionTable): Value {
  const node = attr.node;
  if (node.kind === 'literal') return node.value;
  if (attr.evaluating) {
    evaluationFailed = true; // circular reference
    return ERROR;
  }
  const compiled = (attr.compiled ??= compileShared(node, functions));
  attr.evaluating = true;
  try {
    return guarded(compiled, env);
  } finally {
    attr.evaluating = false;
  }
}

/**
 * Env in which an attribute that lives in `ad` is evaluated, reached from
 * `env`: MY and TARGET swap when `ad` is on the target side.
 */
export function envFor(ad: ClassAd, env: Env): Env {
  if (ad === env.scope) return env;
  const root = rootOf(ad);
  if (env.target !== null && root === rootOf(env.target)) return { scope: ad, target: rootOf(env.scope) };
  return { scope: ad, target: env.target };
}

/** Unscoped lookup: own ad, enclosing ads, then the target (and its enclosing ads). */
function lookupUnscoped(key: string, env: Env, functions: FunctionTable): Value {
  for (let ad = env.scope; ad !== null; ad = ad.parent) {
    const attr = ad.lookupKey(key);
    if (attr !== undefined) return evaluateAttribute(attr, ad === env.scope ? env : { scope: ad, target: env.target }, functions);
  }
  if (env.target !== null) {
    const swappedTarget = rootOf(env.scope);
    for (let ad: ClassAd | null = env.target; ad !== null; ad = ad.parent) {
      const attr = ad.lookupKey(key);
      if (attr !== undefined) return evaluateAttribute(attr, { scope: ad, target: swappedTarget }, functions);
    }
  }
  return UNDEFINED;
}

/**
 * `ad.name` where ad is an evaluated ClassAd value: HTCondor's scope walk
 * started at `ad` (its own attributes, then its enclosing ads; no TARGET
 * fallback), with the special names resolved relative to `ad` when it has
 * no attribute of that name, and TARGET / OTHER when no ad on the way has.
 */
function selectFrom(ad: ClassAd, key: string, env: Env, functions: FunctionTable): Value {
  const own = ad.lookupKey(key);
  if (own !== undefined) return evaluateAttribute(own, envFor(ad, env), functions);
  const special = specialScope(key, ad);
  if (special !== NOT_SPECIAL) return special;
  for (let s = ad.parent; s !== null; s = s.parent) {
    const attr = s.lookupKey(key);
    if (attr !== undefined) return evaluateAttribute(attr, envFor(s, env), functions);
  }
  return key === 'target' || key === 'other' ? targetOf(ad, env) : UNDEFINED;
}

const NOT_SPECIAL = Symbol('not a special name');

/** What one of HTCondor's special names means seen from `ad`: itself, its parent or its root. */
function specialScope(key: string, ad: ClassAd | null): Value | typeof NOT_SPECIAL {
  switch (key) {
    case 'my':
    case 'self':
      return ad ?? UNDEFINED;
    case 'parent':
      return ad?.parent ?? UNDEFINED;
    case 'root':
    case 'toplevel':
      return rootOf(ad) ?? UNDEFINED;
    default:
      return NOT_SPECIAL;
  }
}

/** The other side of the match seen from `ad`: the own ad for an ad on the target side. */
function targetOf(ad: ClassAd | null, env: Env): Value {
  if (env.target === null) return UNDEFINED;
  if (ad !== null && rootOf(ad) === rootOf(env.target)) return rootOf(env.scope) ?? UNDEFINED;
  return env.target;
}

/** Whether `ad` or an enclosing ad has an attribute named `key` (a scope name). */
function shadowedInChain(ad: ClassAd | null, key: string): boolean {
  for (let a = ad; a !== null; a = a.parent) if (a.shadowsScopeNames && a.lookupKey(key) !== undefined) return true;
  return false;
}

function select(base: Value, key: string, env: Env, functions: FunctionTable): Value {
  if (base instanceof ClassAd) return selectFrom(base, key, env, functions);
  if (base === UNDEFINED) return UNDEFINED;
  if (base instanceof ListValue) {
    // A select on a list of ads selects from each of them.
    return new ListValue(base.items.map((item) => select(item, key, env, functions)));
  }
  return ERROR;
}

function subscript(base: Value, index: Value, env: Env, functions: FunctionTable): Value {
  if (base === ERROR || index === ERROR) return ERROR;
  if (base === UNDEFINED || index === UNDEFINED) return UNDEFINED;
  if (base instanceof ListValue) {
    if (!isInt(index)) return ERROR;
    const i = intToNumber(index);
    return i >= 0 && i < base.items.length ? base.items[i]! : ERROR;
  }
  if (base instanceof ClassAd) {
    if (typeof index !== 'string') return ERROR;
    return selectFrom(base, index.toLowerCase(), env, functions);
  }
  return ERROR;
}

const SELF_NAMES = new Set(['my', 'self']);
const TARGET_NAMES = new Set(['target', 'other']);

/** Compiles an expression tree into a closure. Unknown functions evaluate to ERROR. */
export function compile(node: Node, functions: FunctionTable): Compiled {
  const c = (n: Node): Compiled => compile(n, functions);
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'paren':
      return c(node.inner);
    case 'attr': {
      const key = node.name.toLowerCase();
      if (node.absolute) return (env) => {
        const root = rootOf(env.scope);
        return root === null ? ERROR : selectFrom(root, key, env, functions);
      };
      if (key === 'target' || key === 'other') return (env) => {
        // Not special in HTCondor: an attribute of the name in the ad or an
        // enclosing ad wins; otherwise it names the other side.
        for (let ad = env.scope; ad !== null; ad = ad.parent) {
          const attr = ad.lookupKey(key);
          if (attr !== undefined) return evaluateAttribute(attr, ad === env.scope ? env : { scope: ad, target: env.target }, functions);
        }
        return targetOf(env.scope, env);
      };
      if (SCOPE_NAMES.has(key)) return (env) => {
        // An attribute of the name in the ad itself wins; otherwise the name
        // means its scope (looked at before walking up, as HTCondor does).
        const own = env.scope?.lookupKey(key);
        if (own !== undefined) return evaluateAttribute(own, env, functions);
        return specialScope(key, env.scope) as Value;
      };
      return (env) => lookupUnscoped(key, env, functions);
    }
    case 'select': {
      const key = node.name.toLowerCase();
      const base = node.base;
      if (base.kind === 'attr' && !base.absolute && !SCOPE_NAMES.has(key)) {
        const scope = base.name.toLowerCase();
        // MY.x, TARGET.x and PARENT.x are compiled to direct lookups of the
        // common case (x in the ad itself), unless an attribute named like
        // the scope shadows it (then it is an ordinary select).
        if (SELF_NAMES.has(scope)) return (env) => {
          const s = env.scope;
          if (s === null) return UNDEFINED;
          if (s.shadowsScopeNames && s.lookupKey(scope) !== undefined) return select(lookupUnscoped(scope, env, functions), key, env, functions);
          const attr = s.lookupKey(key);
          if (attr !== undefined) return evaluateAttribute(attr, env, functions);
          return s.parent === null ? UNDEFINED : selectFrom(s, key, env, functions);
        };
        if (TARGET_NAMES.has(scope)) return (env) => {
          const s = env.scope;
          if (s !== null && (s.shadowsScopeNames || s.parent !== null) && shadowedInChain(s, scope)) {
            return select(lookupUnscoped(scope, env, functions), key, env, functions);
          }
          const t = env.target;
          if (t === null) return UNDEFINED;
          const attr = t.lookupKey(key);
          if (attr !== undefined) return evaluateAttribute(attr, { scope: t, target: rootOf(s) }, functions);
          return t.parent === null ? UNDEFINED : selectFrom(t, key, env, functions);
        };
        if (scope === 'parent') return (env) => {
          const p = env.scope?.parent ?? null;
          if (p === null) return UNDEFINED;
          return selectFrom(p, key, env, functions);
        };
      }
      const b = c(base);
      return (env) => select(b(env), key, env, functions);
    }
    case 'subscript': {
      const b = c(node.base);
      const i = c(node.index);
      return (env) => subscript(b(env), i(env), env, functions);
    }
    case 'unary': {
      const operand = c(node.operand);
      const op = node.op;
      if (op === '!') return (env) => {
        const v = operand(env);
        return typeof v === 'boolean' ? !v : unary('!', v);
      };
      return (env) => unary(op, operand(env));
    }
    case 'binary':
      return compileBinary(node.op, c(node.left), c(node.right));
    case 'ternary': {
      const cond = c(node.cond);
      const then = c(node.then);
      const otherwise = c(node.otherwise);
      return (env) => {
        const v = cond(env);
        const b = booleanEquivalent(v);
        if (b === true) return then(env);
        if (b === false) return otherwise(env);
        return v === UNDEFINED ? UNDEFINED : ERROR;
      };
    }
    case 'elvis': {
      const left = c(node.left);
      const right = c(node.right);
      return (env) => {
        const v = left(env);
        return v === UNDEFINED ? right(env) : v;
      };
    }
    case 'call': {
      const fn = functions.get(node.name.toLowerCase());
      if (fn === undefined) return () => ERROR;
      const args = node.args.map(c);
      const site: CallSite = { args: node.args, functions };
      return (env) => fn(args, env, site);
    }
    case 'list': {
      const items = node.items.map(c);
      return (env) => new ListValue(items.map((item) => item(env)));
    }
    case 'record': {
      const attrs = node.attrs;
      return (env) => {
        const ad = new ClassAd(attrs);
        ad.parent = env.scope;
        return ad;
      };
    }
  }
}

function compileBinary(op: BinaryOp, l: Compiled, r: Compiled): Compiled {
  switch (op) {
    case '&&':
      return (env) => {
        const a = l(env);
        if (a === false) return false;
        if (a === true) {
          const b = r(env);
          return typeof b === 'boolean' ? b : logicalAnd(a, () => b);
        }
        return logicalAnd(a, () => r(env));
      };
    case '||':
      return (env) => {
        const a = l(env);
        if (a === true) return true;
        if (a === false) {
          const b = r(env);
          return typeof b === 'boolean' ? b : logicalOr(a, () => b);
        }
        return logicalOr(a, () => r(env));
      };
    case '==':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (typeof a === 'number' && typeof b === 'number') return a === b;
        if (typeof a === 'string' && typeof b === 'string') return a === b || a.toLowerCase() === b.toLowerCase();
        return comparison('==', a, b);
      };
    case '!=':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (typeof a === 'number' && typeof b === 'number') return a !== b;
        if (typeof a === 'string' && typeof b === 'string') return a !== b && a.toLowerCase() !== b.toLowerCase();
        return comparison('!=', a, b);
      };
    case '<':
      return (env) => {
        const a = l(env);
        const b = r(env);
        return typeof a === 'number' && typeof b === 'number' ? a < b : comparison('<', a, b);
      };
    case '<=':
      return (env) => {
        const a = l(env);
        const b = r(env);
        return typeof a === 'number' && typeof b === 'number' ? a <= b : comparison('<=', a, b);
      };
    case '>':
      return (env) => {
        const a = l(env);
        const b = r(env);
        return typeof a === 'number' && typeof b === 'number' ? a > b : comparison('>', a, b);
      };
    case '>=':
      return (env) => {
        const a = l(env);
        const b = r(env);
        return typeof a === 'number' && typeof b === 'number' ? a >= b : comparison('>=', a, b);
      };
    case '+':
    case '-':
    case '*':
      return (env) => arithmetic(op, l(env), r(env));
    default:
      return (env) => binary(op, l(env), r(env));
  }
}

