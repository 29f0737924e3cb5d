/** Jobset files: one cluster per job block, one proc per iterator row. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compileJobset } from './jobset.ts';
import { SubmitError } from './submit-error.ts';
import { TempDir, attr, options, procAds } from './test-support.ts';

const dir = new TempDir();
after(() => dir.remove());

function jobset(text: string, name = 'set.jobset'): ReturnType<typeof compileJobset> {
  return compileJobset(text, dir.write(name, text), options(dir.path));
}

function throwsAt(text: string, line: number, message: RegExp): void {
  assert.throws(() => jobset(text), (e: unknown) => {
    assert.ok(e instanceof SubmitError, String(e));
    assert.match(e.message, message);
    assert.equal(e.position?.line, line, e.message);
    assert.match(e.position?.file ?? '', /set\.jobset$/);
    return true;
  });
}

const EXAMPLE = `# an example in HTCondor's jobset format
name = sweep

iterator = table alpha, beta {
  0.1, 1
  0.2, 2
  0.3, 3
}

job {
  executable = /bin/echo
  arguments = $(alpha) $(beta)
  queue
}

job gamma=alpha {
  executable = /bin/echo
  arguments = gamma=$(gamma)
  request_memory = 1G
}
`;

describe('jobsets', () => {
  it('make one cluster per job block with one proc per row', () => {
    const set = jobset(EXAMPLE);
    assert.equal(set.name, 'sweep');
    assert.deepEqual(set.vars, ['alpha', 'beta']);
    assert.equal(set.clusters.length, 2);
    const first = procAds(set.clusters[0]!);
    assert.deepEqual(first.map((a) => attr(a, 'Args')), ['"0.1 1"', '"0.2 2"', '"0.3 3"']);
    assert.equal(attr(first[0]!, 'JobSetName'), '"sweep"');
    assert.equal(attr(first[0]!, 'InJobSet'), 'true');
    const second = procAds(set.clusters[1]!);
    assert.deepEqual(second.map((a) => attr(a, 'Args')), ['"gamma=0.1"', '"gamma=0.2"', '"gamma=0.3"']);
    assert.equal(attr(second[0]!, 'RequestMemory'), '1024');
  });

  it('reads the iterator and job blocks from files', () => {
    dir.write('rows.csv', 'x, 1\ny, 2\n');
    dir.write('job.sub', 'executable = /bin/echo\narguments = $(name)-$(n)\n');
    const set = jobset('name = files\niterator = table name,n rows.csv\njob job.sub\n');
    assert.deepEqual(procAds(set.clusters[0]!).map((a) => attr(a, 'Args')), ['"x-1"', '"y-2"']);
  });

  it('errors name the jobset file and line', () => {
    throwsAt('iterator = table a { \n1\n}\njob {\nexecutable = /bin/true\n}\n', 1, /no "name = \.\.\."/);
    throwsAt('name = x\nname = y\n', 2, /set twice/);
    throwsAt('name = x\niterator = list a { 1 }\n', 2, /unknown iterator type "list"/);
    throwsAt('name = x\niterator = table a, b {\n1, 2\n3\n}\njob {\nexecutable = /bin/true\n}\n', 4, /a row has 1 value but the iterator names 2 variables/);
    throwsAt('name = x\niterator = table a {\n1\n', 2, /unclosed "\{"/);
    throwsAt('name = x\nfrobnicate = 1\n', 2, /unrecognized jobset line/);
    throwsAt('name = x\niterator = table a { 1 }\njob {\nuniverse = nope\nexecutable = /bin/true\n}\n', 4, /unknown universe "nope"/);
  });
});

describe('jobset details', () => {
  it('a multi-line queue statement in a job block is not used', () => {
    const set = jobset('name = m\niterator = table v { 1\n2 }\njob {\nexecutable = /bin/echo\narguments = $(v)\nqueue x in (\n  a\n  b\n)\n}\n');
    assert.equal(set.clusters[0]!.procCount, 2);
  });
  it('a bad row in an iterator file names that file', () => {
    dir.write('bad-rows.csv', 'a, 1\nb\n');
    assert.throws(() => jobset('name = f\niterator = table n, v bad-rows.csv\njob {\nexecutable = /bin/true\n}\n'), (e: unknown) => e instanceof SubmitError && /bad-rows\.csv$/.test(e.position?.file ?? '') && e.position?.line === 2);
  });
});
