/**
 * The process the crash tests kill: it opens the queue and writes in a loop,
 * printing one line per acknowledged operation, after the operation returned
 * and before the next begins (fs.writeSync: the line is in the pipe before
 * the loop goes on, so the parent never misses an acknowledgement it was
 * given, and at most one operation is done but not yet acknowledged).
 *
 *   node --import tsx crash-child.ts submit DB SEED   → "<clusterId> <procCount> <nonce>" per cluster
 *   node --import tsx crash-child.ts change DB SEED   → "<batch>" per batch of BATCH procs set Running
 *
 * It never stops by itself: the parent kills it with SIGKILL.
 */
import { writeSync } from 'node:fs';
import { JobStatus, openJobQueue, type ProcChange } from '../index.ts';

/** Procs per changeProcs call; crash.test.ts checks batches of the same size. */
const BATCH = 50;

const [mode, path, seedText] = process.argv.slice(2);
if (path === undefined || seedText === undefined) throw new Error('usage: crash-child.ts submit|change DB SEED');
const seed = Number(seedText);
let state = seed >>> 0;
const rand = (): number => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32;
};

const q = openJobQueue(path);
const now = Math.floor(Date.now() / 1000);

if (mode === 'submit') {
  for (let i = 0; ; i++) {
    // Mostly small clusters, sometimes large ones, so kills land inside long transactions too.
    const procCount = rand() < 0.1 ? 2000 + Math.floor(rand() * 3000) : 1 + Math.floor(rand() * 100);
    const nonce = `${seed}-${i}`;
    const id = q.submitCluster(
      {
        owner: 'crash',
        submittedAt: now,
        clusterAd: `[ Nonce = "${nonce}"; Cmd = "/bin/true" ]`,
        procCount,
        procs: Array.from({ length: procCount }, (_, p) => `[ ProcId = ${p}; Nonce = "${nonce}" ]`),
        factory: null,
        batchName: null,
        jobsetId: null,
      },
      now,
    );
    writeSync(1, `${id} ${procCount} ${nonce}\n`);
  }
} else if (mode === 'change') {
  const clusterId = 1;
  const procCount = q.cluster(clusterId)?.procCount ?? 0;
  let batch = 0;
  while (batch * BATCH < procCount && q.proc({ clusterId, procId: batch * BATCH })?.status !== JobStatus.Idle) batch++;
  for (; batch * BATCH < procCount; batch++) {
    const changes: ProcChange[] = [];
    for (let p = batch * BATCH; p < Math.min(procCount, (batch + 1) * BATCH); p++) {
      changes.push({
        id: { clusterId, procId: p },
        expectStatus: JobStatus.Idle,
        status: JobStatus.Running,
        set: { Batch: String(batch), RemoteHost: `"slot${p}@crash"` },
        event: { kind: 'execute', data: `{"batch":${batch}}` },
      });
    }
    const applied = q.changeProcs(changes, now);
    if (applied.length !== changes.length) throw new Error(`batch ${batch}: ${applied.length} of ${changes.length} applied`);
    writeSync(1, `${batch}\n`);
  }
  writeSync(1, 'done\n');
  setInterval(() => undefined, 1000); // wait to be killed
} else {
  throw new Error(`unknown mode ${mode}`);
}
