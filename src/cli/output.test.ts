import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutput } from './output.ts';

function capture(json: boolean): { out: ReturnType<typeof createOutput>; text: () => string } {
  let buffer = '';
  const out = createOutput({ json, stdout: { write: (s: string) => (buffer += s) } });
  return { out, text: () => buffer };
}

describe('createOutput', () => {
  it('json mode writes one document per call', () => {
    const { out, text } = capture(true);
    out.record({ a: 1 });
    out.list([{ b: 'x' }]);
    out.line('hello');
    assert.deepEqual(
      text().trimEnd().split('\n').map((l) => JSON.parse(l) as unknown),
      [{ a: 1 }, [{ b: 'x' }], 'hello'],
    );
  });

  it('human mode aligns record keys and list columns', () => {
    const { out, text } = capture(false);
    out.record({ id: 1, owner: 'ann' });
    out.list(
      [
        { id: '1.0', state: 'idle' },
        { id: '12.3', state: 'running' },
      ],
      [
        { key: 'id', header: 'ID' },
        { key: 'state', header: 'STATE' },
      ],
    );
    assert.equal(text(), 'id:    1\nowner: ann\nID    STATE\n1.0   idle\n12.3  running\n');
  });
});
