/**
 * Output modes of `htc` commands: `human` (aligned text) or `json`.
 *
 * Commands print results only through an `Output`, so every command supports
 * `--json` the same way. In json mode each call writes exactly one JSON
 * document on one line (JSON Lines), so a script can read a command's output
 * with one `JSON.parse` per line. Diagnostics never go here: errors are
 * thrown and printed to stderr by the CLI's error boundary.
 */
import type { Command } from 'commander';
import type { TextSink } from './command.ts';

export type OutputMode = 'human' | 'json';

/** A column of a human-mode list: the record key and its header. */
export interface Column {
  readonly key: string;
  readonly header: string;
}

export interface Output {
  readonly mode: OutputMode;
  /** Human: the text as is. JSON: the text as a JSON string. */
  line(text: string): void;
  /** Human: `key: value` lines, keys aligned. JSON: the object. */
  record(record: Readonly<Record<string, unknown>>): void;
  /**
   * Human: a table with a header row (columns default to the first row's
   * keys). JSON: the rows as one array.
   */
  list(rows: readonly Readonly<Record<string, unknown>>[], columns?: readonly Column[]): void;
}

export function createOutput(options: { json: boolean; stdout: TextSink }): Output {
  const { stdout } = options;
  const emit = (text: string): void => {
    stdout.write(`${text}\n`);
  };
  if (options.json) {
    return {
      mode: 'json',
      line: (text) => emit(JSON.stringify(text)),
      record: (record) => emit(JSON.stringify(record)),
      list: (rows) => emit(JSON.stringify(rows)),
    };
  }
  return {
    mode: 'human',
    line: emit,
    record(record) {
      const keys = Object.keys(record);
      const width = Math.max(0, ...keys.map((k) => k.length));
      for (const key of keys) emit(`${`${key}:`.padEnd(width + 1)} ${humanValue(record[key])}`);
    },
    list(rows, columns) {
      const cols = columns ?? Object.keys(rows[0] ?? {}).map((key) => ({ key, header: key }));
      if (cols.length === 0) return;
      const cells = rows.map((row) => cols.map((c) => humanValue(row[c.key])));
      const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
      const format = (values: readonly string[]): string =>
        values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
      emit(format(cols.map((c) => c.header)));
      for (const row of cells) emit(format(row));
    },
  };
}

function humanValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Adds the standard `--json` option to a command. */
export function withJsonOption(command: Command): Command {
  return command.option('--json', 'print JSON (one document per line) instead of text', false);
}
