/**
 * The resource requests: `request_memory`, `request_disk`, `request_cpus`,
 * `request_gpus` (submit_utils.cpp SetRequestMem/Disk/Cpus/Gpus and
 * metric_units.cpp parse_int64_bytes).
 *
 * HTCondor first tries the value as a size: optional whitespace, an integer
 * (strtol, so an optional sign), an optional fraction, optional whitespace,
 * then an optional unit K, M, G or T (case-insensitive, 1024-based) which
 * may be followed by `b`/`B`. No unit means the attribute's own unit (MiB
 * for memory, KiB for disk). The result is rounded UP to a whole unit; only
 * the first three fraction digits count. Anything that is not such a size
 * is inserted verbatim as a ClassAd expression (`MemoryUsage * 2`,
 * `ifThenElse(...)`), and the literal `undefined` means "leave the attribute
 * out". `request_cpus` and `request_gpus` have no units at all: the value is
 * always an expression.
 *
 * HTCondor has no "bad unit" error: `2Q` (or `2KiB`) is not a size, so it is
 * handed to the ClassAd parser, which rejects it with "Parse error in
 * expression: \n\tRequestMemory = 2Q\n\t" (SubmitHash::AssignJobExpr). Here a
 * number followed by one unknown word is reported at once as an unknown
 * unit, at the unit's offset, and negative or fractional counts are refused
 * (HTCondor passes them on).
 *
 * Invariants: pure; the number results are non-negative safe integers; the
 * expression text is the trimmed value, unparsed (the caller's ClassAd
 * parser validates it); errors are ValueErrors with 0-based offsets.
 */
import { ValueError } from './submit-error.ts';

export type RequestValue = { kind: 'number'; value: number } | { kind: 'expression'; text: string };

const KIB = 1024n;
const MIB = 1024n * KIB;
const UNIT_BYTES: Readonly<Record<string, bigint>> = {
  k: KIB,
  m: MIB,
  g: 1024n * MIB,
  t: 1024n * 1024n * MIB,
};

/** A number with at most one word after it, the shape in which units are looked for. */
const NUMBER_AND_WORD = /^([ \t\n\v\f\r]*)([+-]?)(\d+(?:\.\d*)?|\.\d+)([ \t\n\v\f\r]*)([A-Za-z_][A-Za-z0-9_]*)?[ \t\n\v\f\r]*$/;
/** A ClassAd real in exponent form (`2e3`): an expression, not a size with a unit. */
const EXPONENT_WORD = /^[eE]\d+$/;

interface NumberShape {
  readonly sign: '' | '+' | '-';
  readonly signOffset: number;
  readonly integer: string;
  readonly fraction: string;
  readonly word: string | undefined;
  readonly wordOffset: number;
}

function numberShape(value: string): NumberShape | undefined {
  const m = NUMBER_AND_WORD.exec(value);
  if (m === null) return undefined;
  const [, lead = '', sign = '', digits = '', gap = '', word] = m;
  if (word !== undefined && EXPONENT_WORD.test(word)) return undefined;
  const [integer = '', fraction = ''] = digits.split('.');
  return {
    sign: sign as NumberShape['sign'],
    signOffset: lead.length,
    integer,
    fraction,
    word,
    wordOffset: lead.length + sign.length + digits.length + gap.length,
  };
}

function trimmedExpression(value: string): RequestValue {
  return { kind: 'expression', text: value.trim() };
}

function requireNonEmpty(value: string, command: string, example: string): void {
  if (value.trim() === '') {
    throw new ValueError(`${command} is empty: expected ${example} or a ClassAd expression`, 0);
  }
}

function toSafeNumber(n: bigint, command: string, offset: number): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValueError(`${command} is too large: at most ${Number.MAX_SAFE_INTEGER} is supported`, offset);
  }
  return Number(n);
}

/**
 * A size in `baseBytes` units, parse_int64_bytes style (rounded up), or the
 * trimmed value as an expression when it is not a number (with a unit).
 */
function parseSize(value: string, baseBytes: bigint, command: string, baseUnit: string): RequestValue {
  requireNonEmpty(value, command, `a size such as 2048, 512M or 2G`);
  if (value.trim().toLowerCase() === 'undefined') return trimmedExpression(value);
  const shape = numberShape(value);
  if (shape === undefined) return trimmedExpression(value);
  if (shape.sign === '-') {
    throw new ValueError(`${command} must not be negative: expected a size such as 512M or 2G`, shape.signOffset);
  }
  let multiplier = baseBytes;
  if (shape.word !== undefined) {
    const unit = /^([kmgt])b?$/i.exec(shape.word);
    const letter = unit?.[1]?.toLowerCase();
    const bytes = letter === undefined ? undefined : UNIT_BYTES[letter];
    if (bytes === undefined) {
      const hint = /^[kmgt]ib$/i.test(shape.word)
        ? ` (write ${shape.word[0]?.toUpperCase() ?? ''} for ${shape.word}: units are always 1024-based)`
        : /^b$/i.test(shape.word)
          ? ' (there is no byte unit: use K for KiB)'
          : '';
      throw new ValueError(
        `unknown unit ${JSON.stringify(shape.word)} in ${command}: expected K, M, G or T ` +
          `(optionally followed by B), or no unit for ${baseUnit}${hint}`,
        shape.wordOffset,
      );
    }
    multiplier = bytes;
  }
  // Only the first three fraction digits count (parse_int64_bytes); the sum is in thousandths.
  const thousandths = BigInt(shape.integer === '' ? '0' : shape.integer) * 1000n + BigInt((shape.fraction + '000').slice(0, 3));
  const total = thousandths * multiplier;
  const unitThousandths = 1000n * baseBytes;
  const rounded = (total + unitThousandths - 1n) / unitThousandths;
  return { kind: 'number', value: toSafeNumber(rounded, command, shape.signOffset) };
}

/** `request_memory` in MiB (no unit means MiB), or the expression to insert verbatim. */
export function parseRequestMemory(value: string): RequestValue {
  return parseSize(value, MIB, 'request_memory', 'MiB');
}

/** `request_disk` in KiB (no unit means KiB), or the expression to insert verbatim. */
export function parseRequestDisk(value: string): RequestValue {
  return parseSize(value, KIB, 'request_disk', 'KiB');
}

/** A count (CPUs, GPUs): a non-negative whole number, or an expression. */
function parseCount(value: string, command: string, what: string): RequestValue {
  requireNonEmpty(value, command, `a whole number of ${what} such as 1 or 4`);
  if (value.trim().toLowerCase() === 'undefined') return trimmedExpression(value);
  const shape = numberShape(value);
  if (shape === undefined) return trimmedExpression(value);
  if (shape.word !== undefined) {
    throw new ValueError(
      `unexpected ${JSON.stringify(shape.word)} after the number in ${command}: expected a whole number of ${what} (no unit)`,
      shape.wordOffset,
    );
  }
  if (shape.sign === '-') {
    throw new ValueError(`${command} must not be negative: expected a whole number of ${what}`, shape.signOffset);
  }
  if (/[1-9]/.test(shape.fraction)) {
    throw new ValueError(`${command} must be a whole number of ${what}, not a fraction`, shape.signOffset);
  }
  const n = BigInt(shape.integer === '' ? '0' : shape.integer);
  return { kind: 'number', value: toSafeNumber(n, command, shape.signOffset) };
}

/** `request_cpus`: a whole number of CPUs, or the expression to insert verbatim. */
export function parseRequestCpus(value: string): RequestValue {
  return parseCount(value, 'request_cpus', 'CPUs');
}

/** `request_gpus`: a whole number of GPUs, or the expression to insert verbatim. */
export function parseRequestGpus(value: string): RequestValue {
  return parseCount(value, 'request_gpus', 'GPUs');
}
