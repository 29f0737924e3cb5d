/**
 * The resource requests (submit_utils.cpp SetRequestMem/Disk/Cpus/Gpus,
 * metric_units.cpp parse_int64_bytes): sizes with units rounded up to MiB
 * or KiB, counts, expressions passed through, and the errors with offsets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValueError } from './submit-error.ts';
import { parseRequestCpus, parseRequestDisk, parseRequestGpus, parseRequestMemory, type RequestValue } from './units.ts';

function valueError(fn: () => unknown, what: string): ValueError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValueError, `${what}: expected a ValueError, got ${String(e)}`);
    return e;
  }
  assert.fail(`${what}: expected a ValueError, nothing was thrown`);
}

const num = (value: number): RequestValue => ({ kind: 'number', value });
const expr = (text: string): RequestValue => ({ kind: 'expression', text });

describe('parseRequestMemory: sizes in MiB', () => {
  const cases: [value: string, mib: number][] = [
    ['0', 0],
    ['1', 1],
    ['2048', 2048],
    ['007', 7],
    ['+64', 64],
    // Units, case-insensitive, 1024-based, optional B, optional space before the unit.
    ['1M', 1],
    ['1m', 1],
    ['1MB', 1],
    ['1mb', 1],
    ['1Mb', 1],
    ['1G', 1024],
    ['1g', 1024],
    ['2GB', 2048],
    ['2 G', 2048],
    ['2  gb', 2048],
    ['1T', 1024 * 1024],
    ['1TB', 1024 * 1024],
    ['1024K', 1],
    ['1024KB', 1],
    ['4096k', 4],
    // Rounded up to a whole MiB.
    ['1K', 1],
    ['1500K', 2],
    ['1025K', 2],
    ['1.5', 2],
    ['1.5M', 2],
    ['0.1', 1],
    ['2.5G', 2560],
    ['.5G', 512],
    ['5.', 5],
    ['1.0', 1],
    ['0.0', 0],
    // Only three fraction digits count (parse_int64_bytes).
    ['1.0001', 1],
    ['1.0009G', 1024],
    ['1.001G', 1026],
    // Surrounding whitespace.
    ['  512M  ', 512],
    ['\t8G', 8192],
  ];
  for (const [value, mib] of cases) {
    it(JSON.stringify(value), () => assert.deepEqual(parseRequestMemory(value), num(mib)));
  }
});

describe('parseRequestDisk: sizes in KiB', () => {
  const cases: [value: string, kib: number][] = [
    ['0', 0],
    ['100', 100],
    ['1K', 1],
    ['1KB', 1],
    ['1M', 1024],
    ['1.5M', 1536],
    ['1G', 1024 * 1024],
    ['1gb', 1024 * 1024],
    ['2T', 2 * 1024 ** 3],
    ['1.5', 2],
    ['0.001', 1],
    ['0.0001', 0],
    ['10 G', 10 * 1024 * 1024],
  ];
  for (const [value, kib] of cases) {
    it(JSON.stringify(value), () => assert.deepEqual(parseRequestDisk(value), num(kib)));
  }
});

describe('parseRequestMemory / parseRequestDisk: expressions pass through', () => {
  const cases: string[] = [
    'MemoryUsage * 2',
    'ifThenElse(MemoryUsage =!= undefined, MemoryUsage * 3 / 2, 2048)',
    'MY.VM_Memory',
    '2048 + 512',
    '2 * 1024',
    '1024K * 2',
    '2e3',
    '1E3',
    '(4096)',
    'undefined',
    'UNDEFINED',
    '-1 + MemoryUsage',
    'x',
    '1,024',
  ];
  for (const value of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseRequestMemory(value), expr(value));
      assert.deepEqual(parseRequestDisk(value), expr(value));
    });
  }
  it('the expression text is trimmed', () => {
    assert.deepEqual(parseRequestMemory('  MemoryUsage  '), expr('MemoryUsage'));
  });
});

describe('parseRequestMemory / parseRequestDisk: errors', () => {
  const cases: [value: string, offset: number, message: RegExp][] = [
    ['', 0, /request_memory is empty: expected a size such as 2048, 512M or 2G/],
    ['   ', 0, /is empty/],
    ['2Q', 1, /unknown unit "Q" in request_memory: expected K, M, G or T \(optionally followed by B\), or no unit for MiB$/],
    ['2 Q', 2, /unknown unit "Q"/],
    ['  10 bytes', 5, /unknown unit "bytes"/],
    ['2KiB', 1, /unknown unit "KiB".*write K for KiB: units are always 1024-based/],
    ['2 GiB', 2, /write G for GiB/],
    ['2B', 1, /unknown unit "B".*there is no byte unit/],
    ['2kbb', 1, /unknown unit "kbb"/],
    ['1.5x', 3, /unknown unit "x"/],
    ['-5', 0, /request_memory must not be negative/],
    ['  -1G', 2, /must not be negative/],
    ['-0.5', 0, /must not be negative/],
    ['99999999999999999999', 0, /too large/],
    ['9000000000T', 0, /too large/],
  ];
  for (const [value, offset, message] of cases) {
    it(JSON.stringify(value), () => {
      const e = valueError(() => parseRequestMemory(value), value);
      assert.equal(e.offset, offset, `offset (message: ${e.message})`);
      assert.match(e.message, message);
    });
  }
  it('disk errors name request_disk and KiB', () => {
    const e = valueError(() => parseRequestDisk('5X'), '5X');
    assert.match(e.message, /unknown unit "X" in request_disk: .*or no unit for KiB/);
    assert.equal(e.offset, 1);
    assert.match(valueError(() => parseRequestDisk('-1'), '-1').message, /request_disk must not be negative/);
  });
});

describe('parseRequestCpus / parseRequestGpus: counts', () => {
  const cases: [value: string, count: number][] = [
    ['0', 0],
    ['1', 1],
    ['4', 4],
    [' 16 ', 16],
    ['+2', 2],
    ['08', 8],
    ['1.0', 1],
    ['2.', 2],
  ];
  for (const [value, count] of cases) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseRequestCpus(value), num(count));
      assert.deepEqual(parseRequestGpus(value), num(count));
    });
  }
  for (const value of ['TARGET.Cpus', 'ifThenElse(x, 2, 1)', 'undefined', '2 * 2', '1e2']) {
    it(`expression ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseRequestCpus(value), expr(value));
      assert.deepEqual(parseRequestGpus(value), expr(value));
    });
  }
});

describe('parseRequestCpus / parseRequestGpus: errors', () => {
  const cases: [value: string, offset: number, message: RegExp][] = [
    ['', 0, /request_cpus is empty: expected a whole number of CPUs/],
    ['-1', 0, /request_cpus must not be negative/],
    [' -2', 1, /must not be negative/],
    ['1.5', 0, /request_cpus must be a whole number of CPUs, not a fraction/],
    ['.5', 0, /not a fraction/],
    ['4K', 1, /unexpected "K" after the number in request_cpus: expected a whole number of CPUs \(no unit\)/],
    ['2 cores', 2, /unexpected "cores"/],
    ['99999999999999999999', 0, /too large/],
  ];
  for (const [value, offset, message] of cases) {
    it(JSON.stringify(value), () => {
      const e = valueError(() => parseRequestCpus(value), value);
      assert.equal(e.offset, offset, `offset (message: ${e.message})`);
      assert.match(e.message, message);
    });
  }
  it('gpu errors name request_gpus', () => {
    assert.match(valueError(() => parseRequestGpus('1.5'), '1.5').message, /request_gpus must be a whole number of GPUs/);
    assert.match(valueError(() => parseRequestGpus('2 gpus'), '2 gpus').message, /request_gpus/);
  });
});

describe('properties', () => {
  const RUNS = 400;
  it('n<unit> equals the exact byte count rounded up to whole MiB / KiB', () => {
    const units: [string, number][] = [['', -1], ['K', 1024], ['M', 1024 ** 2], ['G', 1024 ** 3], ['KB', 1024], ['mb', 1024 ** 2]];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(...units), fc.boolean(), (n, [unit, bytes], space) => {
        const text = `${n}${space ? ' ' : ''}${unit}`;
        const memBytes = bytes < 0 ? n * 1024 ** 2 : n * bytes;
        const diskBytes = bytes < 0 ? n * 1024 : n * bytes;
        assert.deepEqual(parseRequestMemory(text), num(Math.ceil(memBytes / 1024 ** 2)));
        assert.deepEqual(parseRequestDisk(text), num(Math.ceil(diskBytes / 1024)));
      }),
      { numRuns: RUNS },
    );
  });
  it('never throws anything but ValueError, and numbers are non-negative safe integers', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('1', '0', '.', '-', '+', ' ', 'k', 'G', 'b', 'i', 'Q', 'e', '*', '('), maxLength: 8 }), (text) => {
        for (const parse of [parseRequestMemory, parseRequestDisk, parseRequestCpus, parseRequestGpus]) {
          try {
            const r = parse(text);
            if (r.kind === 'number') assert.ok(Number.isSafeInteger(r.value) && r.value >= 0, `${text} -> ${r.value}`);
            else assert.equal(r.text, text.trim());
          } catch (e) {
            assert.ok(e instanceof ValueError, String(e));
            assert.ok(e.offset >= 0 && e.offset <= text.length);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
