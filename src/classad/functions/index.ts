/**
 * The table of built-in ClassAd functions, by lower-case name.
 * (Placeholder: the full library is being written.)
 */
import type { Builtin, FunctionTable } from '../evaluate.ts';
import { booleanEquivalent } from '../operators.ts';
import { ERROR, UNDEFINED } from '../value.ts';

const ifThenElse: Builtin = (args, env) => {
  if (args.length !== 3) return ERROR;
  const c = args[0]!(env);
  const b = booleanEquivalent(c);
  if (b === true) return args[1]!(env);
  if (b === false) return args[2]!(env);
  return c === UNDEFINED ? UNDEFINED : ERROR;
};

export const BUILTINS: FunctionTable = new Map<string, Builtin>([['ifthenelse', ifThenElse]]);
