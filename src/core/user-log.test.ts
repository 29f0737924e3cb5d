/**
 * User log text for each event kind, compared with the layout HTCondor's
 * condor_utils/condor_event.cpp writes (formatHeader, formatBody of
 * SubmitEvent, ExecuteEvent, JobEvictedEvent, JobTerminatedEvent,
 * JobAbortedEvent, JobHeldEvent, JobReleasedEvent; formatRusage; formatUsageAd).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventRecord, parseEventData, type JobEventData } from './events.ts';
import { formatEventTime, formatStoredEvent, formatUserLog, formatUserLogEvent } from './user-log.ts';

const ID = { clusterId: 1, procId: 0 };
// 2026-11-21 23:45:01 UTC
const T = Date.UTC(2026, 10, 21, 23, 45, 1) / 1000;
const UTC = { utcOffset: 0 };
const fmt = (e: JobEventData): string => formatUserLogEvent(ID, T, e, UTC);

describe('event time', () => {
  it('is YYYY-MM-DD HH:MM:SS in the given local zone', () => {
    assert.equal(formatEventTime(T, { utcOffset: 0 }), '2026-11-21 23:45:01');
    assert.equal(formatEventTime(T, { utcOffset: 3600 }), '2026-11-22 00:45:01');
    assert.equal(formatEventTime(T, { utcOffset: -5 * 3600 }), '2026-11-21 18:45:01');
    assert.equal(formatEventTime(T, { utcOffset: (t) => (t === T ? 7200 : 0) }), '2026-11-22 01:45:01');
  });
  it('ends in Z in UTC mode', () => {
    assert.equal(formatEventTime(T, { utc: true, utcOffset: 3600 }), '2026-11-21 23:45:01Z');
  });
  it('drops fractions of a second', () => {
    assert.equal(formatEventTime(T + 0.9, UTC), '2026-11-21 23:45:01');
  });
});

describe('header', () => {
  it('pads ids to three digits and keeps longer ones whole', () => {
    assert.match(formatUserLogEvent({ clusterId: 12345, procId: 7 }, T, { kind: 'released', data: {} }, UTC), /^013 \(12345\.007\.000\) 2026-11-21 23:45:01 Job was released\.\n/);
  });
});

describe('events', () => {
  it('000 submit', () => {
    assert.equal(fmt({ kind: 'submit', data: { host: '<127.0.0.1:9618?addrs=127.0.0.1-9618>' } }), '000 (001.000.000) 2026-11-21 23:45:01 Job submitted from host: <127.0.0.1:9618?addrs=127.0.0.1-9618>\n...\n');
    assert.equal(fmt({ kind: 'submit', data: { host: 'ap', notes: 'DAG Node: A' } }), '000 (001.000.000) 2026-11-21 23:45:01 Job submitted from host: ap\n    DAG Node: A\n...\n');
  });

  it('001 execute', () => {
    assert.equal(fmt({ kind: 'execute', data: { host: '<10.0.0.7:9618>' } }), '001 (001.000.000) 2026-11-21 23:45:01 Job executing on host: <10.0.0.7:9618>\n...\n');
    assert.equal(fmt({ kind: 'execute', data: { host: 'h', slotName: 'slot1_1@node7' } }), '001 (001.000.000) 2026-11-21 23:45:01 Job executing on host: h\n\tSlotName: slot1_1@node7\n...\n');
  });

  it('004 evicted', () => {
    assert.equal(
      fmt({ kind: 'evicted', data: { reason: 'slot lease expired', runRemoteUsage: { user: 90061, sys: 62 } } }),
      '004 (001.000.000) 2026-11-21 23:45:01 Job was evicted.\n' +
        '\t(0) CPU times\n' +
        '\t\tUsr 1 01:01:01, Sys 0 00:01:02  -  Run Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n' +
        '\t0  -  Run Bytes Sent By Job\n' +
        '\t0  -  Run Bytes Received By Job\n' +
        '\tslot lease expired\n' +
        '...\n',
    );
  });

  it('004 evicted: terminated and requeued', () => {
    assert.equal(
      fmt({ kind: 'evicted', data: { requeuedAfter: { normal: false, signal: 11, coreFile: '/tmp/core.1' }, bytesSent: 10, bytesReceived: 20 } }),
      '004 (001.000.000) 2026-11-21 23:45:01 Job was evicted.\n' +
        '\t(0) Job terminated and was requeued\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n' +
        '\t10  -  Run Bytes Sent By Job\n' +
        '\t20  -  Run Bytes Received By Job\n' +
        '\t(0) Abnormal termination (signal 11)\n' +
        '\t(1) Corefile in: /tmp/core.1\n' +
        '...\n',
    );
  });

  it('005 terminated normally, with the resource table and the end line', () => {
    assert.equal(
      fmt({
        kind: 'terminated',
        data: {
          exit: { normal: true, returnValue: 0 },
          runRemoteUsage: { user: 1, sys: 0 },
          totalRemoteUsage: { user: 1, sys: 0 },
          bytesSent: 27,
          bytesReceived: 1234,
          totalBytesSent: 27,
          totalBytesReceived: 1234,
          resources: [
            { name: 'Memory', usage: 0, request: 1, allocated: 128 },
            { name: 'Cpus', request: 1, allocated: 1 },
            { name: 'Disk', usage: 32, request: 32, allocated: 868234 },
          ],
          endedAt: T - 2,
        },
      }),
      '005 (001.000.000) 2026-11-21 23:45:01 Job terminated.\n' +
        '\t(1) Normal termination (return value 0)\n' +
        '\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Run Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n' +
        '\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Total Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n' +
        '\t27  -  Run Bytes Sent By Job\n' +
        '\t1234  -  Run Bytes Received By Job\n' +
        '\t27  -  Total Bytes Sent By Job\n' +
        '\t1234  -  Total Bytes Received By Job\n' +
        '\tPartitionable Resources :    Usage  Request Allocated \n' +
        '\t   Cpus                 :                 1         1 \n' +
        '\t   Disk (KB)            :       32       32    868234 \n' +
        '\t   Memory (MB)          :        0        1       128 \n' +
        '\n' +
        '\tJob terminated of its own accord at 2026-11-21T23:44:59Z with exit-code 0.\n' +
        '...\n',
    );
  });

  it('005 terminated by a signal, no core file, no table', () => {
    assert.equal(
      fmt({ kind: 'terminated', data: { exit: { normal: false, signal: 9 } } }),
      '005 (001.000.000) 2026-11-21 23:45:01 Job terminated.\n' +
        '\t(0) Abnormal termination (signal 9)\n' +
        '\t(0) No core file\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Remote Usage\n' +
        '\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n' +
        '\t0  -  Run Bytes Sent By Job\n' +
        '\t0  -  Run Bytes Received By Job\n' +
        '\t0  -  Total Bytes Sent By Job\n' +
        '\t0  -  Total Bytes Received By Job\n' +
        '...\n',
    );
  });

  it('the resource table aligns integers with fractional values', () => {
    const text = fmt({ kind: 'terminated', data: { exit: { normal: true, returnValue: 0 }, resources: [{ name: 'Cpus', usage: 0.25, request: 1, allocated: 1 }, { name: 'Memory', usage: 3, request: 1, allocated: 128 }] } });
    assert.ok(text.includes('\t   Cpus                 :     0.25        1         1 \n'), text);
    assert.ok(text.includes('\t   Memory (MB)          :     3           1       128 \n'), text);
  });

  it('009 aborted', () => {
    assert.equal(fmt({ kind: 'aborted', data: { reason: 'Via htc job remove (by user alice)' } }), '009 (001.000.000) 2026-11-21 23:45:01 Job was aborted.\n\tVia htc job remove (by user alice)\n...\n');
    assert.equal(fmt({ kind: 'aborted', data: {} }), '009 (001.000.000) 2026-11-21 23:45:01 Job was aborted.\n...\n');
  });

  it('012 held', () => {
    assert.equal(fmt({ kind: 'held', data: { reason: 'Via htc job hold (by user alice)', code: 1, subcode: 0 } }), '012 (001.000.000) 2026-11-21 23:45:01 Job was held.\n\tVia htc job hold (by user alice)\n\tCode 1 Subcode 0\n...\n');
    assert.equal(fmt({ kind: 'held', data: { reason: '', code: 3, subcode: 42 } }), '012 (001.000.000) 2026-11-21 23:45:01 Job was held.\n\tReason unspecified\n\tCode 3 Subcode 42\n...\n');
  });

  it('012 held keeps a multi-line reason on one line', () => {
    assert.equal(fmt({ kind: 'held', data: { reason: 'line one\nline two\r', code: 13, subcode: 2 } }), '012 (001.000.000) 2026-11-21 23:45:01 Job was held.\n\tline one|line two \n\tCode 13 Subcode 2\n...\n');
  });

  it('013 released', () => {
    assert.equal(fmt({ kind: 'released', data: { reason: 'Via htc job release (by user alice)' } }), '013 (001.000.000) 2026-11-21 23:45:01 Job was released.\n\tVia htc job release (by user alice)\n...\n');
  });
});

describe('stored events', () => {
  it('formats a sequence and skips kinds the user log has no event for', () => {
    const events = [
      { clusterId: 1, procId: 0, time: T, ...eventRecord({ kind: 'submit', data: { host: 'ap' } }) },
      { clusterId: 1, procId: 0, time: T, kind: 'edited', data: '{"attr":"RequestMemory"}' },
      { clusterId: 1, procId: 0, time: T + 1, ...eventRecord({ kind: 'held', data: { reason: 'r', code: 1, subcode: 0 } }) },
    ];
    assert.equal(formatUserLog(events, UTC), '000 (001.000.000) 2026-11-21 23:45:01 Job submitted from host: ap\n...\n012 (001.000.000) 2026-11-21 23:45:02 Job was held.\n\tr\n\tCode 1 Subcode 0\n...\n');
  });
  it('tolerates a submit event stored with empty data', () => {
    assert.equal(formatStoredEvent({ clusterId: 2, procId: 1, time: T, kind: 'submit', data: '{}' }, UTC), '000 (002.001.000) 2026-11-21 23:45:01 Job submitted from host: \n...\n');
    assert.equal(formatStoredEvent({ clusterId: 2, procId: 1, time: T, kind: 'submit', data: 'not json' }, UTC), undefined);
  });
  it('round-trips every kind through eventRecord and parseEventData', () => {
    const all: JobEventData[] = [
      { kind: 'submit', data: { host: 'h', notes: 'n' } },
      { kind: 'execute', data: { host: 'h', slotName: 's' } },
      { kind: 'evicted', data: { reason: 'r', runRemoteUsage: { user: 1, sys: 2 }, runLocalUsage: { user: 0, sys: 0 }, bytesSent: 1, bytesReceived: 2, requeuedAfter: { normal: true, returnValue: 3 }, resources: [{ name: 'Cpus', request: 1 }] } },
      { kind: 'terminated', data: { exit: { normal: false, signal: 6, coreFile: 'c' }, totalRemoteUsage: { user: 1, sys: 1 }, endedAt: 5 } },
      { kind: 'aborted', data: { reason: 'r' } },
      { kind: 'held', data: { reason: 'r', code: 3, subcode: 1 } },
      { kind: 'released', data: {} },
    ];
    for (const e of all) {
      const r = eventRecord(e);
      assert.deepEqual(parseEventData(r.kind, r.data), e);
    }
  });
});
