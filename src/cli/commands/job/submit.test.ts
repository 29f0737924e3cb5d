/** `htc job submit --dry-run` and `htc jobset submit --dry-run` as users run them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const bin = fileURLToPath(new URL('../../../../bin/htc.js', import.meta.url));
let dir = '';

function htc(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, HTC_DIR: join(dir, 'no-ap') }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'htc-job-cli-'));
  writeFileSync(join(dir, 'ok.sub'), 'executable = /bin/echo\narguments = $(Item)\nrequest_memroy = 1G\nqueue in (a b)\n');
  writeFileSync(join(dir, 'bad.sub'), 'executable = /bin/echo\nrequest_memory = 2 parsecs\nqueue\n');
  writeFileSync(join(dir, 'set.jobset'), 'name = s\niterator = table x { 1\n2 }\njob {\nexecutable = /bin/echo\narguments = $(x)\n}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('htc job submit --dry-run', () => {
  it('prints every job ad in old syntax, sorted, a blank line between jobs, and warns about unused lines', () => {
    const r = htc(['job', 'submit', 'ok.sub', '--dry-run', '--annex-name', 'annex-1']);
    assert.equal(r.status, 0, r.stderr);
    const ads = r.stdout.trimEnd().split('\n\n');
    assert.equal(ads.length, 2);
    assert.match(ads[0]!, /^Args = "a"$/m);
    assert.match(ads[1]!, /^Args = "b"$/m);
    assert.match(ads[1]!, /^ProcId = 1$/m);
    assert.match(ads[0]!, /^ClusterId = 1$/m);
    assert.match(ads[0]!, /^TargetAnnexName = "annex-1"$/m);
    const names = ads[0]!.split('\n').map((l) => l.split(' = ')[0]!);
    assert.deepEqual(names, [...names].sort());
    assert.match(r.stderr, /htc: warning: ok\.sub:3: the line 'request_memroy = 1G' was unused by htc\. Is it a typo\?/);
    assert.match(r.stderr, /2 job\(s\) dry-run to cluster 1\./);
  });

  it('--json prints an array with one object per job', () => {
    const r = htc(['job', 'submit', 'ok.sub', '--dry-run', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const jobs = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.equal(jobs.length, 2);
    assert.equal(jobs[1]!.Args, 'b');
    assert.equal(jobs[1]!.ProcId, 1);
    assert.match(String(jobs[0]!.Requirements), /^\/Expr\(\(TARGET\.Arch == "X86_64"\)/);
  });

  it('bad input: file, line and column, exit 2, no stack trace', () => {
    const r = htc(['job', 'submit', 'bad.sub', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^htc: error: bad\.sub:2:\d+: request_memory: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  });

  it('a missing file, and a submit with no access point running, are clear errors', () => {
    let r = htc(['job', 'submit', 'nope.sub', '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /FILE: no such file: nope\.sub/);
    r = htc(['job', 'submit', 'ok.sub']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no access point is running in .*no-ap .*start one with "htc ap start"/);
    r = htc(['job', 'submit', 'ok.sub', '--dry-run', '--annex-name', 'bad name']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--annex-name: "bad name" is not an annex name/);
  });
});

describe('htc jobset submit --dry-run', () => {
  it('prints the jobs of every cluster', () => {
    const r = htc(['jobset', 'submit', 'set.jobset', '--dry-run', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const jobs = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(jobs.map((j) => [j.ClusterId, j.ProcId, j.Args, j.JobSetName]), [[1, 0, '1', 's'], [1, 1, '2', 's']]);
    assert.match(r.stderr, /jobset s: 2 job\(s\) in 1 cluster\(s\) dry-run/);
  });
});
