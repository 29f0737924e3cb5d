/**
 * The execution plan, built from real submit descriptions: the job ad is
 * made by condor_submit's handlers (src/submit), stored as text and joined
 * again the way the queue keeps it (cluster ad + proc differences), then
 * planned. Every field of a plan is checked; refusals are PlanErrors with
 * exact messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClassAd, printClassAd, type ClassAd } from '../classad/index.ts';
import { SubmitDescription } from '../submit/index.ts';
import {
  EXECUTABLE_NAME, PlanError, STDERR_NAME, STDIN_NAME, STDOUT_NAME, outputDestination, parseRemaps, planExecution, splitFileList, type ExecutionPlan,
} from './execution-plan.ts';

const IWD = '/home/alice/run';

/** The whole ad of proc 0 of `body` + `queue`, as the AP reads it back from the queue. */
function jobAd(body: string): ClassAd {
  const description = SubmitDescription.compile(`${body}\nqueue\n`, `${IWD}/job.sub`, { owner: 'alice', now: 1_700_000_000, cwd: IWD, env: {} });
  const factory = description.materialize(1);
  return parseClassAd(printClassAd(factory.clusterAd)).update(parseClassAd(printClassAd(factory.procDiff(0))));
}

function plan(body: string): ExecutionPlan {
  return planExecution(jobAd(body));
}

/** Asserts that `fn` throws a PlanError whose message is exactly `message`. */
function refused(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    assert.equal(error.name, 'PlanError');
    assert.equal(error.message, message);
    return true;
  });
}

const input = (source: string, name: string, extra: { contentsOnly?: boolean; executable?: boolean } = {}) => ({
  source, name, contentsOnly: extra.contentsOnly ?? false, executable: extra.executable ?? false,
});

describe('planExecution: what a submit description asks for', () => {
  it('a job with everything: transferred executable, new-syntax arguments and environment, stdin, stdout, stderr, inputs, outputs, remaps, duration', () => {
    const p = plan([
      'executable = run.sh',
      `arguments = "a 'b c' d"`,
      `environment = "A=1 B='x y' EMPTY="`,
      'input = in.txt',
      'output = out/o.txt',
      'error = /var/log/e.txt',
      'transfer_input_files = data.csv, dir, dir2/, /abs/path/f, ../shared/lib.tar',
      'transfer_output_files = res.txt, outdir, sub/deep.txt',
      'transfer_output_remaps = "res.txt = results/r.txt; a\\=b = /tmp/ab"',
      '+AllowedJobDuration = 60',
    ].join('\n'));
    assert.deepEqual(p, {
      owner: 'alice',
      iwd: IWD,
      executable: EXECUTABLE_NAME,
      arguments: ['a', 'b c', 'd'],
      environment: { A: '1', B: 'x y', EMPTY: '' },
      inputs: [
        input(`${IWD}/run.sh`, 'condor_exec.exe', { executable: true }),
        input(`${IWD}/in.txt`, '_condor_stdin'),
        input(`${IWD}/data.csv`, 'data.csv'),
        input(`${IWD}/dir`, 'dir'),
        input(`${IWD}/dir2`, '', { contentsOnly: true }),
        input('/abs/path/f', 'f'),
        input('/home/alice/shared/lib.tar', 'lib.tar'),
      ],
      stdin: '_condor_stdin',
      stdout: '_condor_stdout',
      stderr: '_condor_stderr',
      stdoutPath: `${IWD}/out/o.txt`,
      stderrPath: '/var/log/e.txt',
      outputs: ['res.txt', 'outdir', 'sub/deep.txt'],
      remaps: new Map([['res.txt', `${IWD}/results/r.txt`], ['a=b', '/tmp/ab']]),
      maxRuntimeSeconds: 60,
    });
    assert.equal(STDIN_NAME, '_condor_stdin');
    assert.equal(STDOUT_NAME, '_condor_stdout');
    assert.equal(STDERR_NAME, '_condor_stderr');
  });

  it('a minimal job: nothing captured, every new top-level file comes back, no limit', () => {
    assert.deepEqual(plan('executable = /bin/hostname'), {
      owner: 'alice',
      iwd: IWD,
      executable: 'condor_exec.exe',
      arguments: [],
      environment: {},
      inputs: [input('/bin/hostname', 'condor_exec.exe', { executable: true })],
      stdin: null,
      stdout: null,
      stderr: null,
      stdoutPath: null,
      stderrPath: null,
      outputs: null,
      remaps: new Map(),
      maxRuntimeSeconds: null,
    });
  });

  it('old-syntax arguments (\\" for a quote) and old-syntax environment (; separated)', () => {
    const p = plan('executable = prog\narguments = -i  X=\\"1\\"   b\nenvironment = A=1;B=two words;C=');
    assert.deepEqual(p.arguments, ['-i', 'X="1"', 'b']);
    assert.deepEqual(p.environment, { A: '1', B: 'two words', C: '' });
  });

  it('transfer_executable = false: the executable is a path on the execute node and is not an input', () => {
    const p = plan('executable = /usr/bin/env\ntransfer_executable = false\ntransfer_input_files = a.txt');
    assert.equal(p.executable, '/usr/bin/env');
    assert.deepEqual(p.inputs, [input(`${IWD}/a.txt`, 'a.txt')]);
  });

  it('should_transfer_files = NO: nothing is transferred either way, the executable is used in place', () => {
    const p = plan('executable = /opt/tool/bin/tool\nshould_transfer_files = NO\noutput = o.txt\nerror = e.txt');
    assert.equal(p.executable, '/opt/tool/bin/tool');
    assert.deepEqual(p.inputs, []);
    assert.deepEqual(p.outputs, [], 'no output file comes back');
    assert.equal(p.stdout, STDOUT_NAME);
    assert.equal(p.stdoutPath, `${IWD}/o.txt`);
    assert.equal(p.stderrPath, `${IWD}/e.txt`);
  });

  it('input = FILE is sent as _condor_stdin; output and error go back to their paths, relative to initialdir', () => {
    const p = plan('executable = prog\ninitialdir = job1\ninput = ../shared/in.txt\noutput = o.txt\nerror = logs/e.txt');
    assert.equal(p.iwd, `${IWD}/job1`);
    assert.deepEqual(p.inputs, [input(`${IWD}/prog`, EXECUTABLE_NAME, { executable: true }), input(`${IWD}/shared/in.txt`, STDIN_NAME)]);
    assert.equal(p.stdin, STDIN_NAME);
    assert.equal(p.stdoutPath, `${IWD}/job1/o.txt`);
    assert.equal(p.stderrPath, `${IWD}/job1/logs/e.txt`);
  });

  it('input/output/error = /dev/null count as not given', () => {
    const p = plan('executable = prog\ninput = /dev/null\noutput = /dev/null\nerror = /dev/null');
    assert.deepEqual([p.stdin, p.stdout, p.stderr, p.stdoutPath, p.stderrPath], [null, null, null, null, null]);
    assert.equal(p.inputs.length, 1);
  });

  it(
    'a stdin that is not transferred is not named as a sandbox file nobody sends',
    () => {
      for (const body of ['executable = /bin/cat\nshould_transfer_files = NO\ninput = in.txt', 'executable = /bin/cat\ninput = in.txt\ntransfer_input = false']) {
        const p = plan(body);
        const provided = p.stdin === null || p.inputs.some((i) => i.name === p.stdin);
        assert.ok(provided, `${JSON.stringify(body)}: stdin ${JSON.stringify(p.stdin)} is not among the inputs ${JSON.stringify(p.inputs.map((i) => i.name))}`);
      }
    },
  );

  it('AllowedJobDuration: whole seconds, rounded up; zero or none means no limit', () => {
    assert.equal(plan('executable = prog\n+AllowedJobDuration = 60').maxRuntimeSeconds, 60);
    assert.equal(plan('executable = prog\n+AllowedJobDuration = 59.2').maxRuntimeSeconds, 60);
    assert.equal(plan('executable = prog\n+AllowedJobDuration = 0').maxRuntimeSeconds, null);
    assert.equal(plan('executable = prog\n+AllowedJobDuration = -5').maxRuntimeSeconds, null);
    assert.equal(plan('executable = prog').maxRuntimeSeconds, null);
  });

  it('transfer_output_files: names are normalized (./, trailing /, doubled /)', () => {
    assert.deepEqual(plan('executable = prog\ntransfer_output_files = ./a.txt, outdir/, x//y').outputs, ['a.txt', 'outdir', 'x/y']);
  });

  it('transfer_output_remaps with several entries, an escaped "=", a nested source and a destination above initialdir', () => {
    const p = plan('executable = prog\ntransfer_output_remaps = " out.txt = results/out.txt ; k\\=v = kv.txt;logs/x.log = ../x.log; ./y = /data/y ;"');
    assert.deepEqual(p.remaps, new Map([
      ['out.txt', `${IWD}/results/out.txt`],
      ['k=v', `${IWD}/kv.txt`],
      ['logs/x.log', '/home/alice/x.log'],
      ['y', '/data/y'],
    ]));
  });

  it(
    'transfer_output_remaps with an escaped ";" in a name, from a submit description',
    () => {
      const p = plan('executable = prog\ntransfer_output_remaps = "a\\;b = x; c = d"');
      assert.deepEqual(p.remaps, new Map([['a;b', `${IWD}/x`], ['c', `${IWD}/d`]]));
    },
  );

  it('an ad written by HTCondor with V1 Env and Args (no Environment/Arguments)', () => {
    const ad = parseClassAd('[ Owner = "bob"; Iwd = "/home/bob"; Cmd = "/home/bob/a.out"; Args = "x  y\tz"; Env = "A=1;B=2;=nameless;noequals;C=x=y"; TransferInput = "p, ,q,"; TransferOutput = "" ]');
    const p = planExecution(ad);
    assert.deepEqual(p.arguments, ['x', 'y', 'z']);
    assert.deepEqual(p.environment, { A: '1', B: '2', C: 'x=y' });
    assert.deepEqual(p.inputs.map((i) => [i.source, i.name]), [['/home/bob/a.out', EXECUTABLE_NAME], ['/home/bob/p', 'p'], ['/home/bob/q', 'q']]);
    assert.deepEqual(p.outputs, [], 'an empty TransferOutput lists no file');
  });

  it('Environment (V2) wins over Env (V1) when both are present', () => {
    const ad = parseClassAd(`[ Cmd = "/bin/true"; Environment = "A=v2 B='x y'"; Env = "A=v1;C=3" ]`);
    assert.deepEqual(planExecution(ad).environment, { A: 'v2', B: 'x y' });
  });

  it('an ad without Owner or Iwd plans from "/" with an empty owner', () => {
    const p = planExecution(parseClassAd('[ Cmd = "bin/x" ]'));
    assert.equal(p.owner, '');
    assert.equal(p.iwd, '/');
    assert.deepEqual(p.inputs, [input('/bin/x', EXECUTABLE_NAME, { executable: true })]);
  });
});

describe('planExecution: refusals', () => {
  it('a job without an executable', () => {
    refused(() => planExecution(parseClassAd('[ Owner = "alice"; Iwd = "/tmp" ]')), 'the job has no executable (Cmd)');
    refused(() => planExecution(parseClassAd('[ Cmd = "" ]')), 'the job has no executable (Cmd)');
  });

  it('".." and absolute names in transfer_output_files', () => {
    refused(() => plan('executable = prog\ntransfer_output_files = ok.txt, ../secret'), 'transfer_output_files: "../secret" points outside the job\'s sandbox ("..")');
    refused(() => plan('executable = prog\ntransfer_output_files = a/../../b'), 'transfer_output_files: "a/../../b" points outside the job\'s sandbox ("..")');
    refused(() => plan('executable = prog\ntransfer_output_files = /etc/passwd'), 'transfer_output_files: "/etc/passwd" is an absolute path; name a file inside the job\'s sandbox');
    refused(() => plan('executable = prog\ntransfer_output_files = ./'), 'transfer_output_files: "./" names no file');
  });

  it('".." and absolute names as remap sources', () => {
    refused(() => plan('executable = prog\ntransfer_output_remaps = "ok = fine; ../x = y"'), 'transfer_output_remaps: "../x" points outside the job\'s sandbox ("..")');
    refused(() => plan('executable = prog\ntransfer_output_remaps = "/etc/shadow = y"'), 'transfer_output_remaps: "/etc/shadow" is an absolute path; name a file inside the job\'s sandbox');
  });

  it('a URL input', () => {
    refused(() => plan('executable = prog\ntransfer_input_files = a.txt, https://example.org/data.tgz'), 'transfer_input_files: "https://example.org/data.tgz" is a URL; URL transfers are not supported');
    refused(() => plan('executable = prog\ntransfer_input_files = osdf:///ospool/x'), 'transfer_input_files: "osdf:///ospool/x" is a URL; URL transfers are not supported');
  });

  it('two inputs with the same base name (also against the executable and stdin)', () => {
    refused(() => plan('executable = prog\ntransfer_input_files = a/data.csv, b/data.csv'), 'transfer_input_files: two inputs would be named "data.csv" in the sandbox');
    refused(() => plan('executable = prog\ntransfer_input_files = d, x/d'), 'transfer_input_files: two inputs would be named "d" in the sandbox');
    refused(() => plan('executable = prog\ntransfer_input_files = tools/condor_exec.exe'), 'transfer_input_files: two inputs would be named "condor_exec.exe" in the sandbox');
    refused(() => plan('executable = prog\ninput = in.txt\ntransfer_input_files = _condor_stdin'), 'transfer_input_files: two inputs would be named "_condor_stdin" in the sandbox');
  });

  it('several "contents of" directories may share the top of the sandbox', () => {
    const p = plan('executable = prog\ntransfer_input_files = a/, b/');
    assert.deepEqual(p.inputs.slice(1), [input(`${IWD}/a`, '', { contentsOnly: true }), input(`${IWD}/b`, '', { contentsOnly: true })]);
  });

  it('an input named ".." or "."', () => {
    refused(() => plan('executable = prog\ntransfer_input_files = ..'), 'transfer_input_files: ".." names no file');
    refused(() => plan('executable = prog\ntransfer_input_files = sub/..'), 'transfer_input_files: "sub/.." names no file');
    refused(() => plan('executable = prog\ntransfer_input_files = .'), 'transfer_input_files: "." names no file');
  });
});

describe('splitFileList', () => {
  it('splits on commas, trims, drops empty entries', () => {
    assert.deepEqual(splitFileList(undefined), []);
    assert.deepEqual(splitFileList(''), []);
    assert.deepEqual(splitFileList(' a.txt , b/c ,, d/ ,'), ['a.txt', 'b/c', 'd/']);
  });
});

describe('parseRemaps', () => {
  it('undefined and empty texts give no remaps', () => {
    assert.deepEqual(parseRemaps(undefined, '/w'), new Map());
    assert.deepEqual(parseRemaps(' ; ;', '/w'), new Map());
  });

  it('escaped ";" and "=" on both sides, relative and absolute destinations', () => {
    assert.deepEqual(
      parseRemaps('a\\;b = x\\=y ; c\\=d=/abs/e\\;f; ./g/h = ../up', '/w/iwd/'),
      new Map([['a;b', '/w/iwd/x=y'], ['c=d', '/abs/e;f'], ['g/h', '/w/up']]),
    );
  });

  it('a later entry for the same name wins', () => {
    assert.deepEqual(parseRemaps('a = x; a = y', '/w'), new Map([['a', '/w/y']]));
  });

  it('refuses an entry without "=", an empty destination and sources outside the sandbox', () => {
    refused(() => parseRemaps('a = b; lonely ', '/w'), 'transfer_output_remaps: "lonely" has no "=" (expected "name = destination")');
    refused(() => parseRemaps('a\\=b', '/w'), 'transfer_output_remaps: "a\\\\=b" has no "=" (expected "name = destination")');
    refused(() => parseRemaps('a = ', '/w'), 'transfer_output_remaps: "a" is remapped to an empty name');
    refused(() => parseRemaps('x/../../y = z', '/w'), 'transfer_output_remaps: "x/../../y" points outside the job\'s sandbox ("..")');
    refused(() => parseRemaps('/y = z', '/w'), 'transfer_output_remaps: "/y" is an absolute path; name a file inside the job\'s sandbox');
    refused(() => parseRemaps('. = z', '/w'), 'transfer_output_remaps: "." names no file');
  });
});

describe('outputDestination', () => {
  const listed = plan([
    'executable = prog',
    'output = logs/o.txt',
    'error = /var/tmp/e.txt',
    'transfer_output_files = res.txt, outdir, sub/deep.txt, a/b',
    'transfer_output_remaps = "res.txt = results/r.txt"',
  ].join('\n'));

  it('stdout and stderr go to Out and Err', () => {
    assert.deepEqual(outputDestination(listed, STDOUT_NAME), { path: `${IWD}/logs/o.txt` });
    assert.deepEqual(outputDestination(listed, STDERR_NAME), { path: '/var/tmp/e.txt' });
  });

  it('a remapped name goes to its destination', () => {
    assert.deepEqual(outputDestination(listed, 'res.txt'), { path: `${IWD}/results/r.txt` });
    assert.deepEqual(outputDestination(listed, './res.txt'), { path: `${IWD}/results/r.txt` });
  });

  it('a listed file comes back to Iwd under its base name', () => {
    assert.deepEqual(outputDestination(listed, 'sub/deep.txt'), { path: `${IWD}/deep.txt` });
    assert.deepEqual(outputDestination(listed, 'outdir'), { path: `${IWD}/outdir` });
  });

  it('a file inside a listed directory keeps its path below the directory\'s base name', () => {
    assert.deepEqual(outputDestination(listed, 'outdir/x/y.dat'), { path: `${IWD}/outdir/x/y.dat` });
    assert.deepEqual(outputDestination(listed, 'a/b/c.txt'), { path: `${IWD}/b/c.txt` });
  });

  it('a name not listed is refused', () => {
    assert.deepEqual(outputDestination(listed, 'other.txt'), { refused: 'output "other.txt" is not one of the job\'s transfer_output_files' });
    assert.deepEqual(outputDestination(listed, 'outdirx/y'), { refused: 'output "outdirx/y" is not one of the job\'s transfer_output_files' });
    assert.deepEqual(outputDestination(listed, 'sub/other.txt'), { refused: 'output "sub/other.txt" is not one of the job\'s transfer_output_files' });
  });

  it('names leaving the sandbox are refused', () => {
    assert.deepEqual(outputDestination(listed, '../x'), { refused: 'output: "../x" points outside the job\'s sandbox ("..")' });
    assert.deepEqual(outputDestination(listed, 'outdir/../../x'), { refused: 'output: "outdir/../../x" points outside the job\'s sandbox ("..")' });
    assert.deepEqual(outputDestination(listed, '/etc/passwd'), { refused: 'output: "/etc/passwd" is an absolute path; name a file inside the job\'s sandbox' });
    assert.deepEqual(outputDestination(listed, ''), { refused: 'output: "" names no file' });
  });

  it('outputs = null: any top-level file comes back to Iwd (remapped if asked), a nested one is refused', () => {
    const all = plan('executable = prog\ntransfer_output_remaps = "r.txt = /data/r.txt"');
    assert.equal(all.outputs, null);
    assert.deepEqual(outputDestination(all, 'new.txt'), { path: `${IWD}/new.txt` });
    assert.deepEqual(outputDestination(all, 'r.txt'), { path: '/data/r.txt' });
    assert.deepEqual(outputDestination(all, 'sub/new.txt'), { refused: 'output "sub/new.txt" is not one of the job\'s transfer_output_files' });
    assert.deepEqual(outputDestination(all, '../x'), { refused: 'output: "../x" points outside the job\'s sandbox ("..")' });
    assert.deepEqual(outputDestination(all, STDOUT_NAME), { path: `${IWD}/${STDOUT_NAME}` }, 'stdout not captured: an ordinary file');
  });

  it('should_transfer_files = NO: only stdout and stderr come back', () => {
    const none = plan('executable = /bin/prog\nshould_transfer_files = NO\noutput = o.txt');
    assert.deepEqual(outputDestination(none, STDOUT_NAME), { path: `${IWD}/o.txt` });
    assert.deepEqual(outputDestination(none, 'made.txt'), { refused: 'output "made.txt" is not one of the job\'s transfer_output_files' });
  });
});
