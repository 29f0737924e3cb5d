/**
 * Jobset files, HTCondor's format:
 *
 *   name = NAME
 *   iterator = table VAR[,VAR...] { ROWS }      (or: ... table VARS FILE)
 *   job [VAR=OTHER ...] { SUBMIT DESCRIPTION }   (or: job [maps] FILE)
 *
 * Each job block becomes one cluster with one proc per iterator row, the
 * row's comma-separated values bound to the VARs; `VAR=OTHER` maps make
 * `$(VAR)` in the block read `$(OTHER)`. Queue statements inside a block are
 * not used (the iterator is the queue). Every job gets JobSetName and
 * InJobSet. Errors name the jobset file and line.
 */
import { dirname, resolve } from 'node:path';
import { FileProblem, localFiles } from './files.ts';
import { SubmitDescription, type SubmitOptions } from './submit-description.ts';
import { SubmitError } from './submit-error.ts';

export interface Jobset {
  readonly name: string;
  readonly vars: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** One compiled description (one cluster) per job block, in file order. */
  readonly clusters: readonly SubmitDescription[];
}

interface JobBlock {
  readonly maps: ReadonlyMap<string, string>;
  /** The block's submit text, padded with blank lines so line numbers match the jobset file. */
  readonly text: string;
  readonly file: string;
  readonly line: number;
}

/**
 * Reads a braced block starting on line `start` (the line holding "{");
 * returns its lines and the index of the line with "}". In an iterator a
 * row may end with "}"; in a job block (submit text, where `{ }` can be a
 * ClassAd list) only a line holding nothing but "}" closes it.
 */
function bracedBlock(lines: readonly string[], start: number, file: string, closeAfterContent: boolean): { body: { text: string; line: number }[]; end: number } {
  const open = lines[start]!;
  const after = open.slice(open.indexOf('{') + 1);
  const body: { text: string; line: number }[] = [];
  if (after.includes('}')) return { body: [{ text: after.slice(0, after.indexOf('}')), line: start + 1 }], end: start };
  if (after.trim() !== '') body.push({ text: after, line: start + 1 });
  for (let i = start + 1; i < lines.length; i++) {
    const t = lines[i]!;
    if (t.trim() === '}') return { body, end: i };
    const close = t.lastIndexOf('}');
    if (closeAfterContent && close >= 0 && t.slice(close + 1).trim() === '') {
      body.push({ text: t.slice(0, close), line: i + 1 });
      return { body, end: i };
    }
    body.push({ text: t, line: i + 1 });
  }
  throw new SubmitError(`unclosed "{" (no "}" before the end of the file)`, { file, line: start + 1, column: open.indexOf('{') + 1 });
}

function readFile(path: string, options: SubmitOptions, at: { file: string; line: number; column: number }): string {
  try {
    return (options.files ?? localFiles).readText(path);
  } catch (error) {
    if (error instanceof FileProblem) throw new SubmitError(error.message, at);
    throw error;
  }
}

/** The iterator is the queue: queue statements in a job block (one line, or a multi-line item list) are not used. */
function withoutQueueStatements(text: string): string {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*queue\b/i.test(lines[i]!)) continue;
    const open = lines[i]!.includes('(') && !lines[i]!.includes(')');
    lines[i] = '';
    if (open) {
      while (i + 1 < lines.length && !lines[i + 1]!.trim().startsWith(')')) lines[++i] = '';
      if (i + 1 < lines.length) lines[++i] = '';
    }
  }
  return lines.join('\n');
}

export function compileJobset(text: string, file: string, options: SubmitOptions): Jobset {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let name: string | undefined;
  let vars: string[] | undefined;
  let rows: string[][] | undefined;
  const jobs: JobBlock[] = [];
  const at = (line: number, column = 1): { file: string; line: number; column: number } => ({ file, line, column });

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const column = raw.length - raw.trimStart().length + 1;
    const command = /^([A-Za-z]+)\s*(=)?/.exec(t);
    const word = command?.[1]?.toLowerCase();
    if (word === 'name' && command?.[2] === '=') {
      if (name !== undefined) throw new SubmitError('the jobset name is set twice', at(i + 1, column));
      name = t.slice(command[0].length).replace(/#.*$/, '').trim();
      if (name === '') throw new SubmitError('expected a name after "name ="', at(i + 1, column));
    } else if (word === 'iterator' && command?.[2] === '=') {
      if (vars !== undefined) throw new SubmitError('the jobset iterator is set twice', at(i + 1, column));
      const spec = t.slice(command[0].length).trim();
      const m = /^(\S+)\s+(.*?)\s*(\{.*|[^\s{}]+)$/.exec(spec);
      if (m === null) throw new SubmitError(`expected "iterator = table VARS { ROWS }" or "iterator = table VARS FILE", found ${JSON.stringify(spec)}`, at(i + 1, column));
      if (m[1]!.toLowerCase() !== 'table') throw new SubmitError(`unknown iterator type ${JSON.stringify(m[1])}; htc knows "table"`, at(i + 1, column));
      vars = m[2]!.split(/[\s,]+/).filter((v) => v !== '');
      if (vars.length === 0 || vars.some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) {
        throw new SubmitError(`expected variable names after "table", found ${JSON.stringify(m[2])}`, at(i + 1, column));
      }
      let rowLines: { text: string; line: number }[];
      let rowFile = file;
      if (m[3]!.startsWith('{')) {
        const block = bracedBlock(lines, i, file, true);
        rowLines = block.body;
        i = block.end;
      } else {
        const path = resolve(dirname(file), m[3]!);
        rowLines = readFile(path, options, at(i + 1, column)).split(/\r?\n/).map((text, k) => ({ text, line: k + 1 }));
        rowFile = path;
      }
      rows = [];
      for (const row of rowLines) {
        const content = row.text.replace(/#.*$/, '').trim();
        if (content === '') continue;
        const values = content.split(',').map((v) => v.trim());
        if (values.length !== vars.length) {
          throw new SubmitError(`a row has ${values.length} value${values.length === 1 ? '' : 's'} but the iterator names ${vars.length} variable${vars.length === 1 ? '' : 's'} (${vars.join(', ')})`, { file: rowFile, line: row.line, column: 1 });
        }
        rows.push(values);
      }
    } else if (word === 'job' && command?.[2] === undefined) {
      const rest = t.slice(3).trim();
      const brace = rest.indexOf('{');
      const mapText = brace >= 0 ? rest.slice(0, brace) : rest.split(/\s+/).slice(0, -1).join(' ');
      const maps = new Map<string, string>();
      for (const pair of mapText.split(/\s+/).filter((p) => p !== '')) {
        const mm = /^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(pair);
        if (mm === null) throw new SubmitError(`expected VAR=OTHER in the job line, found ${JSON.stringify(pair)}`, at(i + 1, column));
        maps.set(mm[1]!, mm[2]!);
      }
      if (brace >= 0) {
        const block = bracedBlock(lines, i, file, false);
        const body = block.body;
        const padded = body.length === 0 ? '' : '\n'.repeat(body[0]!.line - 1) + body.map((b) => b.text).join('\n');
        jobs.push({ maps, text: padded, file, line: i + 1 });
        i = block.end;
      } else {
        const target = rest.split(/\s+/).at(-1) ?? '';
        if (target === '') throw new SubmitError('expected "{" or a submit file after job', at(i + 1, column));
        const path = resolve(dirname(file), target);
        jobs.push({ maps, text: readFile(path, options, at(i + 1, column)), file: path, line: 1 });
      }
    } else {
      throw new SubmitError(`unrecognized jobset line: expected name =, iterator = or job, found ${JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}...` : t)}`, at(i + 1, column));
    }
  }
  if (name === undefined) throw new SubmitError('the jobset has no "name = ..." line', at(1));
  if (vars === undefined || rows === undefined) throw new SubmitError('the jobset has no "iterator = table ..." line', at(1));
  if (jobs.length === 0) throw new SubmitError('the jobset has no job block', at(1));

  const jobsetName = name;
  const iteratorVars = vars;
  const iteratorRows = rows;
  const clusters = jobs.map((job) => {
    let body = job.text;
    for (const [from, to] of job.maps) body = body.replace(new RegExp(`\\$\\(${from}(?=[:)])`, 'gi'), `$(${to}`);
    body = withoutQueueStatements(body);
    const queue = `\nqueue ${iteratorVars.join(',')} from (\n${iteratorRows.map((r) => r.join('\x1f')).join('\n')}\n)\n`;
    const predefined = new Map(options.predefined ?? []);
    predefined.set('MY.JobSetName', JSON.stringify(jobsetName));
    predefined.set('MY.InJobSet', 'true');
    return SubmitDescription.compile(body + queue, job.file, { ...options, predefined });
  });
  return { name: jobsetName, vars: iteratorVars, rows: iteratorRows, clusters };
}
