/**
 * The JSON form of ClassAds, as `condor_q -json` prints and HTCondor reads it:
 * literal values map to JSON values (UNDEFINED is null), nested ads and
 * lists map structurally, and every other expression is a string
 * "\/Expr(<new syntax>)\/". Reals keep a decimal point (`3.0`), so an integer
 * and a real stay distinct through a round trip; that is why this module has
 * its own small JSON reader instead of JSON.parse (which would also lose
 * 64-bit integers).
 *
 * Also here: the value encoding of `htc classad eval --json[l]`
 * ({"type": T, "value": V}).
 */
import type { Node } from './ast.ts';
import { ClassAd } from './classad.ts';
import { evaluateAttribute, type FunctionTable } from './evaluate.ts';
import { ClassAdSyntaxError } from './lexer.ts';
import { parseExpression } from './parser.ts';
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
export type JsonOut = null | boolean | string | JsonRaw | readonly JsonOut[] | { readonly [key: string]: JsonOut };

export function writeJson(value: JsonOut, indent = 0, depth = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JsonRaw) return value.text;
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
      return Object.fromEntries(node.attrs.map(([name, n]) => [name, nodeToJson(n)]));
    default:
      return `/Expr(${unparse(node)})/`;
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
      if (v instanceof Real) return Number.isFinite(v.v) ? new JsonRaw(printReal(v.v, 'old')) : `/Expr(${unparse(node)})/`;
      if (v instanceof ListValue) return v.items.map((item) => literalToJson(item, { kind: 'literal', value: item }));
      if (v instanceof ClassAd) return classAdToJson(v);
      return `/Expr(${unparse(node)})/`; // error, absTime, relTime
  }
}

export function classAdToJson(ad: ClassAd): { [key: string]: JsonOut } {
  return Object.fromEntries(ad.entries().map(([name, node]) => [name, nodeToJson(node)]));
}

/**
 * Ads as `condor_q -json` prints them: a JSON array, 2-space indents. The
 * "/Expr(...)/" strings are written with `\/` as HTCondor writes them.
 */
export function printJsonClassAds(ads: readonly ClassAd[]): string {
  return writeJson(ads.map(classAdToJson), 2).replace(/"\/Expr\(/g, '"\\/Expr(').replace(/\)\/"/g, ')\\/"') + '\n';
}

// ---------------------------------------------------------------------------
// Reading

class JsonReader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly file?: string,
  ) {}

  private fail(message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    const column = this.pos - before.lastIndexOf('\n');
    throw new ClassAdSyntaxError(message, line, column, this.file);
  }

  private space(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private found(): string {
    return this.pos >= this.text.length ? 'end of input' : JSON.stringify(this.text[this.pos]);
  }

  end(): void {
    this.space();
    if (this.pos < this.text.length) this.fail(`expected end of input, found ${this.found()}`);
  }

  peek(): string | undefined {
    this.space();
    return this.text[this.pos];
  }

  value(): Node {
    const c = this.peek();
    if (c === '{') return { kind: 'record', attrs: this.object() };
    if (c === '[') {
      this.pos++;
      const items: Node[] = [];
      if (this.peek() === ']') {
        this.pos++;
        return { kind: 'list', items };
      }
      for (;;) {
        items.push(this.value());
        const d = this.peek();
        this.pos++;
        if (d === ']') return { kind: 'list', items };
        if (d !== ',') {
          this.pos--;
          this.fail(`expected "," or "]" in a JSON array, found ${this.found()}`);
        }
      }
    }
    if (c === '"') {
      const s = this.string();
      const m = /^\/Expr\(([\s\S]*)\)\/$/i.exec(s);
      if (m === null) return { kind: 'literal', value: s };
      try {
        return parseExpression(m[1]!);
      } catch (e) {
        if (e instanceof ClassAdSyntaxError) this.fail(`bad expression in "/Expr(...)/": ${e.message}`);
        throw e;
      }
    }
    const word = /^(?:true|false|null)\b/.exec(this.text.slice(this.pos, this.pos + 6));
    if (word !== null) {
      this.pos += word[0].length;
      return { kind: 'literal', value: word[0] === 'null' ? UNDEFINED : word[0] === 'true' };
    }
    const num = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
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
  object(): (readonly [string, Node])[] {
    if (this.peek() !== '{') this.fail(`expected "{" starting a JSON ClassAd, found ${this.found()}`);
    this.pos++;
    const attrs: (readonly [string, Node])[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return attrs;
      }
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c !== '"') this.fail(`expected an attribute name in quotes or "}", found ${this.found()}`);
      const name = this.string();
      if (name === '') this.fail('attribute names may not be empty');
      if (this.peek() !== ':') this.fail(`expected ":" after "${name}", found ${this.found()}`);
      this.pos++;
      attrs.push([name, this.value()]);
      const d = this.peek();
      if (d !== ',' && d !== '}') this.fail(`expected "," or "}" after the value of "${name}", found ${this.found()}`);
    }
  }

  private string(): string {
    const start = this.pos;
    const m = /^"(?:[^"\\\n]|\\.)*"/.exec(this.text.slice(this.pos));
    if (m === null) this.fail('unterminated JSON string');
    this.pos += m[0].length;
    try {
      return JSON.parse(m[0]) as string;
    } catch {
      this.pos = start;
      this.fail('bad escape in JSON string');
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
 */
export function encodeValue(v: Value, functions: FunctionTable): JsonOut {
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
      if (v instanceof ListValue) return v.items.map((item) => encodeValue(item, functions));
      if (v instanceof AbsTime) return new JsonRaw(String(v.seconds));
      if (v instanceof RelTime) return encodeReal(v.seconds);
      if (v instanceof ClassAd) {
        const out: { [key: string]: JsonOut } = {};
        for (const name of v.names()) {
          const attr = v.lookupKey(name.toLowerCase())!;
          out[name] = encodeValue(evaluateAttribute(attr, { scope: v, target: null }, functions), functions);
        }
        return out;
      }
      return null;
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

/** One line of `htc classad eval --jsonl` output. */
export function encodeTypedValue(v: Value, functions: FunctionTable): string {
  return writeJson({ type: encodedType(v), value: encodeValue(v, functions) });
}
