import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTINS, compileExpression, parseExpression, printValue, type Builtin, type FunctionTable } from '../index.ts';
import { show } from './testing.ts';

const check = (cases: [string, string, string?][]): void => {
  for (const [expr, want, ad] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr, ad), want));
};

describe('ifThenElse', () => {
  check([
    ['ifThenElse(true, 1, 2)', '1'],
    ['ifThenElse(false, 1, 2)', '2'],
    ['ifThenElse(0.0, 1, 2)', '2'],
    ['ifThenElse(3, "y", "n")', '"y"'],
    ['ifThenElse(undefined, 1, 2)', 'undefined'],
    ['ifThenElse(error, 1, 2)', 'error'],
    ['ifThenElse("true", 1, 2)', 'error'],
    ['ifThenElse(true, 1)', 'error'],
    ['ifThenElse(true, 1, 1/0)', '1'],
    ['ifThenElse(false, 1/0, 2)', '2'],
  ]);
  it('only the chosen branch is evaluated (a self-reference elsewhere is not touched)', () => {
    assert.equal(show('x', '[x = ifThenElse(true, 5, x)]'), '5');
  });
});

describe('eval', () => {
  check([
    ['eval("1 + 2")', '3'],
    ['eval(strcat("slot", SlotID + 10, "_State"))', '"busy"', '[SlotID = 5; slot15_State = "busy"]'],
    ['eval("x * 2")', '8', '[x = 4]'],
    ['eval(12)', '12'],
    ['eval("1 +")', 'error'],
    ['eval(undefined)', 'error'],
    ['eval()', 'error'],
  ]);
  it('a self-referencing eval is ERROR, not a crash', () => {
    assert.equal(show('x', '[x = eval("x")]'), 'error');
  });
});

describe('unparse', () => {
  check([
    ['unparse(x)', '"y + 3"', '[x = y + 3; y = 1]'],
    ['unparse(y)', '"1"', '[x = y + 3; y = 1]'],
    ['unparse(missing)', '""', '[x = 1]'],
    ['unparse(x)', '""'],
    ['unparse(MY.x)', '""', '[x = 1]'],
    ['unparse(1)', 'error'],
    ['unparse("x")', 'error'],
    ['unparse(x, y)', 'error', '[x = 1; y = 2]'],
  ]);
});

describe('unresolved', () => {
  check([
    ['unresolved(Requirements)', '"Arch,Cpus,OpSys"', '[Requirements = OpSys == "LINUX" && TARGET.Arch == "ARM" && Cpus >= RequestCpus; RequestCpus = 1]'],
    ['unresolved(Requirements, "^OpSys")', 'true', '[Requirements = OpSys == "LINUX" && Arch == "ARM"]'],
    ['unresolved(Requirements, "OpSys.+")', 'false', '[Requirements = OpSys == "LINUX" && Arch == "ARM"]'],
    ['unresolved(r)', '"b"', '[r = a + 1; a = b]'],
    ['unresolved(missing)', 'undefined', '[r = 1]'],
    ['unresolved(1)', 'error'],
  ]);
});

describe('evalInEachContext and countMatches', () => {
  check([
    ['evalInEachContext(Prio > 2, { [Prio=3;], [Prio=1;] })', '{ true,false }'],
    ['evalInEachContext(Prio, { [Prio=3;], [Prio=1;] })', '{ 3,1 }'],
    ['evalInEachContext(Prio > 2, UNDEFINED)', 'undefined'],
    ['evalInEachContext(Prio > 2, 5)', 'error'],
    ['evalInEachContext(Prio > 2)', 'error'],
    ['countMatches(Prio > 2, { [Prio=3;], [Prio=1;] })', '1'],
    ['countMatches(Prio > 2, { [Prio=3;], UNDEFINED })', '1'],
    ['countMatches(Prio > 2, UNDEFINED)', '0'],
    ['countMatches(Prio > 2, error)', 'error'],
    ['countMatches(Need, Gpus)', '1', '[Need = Capability > 4; Gpus = { [Capability = 4.0], [Capability = 5.5] }]'],
    ['sum(evalInEachContext(Capability, Gpus))', '9.500000000000000E+00', '[Gpus = { [Capability = 4.0], [Capability = 5.5] }]'],
  ]);
  it('an UNDEFINED context yields an UNDEFINED entry (implementation; the manual says ERROR)', () => {
    assert.equal(show('evalInEachContext(Prio > 2, { [Prio=3;], UNDEFINED })'), '{ true,undefined }');
  });
});

describe('debug', () => {
  check([
    ['debug(1 + 2)', '3'],
    ['debug(undefined)', 'undefined'],
    ['debug()', 'error'],
  ]);
});

describe('eval with another function table (review finding: the compiled-tree cache ignored the table)', () => {
  it('the same eval text compiles separately for each function table', () => {
    const withF = (result: number): FunctionTable => {
      const f: Builtin = () => result;
      return new Map([...BUILTINS, ['f', f]]);
    };
    const expr = parseExpression('eval("f() + 1")');
    assert.equal(compileExpression(expr, withF(1))({ scope: null, target: null }), 2);
    assert.equal(compileExpression(expr, withF(10))({ scope: null, target: null }), 11);
    assert.equal(printValue(compileExpression(expr, BUILTINS)({ scope: null, target: null })), 'error');
  });
});
