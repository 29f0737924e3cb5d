/**
 * Errors in submit descriptions. Every one names the file, line and column
 * and says what was wrong or expected there.
 *
 * Leaf helpers (arguments, environment, units, macros) see only a value, not
 * where it came from: they throw `ValueError` with an offset into the value,
 * and the reader that knows the line turns it into a `SubmitError` at the
 * right column with `atValue`.
 */
import { HtcError, type SourcePosition } from '../errors.ts';

export class SubmitError extends HtcError {
  constructor(message: string, position: SourcePosition | undefined) {
    super('SUBMIT_INVALID', message, position === undefined ? {} : { position });
  }
}

/** A problem inside one value; `offset` is the 0-based index in the value where it was found. */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly offset = 0,
  ) {
    super(message);
    this.name = 'ValueError';
  }
}

/** Where a value starts in its file, to place a ValueError. */
export interface ValueSite {
  readonly file?: string;
  readonly line: number;
  /** 1-based column of the value's first character. */
  readonly column: number;
}

/** Turns a ValueError raised for the value at `site` into a positioned SubmitError. */
export function atValue(error: ValueError, site: ValueSite, what?: string): SubmitError {
  const position = site.file === undefined
    ? { line: site.line, column: site.column + error.offset }
    : { file: site.file, line: site.line, column: site.column + error.offset };
  return new SubmitError(what === undefined ? error.message : `${what}: ${error.message}`, position);
}

/** A warning (the submit still goes ahead): unused commands and the like. */
export interface SubmitWarning {
  readonly message: string;
  readonly position?: SourcePosition;
}
