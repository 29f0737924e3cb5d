/**
 * The access point end to end: the real daemon started by the real CLI,
 * jobs submitted and managed with the CLI, and the AP killed with SIGKILL
 * in the middle of bulk submits and restarted.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'htc.js');
let work = '';
let apDir = '';

function htc(args: string[], dir = apDir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: work, env: { ...process.env, HTC_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], dir = apDir): string {
  const r = htc(args, dir);
  assert.equal(r.status, 0, `htc ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'htc-ap-e2e-'));
  apDir = join(work, 'ap');
  writeFileSync(join(work, 'colors.sub'), 'executable = /bin/echo\narguments = $(Item)\nbatch_name = colors\nqueue in (red, green, blue)\n');
  writeFileSync(join(work, 'many.sub'), 'executable = /bin/true\nqueue 50000\n');
});

after(() => {
  // Whatever a failed test left running: every AP under the work dir is killed.
  for (const name of readdirSync(work)) {
    try {
      const access = JSON.parse(readFileSync(join(work, name, 'access.json'), 'utf8')) as { pid: number };
      process.kill(access.pid, 'SIGKILL');
    } catch {
      // not an AP directory, or already stopped
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the access point with the CLI', () => {
  it('starts, queues, lists, holds, releases, edits, removes and stops', () => {
    const started = JSON.parse(ok(['ap', 'start', '--json'])) as { pid: number };
    assert.ok(started.pid > 0);
    assert.equal(htc(['ap', 'start']).status, 2, 'a second AP in the same directory is refused');

    assert.match(ok(['job', 'submit', 'colors.sub']), /^3 job\(s\) submitted to cluster 1\.$/m);
    assert.match(ok(['job', 'submit', 'colors.sub', '--annex-name', 'a1', '--json']), /"clusterId":2/);
    const summary = ok(['job', 'list']);
    assert.match(summary, /colors\s+\S+ \S+\s+_\s+6\s+_\s+6\s+1\.0 \.\.\. 2\.2/);
    assert.match(summary, /Total for query: 6 jobs; 0 completed, 0 removed, 6 idle, 0 running, 0 held/);

    const jobs = JSON.parse(ok(['job', 'list', '--json'])) as Record<string, unknown>[];
    assert.equal(jobs.length, 6);
    assert.equal(jobs[4]!.TargetAnnexName, 'a1');
    assert.equal(jobs[0]!.Args, 'red');

    ok(['job', 'hold', '1.1', '--reason', 'looking into it']);
    const held = JSON.parse(ok(['job', 'status', '1.1', '--json'])) as { statusName: string; holdReason: string; ad: Record<string, unknown> };
    assert.equal(held.statusName, 'Held');
    assert.equal(held.holdReason, 'looking into it');
    assert.equal(held.ad.HoldReasonCode, 1);
    const again = htc(['job', 'hold', '1.1']);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /job 1\.1 not held: job 1\.1 is already held/);
    ok(['job', 'release', '1.1']);
    assert.match(ok(['job', 'status', '1.1']), /state:\s+Idle/);

    assert.match(ok(['job', 'edit', '1.0', 'Priority', '10']), /Set attribute Priority of job 1\.0 to 10/);
    const prot = htc(['job', 'edit', '1.0', 'Owner', '"mallory"']);
    assert.equal(prot.status, 2);
    assert.match(prot.stderr, /Owner cannot be changed/);
    assert.equal(JSON.parse(ok(['job', 'list', '--constraint', 'Priority == 10', '--json'])).length, 1);

    assert.match(ok(['job', 'remove', '2']), /Job 2\.0 removed\nJob 2\.1 removed\nJob 2\.2 removed/);
    assert.match(ok(['job', 'remove', '--constraint', 'Args == "blue"']), /Job 1\.2 removed/);
    const history = JSON.parse(ok(['job', 'history', '--json'])) as Record<string, unknown>[];
    assert.deepEqual(history.map((h) => `${String(h.ClusterId)}.${String(h.ProcId)}`).sort(), ['1.2', '2.0', '2.1', '2.2']);

    const missing = htc(['job', 'status', '7.0']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no job 7\.0 in the queue/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const bad = htc(['job', 'list', '--constraint', 'Args ==']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--constraint: constraint:1:8: expected an expression/);

    const status = JSON.parse(ok(['ap', 'status', '--json'])) as { jobs: { idle: number; held: number } };
    assert.equal(status.jobs.idle, 2);
    ok(['ap', 'stop']);
    const gone = htc(['job', 'list']);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /no access point is running/);
  });

  it('keeps the queue across a restart', () => {
    ok(['ap', 'start']);
    assert.match(ok(['job', 'list']), /Total for query: 2 jobs; 0 completed, 0 removed, 2 idle/);
    ok(['ap', 'stop']);
  });
});

describe('crash safety', () => {
  it('every acknowledged submit survives SIGKILL of the AP, exactly once and whole', async () => {
    const dir = join(work, 'crash');
    const script = join(work, 'submitter.mts');
    writeFileSync(script, `
      import { ApClient } from ${JSON.stringify(join(root, 'src/client/index.ts'))};
      import { SubmitDescription } from ${JSON.stringify(join(root, 'src/submit/index.ts'))};
      const d = SubmitDescription.compile('executable = /bin/true\\narguments = $(Process)\\nqueue 20\\n', ${JSON.stringify(join(work, 'x.sub'))}, { owner: 'x', now: 1, cwd: '/', env: {} });
      const factory = d.toFactory();
      const client = ApClient.open(${JSON.stringify(dir)});
      for (;;) {
        const r = await client.submit({ factory });
        process.stdout.write(r.clusterId + '\\n');
      }
    `);
    const acknowledged = new Set<number>();
    for (let round = 0; round < 3; round++) {
      ok(['ap', 'start'], dir);
      const access = JSON.parse(ok(['ap', 'status', '--json'], dir)) as { pid: number };
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise((r) => child.once('exit', r));
      child.stderr.resume();
      let buffer = '';
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const l of lines) acknowledged.add(Number(l));
      });
      // Kill once submits are flowing (the child needs a moment to start,
      // more on a loaded machine), at a different moment each round.
      const before = acknowledged.size;
      const deadline = Date.now() + 60_000;
      while (acknowledged.size < before + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50 + round * 150));
      process.kill(access.pid, 'SIGKILL');
      await exited;
    }
    assert.ok(acknowledged.size > 0, 'some submits were acknowledged before the kills');
    ok(['ap', 'start'], dir);
    const jobs = JSON.parse(ok(['job', 'list', '--all', '--json'], dir)) as { ClusterId: number; ProcId: number }[];
    const byCluster = new Map<number, Set<number>>();
    for (const j of jobs) {
      if (!byCluster.has(j.ClusterId)) byCluster.set(j.ClusterId, new Set());
      const procs = byCluster.get(j.ClusterId)!;
      assert.ok(!procs.has(j.ProcId), `job ${j.ClusterId}.${j.ProcId} is present once`);
      procs.add(j.ProcId);
    }
    for (const id of acknowledged) assert.equal(byCluster.get(id)?.size, 20, `acknowledged cluster ${id} is whole`);
    for (const [id, procs] of byCluster) assert.equal(procs.size, 20, `cluster ${id} is not half written`);
    ok(['ap', 'stop'], dir);
  });
});

describe('remote clients over HTTPS with tokens', () => {
  it('a token works with the pinned certificate, a wrong pin or a revoked token is refused', () => {
    const dir = join(work, 'remote');
    const started = JSON.parse(ok(['ap', 'start', '--listen', '127.0.0.1:0', '--json'], dir)) as { url: string };
    assert.match(started.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const issued = JSON.parse(ok(['token', 'create', '--lifetime', '1h', '--json'], dir)) as { token: string; id: string; url: string; fingerprint: string };
    const remote = (args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: work, env: { ...process.env, HTC_DIR: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const env = { HTC_URL: issued.url, HTC_FINGERPRINT: issued.fingerprint, HTC_TOKEN: issued.token };
    let r = remote(['job', 'submit', 'colors.sub'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 job\(s\) submitted to cluster 1/);
    r = remote(['job', 'list', '--json'], env);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 3);

    const wrongPin = issued.fingerprint.replace(/^../, issued.fingerprint.startsWith('00') ? '11' : '00');
    r = remote(['job', 'list'], { ...env, HTC_FINGERPRINT: wrongPin });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /fingerprint|certificate/i);

    r = remote(['job', 'list'], { ...env, HTC_TOKEN: `${issued.token.slice(0, -2)}xx` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /token/i);

    const readOnly = JSON.parse(ok(['token', 'create', '--scope', 'READ', '--lifetime', '1h', '--json'], dir)) as { token: string };
    r = remote(['token', 'create', '--scope', 'READ,WRITE'], { ...env, HTC_TOKEN: readOnly.token });
    assert.equal(r.status, 2, 'a READ token cannot mint a stronger one');
    assert.match(r.stderr, /needs the WRITE scope/);
    r = remote(['job', 'submit', 'colors.sub'], { ...env, HTC_TOKEN: readOnly.token });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs the WRITE scope/);

    ok(['token', 'revoke', issued.id], dir);
    r = remote(['job', 'list'], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /revoked/);
    ok(['ap', 'stop'], dir);
  });
});

describe('jobsets on the access point', () => {
  it('submits every job block, lists, shows and removes the jobset', () => {
    const dir = join(work, 'jobsets');
    writeFileSync(join(work, 'study.jobset'), 'name = study\niterator = table x { 1\n2\n3 }\njob {\nexecutable = /bin/echo\narguments = a $(x)\n}\njob {\nexecutable = /bin/echo\narguments = b $(x)\n}\n');
    ok(['ap', 'start'], dir);
    const submitted = JSON.parse(ok(['jobset', 'submit', 'study.jobset', '--json'], dir)) as { jobsetId: number; clusters: number[]; jobs: number };
    assert.deepEqual(submitted.clusters, [1, 2]);
    assert.equal(submitted.jobs, 6);
    const sets = JSON.parse(ok(['jobset', 'list', '--json'], dir)) as { name: string; clusters: number[]; idle: number; total: number }[];
    assert.deepEqual(sets.map((s) => [s.name, s.clusters, s.idle, s.total]), [['study', [1, 2], 6, 6]]);
    assert.match(ok(['jobset', 'status', 'study'], dir), /QUEUED:\s+6/);
    const jobs = JSON.parse(ok(['job', 'list', '--json'], dir)) as Record<string, unknown>[];
    assert.ok(jobs.every((j) => j.JobSetName === 'study' && j.JobSetId === submitted.jobsetId));
    assert.match(ok(['jobset', 'remove', 'study'], dir), /Removed 6 job\(s\) of jobset study/);
    assert.match(ok(['job', 'list'], dir), /Total for query: 0 jobs/);
    const missing = htc(['jobset', 'status', 'nope'], dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no jobset "nope"/);
    ok(['ap', 'stop'], dir);
  });
});

describe('late materialization on the access point', () => {
  it('accepts queue 1000000 at once, makes procs ahead in the background, and removes the cluster without making the rest', async () => {
    const dir = join(work, 'million');
    ok(['ap', 'start'], dir);
    const t = Date.now();
    assert.match(ok(['job', 'submit', 'many.sub'], dir), /50000 job\(s\) submitted to cluster 1/);
    assert.ok(Date.now() - t < 20_000);
    const status = JSON.parse(ok(['ap', 'status', '--json'], dir)) as { jobs: { idle: number } };
    assert.equal(status.jobs.idle, 50000, 'made and not-yet-made procs all count as idle');
    await new Promise((r) => setTimeout(r, 500));
    const summary = ok(['job', 'list'], dir);
    assert.match(summary, /Total for query: 50000 jobs; 0 completed, 0 removed, 50000 idle/);
    const removed = ok(['job', 'remove', '1'], dir);
    assert.match(removed, /job\(s\) not yet made removed/);
    assert.match(ok(['job', 'list'], dir), /Total for query: 0 jobs/);
    ok(['ap', 'stop'], dir);
  });
});

describe('the API refuses bad requests with 4xx and a message', () => {
  it('bad JSON, unknown paths, no authentication, too large', async () => {
    const dir = join(work, 'raw');
    ok(['ap', 'start'], dir);
    const socket = join(dir, 'ap.sock');
    const { request } = await import('node:http');
    const call = (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
    let r = await call('GET', '/v1/nowhere');
    assert.equal(r.status, 404);
    assert.match(r.body, /"code":"NOT_FOUND"/);
    r = await call('POST', '/v1/jobs/list', '{}');
    assert.equal(r.status, 401);
    assert.match(r.body, /not authenticated/);
    r = await call('POST', '/v1/auth/local/answer', '{not json');
    assert.equal(r.status, 400);
    assert.match(r.body, /not JSON/);
    r = await call('POST', '/v1/jobs/submit', undefined, { 'content-length': String(512 * 1024 * 1024) });
    assert.equal(r.status, 413);
    r = await call('GET', '/v1/status', undefined, { authorization: 'Bearer forged.token.here' });
    assert.equal(r.status, 401);
    ok(['ap', 'stop'], dir);
  });
});
