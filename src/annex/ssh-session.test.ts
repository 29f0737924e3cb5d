import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { shellCommand, shellQuote } from './ssh-session.ts';

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
