/**
 * The ClassAd record: an ordered set of attributes, each a name and an
 * expression tree. Names are case-insensitive (looked up by their lower-case
 * key) and keep the spelling they were given for printing. Setting a name
 * that exists replaces its expression in place and keeps the first
 * spelling, as HTCondor's case-insensitive attribute map does.
 *
 * This module holds data only; evaluation lives in `evaluate.ts`. Each
 * attribute caches its compiled form (filled in by the compiler on first
 * use) and carries the flag that detects circular references during
 * evaluation; both are private to the evaluator.
 */
import type { Node } from './ast.ts';
import type { Value } from './value.ts';

export type Compiled = (env: Env) => Value;

/** Where an expression is evaluated: its own ad (MY) and the other side (TARGET). */
export interface Env {
  /** The innermost ad the expression belongs to; null for a free expression. */
  readonly scope: ClassAd | null;
  /** The ad TARGET names; unscoped names not found in scope fall back to it. */
  readonly target: ClassAd | null;
}

export interface Attribute {
  readonly name: string;
  readonly node: Node;
  /** Compiled form, filled in lazily by the evaluator. */
  compiled: Compiled | undefined;
  /** True while this attribute is being evaluated: re-entry means a cycle. */
  evaluating: boolean;
}

/** Names with a meaning as scopes when no attribute has them (lower case). */
export const SCOPE_NAMES: ReadonlySet<string> = new Set(['my', 'self', 'target', 'other', 'parent', 'root', 'toplevel']);

export class ClassAd {
  private readonly attrs = new Map<string, Attribute>();
  /** The enclosing ad of a nested ad (for `parent.` and unscoped lookup). */
  parent: ClassAd | null = null;
  /**
   * True once an attribute named like a scope (MY, TARGET, PARENT, ...) has
   * been set: such an attribute shadows the scope name, so the evaluator's
   * direct `TARGET.x` path must check. Never reset (conservative).
   */
  shadowsScopeNames = false;

  constructor(attributes: Iterable<readonly [string, Node]> = []) {
    for (const [name, node] of attributes) this.set(name, node);
  }

  set(name: string, node: Node): this {
    const key = name.toLowerCase();
    if (SCOPE_NAMES.has(key)) this.shadowsScopeNames = true;
    // A name set again keeps the spelling it was first given, as HTCondor's
    // case-insensitive map keeps the first key.
    const spelling = this.attrs.get(key)?.name ?? name;
    this.attrs.set(key, { name: spelling, node, compiled: undefined, evaluating: false });
    return this;
  }

  /** Sets an attribute to a literal value. */
  setValue(name: string, value: Value): this {
    return this.set(name, { kind: 'literal', value });
  }

  /** The attribute's expression tree, or undefined. */
  get(name: string): Node | undefined {
    return this.attrs.get(name.toLowerCase())?.node;
  }

  has(name: string): boolean {
    return this.attrs.has(name.toLowerCase());
  }

  delete(name: string): boolean {
    return this.attrs.delete(name.toLowerCase());
  }

  /** Lookup by an already lower-cased key (the evaluator's fast path). */
  lookupKey(key: string): Attribute | undefined {
    return this.attrs.get(key);
  }

  /** Attribute names as spelled when set, in insertion order. */
  names(): string[] {
    return [...this.attrs.values()].map((a) => a.name);
  }

  entries(): [string, Node][] {
    return [...this.attrs.values()].map((a) => [a.name, a.node]);
  }

  get size(): number {
    return this.attrs.size;
  }

  /**
   * A copy with the same expressions (trees are immutable, so they are
   * shared). Keys are taken as they are stored (already lower case): the
   * access point copies a cluster ad for every job it reads, and going
   * through set() for each attribute was most of that cost.
   */
  copy(): ClassAd {
    const copy = new ClassAd();
    for (const [key, a] of this.attrs) copy.attrs.set(key, { name: a.name, node: a.node, compiled: undefined, evaluating: false });
    copy.shadowsScopeNames = this.shadowsScopeNames;
    return copy;
  }

  /** Adds every attribute of `other`, replacing those with the same name (keeping this ad's spelling, as set() does). */
  update(other: ClassAd): this {
    for (const [key, a] of other.attrs) {
      const spelling = this.attrs.get(key)?.name ?? a.name;
      this.attrs.set(key, { name: spelling, node: a.node, compiled: undefined, evaluating: false });
    }
    if (other.shadowsScopeNames) this.shadowsScopeNames = true;
    return this;
  }
}
