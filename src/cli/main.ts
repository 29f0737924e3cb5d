/**
 * `htc`: the command line. Thin: it builds the commander program from the
 * registered commands (`commands/index.ts`) and is the ONE error boundary:
 *
 * - `HtcError`           → `htc: error: <describe()>` on stderr, no stack;
 *                          exit code from `exitCodeFor` (2 input, 1 failure).
 * - commander usage error → commander's message (`htc: error: ...`), exit 2.
 * - help / `--version`   → exit 0.
 * - anything else (a bug) → `htc: internal error:` and the stack, exit 1.
 *
 * `runCli` never calls `process.exit`; it returns the exit code so that
 * pending output is flushed and tests can call it in-process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { HtcError, exitCodeFor } from '../errors.ts';
import type { CliContext, TextSink } from './command.ts';
import { commands } from './commands/index.ts';

/** The package version, read once from package.json. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const pkg = JSON.parse(text) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('htc')
    .description('run high-throughput workloads on HPC allocations you already have')
    .version(ctx.version, '-V, --version', 'print the htc version')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => void ctx.stdout.write(text),
      writeErr: (text) => void ctx.stderr.write(text),
      outputError: (text, write) => write(`htc: ${text}`),
    });
  for (const register of commands) register(program, ctx);
  return program;
}

/**
 * Runs `htc` with a full `process.argv`-style vector (node, script, ...args)
 * and returns the process exit code.
 */
export async function runCli(
  argv: readonly string[],
  io: { stdin?: NodeJS.ReadableStream; stdout?: TextSink; stderr?: TextSink } = {},
): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  try {
    const ctx: CliContext = { stdin: io.stdin ?? process.stdin, stdout: io.stdout ?? process.stdout, stderr, version: packageVersion() };
    await buildProgram(ctx).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof HtcError) {
      // An invalid annex request is worded as HTCondor's annex words it (scripts match the prefix).
      stderr.write(error.code === 'ANNEX_REQUEST_INVALID' ? `${error.describe()}\n` : `htc: error: ${error.describe()}\n`);
      return exitCodeFor(error);
    }
    if (error instanceof CommanderError) {
      // Commander has already printed its message through `outputError`.
      return error.exitCode === 0 ? 0 : 2;
    }
    const report = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    stderr.write(`htc: internal error: ${report}\n`);
    return 1;
  }
}
