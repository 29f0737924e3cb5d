/**
 * The ap-throughput baseline: a bare WebSocket server over TLS that speaks
 * the pilot protocol (welcome, claim, ack) for N jobs and keeps nothing: no
 * queue, no matching, no files. Prints `{url, fingerprint, token}` on one
 * line when it listens; exits when killed.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { ensureTlsMaterial } from '../src/auth/index.ts';
import { frameText, parsePilotMessage, type ClaimMessage } from '../src/protocol/pilot.ts';

const jobs = Number(process.argv[2] ?? '1000');
const tls = await ensureTlsMaterial(mkdtempSync(join(tmpdir(), 'htc-bare-')), ['127.0.0.1']);
const server = createServer({ cert: tls.certPem, key: tls.keyPem });
const wss = new WebSocketServer({ server });
let next = 0;

function claim(): ClaimMessage | undefined {
  if (next >= jobs) return undefined;
  const id = next++;
  return {
    type: 'claim',
    claimId: `bare-${id}`,
    job: {
      jobId: `1.${id}`, owner: 'bench', executable: 'condor_exec.exe', arguments: [], environment: {},
      inputs: [{ index: 0, name: 'condor_exec.exe', size: 39_000, executable: true, sha256: null }],
      stdin: null, stdout: null, stderr: null, outputs: null, request: { cpus: 1, memoryMb: 128, diskKb: 1_048_576, gpus: 0 }, maxRuntimeSeconds: null,
    },
  };
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const message = parsePilotMessage(frameText(data));
    if (message.type === 'hello') {
      ws.send(JSON.stringify({ type: 'welcome', slotName: `slot1@${message.hostname}`, heartbeatSeconds: 15, stale: [] }));
      for (let c = 0; c < message.resources.cpus; c++) {
        const m = claim();
        if (m !== undefined) ws.send(JSON.stringify(m));
      }
    } else if (message.type === 'done') {
      ws.send(JSON.stringify({ type: 'ack', claimId: message.claimId, refused: null }));
      const m = claim();
      if (m !== undefined) ws.send(JSON.stringify(m));
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${port}`, fingerprint: tls.fingerprint, token: 'bare' })}\n`);
});
