/**
 * The table of built-in ClassAd functions, keyed by lower-case name (calls
 * are matched case-insensitively). Each module contributes its entries;
 * a name defined twice is a programming error caught at load time.
 */
import type { Builtin, FunctionTable } from '../evaluate.ts';
import { CONVERSION_FUNCTIONS } from './conversions.ts';
import { LIST_FUNCTIONS } from './lists.ts';
import { META_FUNCTIONS } from './meta.ts';
import { REGEX_FUNCTIONS } from './regex.ts';
import { STRING_LIST_FUNCTIONS } from './string-lists.ts';
import { STRING_FUNCTIONS } from './strings.ts';
import type { Entry } from './support.ts';
import { SYSTEM_FUNCTIONS } from './system.ts';
import { TIME_FUNCTIONS } from './time.ts';
import { TYPE_FUNCTIONS } from './types.ts';
import { VERSION_FUNCTIONS } from './versions.ts';

function table(groups: readonly (readonly Entry[])[]): Map<string, Builtin> {
  const map = new Map<string, Builtin>();
  for (const group of groups) {
    for (const [name, fn] of group) {
      if (name !== name.toLowerCase() || map.has(name)) throw new Error(`built-in function table: bad or duplicate name ${name}`);
      map.set(name, fn);
    }
  }
  return map;
}

export const BUILTINS: FunctionTable = table([
  TYPE_FUNCTIONS,
  CONVERSION_FUNCTIONS,
  STRING_FUNCTIONS,
  STRING_LIST_FUNCTIONS,
  REGEX_FUNCTIONS,
  VERSION_FUNCTIONS,
  LIST_FUNCTIONS,
  TIME_FUNCTIONS,
  META_FUNCTIONS,
  SYSTEM_FUNCTIONS,
]);
