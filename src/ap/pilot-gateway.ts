/**
 * The pilot gateway: where pilots' WebSockets arrive (`wss://AP/v1/pilot`).
 * It authenticates the annex token on the upgrade request, reads and
 * validates every frame (protocol/pilot.ts), and hands pilots to the
 * scheduler.
 *
 * Invariants: a connection without a valid annex token (ADVERTISE_STARTD,
 * bound to an annex) is refused before the upgrade completes; the annex and
 * owner a pilot serves come from its token, never from what it says; the
 * first message must be `hello`, within HELLO_TIMEOUT_MS; a malformed frame
 * closes the connection with the reason (1008), it never reaches the
 * scheduler.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { hasScope, type TokenIssuer } from '../auth/index.ts';
import { HtcError, httpStatusFor } from '../errors.ts';
import { API_PREFIX } from '../protocol/api.ts';
import { MAX_PILOT_MESSAGE_BYTES, PILOT_PATH, PILOT_PROTOCOL_VERSION, frameText, parsePilotMessage, type ApMessage } from '../protocol/pilot.ts';
import type { Pilot, PilotIdentity, Scheduler } from './scheduler.ts';

const HELLO_TIMEOUT_MS = 10_000;

export class PilotGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PILOT_MESSAGE_BYTES });

  constructor(
    private readonly tokens: TokenIssuer,
    private readonly scheduler: Scheduler,
    private readonly log: (line: string) => void,
  ) {}

  /** The server's 'upgrade' listener. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let identity: PilotIdentity;
    try {
      const path = new URL(req.url ?? '/', 'http://ap').pathname;
      if (path !== `${API_PREFIX}${PILOT_PATH}`) throw new HtcError('NOT_FOUND', `no WebSocket at ${path}`);
      const header = req.headers.authorization;
      if (header?.startsWith('Bearer ') !== true) throw new HtcError('AUTH_FAILED', 'a pilot needs its annex token');
      const claims = this.tokens.verifySync(header.slice(7));
      if (!hasScope(claims, 'ADVERTISE_STARTD') || claims.annex === undefined) {
        throw new HtcError('FORBIDDEN', 'this token is not an annex token (ADVERTISE_STARTD, bound to an annex)');
      }
      const requestId = req.headers['x-htc-annex-request'];
      identity = {
        annexName: claims.annex.name,
        owner: claims.annex.owner.replace(/@.*$/, ''),
        requestId: typeof requestId === 'string' && requestId !== '' ? requestId.slice(0, 200) : null,
        tokenId: claims.id,
      };
    } catch (error) {
      const status = httpStatusFor(error);
      const message = error instanceof HtcError ? error.describe() : 'internal error';
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, identity));
  };

  private serve(ws: WebSocket, identity: PilotIdentity): void {
    let pilot: Pilot | undefined;
    const link = {
      send: (message: ApMessage): void => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
      },
      close: (reason: string): void => {
        ws.close(1000, reason.slice(0, 120));
        // A pilot that stopped (SIGSTOP) never answers the close: do not wait for it.
        setTimeout(() => ws.terminate(), 2000).unref();
      },
    };
    const helloTimer = setTimeout(() => ws.close(1008, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => {
      try {
        if (isBinary) throw new HtcError('BAD_REQUEST', 'pilot protocol: binary frames are not used');
        const message = parsePilotMessage(frameText(data));
        if (pilot === undefined) {
          if (message.type !== 'hello') throw new HtcError('BAD_REQUEST', `pilot protocol: the first message must be hello, not ${message.type}`);
          if (message.version !== PILOT_PROTOCOL_VERSION) {
            throw new HtcError('BAD_REQUEST', `pilot protocol version ${message.version} is not ${PILOT_PROTOCOL_VERSION}: use a pilot of this htc version`);
          }
          clearTimeout(helloTimer);
          pilot = this.scheduler.attach(identity, message, link);
          return;
        }
        this.scheduler.heard(pilot);
        switch (message.type) {
          case 'heartbeat':
            break;
          case 'draining':
            this.scheduler.draining(pilot);
            break;
          case 'hello':
            throw new HtcError('BAD_REQUEST', 'pilot protocol: hello was already said');
          default:
            this.scheduler.report(pilot, message);
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.log(`closing a pilot connection of annex ${identity.annexName}: ${reason}`);
        ws.close(1008, reason.slice(0, 120));
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (pilot !== undefined) this.scheduler.closed(pilot);
    });
    ws.on('error', (error) => this.log(`pilot connection error (annex ${identity.annexName}): ${error.message}`));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
