/**
 * `htc-pilot`: the pilot's standalone command line, the entry of the
 * self-contained executable that annex front-ends copy to HPC login nodes
 * (src/annex/pilot-executable.ts builds it; executable.ts calls pilotMain).
 *
 *   htc-pilot --config FILE [--work-dir DIR]
 *   htc-pilot --version | --help
 *
 * Invariants:
 * - It runs where no Node is installed, bundled with a Node runtime and no
 *   node_modules: it imports only src/pilot, src/protocol, src/auth/pin.ts,
 *   src/errors.ts, node builtins, `ws` (pure JS) and the package version
 *   (package.json, inlined by the bundler). No commander, no tsx, no native
 *   addons.
 * - Bad arguments or a bad config file give ONE line on stderr
 *   (`htc-pilot: error: ...` naming the option, file or field) and exit 2
 *   (the caller's to fix) or 1 (the environment's), never a stack trace:
 *   it is read in a batch job's output file. Only a bug prints a stack.
 * - pilotMain never calls process.exit and never rejects; it returns the
 *   exit code (the pilot's own once it has run).
 */
import pkg from '../../package.json' with { type: 'json' };
import { HtcError, exitCodeFor } from '../errors.ts';
import { Pilot, loadPilotConfig } from './index.ts';

/** The htc version the pilot was built from (what `htc --version` prints). */
export const PILOT_VERSION: string = pkg.version;

const HELP = `usage: htc-pilot --config FILE [--work-dir DIR]
       htc-pilot --version | --help

Runs one pilot of an htc annex on this node: it attaches to the access point
named in FILE, offers this node's cores, memory and GPUs to the annex owner's
jobs, and ends by itself (idle, end of its lifetime, SIGTERM, or when the
access point says so), removing what it made.

  --config FILE    the pilot configuration (JSON, written by htc annex create)
  --work-dir DIR   this pilot's own directory: sandboxes in DIR/execute and DIR
                   removed at exit (overrides the config's executeDir and
                   removeOnExit; for one config serving several nodes)
  --version        print the version and exit
  --help           print this help and exit
`;

interface PilotArgs {
  config?: string;
  workDir?: string;
  version: boolean;
  help: boolean;
}

const VALUE_OPTIONS: Readonly<Record<string, 'config' | 'workDir'>> = { '--config': 'config', '--work-dir': 'workDir' };

const usage = (message: string): HtcError => new HtcError('USAGE', `${message} (see htc-pilot --help)`);

/** The arguments after the program name; `--opt VALUE` and `--opt=VALUE` both work. */
function parseArguments(argv: readonly string[]): PilotArgs {
  const args: PilotArgs = { version: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--version' || arg === '-V') {
      args.version = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      args.help = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_OPTIONS[name];
    if (key === undefined) throw usage(arg.startsWith('-') ? `unknown option ${name}` : `unexpected argument "${arg}"`);
    let value: string | undefined;
    if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw usage(`${name} needs a value`);
      i++;
    }
    if (value === '') throw usage(`${name} needs a value`);
    if (args[key] !== undefined) throw usage(`${name} is given twice`);
    args[key] = value;
  }
  return args;
}

/** Where pilotMain writes: a process's streams, or buffers in tests. */
export interface PilotIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Runs `htc-pilot` with the arguments after the program name; resolves with the exit code. */
export async function pilotMain(argv: string[], io: PilotIo = process): Promise<number> {
  try {
    const args = parseArguments(argv);
    if (args.help) {
      io.stdout.write(HELP);
      return 0;
    }
    if (args.version) {
      io.stdout.write(`${PILOT_VERSION}\n`);
      return 0;
    }
    if (args.config === undefined) throw usage('--config FILE is required');
    const config = loadPilotConfig(args.config, args.workDir === undefined ? {} : { workDir: args.workDir });
    return await new Pilot(config).run();
  } catch (error) {
    if (error instanceof HtcError) {
      io.stderr.write(`htc-pilot: error: ${error.describe()}\n`);
      return exitCodeFor(error);
    }
    // The environment's (a directory that cannot be made, a full disk): its message says which path.
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string') {
      io.stderr.write(`htc-pilot: error: ${error.message}\n`);
      return 1;
    }
    io.stderr.write(`htc-pilot: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
