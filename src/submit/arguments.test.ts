/**
 * The `arguments` command: old (V1 wacked) and new (V2 quoted) syntax, the
 * attribute and value condor_submit writes (condor_arglist.cpp append_arg /
 * split_args / V2QuotedToV2Raw / V1WackedToV1Raw), errors with offsets, and
 * round trips between argv and both syntaxes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  argvToV1, argvToV1Wacked, argvToV2, argvToV2Quoted, isV2Quoted, parseArguments, splitArgsV1Raw, splitArgsV2Raw,
  v2QuotedToRaw, v2RawToQuoted,
} from './arguments.ts';
import { ValueError } from './submit-error.ts';

function valueError(fn: () => unknown, what: string): ValueError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValueError, `${what}: expected a ValueError, got ${String(e)}`);
    return e;
  }
  assert.fail(`${what}: expected a ValueError, nothing was thrown`);
}

describe('parseArguments: old syntax (V1) gives Args', () => {
  const cases: [value: string, argv: string[], args: string][] = [
    ['hi', ['hi'], 'hi'],
    ['a b c', ['a', 'b', 'c'], 'a b c'],
    ['  a \t b\r\nc  ', ['a', 'b', 'c'], 'a b c'],
    ['-n 10 --flag=x', ['-n', '10', '--flag=x'], '-n 10 --flag=x'],
    // Single quotes are literal in V1.
    ["it's 'quoted text'", ["it's", "'quoted", "text'"], "it's 'quoted text'"],
    // \" is a literal double quote; any other backslash is literal.
    ['a\\"b', ['a"b'], 'a"b'],
    ['\\"start', ['"start'], '"start'],
    ['c:\\dir\\ x\\\\y', ['c:\\dir\\', 'x\\\\y'], 'c:\\dir\\ x\\\\y'],
    ['end\\', ['end\\'], 'end\\'],
    // A vertical tab is not an argument separator (only space, tab, CR, LF are).
    ['a\vb', ['a\vb'], 'a\vb'],
    ['$(Cluster).$(Process)', ['$(Cluster).$(Process)'], '$(Cluster).$(Process)'],
  ];
  for (const [value, argv, args] of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseArguments(value), { attribute: 'Args', value: args, argv });
    });
  }
});

describe('parseArguments: new syntax (V2) gives Arguments', () => {
  const cases: [value: string, argv: string[], raw: string][] = [
    ['"hi"', ['hi'], 'hi'],
    ['"a b   c"', ['a', 'b', 'c'], 'a b c'],
    ['  "a b"  ', ['a', 'b'], 'a b'],
    ['\t"x"\t', ['x'], 'x'],
    ['""', [], ''],
    ['"   "', [], ''],
    // Single quotes group; the ad value is re-quoted canonically (append_arg).
    ['"one \'two three\'"', ['one', 'two three'], "one two' 'three"],
    ['"\'a b\'c d"', ['a bc', 'd'], "a' 'bc d"],
    ['"x\'\'y"', ['xy'], 'xy'],
    // '' inside single quotes is a literal '.
    ['"\'it\'\'s\'"', ["it's"], "it''''s"],
    // '' outside single quotes is an empty argument.
    ['"\'\' a"', ['', 'a'], "'' a"],
    ['"a \'\'"', ['a', ''], "a ''"],
    // "" is a literal double quote (also inside single quotes).
    ['"say ""hi"""', ['say', '"hi"'], 'say "hi"'],
    ['"\'a ""b"" c\'"', ['a "b" c'], 'a\' \'"b"\' \'c'],
    // Backslashes are literal.
    ['"a\\b c\\"', ['a\\b', 'c\\'], 'a\\b c\\'],
    ['"tab\'\t\'x"', ['tab\tx'], "tab'\t'x"],
  ];
  for (const [value, argv, raw] of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseArguments(value), { attribute: 'Arguments', value: raw, argv });
    });
  }
});

describe('parseArguments: empty values count as not given', () => {
  for (const value of ['', '   ', '\t\n']) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseArguments(value), { attribute: 'Arguments', value: '', argv: [] });
    });
  }
});

describe('parseArguments: errors carry the offset of the problem', () => {
  const cases: [value: string, offset: number, message: RegExp][] = [
    // V1: a bare double quote.
    ['a"b', 1, /double quote in old-syntax arguments must be written \\"/],
    ['x y"', 3, /double quote/],
    ['a\\"b "c', 5, /double quote/],
    // V2: no closing double quote (offset of the opening one).
    ['"abc', 0, /unterminated double quote/],
    ['  "a ""b""', 2, /unterminated double quote/],
    // V2: text after the closing quote (offset of the quote that closed the value).
    ['"a "b" c"', 3, /text follows the closing double quote.*write it twice/],
    ['"a" b', 2, /text follows the closing double quote/],
    ['"a"   x', 2, /text follows/],
    // V2: unbalanced single quote (offset of the opening single quote in the value).
    ["\"a 'b c\"", 3, /unbalanced single quote/],
    // The first ' opens a section; the four after it are two literal quotes; nothing closes it.
    ["\"''''' x\"", 1, /unbalanced single quote/],
    // Offsets count the source characters, including "" escapes before the quote.
    ["\"\"\"\"\" 'x\"", 6, /unbalanced single quote/],
  ];
  for (const [value, offset, message] of cases) {
    it(JSON.stringify(value), () => {
      const e = valueError(() => parseArguments(value), value);
      assert.equal(e.offset, offset, `offset (message: ${e.message})`);
      assert.match(e.message, message);
    });
  }
});

describe('argvToV2: HTCondor append_arg quoting', () => {
  const cases: [argv: string[], raw: string][] = [
    [[], ''],
    [['a'], 'a'],
    [['a', 'b'], 'a b'],
    [[''], "''"],
    [['', ''], "'' ''"],
    [['a b'], "a' 'b"],
    [['a  b'], "a'  'b"],
    [[' lead'], "' 'lead"],
    [['trail '], "trail' '"],
    [["it's"], "it''''s"],
    [["'"], "''''"],
    [["''"], "''''''"],
    [['x \''], "x' '''"],
    [['x y\''], "x' 'y''''"],
    [['tab\there'], "tab'\t'here"],
    [['cr\rlf\n'], "cr'\r'lf'\n'"],
    [['say "hi"'], "say' '\"hi\""],
    [['a\\b'], 'a\\b'],
  ];
  for (const [argv, raw] of cases) {
    it(JSON.stringify(argv), () => {
      assert.equal(argvToV2(argv), raw);
      assert.deepEqual(splitArgsV2Raw(raw), argv);
    });
  }
});

describe('argvToV2Quoted / v2RawToQuoted: the submit-file form', () => {
  it('encloses in double quotes and doubles inner ones', () => {
    assert.equal(argvToV2Quoted(['say "hi"']), '"say\' \'""hi"""');
    assert.equal(argvToV2Quoted([]), '""');
    assert.equal(v2RawToQuoted('a"b'), '"a""b"');
  });
  it('v2QuotedToRaw maps every character back to the value', () => {
    assert.deepEqual(v2QuotedToRaw(' "a""b" '), { text: 'a"b', offsets: [2, 3, 5, 6] });
  });
  it('isV2Quoted looks at the first non-space character', () => {
    assert.equal(isV2Quoted('  "x"'), true);
    assert.equal(isV2Quoted('x "y"'), false);
    assert.equal(isV2Quoted(''), false);
  });
});

describe('argvToV1 (Args) / argvToV1Wacked (submit form)', () => {
  const cases: [argv: string[], raw: string | undefined, wacked: string | undefined][] = [
    [[], '', ''],
    [['a', 'b'], 'a b', 'a b'],
    [['a"b'], 'a"b', 'a\\"b'],
    [['a\\"b'], 'a\\"b', 'a\\\\"b'],
    [["it's"], "it's", "it's"],
    [['a b'], undefined, undefined],
    [['tab\t'], undefined, undefined],
    [['nl\n'], undefined, undefined],
    [['cr\r'], undefined, undefined],
    [[''], undefined, undefined],
    [['x', ''], undefined, undefined],
  ];
  for (const [argv, raw, wacked] of cases) {
    it(JSON.stringify(argv), () => {
      assert.equal(argvToV1(argv), raw);
      assert.equal(argvToV1Wacked(argv), wacked);
      if (raw !== undefined) assert.deepEqual(splitArgsV1Raw(raw), argv);
    });
  }
});

describe('round trips (properties)', () => {
  const RUNS = 500;
  /** Arguments made mostly of the characters that matter to quoting. */
  const arg = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'b', ' ', "'", '"', '\\', '\t', '\n', '\r', '='), maxLength: 8 }),
    fc.string({ maxLength: 8 }),
  );
  const argv = fc.array(arg, { maxLength: 6 });

  it('parseArguments(argvToV2Quoted(argv)).argv is argv, and its value is argvToV2(argv)', () => {
    fc.assert(
      fc.property(argv, (a) => {
        const parsed = parseArguments(argvToV2Quoted(a));
        assert.deepEqual(parsed.argv, a);
        assert.equal(parsed.attribute, 'Arguments');
        assert.equal(parsed.value, argvToV2(a));
      }),
      { numRuns: RUNS },
    );
  });

  it('splitArgsV2Raw(argvToV2(argv)) is argv', () => {
    fc.assert(fc.property(argv, (a) => assert.deepEqual(splitArgsV2Raw(argvToV2(a)), a)), { numRuns: RUNS });
  });

  it('argvToV1Wacked round-trips through parseArguments whenever V1 can express argv', () => {
    fc.assert(
      fc.property(argv, (a) => {
        const v1 = argvToV1Wacked(a);
        if (v1 === undefined || a.length === 0) return;
        assert.deepEqual(parseArguments(v1), { attribute: 'Args', value: argvToV1(a), argv: a });
      }),
      { numRuns: RUNS },
    );
  });

  it('the ad value re-parses to the same argv (both syntaxes), and parsing fails only with ValueError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', "'", '"', '\\', '\t'), maxLength: 12 }), (value) => {
        let parsed;
        try {
          parsed = parseArguments(value);
        } catch (e) {
          assert.ok(e instanceof ValueError);
          assert.ok(e.offset >= 0 && e.offset < value.length, `offset ${e.offset} in ${JSON.stringify(value)}`);
          return;
        }
        const again = parsed.attribute === 'Args' ? splitArgsV1Raw(parsed.value) : splitArgsV2Raw(parsed.value);
        assert.deepEqual(again, parsed.argv);
      }),
      { numRuns: RUNS },
    );
  });
});
