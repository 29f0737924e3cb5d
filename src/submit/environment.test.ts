/**
 * The `environment` and `getenv` commands: old (V1) and new (V2) syntax, the
 * attribute and value condor_submit writes (env.cpp: std::map order,
 * join_args quoting, MergeFromV1AutoDelim), errors with offsets, getenv
 * import rules (Env::Import, WhiteBlackEnvFilter) and round trips.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ENV_V1_DELIMITER, formatEnvironmentV1, formatEnvironmentV2, formatEnvironmentV2Quoted, mergeGetenv, parseEnvironment,
  type JobEnvironment,
} from './environment.ts';
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

/** A JobEnvironment as plain data, vars in their Map order. */
function plain(env: JobEnvironment | undefined): unknown {
  return env === undefined ? undefined : { attribute: env.attribute, value: env.value, vars: [...env.vars] };
}

describe('parseEnvironment: old syntax (V1)', () => {
  const cases: [value: string, vars: [string, string][], v2: string][] = [
    ['A=1', [['A', '1']], 'A=1'],
    ['A=1;B=2', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    // Written sorted by name (std::map), kept in given order in vars.
    ['B=2;A=1', [['B', '2'], ['A', '1']], 'A=1 B=2'],
    ['b=1;B=2;_=3', [['b', '1'], ['B', '2'], ['_', '3']], 'B=2 _=3 b=1'],
    // Leading whitespace of an entry is dropped, trailing kept; empty entries skipped.
    ['  A=1 ;  B=2', [['A', '1 '], ['B', '2']], "A=1' ' B=2"],
    ['A=1;;;B=2;', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    ['A=1\nB=2', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    // The value runs to the separator: '=' and quotes are literal, spaces quoted in the V2 output.
    ['URL=a=b;Q="x y"', [['URL', 'a=b'], ['Q', '"x y"']], `Q="x' 'y" URL=a=b`],
    ['A=', [['A', '']], 'A='],
    ["S=it's", [['S', "it's"]], "S=it''''s"],
    // A later entry replaces an earlier one and keeps its place.
    ['A=1;B=2;A=3', [['A', '3'], ['B', '2']], 'A=3 B=2'],
    // A leading permitted delimiter character names the separator.
    ['|A=1|B=x;y', [['A', '1'], ['B', 'x;y']], 'A=1 B=x;y'],
    [',A=1,B=2', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    [';A=1;B=2', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    ['PATH=/bin:/usr/bin;HOME=/h', [['PATH', '/bin:/usr/bin'], ['HOME', '/h']], 'HOME=/h PATH=/bin:/usr/bin'],
  ];
  for (const [value, vars, v2] of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(plain(parseEnvironment(value)), { attribute: 'Environment', value: v2, vars });
    });
  }
});

describe('parseEnvironment: `env = <old syntax>` writes Env (V1)', () => {
  const cases: [value: string, v1: string][] = [
    ['A=1', 'A=1'],
    ['B=2;A=1', 'A=1;B=2'],
    ['A=x y;B="q"', 'A=x y;B="q"'],
    ['|A=1|B=2', 'A=1;B=2'],
  ];
  for (const [value, v1] of cases) {
    it(JSON.stringify(value), () => {
      const env = parseEnvironment(value, { command: 'env' });
      assert.equal(env.attribute, 'Env');
      assert.equal(env.value, v1);
    });
  }
  it('new syntax with `env` still writes Environment', () => {
    assert.deepEqual(plain(parseEnvironment('"A=1"', { command: 'env' })), {
      attribute: 'Environment', value: 'A=1', vars: [['A', '1']],
    });
  });
  it('`environment` (the default) writes Environment for old syntax too', () => {
    assert.equal(parseEnvironment('A=1', { command: 'environment' }).attribute, 'Environment');
  });
  it('the V1 delimiter is ;', () => assert.equal(ENV_V1_DELIMITER, ';'));
});

describe('parseEnvironment: new syntax (V2)', () => {
  const cases: [value: string, vars: [string, string][], v2: string][] = [
    ['"A=1 B=2"', [['A', '1'], ['B', '2']], 'A=1 B=2'],
    ['  "B=2   A=1"  ', [['B', '2'], ['A', '1']], 'A=1 B=2'],
    ['"A=\'x y\'"', [['A', 'x y']], "A=x' 'y"],
    ['"\'A=x y\'"', [['A', 'x y']], "A=x' 'y"],
    ['"A=\'it\'\'s\'"', [['A', "it's"]], "A=it''''s"],
    ['"A=""q"""', [['A', '"q"']], 'A="q"'],
    ['"A=;B"', [['A', ';B']], 'A=;B'],
    ['"A= B=2"', [['A', ''], ['B', '2']], 'A= B=2'],
    ['"A=\'\'"', [['A', '']], 'A='],
    ['"A=1 A=2"', [['A', '2']], 'A=2'],
    ['"X=a=b"', [['X', 'a=b']], 'X=a=b'],
    ['""', [], ''],
    // The example from env.h.
    [`"env1='val one' 'env2=''val2''' env3=""val3"""`, [['env1', 'val one'], ['env2', "'val2'"], ['env3', '"val3"']],
      `env1=val' 'one env2=''''val2'''' env3="val3"`],
  ];
  for (const [value, vars, v2] of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(plain(parseEnvironment(value)), { attribute: 'Environment', value: v2, vars });
    });
  }
});

describe('parseEnvironment: empty values count as not given', () => {
  for (const value of ['', '  ', '\t']) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(plain(parseEnvironment(value)), { attribute: 'Environment', value: '', vars: [] });
    });
  }
});

describe('parseEnvironment: errors carry the offset of the entry at fault', () => {
  const cases: [value: string, offset: number, message: RegExp, command?: 'env'][] = [
    ['A=1;B', 4, /missing '=' in environment entry "B": expected NAME=value/],
    ['A=1;  junk  ;C=3', 6, /missing '='/],
    ['=1', 0, /missing variable name/],
    ['A=1;=x', 4, /missing variable name/],
    ['"A=1 B"', 5, /missing '='/],
    ['"A=1 =2"', 5, /missing variable name/],
    ['"A=\'x y"', 3, /unbalanced single quote/],
    ['"A=1', 0, /unterminated double quote/],
    ['"A=1" B=2', 4, /text follows the closing double quote/],
    // `env` writes V1 with ';', which cannot hold a value containing ';'.
    ['|A=1|B=x;y', 5, /cannot be written in the old \(Env\) syntax/, 'env'],
  ];
  for (const [value, offset, message, command] of cases) {
    it(JSON.stringify(value), () => {
      const e = valueError(() => parseEnvironment(value, command === undefined ? {} : { command }), value);
      assert.equal(e.offset, offset, `offset (message: ${e.message})`);
      assert.match(e.message, message);
    });
  }
});

describe('formatEnvironmentV2 / V2Quoted / V1', () => {
  const vars = new Map([['Z', 'last'], ['A', 'x y'], ['M', "it's \"q\""]]);
  it('V2 raw is sorted and argument-quoted', () => {
    assert.equal(formatEnvironmentV2(vars), `A=x' 'y M=it''''s' '"q" Z=last`);
  });
  it('V2 is the raw form in double quotes with "" escapes', () => {
    assert.equal(formatEnvironmentV2Quoted(vars), `"A=x' 'y M=it''''s' '""q"" Z=last"`);
  });
  it('V1 raw joins with ; and refuses ; and newlines', () => {
    assert.equal(formatEnvironmentV1(vars), 'A=x y;M=it\'s "q";Z=last');
    assert.equal(formatEnvironmentV1(new Map([['A', 'x;y']])), undefined);
    assert.equal(formatEnvironmentV1(new Map([['A', 'x\ny']])), undefined);
    assert.equal(formatEnvironmentV1(new Map()), '');
  });
  it('sorts by code point, as std::map sorts UTF-8 bytes', () => {
    assert.equal(formatEnvironmentV2(new Map([['b', '1'], ['\u{1F600}', '2'], ['\uFF21', '3'], ['B', '4']])),
      'B=4 b=1 \uFF21=3 \u{1F600}=2');
  });
  it('rejects names that cannot be written', () => {
    assert.throws(() => formatEnvironmentV2(new Map([['', 'x']])), /invalid environment variable name/);
    assert.throws(() => formatEnvironmentV2Quoted(new Map([['A=B', 'x']])), /invalid environment variable name/);
  });
});

describe('mergeGetenv', () => {
  const processEnv = {
    PATH: '/usr/bin',
    HOME: '/home/u',
    MY_A: '1',
    my_b: '2',
    MY_SECRET: 's',
    OTHER: 'o',
    SEMI: 'a;b',
    MULTI: 'line1\nline2',
    UNSET: undefined,
  };
  const importedAll: [string, string][] = [
    ['PATH', '/usr/bin'], ['HOME', '/home/u'], ['MY_A', '1'], ['my_b', '2'], ['MY_SECRET', 's'], ['OTHER', 'o'], ['SEMI', 'a;b'],
  ];

  describe('boolean values', () => {
    for (const yes of ['true', 'TRUE', 'True', 'yes', 'YES', '1', '  true  ']) {
      it(`${JSON.stringify(yes)} imports everything (newline values and unset names skipped)`, () => {
        const env = mergeGetenv(undefined, yes, processEnv);
        assert.deepEqual([...(env?.vars ?? [])], importedAll);
        assert.equal(env?.attribute, 'Environment');
      });
    }
    for (const no of ['false', 'FALSE', 'no', 'No', '0', '', '   ']) {
      it(`${JSON.stringify(no)} imports nothing`, () => {
        assert.equal(mergeGetenv(undefined, no, processEnv), undefined);
        const env = parseEnvironment('A=1');
        assert.equal(mergeGetenv(env, no, processEnv), env);
      });
    }
  });

  it('variables set by environment win over imported ones', () => {
    const env = mergeGetenv(parseEnvironment('"PATH=/mine X=1"'), 'true', processEnv);
    assert.equal(env?.vars.get('PATH'), '/mine');
    assert.equal(env?.vars.get('X'), '1');
    assert.equal(env?.vars.get('HOME'), '/home/u');
    assert.deepEqual([...(env?.vars.keys() ?? [])].slice(0, 2), ['PATH', 'X']);
    assert.equal(env?.value, "HOME=/home/u MY_A=1 MY_SECRET=s OTHER=o PATH=/mine SEMI=a;b X=1 my_b=2");
  });

  describe('name lists and patterns', () => {
    const cases: [getenv: string, names: string[]][] = [
      ['PATH', ['PATH']],
      ['PATH, HOME', ['PATH', 'HOME']],
      ['PATH HOME;OTHER', ['PATH', 'HOME', 'OTHER']],
      ['path', ['PATH']],
      ['MY_*', ['MY_A', 'my_b', 'MY_SECRET']],
      ['MY_*, !MY_SECRET', ['MY_A', 'my_b']],
      ['!MY_SECRET', ['PATH', 'HOME', 'MY_A', 'my_b', 'OTHER', 'SEMI']],
      ['!MY_*, !*E*', ['PATH']],
      ['*E', ['HOME']],
      ['*', importedAll.map(([n]) => n)],
      ['P*H', ['PATH']],
      ['NOPE', []],
      ['yes_please', []],
    ];
    for (const [getenv, names] of cases) {
      it(JSON.stringify(getenv), () => {
        const env = mergeGetenv(undefined, getenv, processEnv);
        assert.deepEqual([...(env?.vars.keys() ?? [])], names);
        assert.equal(env?.attribute, 'Environment');
      });
    }
  });

  it('with Env (V1) output, values that V1 cannot hold are not imported', () => {
    const env = mergeGetenv(parseEnvironment('A=1', { command: 'env' }), 'true', processEnv);
    assert.equal(env?.attribute, 'Env');
    assert.equal(env?.vars.has('SEMI'), false);
    assert.equal(env?.value, 'A=1;HOME=/home/u;MY_A=1;MY_SECRET=s;OTHER=o;PATH=/usr/bin;my_b=2');
  });

  it('skips names that are empty or contain =', () => {
    const env = mergeGetenv(undefined, 'true', { '': 'x', 'A=B': 'y', OK: 'z' });
    assert.deepEqual([...(env?.vars ?? [])], [['OK', 'z']]);
  });

  it('an import that matches nothing still gives an (empty) Environment', () => {
    assert.deepEqual(plain(mergeGetenv(undefined, 'NOPE', processEnv)), { attribute: 'Environment', value: '', vars: [] });
  });

  it('does not change the environment it was given', () => {
    const env = parseEnvironment('A=1');
    mergeGetenv(env, 'true', processEnv);
    assert.deepEqual([...env.vars], [['A', '1']]);
  });
});

describe('round trips (properties)', () => {
  const RUNS = 400;
  const name = fc.string({ unit: fc.constantFrom('A', 'b', '_', '1', ' ', "'", '"', ';'), minLength: 1, maxLength: 5 });
  const value = fc.string({ unit: fc.constantFrom('x', ' ', "'", '"', '=', ';', '\\', '\t'), maxLength: 6 });
  const vars = fc.dictionary(name, value, { maxKeys: 5 }).map((d) => new Map(Object.entries(d)));

  it('parseEnvironment(formatEnvironmentV2Quoted(vars)) gives vars back, and its value is formatEnvironmentV2(vars)', () => {
    fc.assert(
      fc.property(vars, (v) => {
        const parsed = parseEnvironment(formatEnvironmentV2Quoted(v));
        assert.deepEqual(new Map([...parsed.vars].sort()), new Map([...v].sort()));
        assert.equal(parsed.value, formatEnvironmentV2(v));
      }),
      { numRuns: RUNS },
    );
  });

  it('parseEnvironment(formatEnvironmentV1(vars), env) gives vars back when V1 can hold them', () => {
    fc.assert(
      fc.property(vars, (v) => {
        const v1 = formatEnvironmentV1(v);
        // V1 drops leading whitespace and cannot start with a delimiter character or a double
        // quote (that would make it new syntax); skip those.
        if (v1 === undefined || v1 === '' || [...v.keys()].some((n) => /^[ \t]/.test(n))) return;
        if ('!#$%&*+,-/:;<>?@^`|~"'.includes(v1[0] ?? '')) return;
        const parsed = parseEnvironment(v1, { command: 'env' });
        assert.deepEqual(new Map([...parsed.vars].sort()), new Map([...v].sort()));
        assert.equal(parsed.value, v1);
      }),
      { numRuns: RUNS },
    );
  });

  it('parsing fails only with ValueError at an offset inside the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('A', '=', ' ', "'", '"', ';', '|'), maxLength: 10 }), (text) => {
        try {
          parseEnvironment(text, { command: 'env' });
        } catch (e) {
          assert.ok(e instanceof ValueError, String(e));
          assert.ok(e.offset >= 0 && e.offset < text.length, `offset ${e.offset} in ${JSON.stringify(text)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
