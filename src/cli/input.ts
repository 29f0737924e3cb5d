/**
 * Reading what commands are given: files named on the command line (`-`
 * is standard input) and line-oriented streams. Every failure becomes an
 * HtcError that names the file and the option it came from.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HtcError } from '../errors.ts';

/** `text` without a leading UTF-8 byte-order mark (some Windows editors write one). */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The text of a file named by the user, without a leading byte-order mark;
 * `what` says which argument named it.
 */
export function readTextFile(path: string, what: string, stdin?: NodeJS.ReadableStream): string | Promise<string> {
  if (path === '-' && stdin !== undefined) return readAll(stdin).then(stripBom);
  try {
    return stripBom(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HtcError('FILE_NOT_FOUND', `${what}: no such file: ${path}`);
    if (code === 'EISDIR') throw new HtcError('USAGE', `${what}: ${path} is a directory, not a file`);
    throw new HtcError('FILE_UNREADABLE', `${what}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** Calls `handle` for each line of `stream`, in order, and resolves at its end. */
export async function forEachLine(stream: NodeJS.ReadableStream, handle: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) handle(line);
}
