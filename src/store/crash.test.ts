/**
 * Crash tests: a child process writes to the queue in a loop, printing each
 * acknowledged operation; it is SIGKILLed at random moments (inside
 * transactions too), and the reopened database must hold every acknowledged
 * operation exactly once and no partial one. Several rounds run on the same
 * file, so recovery after a crash is itself crashed into.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { prng } from './job-queue.conformance.ts';
import { JobStatus, openJobQueue } from './index.ts';

const CHILD = fileURLToPath(new URL('./testdata/crash-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Procs per batch in the child's change mode (crash-child.ts BATCH). */
const BATCH = 50;
const ROUNDS = 4;

/**
 * Runs the child until it has acknowledged something, then kills it after a
 * random delay of up to `maxDelayMs`; returns the acknowledged lines.
 */
function runAndKill(mode: 'submit' | 'change', db: string, seed: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, db, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.includes('\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`child ended with ${code ?? signal} before the kill:\n${err}`));
      // Only whole lines are acknowledgements (writeSync of a short line is one write).
      resolve(out.split('\n').slice(0, -1));
    });
  });
}

describe('crash safety (SIGKILL while writing)', { concurrency: true }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'htc-store-crash-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('submitCluster: every acknowledged cluster is present once and whole; no partial cluster', async () => {
    const db = join(dir, 'submit.db');
    const rand = prng(4242);
    const acked = new Map<number, { procCount: number; nonce: string }>();
    const doneUnacked = new Set<number>(); // by earlier rounds
    let highest = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const lines = await runAndKill('submit', db, round + 1, Math.floor(rand() * 250));
      assert.ok(lines.length > 0);
      const ids: number[] = [];
      for (const line of lines) {
        const [id, procCount, nonce] = line.split(' ');
        ids.push(Number(id));
        acked.set(Number(id), { procCount: Number(procCount), nonce: nonce! });
      }
      // Ids increase and are never reused, across crashes too.
      assert.ok(ids[0]! > highest, `round ${round} reused id ${ids[0]} (highest before ${highest})`);
      ids.forEach((id, i) => assert.ok(i === 0 || id > ids[i - 1]!));

      const q = openJobQueue(db);
      try {
        const clusters = q.clusters();
        const nonces = new Set<string>();
        let procs = 0;
        let unacked = 0;
        for (const c of clusters) {
          const nonce = /Nonce = "([^"]+)"/.exec(c.clusterAd)?.[1];
          assert.ok(nonce !== undefined && !nonces.has(nonce), `cluster ${c.clusterId} duplicates ${nonce}`);
          nonces.add(nonce);
          const stored = q.procs({ clusterId: c.clusterId });
          assert.equal(stored.length, c.procCount, `cluster ${c.clusterId} is half written`);
          assert.equal(c.materializedCount, c.procCount);
          assert.ok(stored.every((p, i) => p.procId === i && p.diff.includes(nonce)));
          const a = acked.get(c.clusterId);
          if (a === undefined && !doneUnacked.has(c.clusterId)) {
            unacked++;
            doneUnacked.add(c.clusterId);
            // Done but not yet acknowledged when killed: only the newest can be.
            assert.ok(c.clusterId > Math.max(...ids), `unacknowledged cluster ${c.clusterId} is not the last`);
          } else if (a !== undefined) {
            assert.equal(nonce, a.nonce);
            assert.equal(c.procCount, a.procCount);
          }
          procs += c.procCount;
          highest = Math.max(highest, c.clusterId);
        }
        assert.ok(unacked <= 1, `${unacked} unacknowledged clusters`);
        for (const id of acked.keys()) assert.ok(q.cluster(id) !== undefined, `acknowledged cluster ${id} lost`);
        assert.equal(q.statusCounts().idle, procs);
        assert.equal(q.events({}).length, procs);
        highest = Math.max(highest, q.nextClusterId() - 1);
      } finally {
        q.close();
      }
    }
  });

  it('changeProcs: every acknowledged batch of changes is persisted; no batch is half applied', async () => {
    const db = join(dir, 'change.db');
    const procCount = 400 * BATCH;
    const setup = openJobQueue(db);
    setup.submitCluster(
      {
        owner: 'crash',
        submittedAt: 1,
        clusterAd: '[ Cmd = "/bin/true" ]',
        procCount,
        procs: Array.from({ length: procCount }, (_, p) => `[ ProcId = ${p} ]`),
        factory: null,
        batchName: null,
        jobsetId: null,
      },
      1,
    );
    setup.close();

    const rand = prng(777);
    const acked = new Set<number>();
    const doneUnacked = new Set<number>(); // by earlier rounds
    for (let round = 0; round < ROUNDS; round++) {
      const lines = await runAndKill('change', db, round + 1, Math.floor(rand() * 150));
      const batches = lines.filter((l) => l !== 'done').map(Number);
      for (const b of batches) acked.add(b);

      const q = openJobQueue(db);
      try {
        const procs = q.procs({ clusterId: 1 });
        assert.equal(procs.length, procCount);
        let running = 0;
        let unacked = 0;
        for (let b = 0; b * BATCH < procCount; b++) {
          const batch = procs.slice(b * BATCH, (b + 1) * BATCH);
          const changed = batch.filter((p) => p.status === JobStatus.Running);
          assert.ok(changed.length === 0 || changed.length === batch.length, `batch ${b} half applied (${changed.length}/${batch.length})`);
          if (changed.length > 0) {
            assert.ok(changed.every((p) => p.diff.includes(`Batch = ${b};`) && p.diff.includes(`RemoteHost = "slot${p.procId}@crash"`)));
            if (!acked.has(b) && !doneUnacked.has(b)) {
              unacked++;
              doneUnacked.add(b);
            }
            running += changed.length;
          } else {
            assert.ok(!acked.has(b), `acknowledged batch ${b} lost`);
            assert.ok(batch.every((p) => p.diff === `[ ProcId = ${p.procId} ]`));
          }
        }
        assert.ok(unacked <= 1, `${unacked} unacknowledged batches applied`);
        assert.deepEqual(q.statusCounts(), { idle: procCount - running, running, held: 0, completed: 0, removed: 0, transferringOutput: 0 });
        const executes = q.events({}).filter((e) => e.kind === 'execute');
        assert.equal(executes.length, running);
        assert.equal(new Set(executes.map((e) => e.procId)).size, running);
      } finally {
        q.close();
      }
    }
  });
});
