/**
 * Property tests (fast-check): printing and parsing are inverse on every
 * tree the parser can produce, ads survive new and old syntax, the parsers
 * fail only with positioned ClassAd syntax errors, and evaluation never
 * throws.
 *
 * The tree generator builds arbitrary trees and then inserts parentheses
 * where the grammar needs them (as a user writing the text would have to),
 * so every generated tree is one the parser can produce. Known
 * normalisations are avoided: unary minus directly on a non-negative number
 * literal (`- 5` reads back as the literal -5) and non-finite reals (which
 * print as calls `real("INF")`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BinaryOp, Node, UnaryOp } from './ast.ts';
import { HtcError } from '../errors.ts';
import {
  ClassAd, ClassAdSyntaxError, ERROR, Real, UNDEFINED, evaluate, intFromBigInt, parseClassAd, parseClassAds,
  parseExpression, parseJsonClassAds, parseOldClassAd, printClassAd, printJsonClassAds, printOldClassAd, unparse, type Value,
} from './index.ts';
import { describeValue, sameValue } from './test-support.ts';

const RUNS = 400;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// ---------------------------------------------------------------------------
// Generators

const KEYWORDS = new Set(['true', 'false', 'undefined', 'error', 'is', 'isnt']);
const plainName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/).filter((n) => !KEYWORDS.has(n.toLowerCase()));
/** Names that need quoting: any text without NUL or newline. */
const oddName = fc.string({ unit: 'binary', minLength: 1, maxLength: 5 }).filter((n) => !/[\0\n]/.test(n));
/** Old syntax reads quoted names without escapes, so only printable text without backslashes. */
// eslint-disable-next-line no-control-regex
const oldOddName = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 5 }).filter((n) => !/[\\\x00-\x1f\x7f]/.test(n));

const int = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(intFromBigInt),
  fc.constantFrom(intFromBigInt(INT64_MIN), intFromBigInt(INT64_MAX), 0, -1),
);
const finiteReal = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => new Real(x));
const newString = fc.string({ unit: 'binary', maxLength: 6 }).filter((s) => !s.includes('\0'));
/** Old syntax has no escapes: no line breaks, and no backslash right before the closing quote. */
const oldString = newString.filter((s) => !/[\n\r]/.test(s) && !s.endsWith('\\'));

const BINARY_OPS: BinaryOp[] = [
  '||', '&&', '|', '^', '&', '==', '!=', '=?=', '=!=', 'is', 'isnt', '<', '<=', '>', '>=', '<<', '>>', '>>>', '+', '-', '*', '/', '%',
];
const UNARY_OPS: UnaryOp[] = ['-', '+', '!', '~'];
/** Pure functions only, so that evaluation is deterministic. */
const CALL_NAMES = ['f', 'ifThenElse', 'IFTHENELSE', 'strcat', 'size', 'isUndefined', 'member'];

interface TreeOptions {
  readonly str: fc.Arbitrary<string>;
  readonly name: fc.Arbitrary<string>;
  readonly maxDepth: number;
}

function trees({ str, name, maxDepth }: TreeOptions): fc.Arbitrary<Node> {
  const literal: fc.Arbitrary<Node> = fc
    .oneof(int, finiteReal, str, fc.boolean(), fc.constant(UNDEFINED), fc.constant(ERROR))
    .map((value: Value) => ({ kind: 'literal', value }));
  const attr: fc.Arbitrary<Node> = fc.record({ kind: fc.constant('attr'), name, absolute: fc.boolean() });
  return fc.letrec<{ node: Node }>((tie) => {
    const node = tie('node');
    return {
      node: fc.oneof(
        { maxDepth, depthIdentifier: 'tree' },
        literal,
        attr,
        fc.record({ kind: fc.constant('select'), base: node, name }),
        fc.record({ kind: fc.constant('subscript'), base: node, index: node }),
        fc.record({ kind: fc.constant('unary'), op: fc.constantFrom(...UNARY_OPS), operand: node }),
        fc.record({ kind: fc.constant('binary'), op: fc.constantFrom(...BINARY_OPS), left: node, right: node }),
        fc.record({ kind: fc.constant('ternary'), cond: node, then: node, otherwise: node }),
        fc.record({ kind: fc.constant('elvis'), left: node, right: node, tight: fc.boolean() }),
        fc.record({ kind: fc.constant('call'), name: fc.constantFrom(...CALL_NAMES), args: fc.array(node, { maxLength: 3 }) }),
        fc.record({ kind: fc.constant('list'), items: fc.array(node, { maxLength: 3 }) }),
        fc.record({ kind: fc.constant('record'), attrs: fc.array(fc.tuple(name, node), { maxLength: 3 }) }),
        fc.record({ kind: fc.constant('paren'), inner: node }),
      ),
    };
  }).node;
}

// ---------------------------------------------------------------------------
// Making a tree one the parser can produce: parentheses where needed.

const LEVEL_OF_BINARY: Record<BinaryOp, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5,
  '==': 6, '!=': 6, '=?=': 6, '=!=': 6, is: 6, isnt: 6,
  '<': 7, '<=': 7, '>': 7, '>=': 7, '<<': 8, '>>': 8, '>>>': 8,
  '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

function level(n: Node): number {
  switch (n.kind) {
    case 'ternary': return 0;
    case 'elvis': return n.tight ? 12 : 0;
    case 'binary': return LEVEL_OF_BINARY[n.op];
    case 'unary': return 11;
    case 'select':
    case 'subscript': return 12;
    default: return 13;
  }
}

const paren = (inner: Node): Node => ({ kind: 'paren', inner });
const isNumberLiteral = (n: Node): boolean => n.kind === 'literal' && (typeof n.value === 'number' || typeof n.value === 'bigint' || n.value instanceof Real);
const isIntLiteral = (n: Node): boolean => n.kind === 'literal' && (typeof n.value === 'number' || typeof n.value === 'bigint');
function isNegativeNumberLiteral(n: Node): boolean {
  if (n.kind !== 'literal') return false;
  const v = n.value;
  if (typeof v === 'number') return v < 0;
  if (typeof v === 'bigint') return v < 0n;
  return v instanceof Real && (v.v < 0 || Object.is(v.v, -0));
}
/** The literal a postfix chain starts with, if any. */
function leftmost(n: Node): Node {
  if (n.kind === 'select' || n.kind === 'subscript') return leftmost(n.base);
  if (n.kind === 'elvis' && n.tight) return leftmost(n.left);
  return n;
}

function canon(n: Node, min = 0): Node {
  const c = canonInner(n);
  return level(c) >= min ? c : paren(c);
}

function canonInner(n: Node): Node {
  switch (n.kind) {
    case 'literal':
    case 'attr':
      return { ...n }; // fc.record builds objects without a prototype
    case 'select': {
      let base = canon(n.base, 12);
      if (base.kind === 'elvis' || isIntLiteral(base)) base = paren(base); // `5.a` does not lex; `x ?: y.a` selects from y
      return { kind: 'select', base, name: n.name };
    }
    case 'subscript': {
      let base = canon(n.base, 12);
      if (base.kind === 'elvis') base = paren(base);
      return { kind: 'subscript', base, index: canon(n.index) };
    }
    case 'unary': {
      let operand = canon(n.operand, 11);
      const first = leftmost(operand);
      if (n.op === '-' && isNumberLiteral(first) && !isNegativeNumberLiteral(first)) operand = paren(operand);
      return { kind: 'unary', op: n.op, operand };
    }
    case 'binary': {
      const l = LEVEL_OF_BINARY[n.op];
      // New syntax prints =?= and =!= as is and isnt, which read back as such.
      const op = n.op === '=?=' ? 'is' : n.op === '=!=' ? 'isnt' : n.op;
      return { kind: 'binary', op, left: canon(n.left, l), right: canon(n.right, l + 1) };
    }
    case 'ternary':
      return { kind: 'ternary', cond: canon(n.cond, 1), then: canon(n.then), otherwise: canon(n.otherwise) };
    case 'elvis': {
      // The spaced `a ? : b` binds like the ternary.
      if (!n.tight) return { kind: 'elvis', left: canon(n.left, 1), right: canon(n.right), tight: false };
      // `a ?: b` is the postfix Elvis: its right side is a primary with . and [] only.
      let right = canon(n.right, 12);
      if (right.kind === 'elvis' || (right !== leftmost(right) && isNegativeNumberLiteral(leftmost(right)))) right = paren(right);
      return { kind: 'elvis', left: canon(n.left, 12), right, tight: true };
    }
    case 'call':
      return { kind: 'call', name: n.name, args: n.args.map((a) => canon(a)) };
    case 'list':
      return { kind: 'list', items: n.items.map((a) => canon(a)) };
    case 'record':
      return { kind: 'record', attrs: n.attrs.map(([k, v]) => [k, canon(v)] as const) };
    case 'paren':
      return paren(canon(n.inner));
  }
}

const newTrees = trees({ str: newString, name: fc.oneof({ weight: 4, arbitrary: plainName }, { weight: 1, arbitrary: oddName }), maxDepth: 4 }).map((t) => canon(t));
const oldTrees = trees({ str: oldString, name: fc.oneof({ weight: 4, arbitrary: plainName }, { weight: 1, arbitrary: oldOddName }), maxDepth: 4 }).map((t) => canon(t));

// Ads to evaluate in: attributes the generated names often hit.
const MY = parseClassAd('[ a = 1; b = "B"; c = { 1, 2 }; d = [ x = 1 ]; e = 2.5; A_ = true ]');
const TARGET = parseClassAd('[ a = 2; f = undefined; g = MY.a; h = error ]');

function evaluateSafely(node: Node, my: ClassAd | null = MY, target: ClassAd | null = TARGET): Value {
  try {
    return evaluate(node, my, target);
  } catch (e) {
    assert.fail(`evaluating ${unparse(node)} threw ${String(e)}`);
  }
}

function parseOrFail(text: string, parse: (t: string) => Node): Node {
  try {
    return parse(text);
  } catch (e) {
    assert.fail(`printed text does not parse: ${JSON.stringify(text)}: ${String(e)}`);
  }
}

const parseOldExpr = (text: string): Node => parseOldClassAd(`X = ${text}`).get('X')!;

// ---------------------------------------------------------------------------

describe('round trip: trees (new syntax)', () => {
  it('print∘parse∘print = print', () => {
    fc.assert(
      fc.property(newTrees, (t) => {
        const text = unparse(t, 'new');
        assert.equal(unparse(parseOrFail(text, parseExpression), 'new'), text);
      }),
      { numRuns: RUNS },
    );
  });
  it('parse∘print is the identity on trees the parser can produce', () => {
    fc.assert(
      fc.property(newTrees, (t) => {
        assert.deepStrictEqual(parseOrFail(unparse(t, 'new'), parseExpression), t);
      }),
      { numRuns: RUNS },
    );
  });
  it('the reparsed tree evaluates to an identical value', () => {
    fc.assert(
      fc.property(newTrees, (t) => {
        const text = unparse(t, 'new');
        const before = evaluateSafely(t);
        const after = evaluateSafely(parseOrFail(text, parseExpression));
        assert.ok(sameValue(before, after), `${text}: ${describeValue(before)} became ${describeValue(after)}`);
      }),
      { numRuns: RUNS },
    );
  });
  it('non-finite reals print as real("...") calls that print the same again', () => {
    fc.assert(
      fc.property(fc.constantFrom(NaN, Infinity, -Infinity), (x) => {
        const text = unparse({ kind: 'literal', value: new Real(x) });
        assert.equal(unparse(parseExpression(text)), text);
      }),
    );
  });
});

describe('round trip: trees (old syntax)', () => {
  it('print∘parse∘print = print, and the value is the same', () => {
    fc.assert(
      fc.property(oldTrees, (t) => {
        const text = unparse(t, 'old');
        const back = parseOrFail(text, parseOldExpr);
        assert.equal(unparse(back, 'old'), text);
        const before = evaluateSafely(t);
        const after = evaluateSafely(back);
        assert.ok(sameValue(before, after), `${text}: ${describeValue(before)} became ${describeValue(after)}`);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('round trip: names of any spelling', () => {
  it('old syntax: a quoted name with control characters or backslashes reads back as that name', () => {
    const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 5 }).filter((n) => !/[\0\n]/.test(n));
    fc.assert(
      fc.property(name, (n) => {
        const node: Node = { kind: 'attr', name: n, absolute: false };
        const text = unparse(node, 'old');
        assert.deepStrictEqual(parseOrFail(text, parseOldExpr), node, `printed as ${text}`);
      }),
      { numRuns: RUNS },
    );
  });
  it('an attribute reference with any name (no NUL) prints as text that reads back as that name', () => {
    const anyName = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((n) => !n.includes('\0')),
      fc.constantFrom('TRUE', 'False', 'UNDEFINED', 'Error', 'IS', 'isNT', 'parent', 'a\nb'),
    );
    fc.assert(
      fc.property(anyName, (name) => {
        const node: Node = { kind: 'attr', name, absolute: false };
        assert.deepStrictEqual(parseOrFail(unparse(node), parseExpression), node);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('round trip: ads', () => {
  const names = fc.uniqueArray(plainName, { selector: (n) => n.toLowerCase(), maxLength: 6 });
  const adOf = (tree: fc.Arbitrary<Node>): fc.Arbitrary<ClassAd> =>
    names.chain((ns) => fc.tuple(...ns.map(() => tree)).map((values) => new ClassAd(ns.map((n, i) => [n, values[i]!] as const))));
  const sameAd = (a: ClassAd, b: ClassAd, syntax: 'new' | 'old'): void => {
    assert.deepEqual(b.names(), a.names());
    for (const n of a.names()) assert.equal(unparse(b.get(n)!, syntax), unparse(a.get(n)!, syntax), n);
  };
  it('new syntax: same names, same printed expressions', () => {
    fc.assert(
      fc.property(adOf(newTrees), (a) => {
        const text = printClassAd(a);
        let back: ClassAd;
        try {
          back = parseClassAd(text);
        } catch (e) {
          assert.fail(`${text}: ${String(e)}`);
        }
        sameAd(a, back, 'new');
        assert.equal(printClassAd(back), text);
      }),
      { numRuns: RUNS },
    );
  });
  it('old syntax: same names, same printed expressions', () => {
    fc.assert(
      fc.property(adOf(oldTrees), (a) => {
        const text = printOldClassAd(a);
        let back: ClassAd;
        try {
          back = parseOldClassAd(text);
        } catch (e) {
          assert.fail(`${text}: ${String(e)}`);
        }
        sameAd(a, back, 'old');
        assert.equal(printOldClassAd(back), text);
      }),
      { numRuns: RUNS },
    );
  });
  it('new syntax, several ads in one text', () => {
    fc.assert(
      fc.property(fc.array(adOf(newTrees), { maxLength: 3 }), (ads) => {
        const back = parseClassAds(ads.map(printClassAd).join('\n'));
        assert.deepEqual(back.map(printClassAd), ads.map(printClassAd));
      }),
      { numRuns: 100 },
    );
  });
});

describe('round trip: strings old syntax or JSON could misread (review findings)', () => {
  const names = fc.uniqueArray(plainName, { selector: (n) => n.toLowerCase(), maxLength: 4 });
  const adOf = (tree: fc.Arbitrary<Node>): fc.Arbitrary<ClassAd> =>
    names.chain((ns) => fc.tuple(...ns.map(() => tree)).map((values) => new ClassAd(ns.map((n, i) => [n, values[i]!] as const))));
  /** Any string, often one with a line break, a trailing backslash or the look of a JSON expression. */
  const trickyString = fc.oneof(
    newString,
    fc.constantFrom('a\\', '\\', 'x\n', '\r', '\\"', 'C:\\dir\\', '/Expr(x)/', '\\/Expr(1)\\/', '/Expr(', ')/'),
    newString.map((s) => `/Expr(${s})/`),
  );
  const trickyTrees = trees({ str: trickyString, name: plainName, maxDepth: 3 }).map((t) => canon(t));
  const trickyAds = adOf(fc.oneof(trickyTrees, trickyString.map((value): Node => ({ kind: 'literal', value }))));

  it('old syntax: every ad prints as text that reads back the same, or is refused with CLASSAD_INVALID', () => {
    fc.assert(
      fc.property(trickyAds, (a) => {
        let text: string;
        try {
          text = printOldClassAd(a);
        } catch (e) {
          assert.ok(e instanceof HtcError && e.code === 'CLASSAD_INVALID', `threw ${String(e)}`);
          assert.match(e.message, /^attribute \S+ cannot be written in old ClassAd syntax/);
          return;
        }
        const back = parseOrFail(text, (t) => ({ kind: 'record', attrs: parseOldClassAd(t).entries() }));
        assert.equal(printOldClassAd(new ClassAd((back as Extract<Node, { kind: 'record' }>).attrs)), text);
        assert.equal(printClassAd(new ClassAd((back as Extract<Node, { kind: 'record' }>).attrs)), printClassAd(a), text);
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON: print∘parse∘print = print, and string values stay strings', () => {
    fc.assert(
      fc.property(fc.array(trickyAds, { maxLength: 3 }), (ads) => {
        const text = printJsonClassAds(ads);
        let back: ClassAd[];
        try {
          back = parseJsonClassAds(text);
        } catch (e) {
          assert.fail(`${text}: ${String(e)}`);
        }
        assert.equal(printJsonClassAds(back), text);
        ads.forEach((a, i) => {
          for (const [name, node] of a.entries()) {
            if (node.kind === 'literal' && typeof node.value === 'string') assert.deepEqual(back[i]!.get(name), node, `${name} in ${text}`);
          }
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parsers fail only with positioned syntax errors', () => {
  const TOKENS = [
    '(', ')', '[', ']', '{', '}', '"', "'", '\\', '-', '.', '5', '0', '1.', 'e', 'a', ' ', '\n', '?', ':', '?:', '=', '==',
    '=?=', ';', ',', '/', '*', '/*', '*/', '//', '!', '<', '>>>', '&&', '||', 'is', 'TRUE', 'x', '#', '\t', '\r', '\\"', '\0',
  ];
  const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 20 }).map((ts) => ts.join(''));
  const text = fc.oneof(soup, fc.string({ unit: 'binary', maxLength: 30 }), newTrees.map((t) => unparse(t)).chain((s) => fc.nat(s.length).map((i) => s.slice(0, i))));
  const PARSERS: [string, (t: string) => unknown][] = [
    ['parseExpression', parseExpression],
    ['parseClassAd', parseClassAd],
    ['parseClassAds', parseClassAds],
    ['parseOldClassAd', parseOldClassAd],
  ];
  for (const [name, parse] of PARSERS) {
    it(name, () => {
      fc.assert(
        fc.property(text, (input) => {
          try {
            parse(input);
          } catch (e) {
            assert.ok(e instanceof ClassAdSyntaxError, `${JSON.stringify(input)}: threw ${String(e)}`);
            assert.equal(e.code, 'CLASSAD_PARSE');
            const p = e.position;
            assert.ok(p !== undefined && p.line >= 1 && p.column >= 1, `${JSON.stringify(input)}: position ${JSON.stringify(p)}`);
            assert.ok(p.line <= input.split('\n').length, `${JSON.stringify(input)}: line ${p.line} is past the end`);
          }
        }),
        { numRuns: 400 },
      );
    });
  }
});

describe('evaluation never throws', () => {
  const poolName = fc.constantFrom('a', 'b', 'c', 'MY', 'TARGET', 'parent', 'root', 'self', 'other', 'x');
  const raw = trees({ str: newString, name: poolName, maxDepth: 4 });
  it('arbitrary trees (not only parseable ones) against fixed ads', () => {
    fc.assert(
      fc.property(raw, (t) => {
        evaluateSafely(t);
        evaluateSafely(t, null, null);
      }),
      { numRuns: RUNS },
    );
  });
  it('arbitrary trees inside ads that refer to each other (cycles included)', () => {
    const adArb = fc.array(fc.tuple(poolName, raw), { maxLength: 5 }).map((attrs) => new ClassAd(attrs));
    fc.assert(
      fc.property(adArb, adArb, raw, (my, target, t) => {
        evaluateSafely(t, my, target);
        for (const n of my.names()) evaluateSafely({ kind: 'attr', name: n, absolute: false }, my, target);
        for (const n of target.names()) evaluateSafely({ kind: 'select', base: { kind: 'attr', name: 'TARGET', absolute: false }, name: n }, my, target);
      }),
      { numRuns: RUNS },
    );
  });
});
