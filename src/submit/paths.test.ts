import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathFunction } from './paths.ts';
import { ValueError } from './submit-error.ts';

describe('pathFunction', () => {
  const P = '/tmp/dir/sim.exe';
  const cases: [letters: string, path: string, expected: string, cwd?: string][] = [
    // single letters on a full path
    ['', P, P],
    ['p', P, '/tmp/dir/'],
    ['d', P, 'dir/'],
    ['n', P, 'sim'],
    ['x', P, '.exe'],
    ['q', P, `"${P}"`],
    ['a', P, P],
    ['b', P, P],
    // bare
    ['pb', P, '/tmp/dir'],
    ['db', P, 'dir'],
    ['xb', P, 'exe'],
    // combinations
    ['nx', P, 'sim.exe'],
    ['pn', P, '/tmp/dir/sim'],
    ['px', P, P],
    ['pnx', P, P],
    ['dn', P, 'dir/sim'],
    ['dnx', P, 'dir/sim.exe'],
    ['dx', P, 'dir/sim.exe'],
    ['dp', P, 'dir/'],
    ['dd', P, 'tmp/dir/'],
    ['ddb', P, 'tmp/dir'],
    ['ddn', P, 'tmp/dir/sim'],
    ['ddd', P, '/tmp/dir/'],
    ['dddd', P, '/tmp/dir/'],
    ['xn', P, 'sim.exe'],
    ['NX', P, 'sim.exe'],
    ['Pn', P, '/tmp/dir/sim'],
    // quoting
    ['qn', P, '"sim"'],
    ['qa', P, `'${P}'`],
    ['aq', P, `'${P}'`],
    ['qnx', P, '"sim.exe"'],
    ['qp', P, '"/tmp/dir/"'],
    ['qd', 'sim.exe', '""'],
    ['qx', '/a/b', '""'],
    ['', `"${P}"`, P],
    ['', `'${P}'`, P],
    ['n', `"${P}"`, 'sim'],
    ['q', `"${P}"`, `"${P}"`],
    ['qa', `'${P}'`, `'${P}'`],
    ['', '"unbalanced', 'unbalanced'],
    ['', "trailing'", "trailing'"],
    // a file name without a directory
    ['', 'sim.exe', 'sim.exe'],
    ['p', 'sim.exe', ''],
    ['d', 'sim.exe', ''],
    ['pn', 'sim.exe', 'sim'],
    ['pnx', 'sim.exe', 'sim.exe'],
    ['dn', 'sim.exe', 'sim'],
    ['n', 'sim.exe', 'sim'],
    ['x', 'sim.exe', '.exe'],
    // extensions
    ['x', 'sim', ''],
    ['xb', 'sim', ''],
    ['n', 'sim', 'sim'],
    ['x', '.bashrc', ''],
    ['n', '.bashrc', '.bashrc'],
    ['x', '/home/u/.bashrc', ''],
    ['x', 'archive.tar.gz', '.gz'],
    ['n', 'archive.tar.gz', 'archive.tar'],
    ['x', '/a/b.c/file', ''],
    ['n', '/a/b.c/file', 'file'],
    ['x', 'file.', '.'],
    ['xb', 'file.', ''],
    ['n', 'file.', 'file'],
    // directories
    ['n', 'dir/', ''],
    ['p', 'dir/', 'dir/'],
    ['d', 'a/b/', 'b/'],
    ['p', '/file', '/'],
    ['pb', '/file', ''],
    ['d', '/file', '/'],
    ['p', '', ''],
    ['n', '', ''],
    // separators
    ['u', 'C:\\dir\\f.txt', 'C:/dir/f.txt'],
    ['un', 'C:\\dir\\f.txt', 'f'],
    ['up', 'C:\\dir\\f.txt', 'C:/dir/'],
    ['w', '/a/b/c.txt', '\\a\\b\\c.txt'],
    // Linux HTCondor finds directories by "/" only, so after w there are none
    ['wn', '/a/b/c.txt', '\\a\\b\\c'],
    ['n', 'a\\b.txt', 'a\\b'],
    // full path
    ['f', 'x/y.txt', '/home/u/x/y.txt', '/home/u'],
    ['f', 'x/y.txt', '/home/u/x/y.txt', '/home/u/'],
    ['f', './y.txt', '/home/u/y.txt', '/home/u'],
    ['f', '/abs/y.txt', '/abs/y.txt', '/home/u'],
    ['f', 'y.txt', 'y.txt'],
    ['f', 'y.txt', 'y.txt', ''],
    ['fp', 'x/y.txt', '/home/u/x/', '/home/u'],
    ['fn', 'y.txt', 'y', '/home/u'],
    ['fd', 'y.txt', 'u/', '/home/u'],
    ['fq', 'y.txt', '"/home/u/y.txt"', '/home/u'],
    ['fq', '"y.txt"', '"/home/u/y.txt"', '/home/u'],
    ['fw', 'x/y.txt', '\\home\\u\\x\\y.txt', '/home/u'],
  ];
  for (const [letters, path, expected, cwd] of cases) {
    it(`$F${letters}(${JSON.stringify(path)})${cwd === undefined ? '' : ` in ${cwd}`} = ${JSON.stringify(expected)}`, () => {
      assert.equal(pathFunction(letters, path, cwd), expected);
    });
  }

  it('rejects an unknown letter with its offset', () => {
    assert.throws(
      () => pathFunction('nz', P),
      (e: unknown) => e instanceof ValueError && e.offset === 1 && /unknown letter 'z'/.test(e.message),
    );
  });

  it('gives the same answer for the same letters twice (cached spec)', () => {
    assert.equal(pathFunction('dn', P), pathFunction('dn', P));
  });
});
