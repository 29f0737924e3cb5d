import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { remoteCommandLine, shellCommand, shellQuote } from './ssh-session.ts';

/** What a real POSIX shell makes of a command line: its words, one per line (printf '%s\0'). */
function words(argv: readonly string[]): string[] {
  const r = spawnSync('sh', ['-c', shellCommand(['printf', '%s\\0', ...argv])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('gives a POSIX shell back exactly the arguments, whatever they hold', () => {
    const hostile = [
      'plain', 'two words', '', "it's", '"double"', '$(touch /tmp/htc-pwned)', '`id`', '$HOME', 'a;b', 'a|b', 'a&b', '*', '?', '[x]',
      '~', 'line\nbreak', 'tab\there', '-n', '--', 'back\\slash', 'ünïcode ✓', "'", "''", '{a,b}', '#comment', '!', 'a>b', '<in',
    ];
    assert.deepEqual(words(hostile), hostile);
  });

  it('leaves plain words alone and quotes the rest', () => {
    assert.equal(shellQuote('sbatch'), 'sbatch');
    assert.equal(shellQuote('--time=00:05:00'), '--time=00:05:00');
    assert.equal(shellQuote('/scratch/u/htc.1'), '/scratch/u/htc.1');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
  });

  it('refuses what no shell argument can hold, and an empty command', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
    assert.throws(() => shellCommand([]), /needs a program/);
  });
});

describe('remoteCommandLine', () => {
  const hostile = ['plain', 'two words', '', "it's", '$(touch /tmp/htc-pwned)', '`id`', 'a;b', '!', '!!', 'line\nbreak', 'ünïcode ✓', '*'];
  const shells = ['sh', 'bash', 'tcsh', 'csh'].filter((sh) => spawnSync('sh', ['-c', `command -v ${sh}`]).status === 0);

  it('gives the arguments back exactly, through every login shell this machine has (sh, bash, csh, tcsh)', () => {
    assert.ok(shells.includes('sh'));
    const line = remoteCommandLine(['printf', '%s\\0', ...hostile]);
    assert.match(line, /^\/bin\/sh -c 'eval "\$\(echo [A-Za-z0-9+/=]+ \| base64 -d\)"'$/, 'the login shell sees only safe characters');
    for (const shell of shells) {
      const r = spawnSync(shell, ['-c', line], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
      assert.deepEqual(r.stdout.split('\0').slice(0, -1), hostile, shell);
    }
  });

  it('passes standard input and the exit status through', () => {
    const r = spawnSync('sh', ['-c', remoteCommandLine(['sh', '-c', 'cat; exit 3'])], { encoding: 'utf8', input: 'in\n' });
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'in\n');
  });
});
