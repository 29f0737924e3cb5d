/** Reading ads for the `classad` commands: from files (`--ad FILE`) or from JSONL fields. */
import { ClassAdSyntaxError, parseOneClassAd, type AdSyntax, type ClassAd } from '../../../classad/index.ts';
import { HtcError } from '../../../errors.ts';
import { readTextFile } from '../../input.ts';

export const SYNTAXES: readonly AdSyntax[] = ['new', 'old', 'json'];

export function parseSyntaxOption(value: string | undefined, option: string): AdSyntax | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if ((SYNTAXES as readonly string[]).includes(lower)) return lower as AdSyntax;
  throw new HtcError('USAGE', `${option}: expected one of ${SYNTAXES.join(', ')}, got ${JSON.stringify(value)}`);
}

/** One ad from the file a command-line option names. */
export async function readAdFile(path: string, option: string, stdin: NodeJS.ReadableStream, syntax?: AdSyntax): Promise<ClassAd> {
  const text = await readTextFile(path, option, stdin);
  return parseOneClassAd(text, syntax === undefined ? { file: path } : { file: path, syntax });
}

/** A field of a JSONL request that holds ClassAd text. */
export function adFromField(value: unknown, field: string, syntax: AdSyntax | undefined): ClassAd {
  if (typeof value !== 'string') throw new ClassAdSyntaxError(`"${field}" must be a string holding a ClassAd`, 1, 1, field);
  return parseOneClassAd(value, syntax === undefined ? { file: field } : { file: field, syntax });
}
