import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expand, referencedMacros, toInteger, toReal, type ExpandContext, type MacroLookup } from './macros.ts';
import { ValueError } from './submit-error.ts';

/** A case-insensitive table, as the submit reader keeps one. */
function table(defs: Record<string, string>): MacroLookup {
  const map = new Map(Object.entries(defs).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => map.get(name.toLowerCase()) };
}

/** Random numbers from a fixed sequence; counts the calls. */
function sequence(...values: number[]): (() => number) & { calls: number } {
  const f = Object.assign(() => values[f.calls++ % values.length]!, { calls: 0 });
  return f;
}

function context(random: () => number = () => 0, env: Record<string, string | undefined> = {}, cwd?: string): ExpandContext {
  return cwd === undefined ? { env, random } : { env, random, cwd };
}

const DEFS = table({
  a: 'A',
  b: 'B',
  empty: '',
  nested: 'x$(b)y',
  toEmpty: '$(nope)',
  X: '2',
  Y: '6',
  XYArea: '$(X) * $(Y)',
  Name: 'abcdef',
  idx: '1',
  list: 'p, q ,r',
  withMacro: '$(a),z',
  file: '/tmp/dir/sim.exe',
  dir: '/data',
  file2: '$(dir)/in.txt',
  quoted: '"/q/file.txt"',
  dollarRef: '$(DOLLAR)(a)',
  matchTime: '$$(Memory)',
  max: '3',
  FULL_HOSTNAME: 'host.DOMAIN',
  LCFullHostname: 'toLower("$(FULL_HOSTNAME)")',
  slist: '"a,B,c"',
  lcslist: 'tolower($(slist))',
  splitList: 'split($(slist))',
  clist: 'size($(splitList)) * 10',
  semilist: 'join(";",split($(lcslist)))',
  half: '1.5',
  r1: '$(r2)',
  r2: '$(r1)',
  self: 'x $(self)',
  viaInt: '$INT(viaInt)',
  viaDefault: '$(nope:$(viaDefault))',
  viaFile: '$Fn(viaFile)',
  left: '$(base)',
  right: '$(base)',
  base: 'B',
  diamond: '$(left)$(right)',
  bad: '$INT(zz)',
  mid: '$(bad)',
  open: 'oops $(',
  rnd: '$RANDOM_INTEGER(1, 2)',
  usesRnd: '<$(rnd)>',
});

function ok(text: string, expected: string, ctx: ExpandContext = context()): void {
  assert.equal(expand(text, DEFS, ctx).text, expected);
}

function fails(text: string, message: RegExp, offset: number, ctx: ExpandContext = context()): void {
  assert.throws(
    () => expand(text, DEFS, ctx),
    (e: unknown) => {
      assert.ok(e instanceof ValueError, `not a ValueError: ${String(e)}`);
      assert.match(e.message, message);
      assert.equal(e.offset, offset, `offset for ${e.message}`);
      return true;
    },
  );
}

function table2(cases: readonly (readonly [string, string])[], ctx?: ExpandContext): void {
  for (const [text, expected] of cases) {
    it(`${text} -> ${JSON.stringify(expected)}`, () => ok(text, expected, ctx));
  }
}

describe('$(name)', () => {
  table2([
    ['no macros here', 'no macros here'],
    ['$(a)', 'A'],
    ['[$(a)]', '[A]'],
    ['$(A)', 'A'],
    ['$(a)$(b)$(a)', 'ABA'],
    ['$(nested)', 'xBy'],
    ['$(undefinedName)', ''],
    ['<$(undefinedName)>', '<>'],
    ['$()', ''],
    ['$(empty)', ''],
    ['$(toEmpty)', ''],
    ['$(diamond)', 'BB'],
    ['$(file2)', '/data/in.txt'],
  ]);
});

describe('$(name:default)', () => {
  table2([
    ['$(nope:dflt)', 'dflt'],
    ['$(empty:dflt)', 'dflt'],
    ['$(a:dflt)', 'A'],
    // the raw value is not empty, so the default is not used even though it expands to nothing
    ['$(toEmpty:dflt)', ''],
    ['$(nope:)', ''],
    ['$(nope:$(b))', 'B'],
    ['$(nope:$(nope2:deep))', 'deep'],
    ['$(nope:a b,c\\d:e)', 'a b,c\\d:e'],
    ['$(nope:/tmp/x.txt)', '/tmp/x.txt'],
    ['$(nope:(x))', '(x)'],
    // characters HTCondor does not allow in a default leave the text literal
    ['$(nope:-1)', '$(nope:-1)'],
    ['$(nope:"q")', '$(nope:"q")'],
  ]);
});

describe('text that is not a macro stays literal', () => {
  table2([
    ['$', '$'],
    ['cost $5', 'cost $5'],
    ['ends with $', 'ends with $'],
    ['$a', '$a'],
    ['$ (a)', '$ (a)'],
    ['$(a b)', '$(a b)'],
    ['$((1+2))', '$((1+2))'],
    ['$(a-b)', '$(a-b)'],
    ['$(a b) $(a)', '$(a b) A'],
    ['$UNKNOWN(a)', '$UNKNOWN(a)'],
    ['$int(3)', '$int(3)'],
    ['$env(HOME)', '$env(HOME)'],
    ['$fn(file)', '$fn(file)'],
    ['$FOO(file)', '$FOO(file)'],
    ['$(a)(b)', 'A(b)'],
  ]);
});

describe('$(DOLLAR) and $$()', () => {
  table2([
    ['$(DOLLAR)', '$'],
    ['$(dollar)', '$'],
    ['$(DOLLAR)(a)', '$(a)'],
    ['$(DOLLAR)$(DOLLAR)', '$$'],
    ['$(DOLLAR)(DOLLAR)', '$(DOLLAR)'],
    ['$(DOLLAR:x)', 'x'],
    ['$(dollar) is $(a)', '$ is A'],
    ['$(nope:$(DOLLAR))', '$'],
    ['$$(Memory)', '$$(Memory)'],
    ['$$(Memory:1024)', '$$(Memory:1024)'],
    ['$$([TARGET.Memory * 2])', '$$([TARGET.Memory * 2])'],
    ['$$(DOLLARDOLLAR)', '$$(DOLLARDOLLAR)'],
    ['$$(DOLLAR)', '$$(DOLLAR)'],
    ['$$(a)$(a)', '$$(a)A'],
    ['$$$(a)', '$$A'],
    ['$$([ $(a) + 1 ])', '$$([ A + 1 ])'],
    ['$(matchTime)', '$$(Memory)'],
    ['$(dollar)', '$'],
  ]);
  it('a $(DOLLAR) in a value becomes $ without being expanded again', () => ok('$(dollarRef)', '$(a)'));
  it('a value holding $(DOLLAR)(a)', () => {
    assert.equal(expand('$(x)', table({ x: '$(DOLLAR)(a)', a: 'A' }), context()).text, '$(a)');
  });
});

describe('$ENV()', () => {
  const env = { HOME: '/home/u', EMPTY: '', REF: '$(a)', LOOP: '$ENV(LOOP)' };
  const ctx = context(() => 0, env);
  table2(
    [
      ['$ENV(HOME)', '/home/u'],
      ['$ENV(HOME)/x', '/home/u/x'],
      ['$ENV(NOPE)', 'UNDEFINED'],
      ['$ENV(NOPE:dflt)', 'dflt'],
      ['$ENV(NOPE:$(a))', 'A'],
      ['$ENV(EMPTY)', ''],
      ['$ENV(EMPTY:dflt)', 'dflt'],
      ['$ENV(HOME:dflt)', '/home/u'],
      ['$ENV(REF)', 'A'],
      ['$ENV(HO ME)', '$ENV(HO ME)'],
    ],
    ctx,
  );
  it('does not count environment variables as macros', () => {
    assert.deepEqual([...expand('$ENV(HOME)', DEFS, ctx).used], []);
  });
  it('detects a variable whose value refers to itself', () => fails('$ENV(LOOP)', /recursive.*\$ENV\(LOOP\) -> \$ENV\(LOOP\)/, 0, ctx));
});

describe('$RANDOM_INTEGER()', () => {
  const cases: [text: string, random: number, expected: string][] = [
    ['$RANDOM_INTEGER(0, 8, 2)', 0, '0'],
    ['$RANDOM_INTEGER(0, 8, 2)', 0.5, '4'],
    ['$RANDOM_INTEGER(0, 8, 2)', 0.999, '8'],
    ['$RANDOM_INTEGER(0,10,3)', 0.999, '9'],
    ['$RANDOM_INTEGER(1,1)', 0.7, '1'],
    ['$RANDOM_INTEGER(-5,-1)', 0, '-5'],
    ['$RANDOM_INTEGER(-5,-1)', 0.999, '-1'],
    ['$RANDOM_INTEGER(1, 6)', 0.5, '4'],
    ['$RANDOM_INTEGER( 1 , 6 , 1 )', 0, '1'],
    ['$RANDOM_INTEGER(0, $(max))', 0.999, '3'],
  ];
  for (const [text, r, expected] of cases) {
    it(`${text} with random ${r} -> ${expected}`, () => {
      const e = expand(text, DEFS, context(() => r));
      assert.equal(e.text, expected);
      assert.equal(e.random, true);
    });
  }
  it('draws once per expansion', () => {
    const random = sequence(0, 0.999);
    assert.equal(expand('$RANDOM_INTEGER(1,2) $RANDOM_INTEGER(1,2)', DEFS, context(random)).text, '1 2');
    assert.equal(random.calls, 2);
  });
  const errors: [string, RegExp][] = [
    ['$RANDOM_INTEGER(a, 1)', /invalid min 'a'/],
    ['$RANDOM_INTEGER(1)', /invalid max ''/],
    ['$RANDOM_INTEGER()', /invalid min ''/],
    ['$RANDOM_INTEGER(1.5, 2)', /invalid min/],
    ['$RANDOM_INTEGER(5, 1)', /min 5 is greater than max 1/],
    ['$RANDOM_INTEGER(0, 8, 0)', /invalid step '0'/],
    ['$RANDOM_INTEGER(0, 8, x)', /invalid step 'x'/],
    ['$RANDOM_INTEGER(0, 8, )', /invalid step ''/],
    ['$RANDOM_INTEGER(0, 8, 1, 2)', /4 arguments/],
  ];
  for (const [text, message] of errors) {
    it(`${text} fails`, () => fails(`x ${text}`, message, 2));
  }
});

describe('$RANDOM_CHOICE()', () => {
  const cases: [text: string, random: number, expected: string][] = [
    ['$RANDOM_CHOICE(a,b,c)', 0, 'a'],
    ['$RANDOM_CHOICE(a,b,c)', 0.5, 'b'],
    ['$RANDOM_CHOICE(a,b,c)', 0.999, 'c'],
    ['$RANDOM_CHOICE( a , b )', 0.999, 'b'],
    ['$RANDOM_CHOICE(0,1,2,3,4,5,6,7,8)', 0.5, '4'],
    ['$RANDOM_CHOICE(a,,c)', 0.5, ''],
    ['$RANDOM_CHOICE(list)', 0.5, 'q'],
    ['$RANDOM_CHOICE(list)', 0.999, 'r'],
    ['$RANDOM_CHOICE(onlyItem)', 0.5, 'onlyItem'],
    ['$RANDOM_CHOICE($(a),z)', 0, 'A'],
    ['$RANDOM_CHOICE(withMacro)', 0, 'A'],
    ['$RANDOM_CHOICE(f(1,2),g)', 0, 'f(1,2)'],
    ['$RANDOM_CHOICE("x,y",z)', 0, '"x,y"'],
  ];
  for (const [text, r, expected] of cases) {
    it(`${text} with random ${r} -> ${JSON.stringify(expected)}`, () => {
      const e = expand(text, DEFS, context(() => r));
      assert.equal(e.text, expected);
      assert.equal(e.random, true);
    });
  }
  it('needs a list', () => fails('$RANDOM_CHOICE( )', /no list/, 0));
});

describe('$CHOICE()', () => {
  table2([
    ['$CHOICE(0, a, b, c)', 'a'],
    ['$CHOICE(2,a,b,c)', 'c'],
    ['$CHOICE(idx, a, b, c)', 'b'],
    ['$CHOICE(1+1, a, b, c)', 'c'],
    ['$CHOICE(0, list)', 'p'],
    ['$CHOICE(1, list)', 'q'],
    ['$CHOICE(idx, list)', 'q'],
    ['$CHOICE(0, withMacro)', 'A'],
    ['$CHOICE(0, $(a), z)', 'A'],
    ['$CHOICE(1, a, , c)', ''],
    ['$CHOICE($(idx), x, y)', 'y'],
  ]);
  const errors: [string, RegExp][] = [
    ['$CHOICE(0)', /expected an index and a list/],
    ['$CHOICE(3, a, b, c)', /index 3 is out of range: the list has 3 items/],
    ['$CHOICE(3, list)', /index 3 is out of range: 'list' has 3 items/],
    ['$CHOICE(-1, a, b)', /'-1' is not a valid index/],
    ['$CHOICE(zz, a, b)', /'zz' is not a valid index/],
    ['$CHOICE(0, noSuchList)', /no list named 'noSuchList'/],
    ['$CHOICE(0, )', /no list/],
  ];
  for (const [text, message] of errors) {
    it(`${text} fails`, () => fails(text, message, 0));
  }
  it('is not random', () => assert.equal(expand('$CHOICE(0, a, b)', DEFS, context()).random, false));
});

describe('$SUBSTR()', () => {
  table2([
    ['$SUBSTR(Name, 2)', 'cdef'],
    ['$SUBSTR(Name, 0, -2)', 'abcd'],
    ['$SUBSTR(Name, 1, 3)', 'bcd'],
    ['$SUBSTR(Name, -1)', 'f'],
    ['$SUBSTR(Name, 4, -3)', ''],
    ['$SUBSTR(Name, -100)', 'abcdef'],
    ['$SUBSTR(Name, 100)', ''],
    ['$SUBSTR(Name, 2, 100)', 'cdef'],
    ['$SUBSTR(Name, idx, idx)', 'b'],
    ['$SUBSTR(Name, 1+1)', 'cdef'],
    ['$SUBSTR(nested, 1, 1)', 'B'],
    ['$SUBSTR(literal, 3)', 'eral'],
    ['$SUBSTR(empty, 1)', ''],
    ['$SUBSTR($(Name)$(Name), 5, 2)', 'fa'],
  ]);
  const errors: [string, RegExp][] = [
    ['$SUBSTR(Name)', /expected a name, a start index/],
    ['$SUBSTR(Name, 1, 2, 3)', /expected a name, a start index/],
    ['$SUBSTR(Name, zz)', /start 'zz' is not a valid integer/],
    ['$SUBSTR(Name, 1, qq)', /length 'qq' is not a valid integer/],
    ['$SUBSTR(Name, 99999999999)', /start '99999999999'/],
  ];
  for (const [text, message] of errors) {
    it(`${text} fails`, () => fails(text, message, 0));
  }
});

describe('$INT()', () => {
  table2([
    ['$INT(XYArea)', '12'],
    ['$INT(XYArea,%04d)', '0012'],
    ['$INT(XYArea,Area=%d)', 'Area=12'],
    ['$INT(XYArea, %d)', ' 12'],
    ['$INT(7)', '7'],
    ['$INT( 7 )', '7'],
    ['$INT(-7)', '-7'],
    ['$INT(7/2)', '3'],
    ['$INT(3.9)', '3'],
    ['$INT(-3.9)', '-3'],
    ['$INT(true)', '1'],
    ['$INT(half)', '1'],
    ['$INT((1+2)*3)', '9'],
    ['$INT($(X)*10)', '20'],
    ['$INT(ifThenElse(1 > 0, 5, 6))', '5'],
    ['$INT(ifThenElse(1 > 0, 5, 6),%03d)', '005'],
    ['$INT(size({1,2,3}))', '3'],
    ['$INT(size({1,2,3}),[%d])', '[3]'],
    ['$INT(9223372036854775807)', '9223372036854775807'],
    ['$INT(255,%x)', 'ff'],
    ['$INT(255,%#X)', '0XFF'],
    ['$INT(8,%o)', '10'],
    ['$INT(-1,%u)', '18446744073709551615'],
    ['$INT(12,%5d)', '   12'],
    ['$INT(12,%-5d|)', '12   |'],
    ['$INT(12,%+d)', '+12'],
    ['$INT(12,% d)', ' 12'],
    ['$INT(-12,%05d)', '-0012'],
    ['$INT(12,%.4d)', '0012'],
    ['$INT(12,%%%d%%)', '%12%'],
    ['$INT(12,%lld)', '12'],
    ['$INT(12,%ld items)', '12 items'],
    ['$INT(12,a%ib)', 'a12b'],
    ['$INT(size(strcat(")", ",")))', '2'],
  ]);
  const errors: [string, RegExp][] = [
    ['$INT(abc)', /\$INT\(\): 'abc' does not evaluate to an integer/],
    ['$INT("s")', /does not evaluate to an integer/],
    ['$INT()', /'' does not evaluate to an integer/],
    ['$INT(Name)', /'abcdef' does not evaluate/],
    ['$INT(X,%f)', /'%f' is not a valid format/],
    ['$INT(X,%s)', /'%s' is not a valid format/],
    ['$INT(X,%d%d)', /not a valid format/],
    ['$INT(X,abc)', /'abc' is not a valid format/],
    ['$INT(X,%)', /not a valid format/],
  ];
  for (const [text, message] of errors) {
    it(`${text} fails`, () => fails(text, message, 0));
  }
});

describe('$REAL()', () => {
  table2([
    ['$REAL(XYArea)', '12'],
    ['$REAL(0.1)', '0.1'],
    ['$REAL(half)', '1.5'],
    ['$REAL(1/3.0)', '0.3333333333333333'],
    ['$REAL(2/3.0)', '0.6666666666666666'],
    ['$REAL(1e20)', '1E+20'],
    ['$REAL(1.5e-7)', '1.5E-07'],
    ['$REAL(-2.5)', '-2.5'],
    ['$REAL(true)', '1'],
    ['$REAL(3,%.2f)', '3.00'],
    ['$REAL(3,%.0f)', '3.0'],
    ['$REAL(2.5,%e)', '2.500000e+00'],
    ['$REAL(2.5,%E)', '2.500000E+00'],
    ['$REAL(100,%g)', '100.0'],
    ['$REAL(0.0001234,%G)', '0.0001234'],
    ['$REAL(1234567,%g)', '1.23457e+06'],
    ['$REAL(3.14159,%8.3f)', '   3.142'],
    ['$REAL(3.14159,%-8.2f|)', '3.14    |'],
    ['$REAL(3.14159,%+.1f)', '+3.1'],
    ['$REAL(3.14159,%08.2f)', '00003.14'],
    ['$REAL(1e22,%.1f)', '10000000000000000000000.0'],
    ['$REAL(2,Pi is about %.1f)', 'Pi is about 2.0'],
  ]);
  const errors: [string, RegExp][] = [
    ['$REAL(abc)', /\$REAL\(\): 'abc' does not evaluate to a real/],
    ['$REAL("x")', /does not evaluate to a real/],
    ['$REAL(1,%d)', /'%d' is not a valid format/],
  ];
  for (const [text, message] of errors) {
    it(`${text} fails`, () => fails(text, message, 0));
  }
});

describe('$STRING()', () => {
  table2([
    ['$STRING(LCFullHostname)', 'host.domain'],
    ['$STRING(LCFullHostname,Name: %s)', 'Name: host.domain'],
    ['$STRING(XYArea)', '2 * 6'],
    ['$STRING(Name)', 'abcdef'],
    ['$STRING("quoted")', 'quoted'],
    ['$STRING(Name,[%10s])', '[    abcdef]'],
    ['$STRING(Name,[%-8s])', '[abcdef  ]'],
    ['$STRING(Name,%.3s)', 'abc'],
    ['$STRING(strcat("a,", "b"))', 'a,b'],
  ]);
  it('rejects a format that is not %s', () => fails('$STRING(Name,%d)', /'%d' is not a valid format/, 0));
});

describe('$EVAL()', () => {
  table2([
    ['$EVAL(slist)', 'a,B,c'],
    ['$EVAL(lcslist)', 'a,b,c'],
    ['$EVAL(splitList)', '{ "a","B","c" }'],
    ['$EVAL(clist)', '30'],
    ['$EVAL(semilist)', 'a;b;c'],
    ['$EVAL(XYArea)', '12'],
    ['$EVAL(1+2)', '3'],
    ['$EVAL(1 == 1)', 'true'],
    ['$EVAL(strcat("(", ")"))', '()'],
    ['$EVAL(undefinedAttr)', 'undefined'],
    ['$EVAL(a b c)', 'a b c'],
  ]);
});

describe('$F...(), $BASENAME(), $DIRNAME()', () => {
  table2([
    ['$F(file)', '/tmp/dir/sim.exe'],
    ['$Fn(file)', 'sim'],
    ['$Fx(file)', '.exe'],
    ['$Fxb(file)', 'exe'],
    ['$Fnx(file)', 'sim.exe'],
    ['$Fp(file)', '/tmp/dir/'],
    ['$Fpn(file)', '/tmp/dir/sim'],
    ['$Fd(file)', 'dir/'],
    ['$Fdb(file)', 'dir'],
    ['$Fq(file)', '"/tmp/dir/sim.exe"'],
    ['$Fqa(file)', "'/tmp/dir/sim.exe'"],
    ['$FNX(file)', 'sim.exe'],
    ['$Fnx( file )', 'sim.exe'],
    ['$Fn(file2)', 'in'],
    ['$Fp(file2)', '/data/'],
    ['$Fn(quoted)', 'file'],
    ['$Fq(quoted)', '"/q/file.txt"'],
    ['$BASENAME(file)', 'sim.exe'],
    ['$DIRNAME(file)', '/tmp/dir/'],
    ['$Fn(noSuchMacro)', ''],
    ['$Fn(/tmp/literal.exe)', ''],
    ['$(Fn)', ''],
    ['out.$Fn(file).log', 'out.sim.log'],
  ]);
  it('makes a full path with f against the context directory', () => {
    assert.equal(expand('$Ff(r)', table({ r: 'in/x.txt' }), context(() => 0, {}, '/home/u')).text, '/home/u/in/x.txt');
    assert.equal(expand('$Ffp(r)', table({ r: 'x.txt' }), context(() => 0, {}, '/home/u')).text, '/home/u/');
    assert.equal(expand('$Ff(r)', table({ r: 'x.txt' }), context()).text, 'x.txt');
  });
  it('records the name as used even when it is undefined', () => {
    assert.deepEqual([...expand('$Fn(noSuchMacro)', DEFS, context()).used], ['nosuchmacro']);
  });
});

describe('recursion', () => {
  it('names the chain of a mutual recursion', () => fails('$(r1)', /recursive macro definition: r1 -> r2 -> r1/, 0));
  it('names a self reference', () => fails('$(self)', /recursive macro definition: self -> self/, 0));
  it('points at the top-level macro that started it', () => fails('xx $(a) $(r2)', /r2 -> r1 -> r2/, 8));
  it('is found through function arguments', () => fails('$INT(viaInt)', /viaInt -> viaInt/, 0));
  it('is found through defaults', () => fails('$(viaDefault)', /viaDefault -> viaDefault/, 0));
  it('is found through $F', () => fails('$Fn(viaFile)', /viaFile -> viaFile/, 0));
  it('is not reported for repeated or shared references', () => {
    ok('$(a)$(a)$(nested)$(nested)', 'AAxByxBy');
    ok('$(diamond)$(diamond)', 'BBBB');
  });
  it('refuses runaway doubling definitions', () => {
    const defs: Record<string, string> = { d0: 'xxxx' };
    for (let i = 1; i <= 24; i++) defs[`d${i}`] = `$(d${i - 1})$(d${i - 1})`;
    assert.throws(() => expand('$(d24)', table(defs), context()), /longer than/);
  });
});

describe('errors', () => {
  const cases: [text: string, message: RegExp, offset: number][] = [
    ['$(', /unterminated macro \$\(: no closing '\)'/, 0],
    ['abc $(', /unterminated macro \$\(/, 4],
    ['abc $(name', /unterminated macro \$\(/, 4],
    ['$(name:def', /unterminated/, 0],
    ['$(name:$(x)', /unterminated/, 0],
    ['$(a) $(name:(x', /unterminated/, 5],
    ['x $INT(', /unterminated macro \$INT\(: no closing/, 2],
    ['$INT((1+2)', /unterminated macro \$INT\(/, 0],
    ['$INT(")', /unterminated/, 0],
    ['$ENV(HOME', /unterminated macro \$ENV\(/, 0],
    ['$Fn(file', /unterminated macro \$Fn\(/, 0],
    ['$RANDOM_CHOICE(a,b', /unterminated macro \$RANDOM_CHOICE\(/, 0],
    ['ok $(open)', /unterminated macro \$\(: no closing '\)' \(in the value of open\)/, 3],
    ['pre $(mid)', /\$INT\(\): 'zz' does not evaluate to an integer \(in the value of mid -> bad\)/, 4],
  ];
  for (const [text, message, offset] of cases) {
    it(`${JSON.stringify(text)} fails at ${offset}`, () => fails(text, message, offset));
  }
  it('throws ValueError, not a generic Error', () => {
    assert.throws(() => expand('$(', DEFS, context()), ValueError);
  });
});

describe('used and random', () => {
  const cases: [text: string, used: string[], random: boolean][] = [
    ['plain', [], false],
    ['$(A)', ['a'], false],
    ['$(nested)', ['nested', 'b'], false],
    ['$(nope:$(b))', ['nope', 'b'], false],
    ['$(a:$(b))', ['a'], false],
    ['$(XYArea)', ['xyarea', 'x', 'y'], false],
    ['$INT(XYArea)', ['xyarea', 'x', 'y'], false],
    ['$INT(7)', [], false],
    ['$CHOICE(idx, list)', ['idx', 'list'], false],
    ['$SUBSTR(Name, idx)', ['name', 'idx'], false],
    ['$(DOLLAR)', [], false],
    ['$$(Memory)', [], false],
    ['$RANDOM_INTEGER(1,2)', [], true],
    ['$RANDOM_CHOICE(list)', ['list'], true],
    ['$(usesRnd)', ['usesrnd', 'rnd'], true],
    ['$(undefinedThing)', ['undefinedthing'], false],
  ];
  for (const [text, used, random] of cases) {
    it(`${text}: used ${JSON.stringify(used)}, random ${random}`, () => {
      const e = expand(text, DEFS, context(() => 0.5));
      assert.deepEqual([...e.used].sort(), [...used].sort());
      assert.equal(e.random, random);
    });
  }
  it('keeps text without "$" as the same string', () => {
    const s = 'no dollars at all';
    assert.equal(expand(s, DEFS, context()).text, s);
  });
  it('gives the same result for the same input (no hidden state)', () => {
    for (let i = 0; i < 3; i++) ok('$(nested) $INT(XYArea,%03d) $Fn(file)', 'xBy 012 sim');
  });
});

describe('toInteger / toReal', () => {
  const ints: [string, bigint | undefined][] = [
    ['12', 12n],
    [' -3 ', -3n],
    ['+4', 4n],
    ['2*3', 6n],
    ['3.7', 3n],
    ['false', 0n],
    ['99999999999999999999', 9223372036854775807n],
    ['"x"', undefined],
    ['', undefined],
    ['1 +', undefined],
  ];
  for (const [text, expected] of ints) it(`toInteger(${JSON.stringify(text)}) = ${expected}`, () => assert.equal(toInteger(text), expected));
  const reals: [string, number | undefined][] = [
    ['1.5', 1.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['3', 3],
    ['1/4.0', 0.25],
    ['true', 1],
    ['x', undefined],
  ];
  for (const [text, expected] of reals) it(`toReal(${JSON.stringify(text)}) = ${expected}`, () => assert.equal(toReal(text), expected));
});

describe('referencedMacros', () => {
  const cases: [text: string, names: string[]][] = [
    ['plain', []],
    ['$(a)', ['a']],
    ['$(A) $(a) $(B)', ['a', 'b']],
    ['$(a:$(b))', ['a', 'b']],
    ['$(nope:$(x:$(y)))', ['nope', 'x', 'y']],
    ['$(DOLLAR) $$(Memory) $$([ $(m) ])', ['m']],
    ['$ENV(HOME) $ENV(X:$(d))', ['d']],
    ['$INT(XYArea,%d) $REAL(7) $STRING(s)', ['xyarea', 's']],
    ['$INT($(X)*2)', ['x']],
    ['$EVAL(e)', ['e']],
    ['$Fn(file) $BASENAME(f2) $DIRNAME(f3)', ['file', 'f2', 'f3']],
    ['$CHOICE(i, list)', ['i', 'list']],
    ['$CHOICE(0, a, $(b))', ['b']],
    ['$RANDOM_CHOICE(list)', ['list']],
    ['$RANDOM_CHOICE(a, $(b))', ['b']],
    ['$RANDOM_INTEGER(0, $(max))', ['max']],
    ['$SUBSTR(Name, start, len)', ['name', 'start', 'len']],
    ['$(a b) $((x))', []],
  ];
  for (const [text, names] of cases) {
    it(`${text} -> ${JSON.stringify(names)}`, () => assert.deepEqual(referencedMacros(text), names));
  }
  it('reports an unterminated macro with its offset', () => {
    assert.throws(
      () => referencedMacros('ok $(a:$(b)'),
      (e: unknown) => e instanceof ValueError && e.offset === 3,
    );
    assert.throws(
      () => referencedMacros('$INT($(b)'),
      (e: unknown) => e instanceof ValueError && e.offset === 0,
    );
  });
});
