/**
 * The pilot protocol's boundary: every message type survives
 * JSON.stringify → parse unchanged, and malformed frames are refused with
 * HtcError BAD_REQUEST and a message naming the field at fault.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import {
  checkSandboxName, frameText, parseApMessage, parsePilotMessage, parseResources,
  type AckMessage, type ClaimMessage, type DoneMessage, type DrainingMessage, type FailedMessage, type HeartbeatMessage, type HelloMessage,
  type JobSpec, type RunUsage, type ShutdownMessage, type VacateMessage, type VacatedMessage, type WelcomeMessage,
} from './pilot.ts';

const usage: RunUsage = { userCpuSeconds: 12.5, sysCpuSeconds: 0.25, memoryPeakMb: 301.7, wallSeconds: 30, bytesReceived: 1024, bytesSent: 0 };

const done: DoneMessage = { type: 'done', claimId: 'p1-claim-1', jobId: '12.3', exit: { exitBySignal: false, exitCode: 0 }, usage };
const killed: DoneMessage = { type: 'done', claimId: 'p1-claim-2', jobId: '12.4', exit: { exitBySignal: true, signal: 9 }, usage: { ...usage, wallSeconds: 0 } };
const vacated: VacatedMessage = { type: 'vacated', claimId: 'p1-claim-3', jobId: '13.0', reason: 'the pilot is draining', usage };
const vacatedEarly: VacatedMessage = { type: 'vacated', claimId: 'p1-claim-4', jobId: '13.1', reason: '', usage: null };
const failed: FailedMessage = {
  type: 'failed', claimId: 'p1-claim-5', jobId: '14.0', failure: { reason: 'cannot run "x": permission denied', code: 6, subcode: 13 }, usage: null,
};

const hello: HelloMessage = {
  type: 'hello',
  version: 1,
  pilotId: '0b7c1f9e-5c1d-4c53-9d1b-3a4f7e2b9c10',
  hostname: 'node17.cluster.example.org',
  resources: { cpus: 64, memoryMb: 256_000, diskKb: 900_000_000, gpus: 4 },
  attributes: { Arch: 'X86_64', OpSys: 'LINUX', HasGPU: true, Mips: 41234.5, _private_1: 0 },
  start: 'TARGET.Owner == "alice" && RequestMemory <= 4096',
  endTime: 1_700_086_400,
  running: [{ claimId: 'p1-claim-6', jobId: '15.0' }],
  reports: [done, vacatedEarly, failed],
};

const spec: JobSpec = {
  jobId: '21.7',
  owner: 'alice',
  executable: 'condor_exec.exe',
  arguments: ['-n', 'a b', '', 'ünïcödé'],
  environment: { PATH: '/usr/bin:/bin', EMPTY: '', 'WITH SPACE': 'x' },
  inputs: [
    { index: 0, name: 'condor_exec.exe', size: 2048, executable: true, sha256: 'a'.repeat(64) },
    { index: 1, name: 'data/part-1.csv', size: 0, executable: false, sha256: null },
    { index: 2, name: '.hidden..name', size: 5, executable: false, sha256: null },
  ],
  stdin: '_condor_stdin',
  stdout: '_condor_stdout',
  stderr: '_condor_stderr',
  outputs: ['result.txt', 'outdir'],
  request: { cpus: 2, memoryMb: 4096, diskKb: 1_048_576, gpus: 0 },
  maxRuntimeSeconds: 3600,
};

const welcome: WelcomeMessage = { type: 'welcome', slotName: 'slot1@0b7c1f9e.node17', heartbeatSeconds: 0.5, stale: ['p1-claim-0', ''] };
const claim: ClaimMessage = { type: 'claim', claimId: 'p1-claim-7', job: spec };
const claimBare: ClaimMessage = {
  type: 'claim', claimId: 'p1-claim-8', job: { ...spec, executable: '/usr/bin/env', inputs: [], arguments: [], environment: {}, stdin: null, stdout: null, stderr: null, outputs: null, maxRuntimeSeconds: null },
};
const ack: AckMessage = { type: 'ack', claimId: 'p1-claim-1', refused: null };
const ackRefused: AckMessage = { type: 'ack', claimId: 'p1-claim-9', refused: 'claim p1-claim-9 is stale: job 1.0 runs under another claim now' };
const vacate: VacateMessage = { type: 'vacate', claimId: 'p1-claim-1', reason: 'the job is no longer running (held or removed)' };
const shutdown: ShutdownMessage = { type: 'shutdown', reason: 'the annex was removed' };

/** Asserts that `fn` throws HtcError BAD_REQUEST with exactly `message`. */
function badRequest(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HtcError, `expected an HtcError, got ${String(error)}`);
    assert.equal(error.code, 'BAD_REQUEST');
    assert.equal(error.message, message);
    return true;
  });
}

/** `base` with some fields replaced (undefined removes a field), as JSON text. */
function variant(base: object, changes: Record<string, unknown>): string {
  const o: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return JSON.stringify(o);
}

describe('parsePilotMessage: every pilot → AP message round-trips', () => {
  const heartbeat: HeartbeatMessage = { type: 'heartbeat' };
  const draining: DrainingMessage = { type: 'draining', reason: 'the allocation ends in 300 s' };
  const messages = { hello, helloNoEnd: { ...hello, endTime: null, running: [], reports: [], attributes: {} }, heartbeat, draining, done, killed, vacated, vacatedEarly, failed };
  for (const [name, message] of Object.entries(messages)) {
    it(name, () => {
      assert.deepEqual(parsePilotMessage(JSON.stringify(message)), message);
    });
  }

  it('drops fields it does not know', () => {
    assert.deepEqual(parsePilotMessage('{"type":"heartbeat","extra":[1,2]}'), { type: 'heartbeat' });
    assert.deepEqual(parsePilotMessage(variant(done, { secret: 'x' })), done);
  });
});

describe('parseApMessage: every AP → pilot message round-trips', () => {
  const messages = { welcome, claim, claimBare, ack, ackRefused, vacate, shutdown };
  for (const [name, message] of Object.entries(messages)) {
    it(name, () => {
      assert.deepEqual(parseApMessage(JSON.stringify(message)), message);
    });
  }

  it('an input\'s executable flag is true only when it is true', () => {
    const job = { ...spec, inputs: [{ index: 0, name: 'x', size: 1, executable: 'yes' }, { index: 1, name: 'y', size: 1 }] };
    const parsed = parseApMessage(JSON.stringify({ ...claim, job }));
    assert.equal(parsed.type, 'claim');
    assert.deepEqual(parsed.type === 'claim' ? parsed.job.inputs : undefined, [
      { index: 0, name: 'x', size: 1, executable: false, sha256: null },
      { index: 1, name: 'y', size: 1, executable: false, sha256: null },
    ]);
  });
});

describe('input checksums', () => {
  it('an input may carry the SHA-256 the AP knows; anything but 64 lower-case hex digits is refused', () => {
    const good = { ...spec, inputs: [{ index: 0, name: 'x', size: 1, executable: false, sha256: 'ab'.repeat(32) }] };
    const parsed = parseApMessage(JSON.stringify({ ...claim, job: good }));
    assert.equal(parsed.type === 'claim' ? parsed.job.inputs[0]?.sha256 : undefined, 'ab'.repeat(32));
    for (const bad of ['AB'.repeat(32), 'ab', 42]) {
      const job = { ...spec, inputs: [{ index: 0, name: 'x', size: 1, executable: false, sha256: bad }] };
      assert.throws(() => parseApMessage(JSON.stringify({ ...claim, job })), /claim\.job\.inputs\[0\]\.sha256/);
    }
  });
});

describe('malformed frames are refused (both directions)', () => {
  it('not JSON, not an object, unknown or missing type', () => {
    for (const parse of [parsePilotMessage, parseApMessage]) {
      badRequest(() => parse(''), 'pilot protocol: a message is not JSON');
      badRequest(() => parse('{"type":"heartbeat"'), 'pilot protocol: a message is not JSON');
      badRequest(() => parse('[{"type":"heartbeat"}]'), 'pilot protocol: message must be an object');
      badRequest(() => parse('null'), 'pilot protocol: message must be an object');
      badRequest(() => parse('"heartbeat"'), 'pilot protocol: message must be an object');
      badRequest(() => parse('{"type":"bogus"}'), 'pilot protocol: unknown message type "bogus"');
      badRequest(() => parse('{"claimId":"c"}'), 'pilot protocol: unknown message type undefined');
    }
  });

  it('a message for the other direction is an unknown type', () => {
    badRequest(() => parseApMessage(JSON.stringify(hello)), 'pilot protocol: unknown message type "hello"');
    badRequest(() => parseApMessage(JSON.stringify(done)), 'pilot protocol: unknown message type "done"');
    badRequest(() => parsePilotMessage(JSON.stringify(claim)), 'pilot protocol: unknown message type "claim"');
    badRequest(() => parsePilotMessage(JSON.stringify(ack)), 'pilot protocol: unknown message type "ack"');
  });
});

describe('parsePilotMessage: malformed hello', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['version as text', { version: '1' }, 'hello.version must be a number >= 0'],
    ['a fractional version', { version: 1.5 }, 'hello.version must be a whole number'],
    ['a negative version', { version: -1 }, 'hello.version must be a number >= 0'],
    ['no pilotId', { pilotId: undefined }, 'hello.pilotId must be a string of at most 200 characters'],
    ['a too-long pilotId', { pilotId: 'p'.repeat(201) }, 'hello.pilotId must be a string of at most 200 characters'],
    ['a too-long hostname', { hostname: 'h'.repeat(256) }, 'hello.hostname must be a string of at most 255 characters'],
    ['resources not an object', { resources: [8, 1000, 1000, 0] }, 'hello.resources must be an object'],
    ['negative cpus', { resources: { ...hello.resources, cpus: -1 } }, 'hello.resources.cpus must be a number >= 0'],
    ['fractional memory', { resources: { ...hello.resources, memoryMb: 1.5 } }, 'hello.resources.memoryMb must be a whole number'],
    ['gpus missing', { resources: { cpus: 1, memoryMb: 1, diskKb: 1 } }, 'hello.resources.gpus must be a number >= 0'],
    ['an attribute name with a dash', { attributes: { 'Bad-Name': 1 } }, 'hello.attributes: "Bad-Name" is not an attribute name'],
    ['an attribute name starting with a digit', { attributes: { '1st': 1 } }, 'hello.attributes: "1st" is not an attribute name'],
    ['an empty attribute name', { attributes: { '': 1 } }, 'hello.attributes: "" is not an attribute name'],
    ['an attribute that is a list', { attributes: { Ok: [1] } }, 'hello.attributes.Ok must be a string, number or boolean'],
    ['an attribute that is null', { attributes: { Ok: null } }, 'hello.attributes.Ok must be a string, number or boolean'],
    ['attributes not an object', { attributes: 'Arch=X86_64' }, 'hello.attributes must be an object'],
    ['a too-long start expression', { start: 't'.repeat(65537) }, 'hello.start must be a string of at most 65536 characters'],
    ['an endTime as text', { endTime: '1700000000' }, 'hello.endTime must be a number >= 0'],
    ['a missing endTime (null is required for none)', { endTime: undefined }, 'hello.endTime must be a number >= 0'],
    ['running not a list', { running: {} }, 'hello.running must be a list of at most 100000'],
    ['a running claim that is not an object', { running: ['c'] }, 'hello.running[0] must be an object'],
    ['a running job id as a number', { running: [{ claimId: 'c', jobId: 1 }] }, 'hello.running[0].jobId must be a string of at most 40 characters'],
    ['a report of an unknown type', { reports: [done, { type: 'heartbeat', claimId: 'c', jobId: '1.0' }] }, 'hello.reports[1]: unknown report type "heartbeat"'],
    ['a bad report inside', { reports: [{ ...done, exit: { exitBySignal: false, exitCode: -2 } }] }, 'hello.reports[0].exit.exitCode must be a number >= 0'],
  ];
  for (const [what, changes, message] of cases) {
    it(what, () => badRequest(() => parsePilotMessage(variant(hello, changes)), `pilot protocol: ${message}`));
  }

  it('numbers JSON reads as infinite are refused', () => {
    badRequest(() => parsePilotMessage(variant(hello, { endTime: 0 }).replace('"endTime":0', '"endTime":1e400')), 'pilot protocol: hello.endTime must be a number >= 0');
  });
});

describe('parsePilotMessage: malformed reports and draining', () => {
  const cases: [string, object, Record<string, unknown>, string][] = [
    ['no claimId', done, { claimId: undefined }, 'done.claimId must be a string of at most 200 characters'],
    ['a too-long claimId', vacated, { claimId: 'c'.repeat(201) }, 'vacated.claimId must be a string of at most 200 characters'],
    ['a too-long jobId', failed, { jobId: '1'.repeat(41) }, 'failed.jobId must be a string of at most 40 characters'],
    ['exit not an object', done, { exit: 0 }, 'done.exit must be an object'],
    ['exitBySignal missing', done, { exit: { exitCode: 0 } }, 'done.exit.exitBySignal must be true or false'],
    ['exitBySignal as text', done, { exit: { exitBySignal: 'false', exitCode: 0 } }, 'done.exit.exitBySignal must be true or false'],
    ['signal 0', done, { exit: { exitBySignal: true, signal: 0 } }, 'done.exit.signal must be a number >= 1'],
    ['a negative exit code', done, { exit: { exitBySignal: false, exitCode: -1 } }, 'done.exit.exitCode must be a number >= 0'],
    ['a fractional exit code', done, { exit: { exitBySignal: false, exitCode: 0.5 } }, 'done.exit.exitCode must be a whole number'],
    ['done without usage', done, { usage: null }, 'done.usage must be an object'],
    ['negative wall time', done, { usage: { ...usage, wallSeconds: -0.1 } }, 'done.usage.wallSeconds must be a number >= 0'],
    ['memory as text', vacated, { usage: { ...usage, memoryPeakMb: '300' } }, 'vacated.usage.memoryPeakMb must be a number >= 0'],
    ['bytes missing', failed, { usage: { ...usage, bytesSent: undefined } }, 'failed.usage.bytesSent must be a number >= 0'],
    ['vacated without reason', vacated, { reason: undefined }, 'vacated.reason must be a string of at most 4096 characters'],
    ['a too-long vacate reason', vacated, { reason: 'r'.repeat(4097) }, 'vacated.reason must be a string of at most 4096 characters'],
    ['vacated with usage missing (null is required for none)', vacated, { usage: undefined }, 'vacated.usage must be an object'],
    ['failed without failure', failed, { failure: undefined }, 'failed.failure must be an object'],
    ['a fractional hold code', failed, { failure: { reason: 'x', code: 1.5, subcode: 0 } }, 'failed.failure.code must be a whole number'],
    ['a negative hold subcode', failed, { failure: { reason: 'x', code: 6, subcode: -1 } }, 'failed.failure.subcode must be a number >= 0'],
    ['a failure without reason', failed, { failure: { code: 6, subcode: 0 } }, 'failed.failure.reason must be a string of at most 4096 characters'],
    ['draining without reason', { type: 'draining' }, {}, 'draining.reason must be a string of at most 4096 characters'],
  ];
  for (const [what, base, changes, message] of cases) {
    it(what, () => badRequest(() => parsePilotMessage(variant(base, changes)), `pilot protocol: ${message}`));
  }
});

describe('parseApMessage: malformed messages', () => {
  const jobWith = (changes: Record<string, unknown>): string => JSON.stringify({ ...claim, job: JSON.parse(variant(spec, changes)) });
  const cases: [string, string, string][] = [
    ['welcome: a too-long slot name', variant(welcome, { slotName: 's'.repeat(301) }), 'welcome.slotName must be a string of at most 300 characters'],
    ['welcome: a heartbeat below 0.05 s', variant(welcome, { heartbeatSeconds: 0.01 }), 'welcome.heartbeatSeconds must be a number >= 0.05'],
    ['welcome: a heartbeat as text', variant(welcome, { heartbeatSeconds: '5' }), 'welcome.heartbeatSeconds must be a number >= 0.05'],
    ['welcome: stale not a list', variant(welcome, { stale: 'c1' }), 'welcome.stale must be a list of at most 100000'],
    ['welcome: a stale entry that is not a string', variant(welcome, { stale: ['c1', 2] }), 'welcome.stale[1] must be a string'],
    ['claim: no claimId', variant(claim, { claimId: undefined }), 'claim.claimId must be a string of at most 200 characters'],
    ['claim: no job', variant(claim, { job: undefined }), 'claim.job must be an object'],
    ['claim: a too-long job id', jobWith({ jobId: '9'.repeat(41) }), 'claim.job.jobId must be a string of at most 40 characters'],
    ['claim: a too-long owner', jobWith({ owner: 'o'.repeat(256) }), 'claim.job.owner must be a string of at most 255 characters'],
    ['claim: no executable', jobWith({ executable: undefined }), 'claim.job.executable must be a string of at most 4096 characters'],
    ['claim: an argument that is a number', jobWith({ arguments: ['a', 2] }), 'claim.job.arguments[1] must be a string'],
    ['claim: environment not an object', jobWith({ environment: ['A=1'] }), 'claim.job.environment must be an object'],
    ['claim: an environment value that is a number', jobWith({ environment: { A: '1', B: 2 } }), 'claim.job.environment.B must be a string'],
    ['claim: an input without a size', jobWith({ inputs: [{ index: 0, name: 'a', executable: false }] }), 'claim.job.inputs[0].size must be a number >= 0'],
    ['claim: a negative input index', jobWith({ inputs: [{ index: -1, name: 'a', size: 0 }] }), 'claim.job.inputs[0].index must be a number >= 0'],
    ['claim: an input name that is not a string', jobWith({ inputs: [{ index: 0, name: 7, size: 0 }] }), 'claim.job.inputs[0].name must be a string of at most 4096 characters'],
    ['claim: stdout as a number', jobWith({ stdout: 1 }), 'claim.job.stdout must be a string of at most 4096 characters'],
    ['claim: stdin missing (null is required for none)', jobWith({ stdin: undefined }), 'claim.job.stdin must be a string of at most 4096 characters'],
    ['claim: outputs not a list', jobWith({ outputs: 'a,b' }), 'claim.job.outputs must be a list of at most 100000'],
    ['claim: an output that is not a string', jobWith({ outputs: ['a', false] }), 'claim.job.outputs[1] must be a string'],
    ['claim: request missing', jobWith({ request: undefined }), 'claim.job.request must be an object'],
    ['claim: negative gpus', jobWith({ request: { ...spec.request, gpus: -1 } }), 'claim.job.request.gpus must be a number >= 0'],
    ['claim: a zero runtime limit', jobWith({ maxRuntimeSeconds: 0 }), 'claim.job.maxRuntimeSeconds must be a number >= 1'],
    ['claim: a fractional runtime limit', jobWith({ maxRuntimeSeconds: 1.5 }), 'claim.job.maxRuntimeSeconds must be a whole number'],
    ['ack: refused as a number', variant(ack, { refused: 1 }), 'ack.refused must be a string of at most 4096 characters'],
    ['ack: refused missing (null is required for none)', variant(ack, { refused: undefined }), 'ack.refused must be a string of at most 4096 characters'],
    ['ack: a too-long claimId', variant(ack, { claimId: 'c'.repeat(201) }), 'ack.claimId must be a string of at most 200 characters'],
    ['vacate: no claimId', variant(vacate, { claimId: undefined }), 'vacate.claimId must be a string of at most 200 characters'],
    ['vacate: no reason', variant(vacate, { reason: undefined }), 'vacate.reason must be a string of at most 4096 characters'],
    ['shutdown: a too-long reason', variant(shutdown, { reason: 'r'.repeat(4097) }), 'shutdown.reason must be a string of at most 4096 characters'],
  ];
  for (const [what, text, message] of cases) {
    it(what, () => badRequest(() => parseApMessage(text), `pilot protocol: ${message}`));
  }

  it('a list longer than 100000 entries', () => {
    badRequest(() => parseApMessage(variant(welcome, { stale: new Array<string>(100_001).fill('') })), 'pilot protocol: welcome.stale must be a list of at most 100000');
    assert.equal((parseApMessage(variant(welcome, { stale: new Array<string>(100_000).fill('') })) as WelcomeMessage).stale.length, 100_000);
  });

  it('strings at their length limit are accepted', () => {
    const parsed = parseApMessage(variant(ack, { claimId: 'c'.repeat(200), refused: 'r'.repeat(4096) }));
    assert.deepEqual(parsed, { type: 'ack', claimId: 'c'.repeat(200), refused: 'r'.repeat(4096) });
  });
});

describe('sandbox names in a claim', () => {
  const jobWith = (changes: Record<string, unknown>): string => JSON.stringify({ ...claim, job: JSON.parse(variant(spec, changes)) });
  const bad = ['../x', 'a/../../x', '..', '/etc/passwd', '/', '', 'a//b', 'a/', './a', 'a/./b', '.', 'a\0b'];

  for (const name of bad) {
    it(`refuses ${JSON.stringify(name)} as an input name and as stdout, stdin or stderr`, () => {
      const reason = `${JSON.stringify(name)} is not a plain path inside the job's sandbox (no "..", no absolute path)`;
      badRequest(() => parseApMessage(jobWith({ inputs: [spec.inputs[0], { index: 1, name, size: 1, executable: false }] })), `claim.job.inputs[1].name ${reason}`);
      badRequest(() => parseApMessage(jobWith({ stdout: name })), `claim.job.stdout ${reason}`);
      badRequest(() => parseApMessage(jobWith({ stdin: name })), `claim.job.stdin ${reason}`);
      badRequest(() => parseApMessage(jobWith({ stderr: name })), `claim.job.stderr ${reason}`);
    });
  }
});

describe('checkSandboxName', () => {
  it('returns plain relative names unchanged', () => {
    for (const name of ['a', 'a/b/c.txt', '.hidden', 'a..b', '...', 'dir/..x', '_condor_stdout', 'sp ace/ünï']) {
      assert.equal(checkSandboxName(name, 'output'), name);
    }
  });

  it('refuses absolute names, "..", "." and empty parts, NUL, naming the field', () => {
    for (const name of ['/abs', '..', '../a', 'a/..', 'a/../b', '.', './a', 'a/.', '', 'a//b', 'a/', 'x\0']) {
      badRequest(() => checkSandboxName(name, 'output 3'), `output 3 ${JSON.stringify(name)} is not a plain path inside the job's sandbox (no "..", no absolute path)`);
    }
  });
});

describe('parseResources', () => {
  it('reads whole, non-negative numbers and names the field at fault', () => {
    assert.deepEqual(parseResources({ cpus: 0, memoryMb: 1, diskKb: 2, gpus: 3, other: 'x' }, 'slot'), { cpus: 0, memoryMb: 1, diskKb: 2, gpus: 3 });
    badRequest(() => parseResources({ cpus: 1, memoryMb: 1, diskKb: '2', gpus: 0 }, 'slot'), 'pilot protocol: slot.diskKb must be a number >= 0');
    badRequest(() => parseResources(null, 'slot'), 'pilot protocol: slot must be an object');
  });
});

describe('frameText', () => {
  const text = JSON.stringify({ type: 'draining', reason: 'fin de l’allocation — 5 min' });

  it('a Buffer', () => {
    assert.equal(frameText(Buffer.from(text, 'utf8')), text);
  });

  it('an ArrayBuffer', () => {
    const bytes = new TextEncoder().encode(text);
    const copy = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(copy).set(bytes);
    assert.equal(frameText(copy), text);
  });

  it('fragments (Buffer[]), split inside a multi-byte character', () => {
    const bytes = Buffer.from(text, 'utf8');
    const cut = bytes.indexOf(Buffer.from('—', 'utf8')) + 1;
    assert.equal(frameText([bytes.subarray(0, cut), bytes.subarray(cut, cut + 3), bytes.subarray(cut + 3)]), text);
    assert.equal(frameText([]), '');
  });

  it('a frame read with frameText parses', () => {
    assert.deepEqual(parsePilotMessage(frameText([Buffer.from(text.slice(0, 10)), Buffer.from(text.slice(10))])), JSON.parse(text));
  });
});

describe('names that are also Object.prototype keys', () => {
  it(
    'a hello attribute or an environment variable named __proto__ is kept or refused, never dropped silently',
    () => {
      const keptOrRefused = (parse: () => Record<string, unknown>): void => {
        let parsed: Record<string, unknown>;
        try {
          parsed = parse();
        } catch (error) {
          assert.ok(error instanceof HtcError && error.code === 'BAD_REQUEST', String(error));
          return;
        }
        assert.deepEqual(Object.keys(parsed), ['__proto__', 'A']);
      };
      const attributes = '{"__proto__":"x","A":1}';
      keptOrRefused(() => (parsePilotMessage(JSON.stringify(hello).replace(/"attributes":\{[^}]*\}/, `"attributes":${attributes}`)) as HelloMessage).attributes);
      const environment = '{"__proto__":"x","A":"1"}';
      keptOrRefused(() => (parseApMessage(JSON.stringify(claim).replace(/"environment":\{[^}]*\}/, `"environment":${environment}`)) as ClaimMessage).job.environment);
    },
  );
});
