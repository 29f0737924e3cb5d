/**
 * The public entry points of `src/classad`: which syntax a text is in, and
 * reading every ad of a file in any of the three syntaxes (positions true
 * to the file, time linear in its size).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClassAdSyntaxError, detectSyntax, evaluate, parseClassAd, parseClassAds, parseClassAdsText, parseOldClassAd,
  parseOneClassAd, printClassAd,
} from './index.ts';

describe('detectSyntax (review findings)', () => {
  it('new syntax whose first ad is empty is new syntax, not JSON', () => {
    assert.equal(detectSyntax('[ ]\n[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('[]\n[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('[  ]'), 'new');
    assert.deepEqual(parseClassAdsText('[ ]\n[ a = 1 ]').map(printClassAd), ['[  ]', '[ a = 1 ]']);
  });
  it('JSON is "{", "[" followed by "{", or the whole text "[]"', () => {
    assert.equal(detectSyntax('{"a": 1}'), 'json');
    assert.equal(detectSyntax('[\n  {"a": 1}\n]'), 'json');
    assert.equal(detectSyntax('[]'), 'json');
    assert.equal(detectSyntax('[]\n'), 'json');
    assert.deepEqual(parseClassAdsText('[]\n'), []);
  });
  it('a file starting with a /* */, // or # comment is detected by what follows', () => {
    assert.equal(detectSyntax('/* a job */\n[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('/* one */ /* two\nlines */ // three\n[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('// c\n[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('# c\nA = 1'), 'old');
    assert.equal(detectSyntax('/* c */ {"a": 1}'), 'json');
    assert.equal(evaluate('a', parseOneClassAd('/* a job */\n[ a = 1 ]')), 1);
  });
  it('a UTF-8 byte-order mark before the text is skipped', () => {
    assert.equal(detectSyntax('\ufeff[ a = 1 ]'), 'new');
    assert.equal(detectSyntax('\ufeff{"a": 1}'), 'json');
    assert.equal(detectSyntax('\ufeffA = 1'), 'old');
    for (const text of ['\ufeff[ a = 1 ]', '\ufeff{"a": 1}', '\ufeffa = 1', '\ufeff[{"a": 1}]']) {
      assert.equal(evaluate('a', parseOneClassAd(text)), 1, JSON.stringify(text));
    }
    assert.equal(evaluate('a', parseClassAd('\ufeff[ a = 1 ]')), 1);
    assert.equal(parseClassAds('\ufeff[ a = 1 ][ a = 2 ]').length, 2);
    assert.equal(evaluate('a', parseOldClassAd('\ufeffa = 1')), 1);
    assert.equal(evaluate('\ufeff1 + 1'), 2);
  });
});

describe('old-syntax files (review finding: quadratic in the number of ads)', () => {
  const adText = (i: number): string => Array.from({ length: 50 }, (_, j) => `Attr${j} = ${i * 100 + j}`).join('\n');

  it('error positions are lines of the file, also in a late ad', () => {
    const text = `${adText(0)}\n\n# second\n${adText(1)}\n\nA = 1\nB = (2 +\n`;
    assert.throws(() => parseClassAdsText(text, { syntax: 'old', file: 'f.ads' }), (e: unknown) => {
      assert.ok(e instanceof ClassAdSyntaxError, String(e));
      // 50 lines, blank, comment, 50 lines, blank, "A = 1", then the bad line.
      assert.deepEqual(e.position, { file: 'f.ads', line: 105, column: 9 });
      return true;
    });
  });

  it('old-syntax files with many ads parse in linear time', () => {
    const small = Array.from({ length: 500 }, (_, i) => adText(i)).join('\n\n');
    const large = Array.from({ length: 4000 }, (_, i) => adText(i)).join('\n\n');
    const time = (text: string): number => {
      const started = performance.now();
      const ads = parseClassAdsText(text, { syntax: 'old' });
      assert.equal(evaluate('Attr49', ads.at(-1)), (ads.length - 1) * 100 + 49);
      return performance.now() - started;
    };
    time(small); // warm up
    const t500 = time(small);
    const t4000 = time(large);
    // 8 times the ads: linear is about 8 times the time, quadratic 64 times.
    assert.ok(t4000 < 30 * t500 + 200, `500 ads: ${t500.toFixed(0)} ms, 4000 ads: ${t4000.toFixed(0)} ms`);
  });
});
