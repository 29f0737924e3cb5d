/**
 * `htc ap start | stop | status`: the access point daemon.
 *
 * `start` returns once the AP answers on its socket (or runs it in the
 * foreground with --foreground); `stop` asks it to stop (SIGTERM) and waits
 * until its process has gone.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessPoint, isAlive, readAccessFile } from '../../../ap/index.ts';
import { HtcError } from '../../../errors.ts';
import { apDirectory } from '../../../protocol/access-file.ts';
import { withClient, withDirOption } from '../../ap-options.ts';
import { registerNoun, type CliContext, type Register } from '../../command.ts';
import { createOutput, withJsonOption } from '../../output.ts';

const BIN = fileURLToPath(new URL('../../../../bin/htc.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runForeground(dir: string, listen: string | undefined): Promise<void> {
  const ap = new AccessPoint({ dir, ...(listen === undefined ? {} : { listen }) });
  await ap.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      ap.stop().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function startBackground(dir: string, listen: string | undefined, ctx: CliContext, json: boolean): Promise<void> {
  const existing = readAccessFile(dir);
  if (existing !== undefined && isAlive(existing.pid)) throw new HtcError('CONFLICT', `an access point is already running in ${dir} (pid ${existing.pid})`);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const logPath = join(dir, 'ap.log');
  const log = openSync(logPath, 'a');
  const args = [BIN, 'ap', 'start', '--foreground', '--dir', dir, ...(listen === undefined ? [] : ['--listen', listen])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  for (;;) {
    if (exited !== null) throw new HtcError('AP_FAILED', `the access point exited (code ${exited}) while starting; see ${logPath}`);
    const access = readAccessFile(dir);
    if (access !== undefined && access.pid === child.pid) {
      const status = await withClient(dir, (c) => c.status()).catch(() => undefined);
      if (status !== undefined) {
        createOutput({ json, stdout: ctx.stdout }).record(json ? { ...status } : { started: dir, pid: status.pid, socket: status.socket, ...(status.url === null ? {} : { url: status.url }), log: logPath });
        return;
      }
    }
    if (Date.now() > deadline) throw new HtcError('AP_FAILED', `the access point did not answer within ${START_TIMEOUT_MS / 1000} s; see ${logPath}`);
    await sleep(50);
  }
}

const registerStart: Register = (parent, ctx) => {
  withJsonOption(withDirOption(parent.command('start').description('start the access point (returns when it is ready)')))
    .option('--foreground', 'run in the foreground until SIGTERM or Ctrl-C', false)
    .option('--listen <host:port>', 'serve HTTPS here for remote clients and pilots (token authentication); default 127.0.0.1 on a free port')
    .action(async (options: { dir?: string; foreground: boolean; json: boolean; listen?: string }) => {
      const dir = apDirectory(options.dir);
      if (options.foreground) await runForeground(dir, options.listen);
      else await startBackground(dir, options.listen, ctx, options.json);
    });
};

const registerStop: Register = (parent, ctx) => {
  withJsonOption(withDirOption(parent.command('stop').description('stop the access point and wait until it has'))).action(async (options: { dir?: string; json: boolean }) => {
    const dir = apDirectory(options.dir);
    const access = readAccessFile(dir);
    if (access === undefined || !isAlive(access.pid)) throw new HtcError('AP_NOT_RUNNING', `no access point is running in ${dir}`);
    process.kill(access.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (isAlive(access.pid)) {
      if (Date.now() > deadline) throw new HtcError('AP_FAILED', `the access point (pid ${access.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
    createOutput({ json: options.json, stdout: ctx.stdout }).record({ stopped: dir, pid: access.pid });
  });
};

const registerStatus: Register = (parent, ctx) => {
  withJsonOption(withDirOption(parent.command('status').description('the access point: pid, address, uptime, jobs by state'))).action(async (options: { dir?: string; json: boolean }) => {
    const status = await withClient(options.dir, (c) => c.status());
    const out = createOutput({ json: options.json, stdout: ctx.stdout });
    if (options.json) out.record({ ...status });
    else {
      out.record({
        pid: status.pid,
        dir: status.dir,
        socket: status.socket,
        ...(status.url === null ? {} : { url: status.url }),
        uptime: `${status.uptimeSeconds} s`,
        jobs: `${status.jobs.idle} idle, ${status.jobs.running} running, ${status.jobs.held} held, ${status.jobs.completed} completed, ${status.jobs.removed} removed`,
        clusters: status.clusters,
      });
    }
  });
};

export const registerAp: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'ap', description: 'run the access point (the job queue daemon)', verbs: [registerStart, registerStop, registerStatus] });
};
