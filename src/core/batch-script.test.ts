import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateAnnexRequest, type AnnexRequestInput, type SystemEntry } from './annex-request.ts';
import { batchScript, batchTimeMinutes, CLEANUP_MARGIN_SECONDS, sbatchOptions } from './batch-script.ts';

const cluster: SystemEntry = {
  name: 'site',
  supported: true,
  batchSystem: 'slurm',
  loginHost: 'login.example',
  defaultQueue: 'debug',
  requiresProject: false,
  slurm: { queueOption: 'partition', gpuFlag: '--gpus-per-node', constraint: 'scratch' },
  queues: [
    { name: 'debug', allocation: 'node', maxNodes: 4, coresPerNode: 4, ramPerNodeMb: 1000, maxDurationSeconds: 600 },
    { name: 'shared', allocation: 'cores_or_ram', maxNodes: 2, coresPerNode: 64, ramPerNodeMb: 256000, maxDurationSeconds: 90000 },
    { name: 'gpu', allocation: 'node', maxNodes: 8, coresPerNode: 64, ramPerNodeMb: 256000, gpusPerNode: 4, maxDurationSeconds: null, constraint: 'a100' },
  ],
};
const qosSite: SystemEntry = { ...cluster, name: 'qsite', requiresProject: true, slurm: { queueOption: 'qos', gpuFlag: '--gpus-per-task' } };

const input = (over: Partial<AnnexRequestInput>): AnnexRequestInput => ({
  queue: 'debug', nodes: 1, cpus: null, memoryMb: null, gpus: null, gpuType: null, lifetimeSeconds: 3600, idleSeconds: 300, project: null, ...over,
});

describe('batch scripts', () => {
  it('asks for whole nodes, one task per node, and the lifetime plus the margin within the queue limit', () => {
    const r = validateAnnexRequest(cluster, input({ nodes: 2, lifetimeSeconds: 120, idleSeconds: 60 }));
    assert.deepEqual(sbatchOptions('a1', r, '--gpus-per-node'), [
      '--job-name=htc-annex-a1', '--partition=debug', '--nodes=2', '--ntasks-per-node=1', '--exclusive', '--time=7', '--constraint=scratch', '--output=slurm-%j.out', '--no-requeue',
    ]);
  });

  it('caps --time at the queue limit rather than have the site refuse the job', () => {
    assert.equal(batchTimeMinutes({ lifetimeSeconds: 600, limits: { maxDurationSeconds: 600 } as never }), 10);
    assert.equal(batchTimeMinutes({ lifetimeSeconds: 400, limits: { maxDurationSeconds: 600 } as never }), 10);
    assert.equal(batchTimeMinutes({ lifetimeSeconds: 3600, limits: { maxDurationSeconds: null } as never }), Math.ceil((3600 + CLEANUP_MARGIN_SECONDS) / 60));
    // A limit that is not whole minutes: rounding down keeps it under.
    assert.equal(batchTimeMinutes({ lifetimeSeconds: 500, limits: { maxDurationSeconds: 630 } as never }), 10);
    assert.equal(batchTimeMinutes({ lifetimeSeconds: 1, limits: { maxDurationSeconds: 600 } as never }), 6);
  });

  it('asks for a share of a node with cpus and memory', () => {
    const r = validateAnnexRequest(cluster, input({ queue: 'shared', cpus: 8, memoryMb: 16000 }));
    const o = sbatchOptions('s', r, undefined);
    assert.ok(o.includes('--cpus-per-task=8') && o.includes('--mem=16000'));
    assert.ok(!o.includes('--exclusive'));
  });

  it('uses the QOS, the account, the site GPU flag and the node kind constraint', () => {
    const r = validateAnnexRequest(qosSite, input({ queue: 'gpu', nodes: 2, project: 'm1234' }));
    const o = sbatchOptions('g', r, qosSite.slurm?.gpuFlag);
    assert.ok(o.includes('--qos=gpu'));
    assert.ok(o.includes('--gpus-per-task=4'));
    assert.ok(o.includes('--account=m1234'));
    assert.ok(o.includes('--constraint=a100'));
    assert.ok(!o.some((x) => x.startsWith('--partition')));
  });

  it('is a valid POSIX sh script that names no remote path and removes its directory on exit', () => {
    const text = batchScript('a1', 'req-1', validateAnnexRequest(cluster, input({ nodes: 2, lifetimeSeconds: 600 })), undefined);
    assert.ok(text.startsWith('#!/bin/sh\n'));
    assert.equal(spawnSync('sh', ['-n'], { input: text }).status, 0);
    assert.match(text, /^#SBATCH --nodes=2$/m);
    assert.match(text, /trap cleanup EXIT/);
    assert.match(text, /rm -rf "\$dir"/);
    assert.match(text, /srun .*--ntasks-per-node=1/);
    assert.doesNotMatch(text, /\/home\//);
    // Run by hand anywhere but its pilot directory, it removes nothing.
    const elsewhere = mkdtempSync(join(tmpdir(), 'htc-batch-'));
    writeFileSync(join(elsewhere, 'keep'), '');
    const r = spawnSync('sh', ['-c', text], { cwd: elsewhere, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a pilot directory of request req-1/);
    assert.ok(existsSync(join(elsewhere, 'keep')));
    rmSync(elsewhere, { recursive: true, force: true });
  });
});
