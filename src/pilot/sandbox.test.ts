/**
 * Sandboxes on real directories: private creation from any claim id; input
 * files that cannot escape (`..`, absolute names, a symlinked parent, an
 * existing file or link); output selection by HTCondor's new-or-changed rule;
 * listed outputs refused when they leave the sandbox (symlinked file or
 * parent, `..`, absolute) or do not exist; directories sent recursively;
 * removal that leaves what links point to alone.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HoldCode, Sandbox, SandboxError } from './sandbox.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htc-sandbox-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function writeInput(sandbox: Sandbox, name: string, text: string): Promise<void> {
  const handle = await sandbox.openInputForWrite(name);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Rejects with a SandboxError of this code whose message matches. */
async function refused(promise: Promise<unknown>, code: SandboxError['code'], message: RegExp): Promise<SandboxError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('expected a SandboxError'),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof SandboxError, `not a SandboxError: ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

describe('Sandbox.create', () => {
  it('makes a private directory under the execute dir whatever the claim id holds', async () => {
    const execute = join(tempDir(), 'execute');
    const sandbox = await Sandbox.create(execute, '../../etc/x y\n<claim>');
    assert.equal(statSync(sandbox.dir).mode & 0o777, 0o700);
    assert.ok(sandbox.dir.startsWith(`${execute}/claim_`), sandbox.dir);
    assert.doesNotMatch(sandbox.dir.slice(execute.length + 1), /[/\s<>]|\.\./);
    const again = await Sandbox.create(execute, '../../etc/x y\n<claim>');
    assert.notEqual(again.dir, sandbox.dir);
  });
});

describe('openInputForWrite', () => {
  it('writes files and makes their parent directories inside the sandbox', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c1');
    await writeInput(sandbox, 'data/set/a.txt', 'alpha');
    assert.equal(readFileSync(join(sandbox.dir, 'data/set/a.txt'), 'utf8'), 'alpha');
  });

  it('refuses names with "..", absolute names and empty parts, touching nothing', async () => {
    const root = tempDir();
    const sandbox = await Sandbox.create(join(root, 'execute'), 'c2');
    for (const name of ['../escape.txt', 'a/../../escape.txt', '/tmp/escape.txt', 'a//b', '']) {
      const error = await refused(sandbox.openInputForWrite(name), 'UNSAFE_NAME', /not a plain path inside the job's sandbox/);
      assert.equal(error.holdCode, HoldCode.TransferInputError);
    }
    assert.equal(existsSync(join(root, 'escape.txt')), false);
    assert.equal(existsSync(join(root, 'execute', 'escape.txt')), false);
  });

  it('refuses to write through a symlinked parent directory', async () => {
    const root = tempDir();
    const outside = join(root, 'outside');
    mkdirSync(outside);
    const sandbox = await Sandbox.create(join(root, 'execute'), 'c3');
    symlinkSync(outside, join(sandbox.dir, 'sub'));
    await refused(sandbox.openInputForWrite('sub/planted.txt'), 'OUTSIDE_SANDBOX', /"sub\/planted.txt" is inside "sub", a symbolic link/);
    assert.equal(existsSync(join(outside, 'planted.txt')), false);
  });

  it('refuses an existing file and a symbolic link in the file\'s place (O_EXCL, O_NOFOLLOW)', async () => {
    const root = tempDir();
    const target = join(root, 'target.txt');
    writeFileSync(target, 'original');
    const sandbox = await Sandbox.create(join(root, 'execute'), 'c4');
    await writeInput(sandbox, 'once.txt', 'first');
    await refused(sandbox.openInputForWrite('once.txt'), 'EXISTS', /input file "once.txt" already exists/);
    assert.equal(readFileSync(join(sandbox.dir, 'once.txt'), 'utf8'), 'first');
    symlinkSync(target, join(sandbox.dir, 'link.txt'));
    await refused(sandbox.openInputForWrite('link.txt'), 'EXISTS', /already exists/);
    assert.equal(readFileSync(target, 'utf8'), 'original');
  });
});

describe('outputFiles(null): new or changed top-level files', () => {
  it('sends files the job made or changed, not unchanged inputs, directories, links or excluded streams', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c5');
    await writeInput(sandbox, 'unchanged.txt', 'input');
    await writeInput(sandbox, 'rewritten.txt', 'input');
    await writeInput(sandbox, 'touched.txt', 'input');
    await sandbox.snapshot();
    // What a job would do:
    writeFileSync(join(sandbox.dir, 'result.txt'), 'new');
    writeFileSync(join(sandbox.dir, 'rewritten.txt'), 'changed, longer');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(sandbox.dir, 'touched.txt'), later, later);
    writeFileSync(join(sandbox.dir, '_condor_stdout'), 'out');
    mkdirSync(join(sandbox.dir, 'newdir'));
    writeFileSync(join(sandbox.dir, 'newdir', 'inner.txt'), 'not at the top');
    symlinkSync('/etc/passwd', join(sandbox.dir, 'passwd-link'));
    const outputs = await sandbox.outputFiles(null, { exclude: ['_condor_stdout', null] });
    assert.deepEqual(
      outputs.map((o) => o.name),
      ['result.txt', 'rewritten.txt', 'touched.txt'],
    );
    const result = outputs.find((o) => o.name === 'result.txt')!;
    assert.equal(result.path, join(sandbox.dir, 'result.txt'));
    assert.equal(result.size, 3);
  });

  it('is a programming error before snapshot()', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c6');
    await assert.rejects(sandbox.outputFiles(null), /snapshot\(\) must run before the job/);
  });
});

describe('outputFiles(list)', () => {
  it('resolves listed files and sends directories recursively; "dir/" sends only the contents', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c7');
    mkdirSync(join(sandbox.dir, 'results/deep'), { recursive: true });
    writeFileSync(join(sandbox.dir, 'results/a.txt'), 'a');
    writeFileSync(join(sandbox.dir, 'results/deep/b.txt'), 'bb');
    writeFileSync(join(sandbox.dir, 'out.txt'), 'out');
    symlinkSync('out.txt', join(sandbox.dir, 'alias.txt'));
    const listed = await sandbox.outputFiles(['./out.txt', 'results', 'alias.txt']);
    assert.deepEqual(
      listed.map((o) => [o.name, o.path.slice(sandbox.dir.length + 1), o.size]),
      [
        ['out.txt', 'out.txt', 3],
        ['results/a.txt', 'results/a.txt', 1],
        ['results/deep/b.txt', 'results/deep/b.txt', 2],
        // A link that stays inside is sent as the file it points to.
        ['alias.txt', 'out.txt', 3],
      ],
    );
    const contents = await sandbox.outputFiles(['results/']);
    assert.deepEqual(
      contents.map((o) => o.name),
      ['a.txt', 'deep/b.txt'],
    );
  });

  it('refuses a symbolic link to a file outside the sandbox', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c8');
    symlinkSync('/etc/passwd', join(sandbox.dir, 'out.txt'));
    const error = await refused(sandbox.outputFiles(['out.txt']), 'OUTSIDE_SANDBOX', /^transfer_output_files: "out.txt" is a symbolic link to \/etc\/passwd, outside the job's sandbox$/);
    assert.equal(error.holdCode, HoldCode.TransferOutputError);
    assert.deepEqual(error.failure(), { reason: error.message, code: 12, subcode: error.subcode });
  });

  it('refuses a file under a symlinked parent that leads outside, also inside a listed directory', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'secret.txt'), 'secret');
    const sandbox = await Sandbox.create(join(root, 'execute'), 'c9');
    symlinkSync(join(root, 'elsewhere'), join(sandbox.dir, 'sub'));
    await refused(sandbox.outputFiles(['sub/secret.txt']), 'OUTSIDE_SANDBOX', /"sub\/secret.txt" is inside "sub", a symbolic link to .*elsewhere, outside the job's sandbox/);
    mkdirSync(join(sandbox.dir, 'results'));
    symlinkSync(join(root, 'elsewhere', 'secret.txt'), join(sandbox.dir, 'results', 'leak.txt'));
    await refused(sandbox.outputFiles(['results']), 'OUTSIDE_SANDBOX', /"results\/leak.txt" \(in "results"\) is a symbolic link to .*secret.txt, outside/);
  });

  it('refuses ".." and absolute names', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c10');
    await refused(sandbox.outputFiles(['../other-claim/out.txt']), 'UNSAFE_NAME', /contains "\.\.", which leaves the job's sandbox/);
    await refused(sandbox.outputFiles(['/etc/passwd']), 'UNSAFE_NAME', /"\/etc\/passwd" is an absolute path/);
  });

  it('a listed file that does not exist is an error naming it', async () => {
    const sandbox = await Sandbox.create(tempDir(), 'c11');
    await refused(sandbox.outputFiles(['missing.txt']), 'NOT_FOUND', /^transfer_output_files: "missing.txt" does not exist in the job's sandbox$/);
    symlinkSync('nowhere.txt', join(sandbox.dir, 'dangling.txt'));
    await refused(sandbox.outputFiles(['dangling.txt']), 'NOT_FOUND', /"dangling.txt" does not exist/);
  });
});

describe('remove', () => {
  it('removes everything, leaves link targets alone, copes with read-only directories, and is idempotent', async () => {
    const root = tempDir();
    const kept = join(root, 'kept');
    mkdirSync(kept);
    writeFileSync(join(kept, 'precious.txt'), 'keep me');
    const sandbox = await Sandbox.create(join(root, 'execute'), 'c12');
    symlinkSync(kept, join(sandbox.dir, 'link-to-dir'));
    mkdirSync(join(sandbox.dir, 'locked'));
    writeFileSync(join(sandbox.dir, 'locked', 'file.txt'), 'x');
    chmodSync(join(sandbox.dir, 'locked'), 0o500);
    await sandbox.remove();
    assert.equal(existsSync(sandbox.dir), false);
    assert.equal(readFileSync(join(kept, 'precious.txt'), 'utf8'), 'keep me');
    await sandbox.remove();
  });
});
