/**
 * Printing values and trees in new syntax (HTCondor's ClassAdUnParser) and
 * old syntax (condor_q -long), facts sheet §3.2, §3.3, §4.1, §6.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbsTime, ClassAd, ERROR, ListValue, Real, RelTime, UNDEFINED,
  evaluate, parseClassAd, parseExpression, parseOldClassAd, printClassAd, printName, printOldClassAd, printReal,
  printString, printValue, unparse,
} from './index.ts';
import { HtcError } from '../errors.ts';
import { ad } from './test-support.ts';

const reprint = (text: string, syntax: 'new' | 'old' = 'new'): string => unparse(parseExpression(text), syntax);

describe('new syntax: values (§3.2)', () => {
  it('reals as %1.15E; zeros as 0.0 and -0.0', () => {
    const cases: [number, string][] = [
      [1.5, '1.500000000000000E+00'],
      [100, '1.000000000000000E+02'],
      [-0.1, '-1.000000000000000E-01'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1e300, '1.000000000000000E+300'],
      [1e-300, '1.000000000000000E-300'],
      [123456789.125, '1.234567891250000E+08'],
      [5e-324, '4.940656458412465E-324'],
      [1.7976931348623157e308, '1.7976931348623157E+308'], // 16 digits would round up to infinity
    ];
    for (const [x, text] of cases) assert.equal(printValue(new Real(x)), text, String(x));
  });
  it('17 significant digits where 16 would not read back the same (deliberate deviation)', () => {
    assert.equal(printReal(0.1 + 0.2), '3.0000000000000004E-01');
    assert.equal(Number(printReal(0.1 + 0.2)), 0.1 + 0.2);
    assert.equal(printReal(1.7976931348623157e308), '1.7976931348623157E+308');
    assert.equal(printReal(2.5), '2.500000000000000E+00'); // 16 digits read back: no 17th
  });
  it('INF and NaN', () => {
    assert.equal(printValue(new Real(Infinity)), 'real("INF")');
    assert.equal(printValue(new Real(-Infinity)), 'real("-INF")');
    assert.equal(printValue(new Real(NaN)), 'real("NaN")');
    assert.equal(printValue(evaluate('-7.0 / 0')), 'real("-INF")');
    assert.equal(printValue(evaluate('0.0 / 0')), 'real("NaN")');
  });
  it('integers, booleans, undefined, error', () => {
    assert.equal(printValue(-5), '-5');
    assert.equal(printValue(9223372036854775807n), '9223372036854775807');
    assert.equal(printValue(-9223372036854775808n), '-9223372036854775808');
    assert.equal(printValue(true), 'true');
    assert.equal(printValue(false), 'false');
    assert.equal(printValue(UNDEFINED), 'undefined');
    assert.equal(printValue(ERROR), 'error');
  });
  it('strings: escapes for " \\ and control characters, octal for the rest; \' kept', () => {
    assert.equal(printString('plain'), '"plain"');
    assert.equal(printString('say "hi"'), String.raw`"say \"hi\""`);
    assert.equal(printString('back\\slash'), String.raw`"back\\slash"`);
    assert.equal(printString('a\nb\tc\rd'), String.raw`"a\nb\tc\rd"`);
    assert.equal(printString('\x07\b\f\v'), String.raw`"\a\b\f\v"`);
    assert.equal(printString('\x01'), String.raw`"\001"`);
    assert.equal(printString('\x1f'), String.raw`"\037"`);
    assert.equal(printString('\x7f'), String.raw`"\177"`);
    assert.equal(printString("it's"), `"it's"`);
    assert.equal(reprint(String.raw`"tab\there"`), String.raw`"tab\there"`);
  });
  it('lists `{ 1,2 }` and ads `[ a = 1; b = 2 ]`, empty ones with two spaces', () => {
    assert.equal(printValue(new ListValue([1, 2, 3])), '{ 1,2,3 }');
    assert.equal(printValue(new ListValue([])), '{  }');
    assert.equal(printValue(new ListValue([new ListValue([1]), 'a'])), '{ { 1 },"a" }');
    assert.equal(printValue(evaluate('[a=1;b="x"]')), '[ a = 1; b = "x" ]');
    assert.equal(printValue(evaluate('[]')), '[  ]');
    assert.equal(printValue(evaluate('{[a=1],[a=2],[b=3]}.a')), '{ 1,2,undefined }');
  });
  it('absolute times: wall time at the stored offset; a zero offset prints -00:00 (§3.2)', () => {
    assert.equal(printValue(new AbsTime(0, 0)), 'absTime("1970-01-01T00:00:00-00:00")');
    assert.equal(printValue(new AbsTime(1577934245, 3600)), 'absTime("2020-01-02T04:04:05+01:00")');
    assert.equal(printValue(new AbsTime(0, -18000)), 'absTime("1969-12-31T19:00:00-05:00")');
    assert.equal(printValue(new AbsTime(1577934245, 19800)), 'absTime("2020-01-02T08:34:05+05:30")');
  });
  it('relative times: [-][D+]HH:MM:SS with leading zero fields dropped (§3.2)', () => {
    const cases: [number, string][] = [
      [90, '01:30'],
      [5, '05'],
      [0, '00'],
      [3700, '01:01:40'],
      [86401, '1+00:00:01'],
      [2 * 86400 + 3 * 3600 + 4 * 60 + 5, '2+03:04:05'],
      [-90, '-01:30'],
      [-86401, '-1+00:00:01'],
      [3600, '01:00:00'],
    ];
    for (const [s, text] of cases) assert.equal(printValue(new RelTime(s)), `relTime("${text}")`, String(s));
  });
  it('fractional relative-time seconds print with %02g (§3.2)', () => {
    assert.equal(printValue(new RelTime(1.5)), 'relTime("1.5")');
    assert.equal(printValue(new RelTime(61.5)), 'relTime("01:1.5")');
    assert.equal(printValue(new RelTime(12.25)), 'relTime("12.25")');
  });
});

describe('new syntax: expressions (§3.2, §6)', () => {
  const cases: [string, string][] = [
    ['1.5', '1.500000000000000E+00'],
    ['{1, 2,3}', '{ 1,2,3 }'],
    ['{}', '{  }'],
    ['[a=1;b="x"]', '[ a = 1; b = "x" ]'],
    ['[]', '[  ]'],
    ['a=?=b', 'a is b'],
    ['a=!=b', 'a isnt b'],
    ['a is b', 'a is b'],
    ['a ISNT b', 'a isnt b'],
    ['(a+b)*c', '(a + b) * c'],
    ['((a))', '((a))'],
    ['a+(b)', 'a + (b)'],
    ['a+b*c', 'a + b * c'],
    ['x&&!y', 'x &&  !y'],
    ['-x', ' -x'],
    ['~x', ' ~x'],
    ['+x', ' +x'],
    ['- 5', ' -5'],
    ['-5', '-5'],
    ['x-5', 'x - 5'],
    ['a*-b', 'a *  -b'],
    ['c?a:b', 'c ? a : b'],
    ['a?:b', 'a ?: b'],
    ['f(1, 2,3)', 'f(1,2,3)'],
    ['StrCat("a", x)', 'StrCat("a",x)'],
    ['f()', 'f()'],
    ['a.b', 'a.b'],
    ['a [ 1 ]', 'a[1]'],
    ['.a', '.a'],
    ['MY.x', 'MY.x'],
    ['TARGET . Memory', 'TARGET.Memory'],
    ['a<<b>>c>>>d', 'a << b >> c >>> d'],
    ['a<=b', 'a <= b'],
    ['true', 'true'],
    ['TRUE', 'true'],
    ['Undefined', 'undefined'],
    ['ERROR', 'error'],
    ['"a" "b"', '"ab"'],
    ['1e3', '1.000000000000000E+03'],
    ['  a  //c\n  +  b ', 'a + b'],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} prints as ${JSON.stringify(expected)}`, () => assert.equal(reprint(text), expected));
  }
});

describe('attribute names (§3.2)', () => {
  it('plain names are printed as written, odd ones quoted', () => {
    assert.equal(printName('Memory'), 'Memory');
    assert.equal(printName('_x1'), '_x1');
    assert.equal(printName('my attr'), "'my attr'");
    assert.equal(printName('1abc'), "'1abc'");
    assert.equal(printName('a-b'), "'a-b'");
    assert.equal(printName("a'b"), String.raw`'a\'b'`);
    assert.equal(reprint("'my attr' + x.'y z'"), "'my attr' + x.'y z'");
  });
  it('reserved words are quoted', () => {
    for (const name of ['true', 'false', 'undefined', 'error', 'is', 'isnt', 'parent']) {
      assert.equal(printName(name), `'${name}'`, name);
    }
  });
  it('reserved words in any case are quoted, since keywords are case-insensitive here', () => {
    for (const name of ['TRUE', 'False', 'UNDEFINED', 'Error', 'IS', 'Isnt']) {
      const printed = printName(name);
      assert.notEqual(printed, name, `${name} must be quoted`);
      assert.deepEqual(parseExpression(printed), { kind: 'attr', name, absolute: false }, name);
    }
  });
  it('any name prints as text that parses back to the same name', () => {
    for (const name of ['a b', "it's", 'back\\slash', 'tab\there', 'new\nline', 'quote"d', 'ü', 'a.b']) {
      const printed = printName(name);
      let node;
      try {
        node = parseExpression(printed);
      } catch (e) {
        assert.fail(`${JSON.stringify(name)} printed as ${printed} does not parse: ${String(e)}`);
      }
      assert.deepEqual(node, { kind: 'attr', name, absolute: false }, JSON.stringify(name));
    }
  });
  it('ad keys are quoted the same way', () => {
    const a = new ClassAd().setValue('my attr', 1).setValue('true', 2).setValue('x', 3);
    assert.equal(printClassAd(a), "[ 'my attr' = 1; 'true' = 2; x = 3 ]");
  });
});

describe('time literals in expressions (§3.2)', () => {
  it('absTime("...") / relTime("...") print back in normalised form', () => {
    assert.equal(reprint('relTime("90")'), 'relTime("01:30")');
    assert.equal(reprint('absTime("2020-01-02T03:04:05+01:00")'), 'absTime("2020-01-02T03:04:05+01:00")');
  });
});

describe('old syntax (§3.3)', () => {
  it('reals as %.16G with .0 when it looks like an integer', () => {
    const cases: [number, string][] = [
      [1.5, '1.5'],
      [2, '2.0'],
      [100, '100.0'],
      [0.1, '0.1'],
      [1 / 3, '0.3333333333333333'],
      [1e20, '1E+20'],
      [1e-5, '1E-05'],
      [123456, '123456.0'],
      [-2.5, '-2.5'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1e15, '1000000000000000.0'],
      [1e16, '1E+16'],
      [0.0001, '0.0001'],
      [1.25e-7, '1.25E-07'],
      [Infinity, 'real("INF")'],
      [-Infinity, 'real("-INF")'],
      [NaN, 'real("NaN")'],
    ];
    for (const [x, text] of cases) assert.equal(printValue(new Real(x), 'old'), text, String(x));
  });
  it('17 significant digits where 16 would not read back the same (deliberate deviation)', () => {
    assert.equal(printReal(0.1 + 0.2, 'old'), '0.30000000000000004');
  });
  it('strings escape only the double quote', () => {
    assert.equal(printString('say "hi"', 'old'), String.raw`"say \"hi\""`);
    assert.equal(printString('C:\\temp\\new', 'old'), String.raw`"C:\temp\new"`);
    assert.equal(printString('tab\there', 'old'), '"tab\there"');
  });
  it('=?= and =!= are kept; is and isnt become them', () => {
    assert.equal(reprint('a=?=b', 'old'), 'a =?= b');
    assert.equal(reprint('a=!=b', 'old'), 'a =!= b');
    assert.equal(reprint('a is b', 'old'), 'a =?= b');
    assert.equal(reprint('a isnt b', 'old'), 'a =!= b');
  });
  it('other expressions print as in new syntax, with old-syntax literals inside', () => {
    assert.equal(reprint('x&&!y', 'old'), 'x &&  !y');
    assert.equal(reprint('{1.5, "a"}', 'old'), '{ 1.5,"a" }');
    assert.equal(reprint('[a = 2.0; b = "q\\""]', 'old'), '[ a = 2.0; b = "q\\"" ]');
    assert.equal(reprint('(TARGET.Memory >= 128) && (TARGET.Arch == "X86_64")', 'old'), '(TARGET.Memory >= 128) && (TARGET.Arch == "X86_64")');
  });
  it('a whole ad: one Name = expr line each, newline-terminated (§4.1)', () => {
    const a = parseClassAd('[ Cmd = "/bin/sleep"; RequestMemory = 128; Rank = 0.0; Requirements = (TARGET.Memory >= 128) && (TARGET.Arch == "X86_64") ]');
    assert.equal(
      printOldClassAd(a),
      'Cmd = "/bin/sleep"\nRequestMemory = 128\nRank = 0.0\nRequirements = (TARGET.Memory >= 128) && (TARGET.Arch == "X86_64")\n',
    );
    assert.equal(printOldClassAd(new ClassAd()), '');
  });
  it('a whole ad in new syntax on one line', () => {
    assert.equal(printClassAd(ad('[a=1;b=2.5;c={1,"x"};d=[e=f]]')), '[ a = 1; b = 2.500000000000000E+00; c = { 1,"x" }; d = [ e = f ] ]');
    assert.equal(printClassAd(new ClassAd()), '[  ]');
  });
  it('old-syntax text parses back to the same ad', () => {
    const a = parseOldClassAd('A = 1.5\nB = "x\\"y"\nC = a =?= b\nD = {1, 2.0}\n');
    assert.equal(printOldClassAd(parseOldClassAd(printOldClassAd(a))), printOldClassAd(a));
    assert.equal(printOldClassAd(a), 'A = 1.5\nB = "x\\"y"\nC = a =?= b\nD = { 1,2.0 }\n');
  });
});

describe('printing keeps meaning', () => {
  it('the spaced Elvis prints so that it parses back to the same grouping (§1.9)', () => {
    const five = new ClassAd().setValue('x', 5);
    const original = parseExpression('x ? : 1 + 1');
    const printed = unparse(original);
    assert.equal(printValue(evaluate(original, five)), '5');
    assert.equal(printValue(evaluate(printed, five)), '5', `printed as ${printed}`);
  });
});

describe('old syntax: strings it cannot write (review finding)', () => {
  const refused = (a: ClassAd, name: string, reason: RegExp): void => {
    assert.throws(() => printOldClassAd(a), (e: unknown) => {
      assert.ok(e instanceof HtcError, String(e));
      assert.equal(e.code, 'CLASSAD_INVALID');
      assert.match(e.message, new RegExp(`^attribute ${name} cannot be written in old ClassAd syntax: `));
      assert.match(e.message, reason);
      assert.match(e.message, /use new syntax or JSON$/);
      return true;
    });
  };
  it('old syntax refuses a string it cannot write faithfully, naming the attribute', () => {
    refused(ad('[ a = {"x\\\\", 1} ]'), 'a', /ends with a backslash/);
    refused(ad('[ ok = 1; b = strcat("C:\\\\dir\\\\", "x") ]'), 'b', /ends with a backslash/);
    refused(ad('[ c = "line\\nbreak" ]'), 'c', /newline/);
    refused(ad('[ d = [ e = "x\\ry" ] ]'), 'd', /carriage return/);
    refused(ad("[ 'odd name' = { \"\\n\" } ]"), "'odd name'", /newline/);
    assert.throws(() => printValue('a\nb', 'old'), /cannot be written in old ClassAd syntax/);
    assert.throws(() => unparse(parseExpression('f("x\\\\")'), 'old'), /cannot be written in old ClassAd syntax/);
  });
  it('a string ending in a backslash alone on its line still round-trips (the reader takes \\" at the line end as the close)', () => {
    const a = ad('[ Iwd = "C:\\\\jobs\\\\"; Cmd = "run" ]');
    const text = printOldClassAd(a);
    assert.equal(text, 'Iwd = "C:\\jobs\\"\nCmd = "run"\n');
    assert.equal(printClassAd(parseOldClassAd(text)), printClassAd(a));
  });
  it('strings with a backslash elsewhere, quotes and tabs still print', () => {
    assert.equal(printOldClassAd(ad('[ a = {"x\\\\y", "q\\"", "t\\tu", "\\\\\\"" } ]')), 'a = { "x\\y","q\\"","t\tu","\\\\"" }\n');
  });
});
