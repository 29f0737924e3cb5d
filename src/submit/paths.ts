/**
 * The `$F<letters>(name)` file-name functions of the submit language
 * (HTCondor's SPECIAL_MACRO_ID_FILENAME in config.cpp), plus `$BASENAME`
 * (= `$Fnx`) and `$DIRNAME` (= `$Fp`), on POSIX paths.
 *
 * Letters (case-insensitive, any order, repeatable):
 *   p  the whole directory part, with its trailing slash
 *   d  the last directory component, with its trailing slash; each extra `d`
 *      keeps one more directory (`$Fdd(/a/b/c.x)` = `a/b/`)
 *   n  the file name without its extension
 *   x  the extension with its leading dot (the last `.` of the file name,
 *      not a leading one: `.bashrc` has none)
 *   b  bare: no trailing slash for p/d, no leading dot for x
 *   f  make the path absolute by prefixing `cwd` (when given and relative)
 *   q  wrap the result in double quotes; with `a`, single quotes
 *   a  (with q) single quotes
 *   u  convert `\` to `/`; w  convert `/` to `\`
 * Combinations pick parts as HTCondor does: `nx` = base name, `pn` = path
 * without extension, `px`/`pnx`/none = the whole value, `dn` = last directory
 * and name without extension. A value wrapped in a matching pair of quotes is
 * unquoted first; a file name without a directory ignores p and d when n or x
 * is asked for.
 *
 * Invariants: pure, no file-system access; only `/` separates directories
 * (as HTCondor on Linux), except that the `d` walk also counts `\` as
 * HTCondor's condor_basename_plus_dirs does.
 */
import { ValueError } from './submit-error.ts';

const X = 1;
const N = 2;
const P = 4;
const D = 8;

/** The parsed letters of one `$F...` function. */
export interface PathSpec {
  readonly parts: number;
  readonly dirs: number;
  readonly quote: '' | '"' | "'";
  readonly bare: boolean;
  readonly full: boolean;
  readonly toSep: '' | '/' | '\\';
}

const specCache = new Map<string, PathSpec>();

/** Parses `$F` letters (without the F); unknown letters throw ValueError. */
export function parsePathLetters(letters: string): PathSpec {
  const cached = specCache.get(letters);
  if (cached !== undefined) return cached;
  let parts = 0;
  let dirs = 0;
  let quoted = false;
  let argQuote = false;
  let bare = false;
  let full = false;
  let toSep: '' | '/' | '\\' = '';
  for (let i = 0; i < letters.length; i++) {
    switch (letters.charCodeAt(i) | 0x20) {
      case 0x78: parts |= X; break; // x
      case 0x6e: parts |= N; break; // n
      case 0x70: parts |= P; break; // p
      case 0x64: parts |= D; dirs++; break; // d
      case 0x61: argQuote = true; break; // a
      case 0x62: bare = true; break; // b
      case 0x66: full = true; break; // f
      case 0x77: toSep = '\\'; break; // w
      case 0x75: toSep = '/'; break; // u
      case 0x71: quoted = true; break; // q
      default:
        throw new ValueError(`unknown letter '${letters[i]}' in $F${letters}(): expected some of f p d n x b q a u w`, i);
    }
  }
  const spec: PathSpec = { parts, dirs, quote: quoted ? (argQuote ? "'" : '"') : '', bare, full, toSep };
  if (specCache.size < 256) specCache.set(letters, spec);
  return spec;
}

/** `$F<letters>` applied to `path`; `cwd` serves the `f` letter. */
export function pathFunction(letters: string, path: string, cwd?: string): string {
  return applyPathSpec(parsePathLetters(letters), path, cwd);
}

/** Strips one matching pair of outer quotes (HTCondor's strlen_unquote). */
function unquotePair(s: string): string {
  const n = s.length;
  if (n > 1) {
    const c = s.charCodeAt(0);
    if ((c === 0x22 || c === 0x27) && s.charCodeAt(n - 1) === c) return s.slice(1, n - 1);
  }
  return s;
}

/** HTCondor's strcpy_quoted, without adding quotes: drops a leading `"` (or the requested quote) and its trailing match. */
function stripQuote(s: string, quote: string): string {
  if (s.length === 0) return s;
  const c = s[0]!;
  if (c !== '"' && !(quote !== '' && c === quote)) return s;
  const end = s.length > 1 && s[s.length - 1] === c ? s.length - 1 : s.length;
  return s.slice(1, end);
}

function convertSeparators(s: string, toSep: '' | '/' | '\\'): string {
  if (toSep === '/') return s.includes('\\') ? s.replaceAll('\\', '/') : s;
  if (toSep === '\\') return s.includes('/') ? s.replaceAll('/', '\\') : s;
  return s;
}

/** Start of the file name after `dirs` more directories (condor_basename_plus_dirs). */
function basenamePlusDirs(buf: string, dirs: number): number {
  const seps: number[] = [];
  let i = 0;
  if (buf.startsWith('\\\\')) {
    i = buf.startsWith('.\\', 2) ? 4 : 2;
    seps.push(i);
  }
  for (; i < buf.length; i++) {
    const c = buf.charCodeAt(i);
    if (c === 0x2f || c === 0x5c) seps.push(i + 1);
  }
  seps.length = Math.max(0, seps.length - dirs);
  return seps.length > 0 ? seps[seps.length - 1]! : 0;
}

/** Applies a parsed `$F` spec to a value. */
export function applyPathSpec(spec: PathSpec, value: string, cwd?: string): string {
  const { quote, toSep, bare } = spec;
  let parts = spec.parts;
  let buf = convertSeparators(stripQuote(unquotePair(value), quote), toSep);
  if (spec.full && buf.charCodeAt(0) !== 0x2f && cwd !== undefined && cwd !== '') {
    let base = cwd;
    const last = base[base.length - 1];
    if (last === '/' || (toSep !== '' && last === toSep)) base = base.slice(0, -1);
    let name = buf;
    if (name.length > 2 && name[0] === '.' && (name[1] === '/' || (toSep !== '' && name[1] === toSep))) name = name.slice(2);
    buf = convertSeparators(base, toSep) + (toSep === '' ? '/' : toSep) + name;
  }

  let end = buf.length;
  const nameStart = buf.lastIndexOf('/') + 1; // 0 when there is no directory
  let extStart = buf.lastIndexOf('.');
  if (extStart <= nameStart) extStart = end;
  if (nameStart === 0 && (parts & (N | X)) !== 0) parts &= ~(P | D);

  let start = 0;
  switch (parts) {
    case X:
      start = extStart;
      if (bare && extStart < end) start++;
      break;
    case N | X:
      start = nameStart;
      break;
    case N:
      start = nameStart;
      end = extStart;
      break;
    case 0:
    case P | N | X:
    case P | X: // HTCondor keeps the whole value here too
      break;
    case P:
      end = nameStart;
      if (bare && nameStart > 0) end = nameStart - 1;
      break;
    case P | N:
      end = extStart;
      break;
    default: // d, with or without others
      if (nameStart > 0) {
        start = basenamePlusDirs(buf, spec.dirs);
        const low = parts & (N | X);
        if (low === N) end = extStart;
        else if (low === 0) end = bare ? nameStart - 1 : nameStart;
      } else {
        start = end = 0; // only directories asked for, and there are none
      }
      break;
  }
  const picked = start >= end ? '' : buf.slice(start, end);
  return quote === '' ? picked : quote + picked + quote;
}
