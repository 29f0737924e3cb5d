/**
 * Submit descriptions end to end: real files in temporary directories,
 * compiled and materialized into job ads.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClassAd, printClassAd } from '../classad/index.ts';
import { SubmitDescription } from './submit-description.ts';
import { SubmitError } from './submit-error.ts';
import { TempDir, attr, compile, procAds } from './test-support.ts';

const dir = new TempDir();
after(() => dir.remove());

function throwsAt(fn: () => unknown, line: number, column: number | undefined, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SubmitError, `expected a SubmitError, got ${String(e)}`);
    assert.match(e.message, message);
    assert.equal(e.position?.line, line, `line of: ${e.message}`);
    if (column !== undefined) assert.equal(e.position?.column, column, `column of: ${e.message}`);
    assert.ok(e.position?.file?.endsWith('.sub') ?? false, 'the error names the file');
    return true;
  });
}

describe('a minimal vanilla job', () => {
  const ads = procAds(compile(dir, 'executable = /bin/echo\narguments = hi\nqueue\n'));
  const ad = ads[0]!;
  it('makes one proc with HTCondor attribute names and types', () => {
    assert.equal(ads.length, 1);
    const expected: Record<string, string> = {
      MyType: '"Job"', TargetType: '"Machine"', JobUniverse: '5', Cmd: '"/bin/echo"', Args: '"hi"',
      ClusterId: '1', ProcId: '0', Owner: '"alice"', QDate: '1700000000', JobStatus: '1', EnteredCurrentStatus: '1700000000',
      Iwd: JSON.stringify(dir.path), In: '"/dev/null"', Out: '"/dev/null"', Err: '"/dev/null"', TransferIn: 'false',
      RequestCpus: '1', RequestMemory: '128', RequestDisk: '1048576', JobPrio: '0', JobNotification: '0',
      Rank: '0.0', LeaveJobInQueue: 'false', OnExitRemove: 'true', OnExitHold: 'false', PeriodicHold: 'false',
      ShouldTransferFiles: '"YES"', WhenToTransferOutput: '"ON_EXIT"', Environment: '""',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(attr(ad, name), value, name);
  });
  it('gets HTCondor\'s default Requirements clauses', () => {
    assert.equal(attr(ad, 'Requirements'), '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && (TARGET.Memory >= RequestMemory) && (TARGET.HasFileTransfer)');
  });
});

describe('commands', () => {
  const one = (body: string, extra = {}): ReturnType<typeof procAds>[number] => procAds(compile(dir, `executable = /bin/true\n${body}\nqueue\n`, extra))[0]!;

  it('universe: vanilla, local and container; anything else is refused at its value', () => {
    assert.equal(attr(one('universe = vanilla'), 'JobUniverse'), '5');
    assert.equal(attr(one('universe = LOCAL'), 'JobUniverse'), '12');
    const c = one('universe = container\ncontainer_image = docker://python:3.12');
    assert.equal(attr(c, 'JobUniverse'), '5');
    assert.equal(attr(c, 'WantContainer'), 'true');
    assert.equal(attr(c, 'ContainerImage'), '"docker://python:3.12"');
    assert.equal(attr(c, 'WantDockerImage'), 'true');
    assert.match(attr(c, 'Requirements'), /^TARGET\.HasContainer && TARGET\.HasDockerURL && /);
    assert.equal(attr(one('container_image = /images/py.sif'), 'WantSIF'), 'true');
    throwsAt(() => compile(dir, 'universe = vanila\nexecutable = /bin/true\nqueue\n'), 1, 12, /unknown universe "vanila"; expected vanilla, container or local/);
    throwsAt(() => compile(dir, 'universe = grid\nexecutable = /bin/true\nqueue\n'), 1, 12, /grid universe is not supported/);
    throwsAt(() => compile(dir, 'universe = container\nexecutable = /bin/true\nqueue\n'), 1, 12, /container jobs need a container_image/);
  });

  it('executable: relative names resolve against the submit directory; transfer_executable = false keeps them', () => {
    assert.equal(attr(procAds(compile(dir, 'executable = run.sh\nqueue\n'))[0]!, 'Cmd'), JSON.stringify(`${dir.path}/run.sh`));
    const kept = procAds(compile(dir, 'executable = bin/run.sh\ntransfer_executable = false\nqueue\n'))[0]!;
    assert.equal(attr(kept, 'Cmd'), '"bin/run.sh"');
    assert.equal(attr(kept, 'TransferExecutable'), 'false');
    throwsAt(() => compile(dir, 'arguments = 1\nqueue\n'), 2, 1, /no executable/);
  });

  it('arguments: old syntax makes Args, new (double-quoted) syntax makes Arguments', () => {
    assert.equal(attr(one('arguments = -n 5 file'), 'Args'), '"-n 5 file"');
    const v2 = one(`arguments = "one 'two three' ""four"""`);
    assert.equal(attr(v2, 'Args'), '<absent>');
    // HTCondor re-quotes new-syntax arguments its own way: spaces inside an argument are quoted singly.
    assert.equal(attr(v2, 'Arguments'), `"one two' 'three \\"four\\""`);
    throwsAt(() => compile(dir, `executable = /bin/true\narguments = "one 'two"\nqueue\n`), 2, undefined, /arguments/);
  });

  it('environment: old and new syntax, and getenv', () => {
    assert.equal(attr(one('environment = A=1;B=two'), 'Environment'), '"A=1 B=two"');
    assert.equal(attr(one(`environment = "A=1 B='x y'"`), 'Environment'), `"A=1 B=x' 'y"`);
    const env = attr(one('environment = "A=1"\ngetenv = HOME'), 'Environment');
    assert.match(env, /A=1/);
    assert.match(env, /HOME=\/home\/alice/);
    assert.doesNotMatch(env, /PATH=/);
  });

  it('input, output, error, log and initialdir', () => {
    dir.mkdir('work');
    const ad = one('initialdir = work\ninput = in.txt\noutput = out.txt\nerror = err.txt\nlog = job.log');
    assert.equal(attr(ad, 'Iwd'), JSON.stringify(`${dir.path}/work`));
    assert.equal(attr(ad, 'In'), '"in.txt"');
    assert.equal(attr(ad, 'Out'), '"out.txt"');
    assert.equal(attr(ad, 'Err'), '"err.txt"');
    assert.equal(attr(ad, 'TransferIn'), '<absent>');
    assert.equal(attr(ad, 'UserLog'), JSON.stringify(`${dir.path}/work/job.log`));
  });

  it('file transfer commands', () => {
    const ad = one('transfer_input_files = a.txt, b.txt ,c\ntransfer_output_files = out\ntransfer_output_remaps = "out = results/out.$(Cluster)"\nwhen_to_transfer_output = ON_EXIT_OR_EVICT');
    assert.equal(attr(ad, 'TransferInput'), '"a.txt,b.txt,c"');
    assert.equal(attr(ad, 'TransferOutput'), '"out"');
    assert.equal(attr(ad, 'TransferOutputRemaps'), '"out = results/out.1"');
    assert.equal(attr(ad, 'WhenToTransferOutput'), '"ON_EXIT_OR_EVICT"');
    const shared = one('should_transfer_files = IF_NEEDED');
    assert.match(attr(shared, 'Requirements'), /\(\(TARGET\.FileSystemDomain == MY\.FileSystemDomain\) \|\| \(TARGET\.HasFileTransfer\)\)$/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nshould_transfer_files = maybe\nqueue\n'), 2, 25, /expected YES, NO or IF_NEEDED/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nwhen_to_transfer_output = LATER\nqueue\n'), 2, 27, /ON_EXIT, ON_EXIT_OR_EVICT or ON_SUCCESS/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nshould_transfer_files = NO\ntransfer_input_files = a\nqueue\n'), 3, 24, /should_transfer_files = NO/);
    throwsAt(() => compile(dir, 'executable = /bin/true\ntransfer_output_remaps = a=b\nqueue\n'), 2, 26, /must be a quoted string/);
  });

  it('request_cpus, request_memory, request_disk and request_gpus with units', () => {
    const ad = one('request_cpus = 4\nrequest_memory = 2 GB\nrequest_disk = 1.5g\nrequest_gpus = 1');
    assert.equal(attr(ad, 'RequestCpus'), '4');
    assert.equal(attr(ad, 'RequestMemory'), '2048');
    assert.equal(attr(ad, 'RequestDisk'), '1572864');
    assert.equal(attr(ad, 'RequestGPUs'), '1');
    assert.equal(attr(ad, 'Requirements'), '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus) && (TARGET.GPUs >= RequestGPUs) && (TARGET.HasFileTransfer)');
    assert.equal(attr(one('request_memory = 1500K'), 'RequestMemory'), '2');
    assert.equal(attr(one('request_memory = 100'), 'RequestMemory'), '100');
    throwsAt(() => compile(dir, 'executable = /bin/true\nrequest_memory = 2Q\nqueue\n'), 2, undefined, /request_memory/);
  });

  it('requirements and rank: the user\'s clause first, HTCondor\'s after; a bad expression is placed', () => {
    const ad = one('requirements = TARGET.Arch == "ARM64" && HasDocker\nrank = TARGET.Memory');
    assert.equal(attr(ad, 'Requirements'), '(TARGET.Arch == "ARM64" && HasDocker) && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && (TARGET.Memory >= RequestMemory) && (TARGET.HasFileTransfer)');
    assert.equal(attr(ad, 'Rank'), 'TARGET.Memory');
    throwsAt(() => compile(dir, 'executable = /bin/true\nrequirements = (Memory > 2\nqueue\n'), 2, 27, /requirements: not a valid ClassAd expression: expected "\)"/);
  });

  it('+Attr and MY.Attr set attributes verbatim and override commands', () => {
    const ad = one('+Project = "alpha"\nMY.Weight = 2 * 3\n+Requirements = TARGET.Memory > 1');
    assert.equal(attr(ad, 'Project'), '"alpha"');
    assert.equal(attr(ad, 'Weight'), '2 * 3');
    assert.equal(attr(ad, 'Requirements'), 'TARGET.Memory > 1');
    throwsAt(() => compile(dir, 'executable = /bin/true\n+Bad = 1 +\nqueue\n'), 2, 11, /MY\.Bad: not a valid ClassAd expression/);
  });

  it('hold, leave_in_queue and the policy expressions', () => {
    const held = one('hold = true');
    assert.equal(attr(held, 'JobStatus'), '5');
    assert.equal(attr(held, 'HoldReasonCode'), '15');
    assert.match(attr(held, 'HoldReason'), /submitted on hold/);
    const ad = one('leave_in_queue = JobStatus == 4\non_exit_hold = ExitCode != 0\nperiodic_hold = NumJobStarts > 3\nperiodic_release = true\nperiodic_remove = JobStatus == 5\non_exit_remove = ExitCode == 0');
    assert.equal(attr(ad, 'LeaveJobInQueue'), 'JobStatus == 4');
    assert.equal(attr(ad, 'OnExitHold'), 'ExitCode != 0');
    assert.equal(attr(ad, 'PeriodicHold'), 'NumJobStarts > 3');
    assert.equal(attr(ad, 'PeriodicRelease'), 'true');
    assert.equal(attr(ad, 'PeriodicRemove'), 'JobStatus == 5');
    assert.equal(attr(ad, 'OnExitRemove'), 'ExitCode == 0');
    throwsAt(() => compile(dir, 'executable = /bin/true\nhold = perhaps\nqueue\n'), 2, 8, /expected true or false/);
  });

  it('allowed_job_duration sets AllowedJobDuration in seconds; anything but a whole number is refused', () => {
    assert.equal(attr(one('allowed_job_duration = 600'), 'AllowedJobDuration'), '600');
    throwsAt(() => compile(dir, 'executable = /bin/true\nallowed_job_duration = soon\nqueue\n'), 2, 24, /expected a whole number/);
  });

  it('max_retries rewrites OnExitRemove as HTCondor does', () => {
    const ad = one('max_retries = 3');
    assert.equal(attr(ad, 'JobMaxRetries'), '3');
    assert.equal(attr(ad, 'OnExitRemove'), 'NumJobCompletions > JobMaxRetries || ExitCode is 0');
  });

  it('batch names, container transfer, materialization limits, accounting, notification, priority', () => {
    const ad = one('job_batch_name = "nightly"\ntransfer_container = false\ncontainer_image = img.sif\nmax_materialize = 100\nmax_idle = 10\naccounting_group = physics\nnotification = Error\npriority = 5\nnotify_user = a@b.c');
    assert.equal(attr(ad, 'JobBatchName'), '"nightly"');
    assert.equal(attr(ad, 'TransferContainer'), 'false');
    assert.equal(attr(ad, 'JobMaterializeLimit'), '100');
    assert.equal(attr(ad, 'JobMaterializeMaxIdle'), '10');
    assert.equal(attr(ad, 'AcctGroup'), '"physics"');
    assert.equal(attr(ad, 'AccountingGroup'), '"physics.alice"');
    assert.equal(attr(ad, 'JobNotification'), '3');
    assert.equal(attr(ad, 'JobPrio'), '5');
    assert.equal(attr(ad, 'NotifyUser'), '"a@b.c"');
    assert.equal(attr(one('batch_name = b2'), 'JobBatchName'), '"b2"');
    throwsAt(() => compile(dir, 'executable = /bin/true\npriority = high\nqueue\n'), 2, 12, /expected a whole number/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nnotification = sometimes\nqueue\n'), 2, 16, /Never, Always, Complete or Error/);
  });

  it('--annex-name and +TargetAnnexName bind jobs to an annex', () => {
    assert.equal(attr(one('', { annexName: 'annex-1' }), 'TargetAnnexName'), '"annex-1"');
    assert.equal(attr(one('+TargetAnnexName = "mine"'), 'TargetAnnexName'), '"mine"');
  });
});

describe('macros', () => {
  it('$(Cluster), $(Process), $(Step), $(ItemIndex), $(Row), $(Item) and queue variables', () => {
    const ads = procAds(compile(dir, 'executable = /bin/echo\narguments = $(Cluster).$(Process) s$(Step) i$(ItemIndex) r$(Row) $(Item) $(ClusterId)-$(ProcId)\nqueue 2 in (a, b)\n'));
    assert.deepEqual(ads.map((a) => attr(a, 'Args')), ['"1.0 s0 i0 r0 a 1-0"', '"1.1 s1 i0 r0 a 1-1"', '"1.2 s0 i1 r1 b 1-2"', '"1.3 s1 i1 r1 b 1-3"']);
  });

  it('the last definition before a queue statement wins; defaults, $ENV, $INT, $REAL, $RANDOM_INTEGER, $F', () => {
    const ads = procAds(compile(dir, [
      'executable = /bin/echo',
      'x = 1',
      'arguments = $(x) $(missing:fallback) $ENV(HOME) $INT(n) $REAL(r) $RANDOM_INTEGER(10, 20) $Fn(path) $Fx(path) $Fp(path)',
      'n = 6 * 7',
      'r = 1.5',
      'path = /data/set/file.tar',
      'x = 2',
      'queue',
    ].join('\n')));
    const args = attr(ads[0]!, 'Args');
    assert.match(args, /^"2 fallback \/home\/alice 42 1\.5\d* 1\d /);
    assert.match(args, / file \.tar \/data\/set\/"$/);
  });

  it('include : another file, relative to the including file', () => {
    dir.write('inc/common.sub', 'executable = /bin/echo\nrequest_memory = 1G\n');
    const ad = procAds(compile(dir, 'include : inc/common.sub\nqueue\n'))[0]!;
    assert.equal(attr(ad, 'RequestMemory'), '1024');
  });

  it('an include cycle is an error naming the chain', () => {
    dir.write('loop-a.sub', 'include : loop-b.sub\n');
    dir.write('loop-b.sub', 'include : loop-a.sub\n');
    assert.throws(() => compile(dir, 'include : loop-a.sub\nexecutable = /bin/true\nqueue\n'), (e: unknown) => e instanceof SubmitError && /include cycle: .*loop-a\.sub -> .*loop-b\.sub -> .*loop-a\.sub/.test(e.message));
    throwsAt(() => compile(dir, 'include : nowhere.sub\nqueue\n'), 1, 11, /include: no such file/);
  });

  it('if / elif / else / endif with defined', () => {
    const text = (pre: string): string => `${pre}\nexecutable = /bin/echo\nif defined big\n  request_memory = 8G\nelif defined medium\n  request_memory = 2G\nelse\n  request_memory = 1G\nendif\nqueue\n`;
    assert.equal(attr(procAds(compile(dir, text('big = 1')))[0]!, 'RequestMemory'), '8192');
    assert.equal(attr(procAds(compile(dir, text('medium = yes')))[0]!, 'RequestMemory'), '2048');
    assert.equal(attr(procAds(compile(dir, text('')))[0]!, 'RequestMemory'), '1024');
    throwsAt(() => compile(dir, 'executable = /bin/true\nendif\nqueue\n'), 2, 1, /endif without if/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nif defined x\nqueue\n'), 2, 1, /if without endif/);
  });

  it('comments and line continuation', () => {
    const ad = procAds(compile(dir, '# a comment\nexecutable = /bin/echo\n   # indented comment\narguments = one \\\n  two\nqueue\n'))[0]!;
    assert.equal(attr(ad, 'Args'), '"one two"'); // old-syntax arguments are re-joined with single spaces
  });
});

describe('queue statements', () => {
  it('queue and queue N', () => {
    assert.equal(procAds(compile(dir, 'executable = /bin/true\nqueue\n')).length, 1);
    assert.equal(procAds(compile(dir, 'executable = /bin/true\nqueue 5\n')).length, 5);
    assert.equal(compile(dir, 'executable = /bin/true\nqueue 0\n').procCount, 0);
  });

  it('queue VAR in (items), on one line or several', () => {
    const ads = procAds(compile(dir, 'executable = /bin/echo\narguments = $(color)\nqueue color in (red, green\n  blue\n)\n'));
    assert.deepEqual(ads.map((a) => attr(a, 'Args')), ['"red"', '"green"', '"blue"']);
    const multi = procAds(compile(dir, 'executable = /bin/echo\narguments = $(Item)\nqueue in (\n  x y\n  # not an item\n  z\n)\n'));
    assert.deepEqual(multi.map((a) => attr(a, 'Args')), ['"x"', '"y"', '"z"']);
  });

  it('queue VARS from FILE and from an inline list; the last variable takes the rest', () => {
    dir.write('items.txt', 'a, 1, first row\n\n# comment\nb 2 second row\n');
    const ads = procAds(compile(dir, 'executable = /bin/echo\narguments = $(name)-$(n)-$(rest)\nqueue name, n, rest from items.txt\n'));
    assert.deepEqual(ads.map((a) => attr(a, 'Args')), ['"a-1-first row"', '"b-2-second row"']);
    const inline = procAds(compile(dir, 'executable = /bin/echo\narguments = $(x)/$(y)\nqueue x,y from (\n  1 one\n  2 two\n)\n'));
    assert.deepEqual(inline.map((a) => attr(a, 'Args')), ['"1/one"', '"2/two"']);
    throwsAt(() => compile(dir, 'executable = /bin/true\nqueue x from missing.txt\n'), 2, undefined, /queue from: no such file: .*missing\.txt/);
  });

  it('queue VAR matching files | dirs PATTERN', () => {
    dir.write('data/b.csv', '');
    dir.write('data/a.csv', '');
    dir.write('data/.hidden.csv', '');
    dir.write('data/notes.txt', '');
    dir.mkdir('data/sub.csv');
    const files = procAds(compile(dir, 'executable = /bin/echo\narguments = $(f)\nqueue f matching files data/*.csv\n'));
    assert.deepEqual(files.map((a) => attr(a, 'Args')), ['"data/a.csv"', '"data/b.csv"']);
    const dirs = procAds(compile(dir, 'executable = /bin/echo\narguments = $(d)\nqueue d matching dirs data/*.csv\n'));
    assert.deepEqual(dirs.map((a) => attr(a, 'Args')), ['"data/sub.csv"']);
  });

  it('slices select items', () => {
    const ads = procAds(compile(dir, 'executable = /bin/echo\narguments = $(Item) $(ItemIndex)\nqueue in [1:5:2] (a b c d e f)\n'));
    assert.deepEqual(ads.map((a) => attr(a, 'Args')), ['"b 1"', '"d 3"']);
  });

  it('several queue statements make one cluster; commands between them apply to the later ones', () => {
    const ads = procAds(compile(dir, 'executable = /bin/echo\nrequest_memory = 1G\narguments = $(Process)\nqueue 2\nrequest_memory = 2G\nqueue 1\n'));
    assert.deepEqual(ads.map((a) => [attr(a, 'ProcId'), attr(a, 'RequestMemory'), attr(a, 'Args')]), [['0', '1024', '"0"'], ['1', '1024', '"1"'], ['2', '2048', '"2"']]);
  });

  it('a malformed queue statement is an error at its line', () => {
    throwsAt(() => compile(dir, 'executable = /bin/true\nqueue -3\n'), 2, undefined, /queue count must be a whole number/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nqueue x y\n'), 2, undefined, /expected in, from or matching/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nqueue in [1:2:0] (a)\n'), 2, undefined, /step may not be 0/);
    throwsAt(() => compile(dir, 'executable = /bin/true\nqueue in (a b\n'), 2, undefined, /never closed/);
    throwsAt(() => compile(dir, 'executable = /bin/true\n'), 2, 1, /no queue statement/);
  });
});

describe('late materialization', () => {
  it('queue 1000000 builds the cluster ad once and each proc only on demand', () => {
    const d = compile(dir, 'executable = /bin/echo\narguments = $(Process)\nqueue 1000000\n');
    const f = d.materialize(7);
    assert.equal(f.procCount, 1000000);
    assert.equal(attr(f.clusterAd, 'ClusterId'), '7');
    const diff = f.procDiff(999999);
    assert.deepEqual(diff.names().sort(), ['Args', 'ProcId']);
    assert.equal(attr(diff, 'Args'), '"999999"');
  });

  it('procs that differ only in ProcId carry nothing else', () => {
    const f = compile(dir, 'executable = /bin/echo\nqueue 3\n').materialize(1);
    assert.deepEqual(f.procDiff(2).names(), ['ProcId']);
  });
});

describe('warnings', () => {
  it('a line nothing uses is reported the way condor_submit reports it', () => {
    const d = compile(dir, 'executable = /bin/true\nrequest_memroy = 2G\nhelper = x\narguments = $(helper)\n+Custom = 1\nqueue\n');
    assert.deepEqual(d.warnings.map((w) => [w.message, w.position?.line]), [["the line 'request_memroy = 2G' was unused by htc. Is it a typo?", 2]]);
  });
});

describe('the stored factory', () => {
  it('gives back the same procs without reading any file again', () => {
    dir.write('rows.txt', 'a 1\nb 2\nc 3\n');
    const d = compile(dir, 'executable = /bin/echo\narguments = $(x) $(n) $(Process)\nrequest_memory = $(n)G\nqueue x, n from [1:] rows.txt\n');
    const text = d.toFactory();
    dir.write('rows.txt', 'changed\n');
    const again = SubmitDescription.fromFactory(text);
    assert.equal(again.procCount, 2);
    const [f1, f2] = [d.materialize(4), again.materialize(4)];
    for (let p = 0; p < 2; p++) assert.equal(printClassAd(f2.procAd(p)), printClassAd(f1.procAd(p)));
    assert.equal(attr(f2.procAd(1), 'Args'), '"c 3 1"');
    assert.throws(() => SubmitDescription.fromFactory('{"version": 9}'), /version 9/);
  });
});

describe('late materialization gives the same ads as building every proc whole', () => {
  const cases: Record<string, string> = {
    'attributes of one queue statement do not leak into the next': 'executable = /bin/echo\ntransfer_input_files = x.txt\nlog = a.log\narguments = hello\nqueue\ntransfer_input_files =\nlog =\narguments =\nqueue 2\n',
    'an attribute a per-proc command writes only sometimes': 'executable = /bin/echo\nhold = $(h)\narguments = $(b)\nqueue h, b from (\ntrue y\nfalse\n)\n',
    'old and new argument syntax per item': 'executable = /bin/echo\narguments = $(a)\nqueue a from (\n"x y"\nplain\n)\n',
    '+Attr still overrides a per-proc command': 'executable = /bin/echo\narguments = $(Process)\n+Args = "fixed"\npriority = $(Process)\n+JobPrio = 42\nqueue 3\n',
    'Requirements follows a per-proc +RequestMemory': 'executable = /bin/echo\n+RequestMemory = $(Process) * 0\nqueue 2\n',
    'per-proc requests and transfer lists': 'executable = /bin/echo\nrequest_memory = $(m)\ntransfer_input_files = $(f)\nshould_transfer_files = $(s)\nqueue m, f, s from (\n1G a YES\n1 b IF_NEEDED\n)\n',
    'conditional commands differ per queue statement': 'executable = /bin/echo\nif defined fast\nrequest_cpus = 4\nendif\nqueue\nfast = 1\nif defined fast\nrequest_cpus = 8\nendif\noutput = o.$(Process)\nqueue 2\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    it(name, () => {
      const d = compile(dir, text, { fileSystemDomain: 'submit.example' });
      const f = d.materialize(3);
      for (let p = 0; p < f.procCount; p++) {
        assert.equal(printClassAd(sortedAd(f.procAd(p))), printClassAd(sortedAd(d.referenceProcAd(3, p))), `proc ${p}`);
      }
    });
  }
});

function sortedAd(ad: ClassAd): ClassAd {
  return new ClassAd(ad.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

describe('review regressions', () => {
  it('an include cycle is placed at the include line', () => {
    dir.write('cyc-a.sub', 'include : cyc-b.sub\n');
    dir.write('cyc-b.sub', 'include : cyc-a.sub\n');
    assert.throws(() => compile(dir, 'executable = /bin/true\ninclude : cyc-a.sub\nqueue\n'), (e: unknown) => e instanceof SubmitError && e.position?.line === 1 && /cyc-b\.sub$/.test(e.position.file ?? ''));
  });
  it('macros used only by queue, include or if are not reported unused', () => {
    dir.write('inc2.sub', 'executable = /bin/true\n');
    const d = compile(dir, 'N = 2\nlist = a b\nincname = inc2.sub\nflag = true\ninclude : $(incname)\nif $(flag)\narguments = $(x)\nendif\nqueue $(N) x in ($(list))\n');
    assert.deepEqual(d.warnings, []);
  });
  it('an unused queue variable and a command after the last queue are reported', () => {
    const d = compile(dir, 'executable = /bin/true\nqueue x in (a b)\narguments = late\n');
    assert.deepEqual(d.warnings.map((w) => w.message), [
      "the line 'arguments = late' comes after the last queue statement, so no job uses it",
      "the Queue variable 'x' was unused by htc. Is it a typo?",
    ]);
  });
  it('a comment line inside a continuation is skipped', () => {
    assert.equal(attr(procAds(compile(dir, 'executable = /bin/echo\narguments = a \\\n# comment\n b\nqueue\n'))[0]!, 'Args'), '"a b"');
  });
  it('an error in a value built by macros points at the value, not past the line', () => {
    assert.throws(() => compile(dir, 'executable = /bin/true\nm = 1000000\nrequest_memory = $(m)Q\nqueue\n'), (e: unknown) => e instanceof SubmitError && e.position?.line === 3 && e.position.column === 18);
  });
  it('$Ff makes a full path from the submit directory', () => {
    assert.equal(attr(procAds(compile(dir, 'executable = /bin/echo\nf = data/x.txt\narguments = $Ff(f)\nqueue\n'))[0]!, 'Args'), JSON.stringify(`${dir.path}/data/x.txt`));
  });
  it('should_transfer_files = NO sets the FileSystemDomain its Requirements compares', () => {
    const ad = procAds(compile(dir, 'executable = /bin/true\nshould_transfer_files = NO\nqueue\n', { fileSystemDomain: 'ap.example' }))[0]!;
    assert.equal(attr(ad, 'FileSystemDomain'), '"ap.example"');
    assert.match(attr(ad, 'Requirements'), /\(TARGET\.FileSystemDomain == MY\.FileSystemDomain\)$/);
  });
  it('transfer_output = false is honoured', () => {
    assert.equal(attr(procAds(compile(dir, 'executable = /bin/true\noutput = o\ntransfer_output = false\nqueue\n'))[0]!, 'TransferOut'), 'false');
  });
});
