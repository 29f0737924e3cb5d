/**
 * The pilot as one self-contained executable (`htc-pilot`): what annex
 * front-ends copy to an HPC login node (once, by content hash) so that
 * compute nodes run pilots with nothing installed at the site (DESIGN.md,
 * "Processes"). It is a Node single executable application: the pilot's
 * code (src/pilot/executable.ts and what it imports) bundled by esbuild into
 * one CommonJS script (what Node 20's single executables run), turned into a
 * blob by `node --experimental-sea-config`, and injected with postject into
 * a copy of the running Node binary (stripped of its symbols when `strip` is
 * there).
 *
 * Invariants:
 * - The blob holds JavaScript only: a single executable cannot load native
 *   addons, so the pilot stays pure JS (`ws` is bundled with its optional
 *   native helpers, bufferutil and utf-8-validate, switched off).
 * - Cached by what it is made of: the key is the SHA-256 of the bundle text,
 *   the Node version and platform-arch; `<cacheDir>/<key>/htc-pilot`.
 *   Changing the pilot's code (or Node) gives a new key; an unchanged one
 *   is reused without building.
 * - A cached executable is complete: it is built in a private temporary
 *   directory next to the cache and renamed into place, so a concurrent
 *   builder or reader never sees half a file. Builds are reproducible (same
 *   bundle, same Node → same bytes), so two builders racing to the same
 *   name put the same file there.
 * - The sha256 and bytes returned are those of the file at `path` (the
 *   front-end names and checks its copy on the login node by them).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HtcError } from '../errors.ts';

/** The bundle's entry: a path, not an import, so this module does not load the pilot. */
const ENTRY = fileURLToPath(new URL('../pilot/executable.ts', import.meta.url));
const ROOT = dirname(dirname(dirname(ENTRY)));

export const EXECUTABLE_NAME = 'htc-pilot';

/** Where Node's single-executable loader looks for the blob (fixed by Node). */
const SEA_RESOURCE = 'NODE_SEA_BLOB';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface PilotExecutable {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  /** False when it came from the cache. */
  readonly built: boolean;
}

export interface BuildPilotOptions {
  /** Default: `$XDG_CACHE_HOME/htc/pilot`, else `~/.cache/htc/pilot`. */
  readonly cacheDir?: string;
  /** One line per step of a build (a build takes seconds; a cache hit says nothing). */
  readonly onProgress?: (message: string) => void;
}

export function defaultPilotCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'htc', 'pilot');
}

const failed = (message: string, cause?: unknown): HtcError =>
  new HtcError('PILOT_BUILD_FAILED', `building the pilot executable: ${message}`, cause === undefined ? {} : { cause });

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export interface PilotBundle {
  /** One CommonJS script for Node 20: no native addons, no node_modules at run time. */
  readonly code: string;
  /** The files inside it, relative to the repository (what a test checks the pilot's imports by). */
  readonly inputs: readonly string[];
}

/** The pilot's code bundled from its entry (src/pilot/executable.ts). */
export async function bundlePilot(): Promise<PilotBundle> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [ENTRY],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // Names kept: a pilot's bug report (its stack in the batch job's output) stays readable.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      write: false,
      metafile: true,
      logLevel: 'silent',
      define: {
        // ws loads these optional native addons unless told not to; a single executable cannot load them.
        'process.env.WS_NO_BUFFER_UTIL': '"1"',
        'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
      },
    });
    const output = result.outputFiles[0];
    if (output === undefined) throw failed('esbuild wrote no output');
    return { code: output.text, inputs: Object.keys(result.metafile.inputs) };
  } catch (error) {
    if (error instanceof HtcError) throw error;
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    const first = errors?.[0];
    const detail = first === undefined ? (error as Error).message : `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}`;
    throw failed(`bundling ${ENTRY} failed: ${detail}`, error);
  }
}

/** SHA-256 (hex) and size of a file, read as a stream. */
async function digest(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function run(file: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 120_000, maxBuffer: 1 << 20 }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      const failure: Error & { stderr?: string } = error;
      failure.stderr = String(stderr).trim();
      reject(failure);
    });
  });
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    return s.isFile() && (s.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The pilot executable for this htc and this Node: from the cache, or built
 * into it (about 3 s; ~99 MB, ~87 MB stripped, for Node 20 on x86-64). It
 * runs on machines of this one's platform and architecture (it is this
 * Node). Errors are HtcError PILOT_BUILD_FAILED saying which step failed
 * and why.
 */
export async function buildPilotExecutable(options: BuildPilotOptions = {}): Promise<PilotExecutable> {
  // HPC compute nodes run Linux: a pilot made from a macOS or Windows Node would not start there.
  if (process.platform !== 'linux') throw failed(`it is made from this machine's Node (${process.platform}-${process.arch}), and compute nodes need a Linux one: run htc on Linux`);
  const cacheDir = options.cacheDir ?? defaultPilotCacheDir();
  const progress = options.onProgress ?? ((): void => {});
  const bundle = (await bundlePilot()).code;
  const key = createHash('sha256').update(bundle).update('\0').update(process.version).update('\0').update(`${process.platform}-${process.arch}`).digest('hex');
  const path = join(cacheDir, key, EXECUTABLE_NAME);
  if (await isExecutableFile(path)) return { path, ...(await digest(path)), built: false };

  progress(`building the pilot executable (Node ${process.version}, ${process.platform}-${process.arch}) in ${cacheDir}`);
  let work: string;
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    work = await mkdtemp(join(cacheDir, '.build-'));
  } catch (error) {
    throw failed(`the cache directory ${cacheDir} cannot be written: ${(error as Error).message}`, error);
  }
  try {
    const blob = join(work, 'htc-pilot.blob');
    const exe = join(work, EXECUTABLE_NAME);
    await writeFile(join(work, 'htc-pilot.cjs'), bundle);
    // `main` relative to the build directory: the blob holds its name (stack traces show it), and a
    // temporary directory's name in it would make every build's bytes differ.
    await writeFile(join(work, 'sea-config.json'), JSON.stringify({ main: 'htc-pilot.cjs', output: 'htc-pilot.blob', disableExperimentalSEAWarning: true }));
    try {
      await run(process.execPath, ['--experimental-sea-config', 'sea-config.json'], work);
    } catch (error) {
      throw failed(`${process.execPath} --experimental-sea-config failed (Node >= 20 with single-executable support is needed): ${(error as { stderr?: string }).stderr || (error as Error).message}`, error);
    }
    await copyFile(process.execPath, exe);
    await chmod(exe, 0o700);
    const before = (await stat(exe)).size;
    try {
      await run('strip', [exe], work);
      progress(`stripped the Node binary: ${mb(before)} → ${mb((await stat(exe)).size)}`);
    } catch (error) {
      // Only a smaller file is lost; a strip that failed halfway is not kept.
      progress(`not stripped (${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no strip command' : ((error as { stderr?: string }).stderr || (error as Error).message)})`);
      await copyFile(process.execPath, exe);
      await chmod(exe, 0o700);
    }
    const said: string[] = [];
    try {
      await quietly(said, async () => loadPostject()(exe, SEA_RESOURCE, await readFile(blob), { sentinelFuse: SEA_FUSE }));
    } catch (error) {
      // E.g. a Node linked to a shared libnode (some distributions): its fuse is not in the executable.
      const notes = said.length === 0 ? '' : ` (postject said: ${said.slice(-3).join('; ')})`;
      throw failed(`injecting the pilot into a copy of ${process.execPath} failed: ${(error as Error).message}${notes}`, error);
    }
    await chmod(exe, 0o755);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await rename(exe, path);
  } catch (error) {
    if (error instanceof HtcError) throw error;
    throw failed((error as Error).message, error);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result = { path, ...(await digest(path)), built: true };
  progress(`built ${path} (${mb(result.bytes)})`);
  return result;
}

type Inject = (file: string, resource: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void>;

/** postject (CommonJS, untyped, ~5 MB of JS): loaded only when a build needs it. */
function loadPostject(): Inject {
  const postject = createRequire(import.meta.url)('postject') as { inject?: unknown };
  if (typeof postject.inject !== 'function') throw failed('the postject package has no inject function');
  return postject.inject as Inject;
}

/**
 * Runs `work` with console.log/console.warn collected into `said` instead of
 * printed: postject's ELF library (LIEF compiled to WebAssembly) binds them
 * when an injection starts and prints warnings about section names of a
 * stripped Node ("Can't find string offset for section name '.note'") that
 * would otherwise land in the middle of `htc annex create`'s output.
 */
async function quietly<T>(said: string[], work: () => Promise<T>): Promise<T> {
  const { log, warn } = console;
  const keep = (...args: unknown[]): void => void said.push(args.map(String).join(' '));
  console.log = keep;
  console.warn = keep;
  try {
    return await work();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}
