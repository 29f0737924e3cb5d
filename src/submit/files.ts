/**
 * The files a submit description may read: the description itself, files it
 * includes, `queue ... from FILE` and the directories `queue ... matching`
 * looks in. Behind an interface so the language stays testable and the AP
 * can later read from a spooled sandbox instead of the local disk.
 *
 * Both methods throw `FileProblem` (never a raw Node error) so callers can
 * say which statement named the missing file.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface DirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

export interface SubmitFiles {
  readText(path: string): string;
  listDir(path: string): DirEntry[];
}

export class FileProblem extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
    this.name = 'FileProblem';
  }
}

function problem(error: unknown, path: string): FileProblem {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FileProblem(`no such file: ${path}`, true);
  if (code === 'EISDIR') return new FileProblem(`${path} is a directory, not a file`, false);
  if (code === 'ENOTDIR') return new FileProblem(`${path} is not a directory`, false);
  return new FileProblem(`cannot read ${path}: ${(error as Error).message}`, false);
}

/** The local file system. */
export const localFiles: SubmitFiles = {
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw problem(error, path);
    }
  },
  listDir(path) {
    try {
      return readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, isDirectory: d.isDirectory() }));
    } catch (error) {
      throw problem(error, path);
    }
  },
};
