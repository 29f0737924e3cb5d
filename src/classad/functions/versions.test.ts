import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from './testing.ts';
import { naturalCompare } from './versions.ts';

const check = (cases: [string, string][]): void => {
  for (const [expr, want] of cases) it(`${expr} → ${want}`, () => assert.equal(show(expr), want));
};

describe('versioncmp and friends', () => {
  it('orders the manual\'s sequence 000, 00, 01, 010, 09, 0, 1, 9, 10', () => {
    const seq = ['000', '00', '01', '010', '09', '0', '1', '9', '10'];
    for (let i = 0; i + 1 < seq.length; i++) assert.ok(naturalCompare(seq[i]!, seq[i + 1]!) < 0, `${seq[i]} < ${seq[i + 1]}`);
  });
  check([
    ['versioncmp("7.9", "7.10") < 0', 'true'],
    ['versioncmp("7.x", "7.y") < 0', 'true'],
    ['versioncmp("1.2.3", "1.2.3")', '0'],
    ['versioncmp(10, 9) > 0', 'true'],
    ['versionGT("8.10.0", "8.9.5")', 'true'],
    ['versionGE("8.9", "8.9")', 'true'],
    ['versionLT("8.9", "8.10")', 'true'],
    ['versionLE("8.11", "8.10")', 'false'],
    ['versionEQ("1.0", "1.0")', 'true'],
    ['versionEQ("1.0", "1.00")', 'false'],
    ['versioncmp("a", undefined)', 'undefined'],
    ['versioncmp("a", error)', 'error'],
    ['versioncmp("a")', 'error'],
    ['version_in_range("8.9.5", "8.9", "8.10")', 'true'],
    ['version_in_range("8.11", "8.9", "8.10")', 'false'],
    ['version_in_range("8.9", undefined, "9")', 'undefined'],
    ['version_in_range("8.9", "8")', 'error'],
  ]);
  it('versioncmp returns the raw natural_cmp difference (implementation; the manual only promises the sign)', () => {
    assert.equal(show('versioncmp("a", "c")'), '-2');
  });
  it('version_in_range with an UNDEFINED version is ERROR (implementation: only the bounds propagate UNDEFINED)', () => {
    assert.equal(show('version_in_range(undefined, "1", "2")'), 'error');
  });
});
