/**
 * Control and meta functions: ifThenElse, eval, unparse, unresolved,
 * evalInEachContext, countMatches, debug.
 *
 * ifThenElse is lazy: only the chosen branch is evaluated; a condition that
 * is UNDEFINED gives UNDEFINED, one that is not a boolean or number gives
 * ERROR. eval parses its argument (converted with string()) and evaluates
 * it in the current scope; text that does not parse is ERROR. Parsed texts
 * are cached; nesting of eval is bounded (deeper is ERROR), as HTCondor's
 * evaluation depth limit does.
 */
import type { Node } from '../ast.ts';
import { ClassAd, SCOPE_NAMES, type Env } from '../classad.ts';
import { compileShared, envFor, type Builtin, type FunctionTable } from '../evaluate.ts';
import { booleanEquivalent } from '../operators.ts';
import { parseExpression } from '../parser.ts';
import { unparse as unparseNode } from '../printer.ts';
import { ERROR, ListValue, UNDEFINED, type Value } from '../value.ts';
import { compilePattern } from './regex.ts';
import { SmallCache, toStringValue, type Entry } from './support.ts';

const ifThenElse: Builtin = (args, env) => {
  if (args.length !== 3) return ERROR;
  const c = args[0]!(env);
  const choice = booleanEquivalent(c);
  if (choice === undefined) return c === UNDEFINED ? UNDEFINED : ERROR;
  return choice ? args[1]!(env) : args[2]!(env);
};

const parsed = new SmallCache<Node | null>(256);
const MAX_EVAL_DEPTH = 200;
let evalDepth = 0;

const evalFn: Builtin = (args, env, site) => {
  if (args.length !== 1) return ERROR;
  const text = toStringValue(args[0]!(env));
  if (typeof text !== 'string') return ERROR;
  let node = parsed.get(text);
  if (node === undefined) {
    try {
      node = parseExpression(text);
    } catch {
      node = null;
    }
    parsed.set(text, node);
  }
  if (node === null) return ERROR;
  if (evalDepth >= MAX_EVAL_DEPTH) return ERROR;
  evalDepth++;
  try {
    return compileShared(node, site.functions)(env);
  } finally {
    evalDepth--;
  }
};

/**
 * unparse(attr): the expression of the attribute named (looked up in the
 * current ad only), printed, without evaluating it; "" if the ad has no
 * such attribute. The argument must be an attribute reference: a plain
 * name; a scoped reference (MY.x, a.b, .x) is accepted but, as in HTCondor
 * (which looks up the printed reference as a name), yields "".
 */
const unparse: Builtin = (args, env, site) => {
  const arg = site.args[0];
  if (args.length !== 1 || arg === undefined) return ERROR;
  if (arg.kind === 'select') return '';
  if (arg.kind !== 'attr') return ERROR;
  if (arg.absolute || env.scope === null) return '';
  const attr = env.scope.lookupKey(arg.name.toLowerCase());
  return attr === undefined ? '' : unparseNode(attr.node);
};

/** Whether an unscoped name resolves in the ad or its enclosing ads. */
function definedIn(ad: ClassAd | null, key: string): ClassAd | undefined {
  for (let a = ad; a !== null; a = a.parent) if (a.lookupKey(key) !== undefined) return a;
  return undefined;
}

/**
 * The names an expression refers to that the ad does not define (its
 * "external" references), following references into the ad's own
 * attributes. TARGET.x and OTHER.x count as x.
 */
function externalReferences(node: Node, ad: ClassAd, out: Map<string, string>, seen: Set<Node>): void {
  if (seen.has(node)) return;
  seen.add(node);
  const visitName = (name: string): void => {
    const key = name.toLowerCase();
    const owner = definedIn(ad, key);
    if (owner === undefined) {
      if (!out.has(key)) out.set(key, name);
      return;
    }
    const attr = owner.lookupKey(key);
    if (attr !== undefined) externalReferences(attr.node, owner, out, seen);
  };
  switch (node.kind) {
    case 'literal':
      return;
    case 'attr':
      if (!SCOPE_NAMES.has(node.name.toLowerCase())) visitName(node.name);
      return;
    case 'select': {
      const base = node.base;
      if (base.kind === 'attr' && !base.absolute) {
        const scope = base.name.toLowerCase();
        if (scope === 'target' || scope === 'other') {
          const key = node.name.toLowerCase();
          if (!out.has(key)) out.set(key, node.name);
          return;
        }
        if (scope === 'my' || scope === 'self') {
          visitName(node.name);
          return;
        }
      }
      externalReferences(base, ad, out, seen);
      return;
    }
    case 'subscript':
      externalReferences(node.base, ad, out, seen);
      externalReferences(node.index, ad, out, seen);
      return;
    case 'unary':
      externalReferences(node.operand, ad, out, seen);
      return;
    case 'binary':
    case 'elvis':
      externalReferences(node.left, ad, out, seen);
      externalReferences(node.right, ad, out, seen);
      return;
    case 'ternary':
      externalReferences(node.cond, ad, out, seen);
      externalReferences(node.then, ad, out, seen);
      externalReferences(node.otherwise, ad, out, seen);
      return;
    case 'call':
      for (const a of node.args) externalReferences(a, ad, out, seen);
      return;
    case 'list':
      for (const a of node.items) externalReferences(a, ad, out, seen);
      return;
    case 'record':
      // Names inside a nested ad resolve there first; not followed.
      return;
    case 'paren':
      externalReferences(node.inner, ad, out, seen);
      return;
  }
}

/** Case-insensitive ordering, as HTCondor's References set. */
const byNameIgnoringCase = (a: string, b: string): number => {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * unresolved(attr [, pattern]): the attribute's external references as a
 * sorted comma-separated string, or (with a pattern, matched caselessly)
 * whether any of them matches. UNDEFINED if the attribute does not exist.
 * Approximates HTCondor's _GetExternalReferences (see externalReferences).
 */
const unresolved: Builtin = (args, env, site) => {
  const arg = site.args[0];
  if (args.length < 1 || args.length > 2 || arg === undefined || (arg.kind !== 'attr' && arg.kind !== 'select')) return ERROR;
  let owner: ClassAd | undefined;
  let key: string;
  if (arg.kind === 'attr') {
    key = arg.name.toLowerCase();
    owner = arg.absolute ? undefined : definedIn(env.scope, key);
  } else {
    key = arg.name.toLowerCase();
    const base = arg.base;
    const scope = base.kind === 'attr' ? base.name.toLowerCase() : '';
    if (scope === 'my' || scope === 'self') owner = env.scope?.lookupKey(key) ? env.scope : undefined;
    else if (scope === 'target' || scope === 'other') owner = env.target?.lookupKey(key) ? env.target : undefined;
  }
  const attr = owner?.lookupKey(key);
  if (owner === undefined || attr === undefined) return UNDEFINED;
  const refs = new Map<string, string>();
  externalReferences(attr.node, owner, refs, new Set());
  const names = [...refs.values()].sort(byNameIgnoringCase);
  if (args.length === 1) return names.join(',');
  const pattern = args[1]!(env);
  if (typeof pattern !== 'string') return ERROR;
  const re = compilePattern(pattern, { caseless: true, multiline: false, dotall: false, extended: false });
  if (re === undefined) return ERROR;
  return names.some((n) => {
    re.lastIndex = 0;
    const m = re.exec(n);
    return m !== null && m[0] !== '';
  });
};

/** evalInEachContext / countMatches: the expression, dereferenced if it names an attribute. */
function contextExpression(site: Parameters<Builtin>[2], env: Env, functions: FunctionTable): (env: Env) => Value {
  const node = site.args[0]!;
  let target: Node = node;
  if (node.kind === 'attr' && !node.absolute) {
    const owner = definedIn(env.scope, node.name.toLowerCase());
    const attr = owner?.lookupKey(node.name.toLowerCase());
    if (attr !== undefined) target = attr.node;
  } else if (node.kind === 'select' && node.base.kind === 'attr' && !node.base.absolute) {
    const scope = node.base.name.toLowerCase();
    const ad = scope === 'my' || scope === 'self' ? env.scope : scope === 'target' || scope === 'other' ? env.target : null;
    const attr = ad?.lookupKey(node.name.toLowerCase());
    if (attr !== undefined) target = attr.node;
  }
  return compileShared(target, functions);
}

/** Evaluates `expr` with the nested ad as its scope (its TARGET is the other side of a match). */
function inContext(expr: (env: Env) => Value, env: Env, item: Value): Value {
  if (!(item instanceof ClassAd)) return item === UNDEFINED ? UNDEFINED : ERROR;
  return expr(envFor(item, env));
}

function evalInEach(count: boolean): Builtin {
  return (args, env, site) => {
    if (args.length !== 2) return ERROR;
    const list = args[1]!(env);
    if (list === UNDEFINED) return count ? 0 : UNDEFINED;
    if (!(list instanceof ListValue)) return ERROR;
    const expr = contextExpression(site, env, site.functions);
    if (!count) return new ListValue(list.items.map((item) => inContext(expr, env, item)));
    let matches = 0;
    for (const item of list.items) if (booleanEquivalent(inContext(expr, env, item)) === true) matches++;
    return matches;
  };
}

const debug: Builtin = (args, env) => (args.length !== 1 ? ERROR : args[0]!(env));

export const META_FUNCTIONS: readonly Entry[] = [
  ['ifthenelse', ifThenElse],
  ['eval', evalFn],
  ['unparse', unparse],
  ['unresolved', unresolved],
  ['evalineachcontext', evalInEach(false)],
  ['countmatches', evalInEach(true)],
  ['debug', debug],
];
