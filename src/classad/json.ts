/**
 * The JSON form of ClassAds, as `condor_q -json` prints and HTCondor reads it:
 * literal values map to JSON values (UNDEFINED is null), nested ads and
 * lists map structurally, and every other expression is a string
 * "\/Expr(<new syntax>)\/". Reals keep a decimal point (`3.0`), so an integer
 * and a real stay distinct through a round trip; that is why this module has
 * its own small JSON reader instead of JSON.parse (which would also lose
 * 64-bit integers).
 *
 * Only the escaped slashes mark an expression, as in HTCondor: the writer
 * escapes them in expression strings alone (`JsonExpr`), and the reader
 * takes a string as an expression only when its raw text starts with
 * `\/Expr(` and ends with `)\/`; a plain string "/Expr(x)/" stays a string.
 * The reader refuses what HTCondor refuses or what would not fit later
 * stages: `\u0000` in a string, and nesting deeper than the parser allows.
 *
 * Also here: the value encoding of `htc classad eval --json[l]`
 * ({"type": T, "value": V}).
 */
import type { Node } from './ast.ts';
import { ClassAd, type Env } from './classad.ts';
import { EMPTY_ENV, envFor, evaluateAttribute, type FunctionTable } from './evaluate.ts';
import { HtcError } from '../errors.ts';
import { ClassAdSyntaxError, stripBom } from './lexer.ts';
import { MAX_DEPTH, MAX_HEIGHT, parseExpression, treeHeight } from './parser.ts';
import { printReal, unparse } from './printer.ts';
import {
  AbsTime, ERROR, ListValue, Real, RelTime, UNDEFINED, intFromBigInt, typeOf,
  type Value, type ValueType,
} from './value.ts';

// ---------------------------------------------------------------------------
// Writing

/** A JSON document being written; `JsonRaw` is emitted verbatim (numbers). */
export class JsonRaw {
  constructor(readonly text: string) {}
}
/** A ClassAd expression (new syntax), written as the string "\/Expr(<text>)\/". */
export class JsonExpr {
  constructor(readonly text: string) {}
}
export type JsonOut = null | boolean | string | JsonRaw | JsonExpr | readonly JsonOut[] | { readonly [key: string]: JsonOut };

export function writeJson(value: JsonOut, indent = 0, depth = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JsonRaw) return value.text;
  if (value instanceof JsonExpr) return `"\\/Expr(${JSON.stringify(value.text).slice(1, -1)})\\/"`;
  const pad = indent > 0 ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent > 0 ? '\n' + ' '.repeat(indent * depth) : '';
  if (Array.isArray(value)) {
    const items = value as readonly JsonOut[];
    if (items.length === 0) return '[]';
    return `[${items.map((v) => pad + writeJson(v, indent, depth + 1)).join(',')}${end}]`;
  }
  const entries = Object.entries(value as { readonly [key: string]: JsonOut });
  if (entries.length === 0) return '{}';
  const sep = indent > 0 ? ': ' : ':';
  return `{${entries.map(([k, v]) => pad + JSON.stringify(k) + sep + writeJson(v, indent, depth + 1)).join(',')}${end}}`;
}

/** An expression tree in the JSON form (structural for literals, lists and ads). */
function nodeToJson(node: Node): JsonOut {
  switch (node.kind) {
    case 'literal':
      return literalToJson(node.value, node);
    case 'list':
      return node.items.map(nodeToJson);
    case 'record':
      // fromEntries defines own properties, so a name like __proto__ is an ordinary key.
      return Object.fromEntries(node.attrs.map(([name, n]) => [name, nodeToJson(n)]));
    default:
      return new JsonExpr(unparse(node));
  }
}

function literalToJson(v: Value, node: Node): JsonOut {
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
    case 'bigint':
      return new JsonRaw(String(v));
    default:
      if (v === UNDEFINED) return null;
      if (v instanceof Real) return Number.isFinite(v.v) ? new JsonRaw(printReal(v.v, 'old')) : new JsonExpr(unparse(node));
      if (v instanceof ListValue) return v.items.map((item) => literalToJson(item, { kind: 'literal', value: item }));
      if (v instanceof ClassAd) return classAdToJson(v);
      return new JsonExpr(unparse(node)); // error, absTime, relTime
  }
}

export function classAdToJson(ad: ClassAd): { [key: string]: JsonOut } {
  return Object.fromEntries(ad.entries().map(([name, node]) => [name, nodeToJson(node)]));
}

/** Ads as `condor_q -json` prints them: a JSON array, 2-space indents. */
export function printJsonClassAds(ads: readonly ClassAd[]): string {
  return writeJson(ads.map(classAdToJson), 2) + '\n';
}

// ---------------------------------------------------------------------------
// Reading

const STRING = /"(?:[^"\\\n]|\\.)*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WORD = /(?:true|false|null)\b/y;
const EXPR = /^\/Expr\(([\s\S]*)\)\/$/i;

class JsonReader {
  private pos = 0;
  /** Height of the tree the last `value()` returned (as parser.ts `treeHeight` counts). */
  private height = 0;
  private readonly text: string;

  constructor(
    text: string,
    private readonly file?: string,
  ) {
    this.text = stripBom(text);
  }

  private fail(message: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new ClassAdSyntaxError(message, line, column, this.file);
  }

  private space(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private found(): string {
    return this.pos >= this.text.length ? 'end of input' : JSON.stringify(this.text[this.pos]);
  }

  /** Matches a sticky pattern at the current position (no copy of the rest of the text). */
  private match(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.pos;
    return pattern.exec(this.text);
  }

  end(): void {
    this.space();
    if (this.pos < this.text.length) this.fail(`expected end of input, found ${this.found()}`);
  }

  peek(): string | undefined {
    this.space();
    return this.text[this.pos];
  }

  /**
   * One JSON value as a tree; `depth` is how many arrays and objects enclose
   * it. Refuses nesting deeper than the expression parser allows, so that no
   * later stage (compiling, evaluating, printing) can run out of stack.
   */
  value(depth = 0): Node {
    const c = this.peek();
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH) this.fail(`JSON nests deeper than ${MAX_DEPTH} levels`);
    if (c === '{') return { kind: 'record', attrs: this.object(depth) };
    if (c === '[') {
      this.pos++;
      const items: Node[] = [];
      let height = 0;
      if (this.peek() === ']') {
        this.pos++;
        this.height = 1;
        return { kind: 'list', items };
      }
      for (;;) {
        items.push(this.value(depth + 1));
        if (this.height > height) height = this.height;
        const d = this.peek();
        this.pos++;
        if (d === ']') {
          this.height = height + 1;
          return { kind: 'list', items };
        }
        if (d !== ',') {
          this.pos--;
          this.fail(`expected "," or "]" in a JSON array, found ${this.found()}`);
        }
      }
    }
    this.height = 1;
    if (c === '"') {
      const { raw, text } = this.string();
      // An expression only when the slashes were written escaped (HTCondor's rule).
      const m = raw.startsWith('"\\/') && raw.endsWith('\\/"') ? EXPR.exec(text) : null;
      if (m === null) return { kind: 'literal', value: text };
      let node: Node;
      try {
        node = parseExpression(m[1]!);
      } catch (e) {
        if (e instanceof ClassAdSyntaxError) this.fail(`bad expression in "\\/Expr(...)\\/": ${e.message}`);
        throw e;
      }
      this.height = treeHeight(node, MAX_HEIGHT);
      return node;
    }
    const word = this.match(WORD);
    if (word !== null) {
      this.pos += word[0].length;
      return { kind: 'literal', value: word[0] === 'null' ? UNDEFINED : word[0] === 'true' };
    }
    const num = this.match(NUMBER);
    if (num !== null && num[0] !== '' && num[0] !== '-') {
      this.pos += num[0].length;
      if (num[1] === undefined && num[2] === undefined) {
        const b = BigInt(num[0]);
        if (b > 2n ** 63n - 1n || b < -(2n ** 63n)) this.fail(`integer ${num[0]} does not fit in 64 bits`);
        return { kind: 'literal', value: intFromBigInt(b) };
      }
      return { kind: 'literal', value: new Real(Number(num[0])) };
    }
    this.fail(`expected a JSON value, found ${this.found()}`);
  }

  /** `{ "name": value, ... }`; stray commas are tolerated, as HTCondor does. */
  object(depth = 0): (readonly [string, Node])[] {
    if (this.peek() !== '{') this.fail(`expected "{" starting a JSON ClassAd, found ${this.found()}`);
    this.pos++;
    const attrs: (readonly [string, Node])[] = [];
    let height = 0;
    for (;;) {
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        this.height = height + 1;
        return attrs;
      }
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c !== '"') this.fail(`expected an attribute name in quotes or "}", found ${this.found()}`);
      const name = this.string().text;
      if (name === '') this.fail('attribute names may not be empty');
      if (this.peek() !== ':') this.fail(`expected ":" after "${name}", found ${this.found()}`);
      this.pos++;
      const at = (this.space(), this.pos);
      attrs.push([name, this.value(depth + 1)]);
      // The parser's limit for one attribute's tree: nesting and expressions together.
      if (this.height > MAX_HEIGHT) this.fail(`the value of "${name}" is more than ${MAX_HEIGHT} levels deep`, at);
      if (this.height > height) height = this.height;
      const d = this.peek();
      if (d !== ',' && d !== '}') this.fail(`expected "," or "}" after the value of "${name}", found ${this.found()}`);
    }
  }

  /** A string: its raw text (with the quotes) and its value. */
  private string(): { raw: string; text: string } {
    const start = this.pos;
    const m = this.match(STRING);
    if (m === null) this.fail('unterminated JSON string');
    const raw = m[0];
    if (/\\u0000/i.test(raw)) {
      for (let i = 1; i < raw.length - 1; i++) {
        if (raw[i] !== '\\') continue;
        if (raw.slice(i + 1, i + 6).toLowerCase() === 'u0000') this.fail('a string may not contain a NUL character (\\u0000)', start + i);
        i++; // skip the escaped character
      }
    }
    this.pos += raw.length;
    try {
      return { raw, text: JSON.parse(raw) as string };
    } catch {
      this.fail('bad escape in JSON string', start);
    }
  }
}

/** One ad from a JSON object, or several from a JSON array of objects. */
export function parseJsonClassAds(text: string, file?: string): ClassAd[] {
  const r = new JsonReader(text, file);
  const ads: ClassAd[] = [];
  if (r.peek() === '[') {
    const list = r.value();
    r.end();
    if (list.kind !== 'list') return ads;
    for (const item of list.items) {
      if (item.kind !== 'record') throw new ClassAdSyntaxError('expected a JSON array of objects (ClassAds)', 1, 1, file);
      ads.push(new ClassAd(item.attrs));
    }
    return ads;
  }
  ads.push(new ClassAd(r.object()));
  r.end();
  return ads;
}

export function parseJsonClassAd(text: string, file?: string): ClassAd {
  const r = new JsonReader(text, file);
  const ad = new ClassAd(r.object());
  r.end();
  return ad;
}

// ---------------------------------------------------------------------------
// The value encoding of `htc classad eval --json` / `--jsonl`

/** The type names of the eval encoding; times are reported as their nearest plain type. */
export type EncodedType = Exclude<ValueType, 'abstime' | 'reltime'>;

/**
 * V of {"type": T, "value": V}: numbers, strings, booleans, null for
 * UNDEFINED and ERROR, arrays for lists and objects for ads (each element
 * or attribute evaluated and encoded by the same rules); reals JSON cannot
 * hold are "inf", "-inf", "nan". An absolute time is encoded as its epoch
 * seconds (integer), a relative time as its seconds (real).
 *
 * `env` is the evaluation that produced `v`: an ad's attributes are
 * evaluated with its TARGET (swapped for an ad of the target side), so
 * `MY` encodes as the evaluation sees it. A value with no finite JSON form
 * (an ad that contains itself, `[a = self]`, or one that makes new nested
 * ads without end, `[a = [b = a]]`) is an HtcError (CLASSAD_INVALID): the
 * encoding stops at MAX_DEPTH levels and MAX_ENCODED values.
 */
export function encodeValue(v: Value, functions: FunctionTable, env: Env = EMPTY_ENV): JsonOut {
  return new Encoder(functions, env).encode(v, 0);
}

/** How many values one encoding may hold (a bound for ads that generate ads). */
const MAX_ENCODED = 1_000_000;

class Encoder {
  private readonly enclosing = new Set<ClassAd>();
  private left = MAX_ENCODED;

  constructor(
    private readonly functions: FunctionTable,
    private readonly env: Env,
  ) {}

  encode(v: Value, depth: number): JsonOut {
    if (--this.left < 0) throw new HtcError('CLASSAD_INVALID', `the value holds more than ${MAX_ENCODED} values; too large to encode as JSON`);
    switch (typeof v) {
      case 'boolean':
      case 'string':
        return v;
      case 'number':
      case 'bigint':
        return new JsonRaw(String(v));
      default:
        if (v instanceof Real) return encodeReal(v.v);
        if (v === UNDEFINED || v === ERROR) return null;
        if (v instanceof AbsTime) return new JsonRaw(String(v.seconds));
        if (v instanceof RelTime) return encodeReal(v.seconds);
        if (!(v instanceof ListValue || v instanceof ClassAd)) return null;
        if (depth >= MAX_DEPTH) throw new HtcError('CLASSAD_INVALID', `the value nests deeper than ${MAX_DEPTH} levels (an ad that makes ads inside itself?); it has no JSON form`);
        if (v instanceof ListValue) return v.items.map((item) => this.encode(item, depth + 1));
        return this.encodeAd(v, depth);
    }
  }

  private encodeAd(ad: ClassAd, depth: number): JsonOut {
    if (this.enclosing.has(ad)) throw new HtcError('CLASSAD_INVALID', 'the value holds an ad that contains itself; it has no JSON form');
    const adEnv = envFor(ad, this.env);
    this.enclosing.add(ad);
    // Entries, not assignments, so a name like __proto__ is an ordinary key.
    const entries = ad.names().map((name): [string, JsonOut] => {
      const value = evaluateAttribute(ad.lookupKey(name.toLowerCase())!, adEnv, this.functions);
      return [name, this.encode(value, depth + 1)];
    });
    this.enclosing.delete(ad);
    return Object.fromEntries(entries);
  }
}

function encodeReal(x: number): JsonOut {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const s = String(x);
  return new JsonRaw(/[.eE]/.test(s) ? s : `${s}.0`);
}

export function encodedType(v: Value): EncodedType {
  const t = typeOf(v);
  return t === 'abstime' ? 'integer' : t === 'reltime' ? 'real' : t;
}

/** One line of `htc classad eval --jsonl` output; `env` as for `encodeValue`. */
export function encodeTypedValue(v: Value, functions: FunctionTable, env: Env = EMPTY_ENV): string {
  return writeJson({ type: encodedType(v), value: encodeValue(v, functions, env) });
}
