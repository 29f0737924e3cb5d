/**
 * `htc classad eval | match | format` as users and scripts run them: real
 * `node bin/htc.js` processes, real files in a temporary directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const bin = fileURLToPath(new URL('../../../../bin/htc.js', import.meta.url));

function htc(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, `stack trace printed:\n${stderr}`);
}

let dir = '';
const file = (name: string): string => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'htc-classad-cli-'));
  writeFileSync(file('job.ad'), '[ Owner = "alice"; RequestMemory = 2048; Requirements = TARGET.Memory >= RequestMemory && TARGET.Arch == "X86_64" ]\n');
  writeFileSync(file('slot.old'), '# a machine, as condor_status -long prints it\nMemory = 4096\nArch = "x86_64"\nRequirements = TARGET.Owner == "ALICE"\n');
  writeFileSync(file('small.old'), 'Memory = 1024\nArch = "X86_64"\nRequirements = true\n');
  writeFileSync(file('bad.old'), 'Memory = 4096\nArch = "x86_64\n');
  writeFileSync(file('two.old'), 'A = 1\nB = "x"\n\nA = 2\nC = {1, 2.5}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('htc classad eval', () => {
  it('prints each value in new syntax, with MY = --ad and TARGET = --target', () => {
    const r = htc(['classad', 'eval', '--ad', file('job.ad'), '--target', file('slot.old'), 'Requirements', 'RequestMemory / 3', 'TARGET.Memory * 1.5', 'Missing', '{1, "a"}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'true\n682\n6.144000000000000E+03\nundefined\n{ 1,"a" }\n');
  });

  it('--json prints one {"type","value"} object per expression', () => {
    // `--` ends the options, so an expression may start with "-".
    const r = htc(['classad', 'eval', '--json', '--', '1 + 1', '2.5', '"s"', 'undefined', '1/0', '{1, {2}}', '[a = 1; b = a + 1]', 'real("INF")', '-real("INF")', 'real("NaN")']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
      { type: 'integer', value: 2 },
      { type: 'real', value: 2.5 },
      { type: 'string', value: 's' },
      { type: 'undefined', value: null },
      { type: 'error', value: null },
      { type: 'list', value: [1, [2]] },
      { type: 'classad', value: { a: 1, b: 2 } },
      { type: 'real', value: 'inf' },
      { type: 'real', value: '-inf' },
      { type: 'real', value: 'nan' },
    ]);
  });

  it('--json keeps 64-bit integers exact and reals recognisable', () => {
    const r = htc(['classad', 'eval', '--json', '9223372036854775807', '{1, 2.0}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '{"type":"integer","value":9223372036854775807}\n{"type":"list","value":[1,2.0]}\n');
  });

  it('--jsonl answers every line in order and goes on after a bad one', () => {
    const requests = [
      JSON.stringify({ expr: 'a + 1', ad: '[a = 41]' }),
      JSON.stringify({ expr: '1 +' }),
      'not json',
      JSON.stringify({ expr: 'x', ad: 'x = "old syntax"', syntax: 'old' }),
      JSON.stringify({ expr: 'TARGET.m > MY.m', ad: '[m = 1]', target: '[m = 2]' }),
      JSON.stringify({ expr: 'a', ad: '[a = ' }),
      JSON.stringify({ expr: 'strcat("a", "b")' }),
    ].join('\n');
    const r = htc(['classad', 'eval', '--jsonl'], requests + '\n');
    assert.equal(r.status, 0, r.stderr);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(answers.length, 7);
    assert.deepEqual(answers[0], { type: 'integer', value: 42 });
    assert.equal(answers[1]!.type, 'error');
    assert.match(String(answers[1]!.parse_error), /1:4: expected an expression, found end of input/);
    assert.equal(answers[2]!.type, 'error');
    assert.match(String(answers[2]!.parse_error), /not JSON/);
    assert.deepEqual(answers[3], { type: 'string', value: 'old syntax' });
    assert.deepEqual(answers[4], { type: 'boolean', value: true });
    assert.equal(answers[5]!.type, 'error');
    assert.match(String(answers[5]!.parse_error), /^ad:1:6: /);
    assert.deepEqual(answers[6], { type: 'string', value: 'ab' });
  });

  it('a bad expression is a clear error with its position, exit 2, no partial output', () => {
    const r = htc(['classad', 'eval', '1 + 1', '(2 + 3']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^htc: error: EXPR 2:1:7: expected "\)" closing "\(", found end of input/);
    assertNoStack(r.stderr);
  });

  it('a bad ad file names the file, line and column', () => {
    const r = htc(['classad', 'eval', '--ad', file('bad.old'), 'Memory']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.old:2:8: unterminated string/);
    assertNoStack(r.stderr);
  });

  it('a missing ad file is an input error naming the option', () => {
    const r = htc(['classad', 'eval', '--ad', file('nope.ad'), 'x']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^htc: error: --ad: no such file: /);
  });

  it('no expression at all is a usage error', () => {
    const r = htc(['classad', 'eval']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give at least one EXPR/);
  });
});

describe('htc classad match', () => {
  it('reports the match and each side, in text and in JSON', () => {
    let r = htc(['classad', 'match', file('job.ad'), file('slot.old')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /match:\s+true/);
    r = htc(['classad', 'match', '--json', file('job.ad'), file('small.old')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { match: false, jobRequirements: false, machineRequirements: true });
  });

  it('--jsonl answers each {"job","machine"} line', () => {
    const lines = [
      JSON.stringify({ job: '[Requirements = TARGET.Cpus >= 2]', machine: '[Cpus = 4; Requirements = true]' }),
      JSON.stringify({ job: '[Requirements = TARGET.Cpus >= 2]', machine: '[Cpus = 1; Requirements = true]' }),
      JSON.stringify({ job: '[Requirements = true]', machine: '[Requirements = TARGET.Missing > 1]' }),
    ].join('\n');
    const r = htc(['classad', 'match', '--jsonl'], lines);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
      { match: true, jobRequirements: true, machineRequirements: true },
      { match: false, jobRequirements: false, machineRequirements: true },
      { match: false, jobRequirements: true, machineRequirements: false },
    ]);
  });
});

describe('htc classad format', () => {
  it('converts between the three syntaxes and back without change', () => {
    const toNew = htc(['classad', 'format', file('two.old'), '--to', 'new']);
    assert.equal(toNew.status, 0, toNew.stderr);
    assert.equal(toNew.stdout, '[ A = 1; B = "x" ]\n[ A = 2; C = { 1,2.500000000000000E+00 } ]\n');
    writeFileSync(file('two.new'), toNew.stdout);
    const toJson = htc(['classad', 'format', file('two.new'), '--to', 'json']);
    assert.equal(toJson.status, 0, toJson.stderr);
    assert.deepEqual(JSON.parse(toJson.stdout), [{ A: 1, B: 'x' }, { A: 2, C: [1, 2.5] }]);
    writeFileSync(file('two.json'), toJson.stdout);
    const back = htc(['classad', 'format', file('two.json'), '--to', 'old']);
    assert.equal(back.status, 0, back.stderr);
    assert.equal(back.stdout, 'A = 1\nB = "x"\n\nA = 2\nC = { 1,2.5 }\n');
  });

  it('expressions survive JSON as "\\/Expr(...)\\/" strings', () => {
    const r = htc(['classad', 'format', file('job.ad'), '--to', 'json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"Requirements": "\\\/Expr\(TARGET\.Memory >= RequestMemory && TARGET\.Arch == \\"X86_64\\"\)\\\/"/);
    writeFileSync(file('job.json'), r.stdout);
    const back = htc(['classad', 'format', file('job.json'), '--to', 'new']);
    assert.equal(back.stdout, '[ Owner = "alice"; RequestMemory = 2048; Requirements = TARGET.Memory >= RequestMemory && TARGET.Arch == "X86_64" ]\n');
  });

  it('an unknown --to is a usage error', () => {
    const r = htc(['classad', 'format', file('job.ad'), '--to', 'xml']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--to: expected one of new, old, json, got "xml"/);
  });
});

describe('htc classad: review findings', () => {
  it('eval --json encodes an ad value with the TARGET of --target', () => {
    writeFileSync(file('j.ad'), '[ need = 2; fits = TARGET.cpus >= need; slotName = TARGET.name ]\n');
    writeFileSync(file('s.ad'), '[ cpus = 4; name = "slot1" ]\n');
    const r = htc(['classad', 'eval', '--json', '--ad', file('j.ad'), '--target', file('s.ad'), 'MY', 'TARGET']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
      { type: 'classad', value: { need: 2, fits: true, slotName: 'slot1' } },
      { type: 'classad', value: { cpus: 4, name: 'slot1' } },
    ]);
    const jsonl = htc(['classad', 'eval', '--jsonl'], `${JSON.stringify({ expr: 'MY', ad: '[ t = TARGET.x ]', target: '[ x = 7 ]' })}\n`);
    assert.deepEqual(JSON.parse(jsonl.stdout), { type: 'classad', value: { t: 7 } });
  });

  it('eval --jsonl answers lines with deeply nested JSON ads or self-containing values and goes on', () => {
    const deep = `{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const requests = [
      JSON.stringify({ expr: 'a', ad: deep, syntax: 'json' }),
      JSON.stringify({ expr: '[ a = self ]' }),
      JSON.stringify({ expr: '1 + 1' }),
    ].join('\n');
    const r = htc(['classad', 'eval', '--jsonl'], `${requests}\n`);
    assert.equal(r.status, 0, r.stderr);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(answers.length, 3);
    assert.match(String(answers[0]!.parse_error), /^ad:1:406: JSON nests deeper than 400 levels/);
    assert.match(String(answers[1]!.parse_error), /contains itself/);
    assert.deepEqual(answers[2], { type: 'integer', value: 2 });
  });

  it('eval --jsonl and match --jsonl turn an unexpected exception (stack overflow) into an answer and go on', () => {
    // A tiny JS stack makes parsing a 390-deep expression overflow: a bug-like
    // failure the limits do not catch, which must still answer its line.
    const deep = `${'('.repeat(390)}1${')'.repeat(390)}`;
    const run = (args: string[], input: string): { status: number | null; lines: Record<string, unknown>[] } => {
      const p = spawnSync(process.execPath, ['--stack-size=150', bin, ...args], { encoding: 'utf8', input });
      return { status: p.status, lines: p.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
    };
    const ev = run(['classad', 'eval', '--jsonl'], `${JSON.stringify({ expr: deep })}\n${JSON.stringify({ expr: '1 + 1' })}\n`);
    assert.equal(ev.status, 0);
    assert.equal(ev.lines.length, 2);
    // With a larger stack than expected the line simply evaluates; either way it is answered.
    if (ev.lines[0]!.type === 'error') assert.match(String(ev.lines[0]!.parse_error), /^internal error: RangeError/);
    else assert.deepEqual(ev.lines[0], { type: 'integer', value: 1 });
    assert.deepEqual(ev.lines[1], { type: 'integer', value: 2 });

    const job = JSON.stringify({ job: `[ Requirements = ${deep} ]`, machine: '[ Requirements = true ]' });
    const ok = JSON.stringify({ job: '[ Requirements = true ]', machine: '[ Requirements = true ]' });
    const m = run(['classad', 'match', '--jsonl'], `${job}\n${ok}\n`);
    assert.equal(m.status, 0);
    assert.equal(m.lines.length, 2);
    if ('error' in m.lines[0]!) assert.match(String(m.lines[0].error), /^internal error: RangeError/);
    assert.deepEqual(m.lines[1], { match: true, jobRequirements: true, machineRequirements: true });
  });

  it('format reads a new-syntax file whose first ad is empty, one starting with a comment, and one with a BOM', () => {
    writeFileSync(file('empty-first.ad'), '[ ]\n[ a = 1 ]\n');
    let r = htc(['classad', 'format', file('empty-first.ad'), '--to', 'new']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '[  ]\n[ a = 1 ]\n');
    writeFileSync(file('comment.ad'), '/* a job */\n[ a = 1 ]\n');
    r = htc(['classad', 'format', file('comment.ad'), '--to', 'new']);
    assert.equal(r.stdout, '[ a = 1 ]\n', r.stderr);
    writeFileSync(file('bom.ad'), '\ufeff[ a = 1 ]\n');
    r = htc(['classad', 'eval', '--ad', file('bom.ad'), 'a']);
    assert.equal(r.stdout, '1\n', r.stderr);
  });

  it('format --to old refuses a string old syntax cannot hold, naming the attribute', () => {
    writeFileSync(file('newline.ad'), '[ a = 1; msg = "two\\nlines" ]\n');
    const r = htc(['classad', 'format', file('newline.ad'), '--to', 'old']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /attribute msg cannot be written in old ClassAd syntax: a string contains a newline; use new syntax or JSON/);
    assertNoStack(r.stderr);
  });
});
