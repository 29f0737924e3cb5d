/** Reading what commands are given: files named on the command line and standard input. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { readTextFile } from './input.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'htc-input-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('readTextFile', () => {
  it('a UTF-8 byte-order mark at the start of a file or stdin is dropped', async () => {
    const path = join(dir, 'bom.ad');
    writeFileSync(path, '\ufeff[ a = 1 ]\n');
    assert.equal(await readTextFile(path, 'FILE'), '[ a = 1 ]\n');
    assert.equal(await readTextFile('-', 'FILE', Readable.from([Buffer.from('\ufeffA = 1\n')])), 'A = 1\n');
    // Only a leading one: the character elsewhere is text.
    writeFileSync(path, 'x\ufeff');
    assert.equal(await readTextFile(path, 'FILE'), 'x\ufeff');
  });
  it('a missing file is FILE_NOT_FOUND naming the option', () => {
    assert.throws(() => readTextFile(join(dir, 'nope'), '--ad'), (e: unknown) => {
      assert.ok(e instanceof HtcError && e.code === 'FILE_NOT_FOUND', String(e));
      assert.match(e.message, /^--ad: no such file: /);
      return true;
    });
  });
});
