/**
 * Functions that in HTCondor depend on the job environment or on system
 * configuration: envV1ToV2, mergeEnvironment, userHome, userMap.
 *
 * Environment strings: V1 is NAME=VALUE items separated by ';'. V2 is
 * NAME=VALUE items separated by white space, where single quotes group text
 * (a doubled '' inside quotes is one quote) and the whole string may be
 * wrapped in double quotes. Output is V2 with values quoted when they hold
 * white space or a quote. Merging keeps the first position of a name and
 * the last value given for it. Text that cannot be read is ERROR.
 *
 * userHome and userMap need system configuration. With none (as here),
 * HTCondor's defaults apply: userHome is disabled (CLASSAD_ENABLE_USER_HOME
 * is false by default), so it returns its default argument when that is a
 * non-empty string and UNDEFINED otherwise (ERROR when the user name is
 * neither a string nor UNDEFINED and no default is given); userMap has no
 * map sets, so it returns UNDEFINED, or its fourth argument (the default
 * group) when given.
 */
import type { Builtin } from '../evaluate.ts';
import { ERROR, UNDEFINED } from '../value.ts';
import { isCSpace, type Entry } from './support.ts';

type Env = Map<string, string>;

function mergeV1(env: Env, text: string): boolean {
  for (const item of text.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return false;
    env.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return true;
}

function mergeV2(env: Env, input: string): boolean {
  let text = input;
  const trimmed = text.trim();
  if (trimmed.startsWith('"')) {
    if (!trimmed.endsWith('"') || trimmed.length < 2) return false;
    text = trimmed.slice(1, -1);
  }
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isCSpace(text[i])) i++;
    if (i >= n) break;
    let word = '';
    while (i < n && !isCSpace(text[i])) {
      if (text[i] === "'") {
        i++;
        for (;;) {
          if (i >= n) return false; // unterminated quote
          if (text[i] === "'") {
            if (text[i + 1] === "'") {
              word += "'";
              i += 2;
              continue;
            }
            i++;
            break;
          }
          word += text[i]!;
          i++;
        }
      } else {
        word += text[i]!;
        i++;
      }
    }
    const eq = word.indexOf('=');
    if (eq <= 0) return false;
    env.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return true;
}

function toV2(env: Env): string {
  const parts: string[] = [];
  for (const [name, value] of env) {
    const needsQuotes = /[\s']/.test(value);
    parts.push(`${name}=${needsQuotes ? `'${value.replace(/'/g, "''")}'` : value}`);
  }
  return parts.join(' ');
}

const envV1ToV2: Builtin = (args, env) => {
  if (args.length !== 1) return ERROR;
  const v = args[0]!(env);
  if (v === UNDEFINED) return UNDEFINED;
  if (typeof v !== 'string') return ERROR;
  const e: Env = new Map();
  return mergeV1(e, v) ? toV2(e) : ERROR;
};

const mergeEnvironment: Builtin = (args, env) => {
  const e: Env = new Map();
  for (const a of args) {
    const v = a(env);
    if (v === UNDEFINED) continue;
    if (typeof v !== 'string' || !mergeV2(e, v)) return ERROR;
  }
  return toV2(e);
};

const userHome: Builtin = (args, env) => {
  if (args.length !== 1 && args.length !== 2) return ERROR;
  let fallback = '';
  if (args.length === 2) {
    const d = args[1]!(env);
    if (typeof d === 'string') fallback = d;
  }
  const user = args[0]!(env);
  if (user === UNDEFINED && fallback === '') return UNDEFINED;
  if (typeof user !== 'string' && user !== UNDEFINED) return fallback !== '' ? fallback : ERROR;
  // Lookup is disabled without configuration.
  return fallback !== '' ? fallback : UNDEFINED;
};

const userMap: Builtin = (args, env) => {
  if (args.length < 2 || args.length > 4) return ERROR;
  const mapName = args[0]!(env);
  const user = args[1]!(env);
  if (args.length >= 3) args[2]!(env);
  const fallback = args.length === 4 ? args[3]!(env) : UNDEFINED;
  if (typeof mapName !== 'string' || typeof user !== 'string') {
    if (mapName === ERROR || user === ERROR) return ERROR;
    return fallback;
  }
  return fallback; // no map sets are configured: no mapping
};

export const SYSTEM_FUNCTIONS: readonly Entry[] = [
  ['envv1tov2', envV1ToV2],
  ['mergeenvironment', mergeEnvironment],
  ['userhome', userHome],
  ['usermap', userMap],
];
