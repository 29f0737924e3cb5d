/**
 * The registration convention for `htc` commands.
 *
 * Commands are noun-verb (`htc classad eval`, `htc annex create`). Each verb
 * lives in `commands/<noun>/<verb>.ts` and exports one `Register` function
 * that adds itself to the noun's commander `Command`. Each noun lives in
 * `commands/<noun>/index.ts` and registers itself plus its verbs with
 * `registerNoun`. `commands/index.ts` lists the nouns (and the few top-level
 * verbs such as `version`); `main.ts` registers that list and nothing else.
 *
 * Verbs must add subcommands with `parent.command(name)` (not `new Command`)
 * so they inherit the program's error handling (`exitOverride`, output
 * configuration). Action handlers may be async and should throw `HtcError`
 * for anything the user can fix; `main.ts` is the one place that turns errors
 * into messages and exit codes, so commands never call `process.exit`.
 */
import type { Command } from 'commander';

/** Where a command writes; a process's streams, or buffers in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** What every command receives besides its parsed arguments. */
export interface CliContext {
  /** Standard input, for commands that read a stream (`--jsonl`, `-` as a file). */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** The package version, from package.json. */
  readonly version: string;
}

/** Adds one command (a verb, or a noun with its verbs) to `parent`. */
export type Register = (parent: Command, ctx: CliContext) => void;

/**
 * Registers a noun and its verbs, e.g.
 * `registerNoun(parent, ctx, { name: 'classad', description: '...', verbs: [registerEval] })`.
 * Returns the noun's command.
 */
export function registerNoun(
  parent: Command,
  ctx: CliContext,
  spec: { name: string; description: string; verbs: readonly Register[] },
): Command {
  const noun = parent.command(spec.name).description(spec.description);
  for (const register of spec.verbs) register(noun, ctx);
  return noun;
}
