/**
 * The ClassAd expression tree, as the parser builds it and the printer and
 * compiler read it. Trees are immutable once built. Parentheses are kept as
 * nodes because HTCondor's unparser prints them back as written.
 */
import type { Value } from './value.ts';

export type UnaryOp = '-' | '+' | '!' | '~';
export type BinaryOp =
  | '||' | '&&'
  | '|' | '^' | '&'
  | '==' | '!=' | '=?=' | '=!=' | 'is' | 'isnt'
  | '<' | '<=' | '>' | '>='
  | '<<' | '>>' | '>>>'
  | '+' | '-'
  | '*' | '/' | '%';

export type Node =
  /** A scalar literal: integer, real, string, boolean, undefined or error. */
  | { readonly kind: 'literal'; readonly value: Value }
  /** An attribute named without a base; `absolute` is the `.name` form (root scope). */
  | { readonly kind: 'attr'; readonly name: string; readonly absolute: boolean }
  /** `base.name` (MY.x, TARGET.x, a.b.c are all selects). */
  | { readonly kind: 'select'; readonly base: Node; readonly name: string }
  | { readonly kind: 'subscript'; readonly base: Node; readonly index: Node }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly operand: Node }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Node; readonly right: Node }
  | { readonly kind: 'ternary'; readonly cond: Node; readonly then: Node; readonly otherwise: Node }
  /**
   * `left ?: right`: left unless it is undefined. `tight` is the unspaced
   * `?:` token, which binds like a postfix operator; otherwise it is the
   * spaced `? :`, which binds like the ternary.
   */
  | { readonly kind: 'elvis'; readonly left: Node; readonly right: Node; readonly tight: boolean }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Node[] }
  | { readonly kind: 'list'; readonly items: readonly Node[] }
  | { readonly kind: 'record'; readonly attrs: readonly (readonly [string, Node])[] }
  | { readonly kind: 'paren'; readonly inner: Node };

export const lit = (value: Value): Node => ({ kind: 'literal', value });

/** A node's direct children, in source order. */
export function childrenOf(node: Node): readonly Node[] {
  switch (node.kind) {
    case 'literal':
    case 'attr':
      return [];
    case 'select':
      return [node.base];
    case 'subscript':
      return [node.base, node.index];
    case 'unary':
      return [node.operand];
    case 'binary':
    case 'elvis':
      return [node.left, node.right];
    case 'ternary':
      return [node.cond, node.then, node.otherwise];
    case 'call':
      return node.args;
    case 'list':
      return node.items;
    case 'record':
      return node.attrs.map(([, n]) => n);
    case 'paren':
      return [node.inner];
  }
}
