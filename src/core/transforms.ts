/**
 * The annex binding transform (DESIGN.md decision 4), applied by the access
 * point to every job it accepts and again after every edit of Requirements
 * or TargetAnnexName:
 *
 *   - a job with TargetAnnexName (a non-empty string) gets
 *       (TARGET.AnnexName =?= MY.TargetAnnexName) && (TARGET.AnnexOwner =?= MY.Owner)
 *     so it runs only on slots of that annex whose authenticated owner is
 *     the job's owner (slots advertise AnnexName and AnnexOwner);
 *   - a job without it gets (TARGET.IsAnnex =!= true), so it never lands on
 *     an annex slot, unless the job opts in with AllowAnnexSlots = true
 *     (AllowAnnexSlots =?= true; anything else, or absent, is "no"). The
 *     opt-in lifts only this job-side exclusion: annex slots still START
 *     only jobs of their owner that target them.
 *
 * The result is `(<user's requirements>) && <clause>`: the user's
 * expression is kept intact inside parentheses, as the ClassAd printer
 * writes it back (same tree; spelling may be canonicalized, e.g. =!= as
 * isnt), with no parentheses added when it is already one parenthesized
 * expression; with no user Requirements the clause stands alone.
 *
 * Invariants: idempotent (the clauses are recognized among the top-level
 * `&&` terms by their canonical text, removed, and the right one added
 * once), so applying it twice, or after TargetAnnexName changes, yields the
 * same text as applying it once to the user's own requirements. The
 * binding names MY.Owner, so it holds only while Owner is the authenticated
 * owner: the transform checks that and throws HtcError('INTERNAL') if not
 * (Owner is immutable, see job-state.ts checkEditable). Pure.
 */
import { evaluateAttr, parseExpression, UNDEFINED, unparse, type ClassAd, type Node } from '../classad/index.ts';
import { HtcError } from '../errors.ts';

/** The clause binding a job to its annex and owner. */
export const ANNEX_BINDING = '(TARGET.AnnexName =?= MY.TargetAnnexName) && (TARGET.AnnexOwner =?= MY.Owner)';
/** The clause keeping a job off annex slots. */
export const NOT_ON_ANNEX = '(TARGET.IsAnnex =!= true)';
/** The job attribute that opts a job without TargetAnnexName in to annex slots. */
export const ALLOW_ANNEX_SLOTS = 'AllowAnnexSlots';

/** The `&&` terms of an expression (a parenthesized term stays one term). */
function conjuncts(node: Node): Node[] {
  if (node.kind === 'binary' && node.op === '&&') return [...conjuncts(node.left), ...conjuncts(node.right)];
  return [node];
}

/** The canonical text of each term our clauses consist of. */
const OUR_TERMS: ReadonlySet<string> = new Set([...conjuncts(parseExpression(ANNEX_BINDING)), ...conjuncts(parseExpression(NOT_ON_ANNEX))].map((n) => unparse(n)));

/**
 * The user's part of a Requirements expression: the expression with our
 * trailing clause terms removed (undefined when nothing else is left).
 * Only terms at the end of the top-level `&&` chain are ours, so a user
 * who wrote the same text in the middle of their expression keeps it.
 */
export function userRequirements(requirements: Node | undefined): Node | undefined {
  let node = requirements;
  while (node !== undefined) {
    if (OUR_TERMS.has(unparse(node))) return undefined;
    if (node.kind === 'binary' && node.op === '&&' && OUR_TERMS.has(unparse(node.right))) {
      node = node.left;
      continue;
    }
    return node;
  }
  return undefined;
}

export type AnnexTarget = { readonly kind: 'annex'; readonly name: string } | { readonly kind: 'no-annex'; readonly allowAnnexSlots: boolean };

/** Which annex the job targets, from TargetAnnexName and AllowAnnexSlots. */
export function annexTarget(job: ClassAd): AnnexTarget {
  if (job.has('TargetAnnexName')) {
    const v = evaluateAttr(job, 'TargetAnnexName');
    if (typeof v === 'string' && v !== '') return { kind: 'annex', name: v };
    if (v !== UNDEFINED) {
      throw new HtcError('CLASSAD_INVALID', 'TargetAnnexName must be the name of an annex (a non-empty string)');
    }
  }
  return { kind: 'no-annex', allowAnnexSlots: evaluateAttr(job, ALLOW_ANNEX_SLOTS) === true };
}

/**
 * The job's Requirements with the annex clause (see the module comment), as
 * new-syntax text. `owner` is the authenticated owner the access point
 * accepted the job from; it must equal the job's Owner.
 */
export function annexRequirements(job: ClassAd, owner: string): string {
  const target = annexTarget(job);
  if (target.kind === 'annex') {
    const adOwner = evaluateAttr(job, 'Owner');
    if (adOwner !== owner) {
      throw new HtcError('INTERNAL', `job Owner ${typeof adOwner === 'string' ? JSON.stringify(adOwner) : 'is not set'}, but it was submitted by ${JSON.stringify(owner)}`);
    }
  }
  const clause = target.kind === 'annex' ? ANNEX_BINDING : target.allowAnnexSlots ? undefined : NOT_ON_ANNEX;
  const user = userRequirements(job.get('Requirements'));
  if (user === undefined) return clause ?? 'true';
  const userText = user.kind === 'paren' ? unparse(user) : `(${unparse(user)})`;
  return clause === undefined ? userText : `${userText} && ${clause}`;
}

/** A copy of the job ad with the transformed Requirements. */
export function withAnnexRequirements(job: ClassAd, owner: string): ClassAd {
  return job.copy().set('Requirements', parseExpression(annexRequirements(job, owner)));
}
