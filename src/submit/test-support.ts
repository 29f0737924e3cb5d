/** Builders for submit tests: real files in a temporary directory, fixed options. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { printValue, unparse, type ClassAd } from '../classad/index.ts';
import { SubmitDescription, type SubmitOptions } from './submit-description.ts';

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'htc-submit-'));

  /** Writes `text` to `name` (creating directories) and returns its path. */
  write(name: string, text: string): string {
    const path = join(this.path, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  mkdir(name: string): string {
    const path = join(this.path, name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export function options(dir: string, extra: Partial<SubmitOptions> = {}): SubmitOptions {
  return { owner: 'alice', now: 1700000000, cwd: dir, env: { HOME: '/home/alice', PATH: '/usr/bin' }, random: () => 0.5, ...extra };
}

/** Compiles `text` written as `name` in `dir`. */
export function compile(dir: TempDir, text: string, extra: Partial<SubmitOptions> = {}, name = 'job.sub'): SubmitDescription {
  const file = dir.write(name, text);
  return SubmitDescription.compile(text, file, options(dir.path, extra));
}

/** Every proc's whole ad, cluster 1. */
export function procAds(description: SubmitDescription): ClassAd[] {
  const f = description.materialize(1);
  return Array.from({ length: f.procCount }, (_, i) => f.procAd(i));
}

/** An attribute of an ad as new-syntax text: a literal's value, else the expression ("<absent>" if missing). */
export function attr(ad: ClassAd, name: string): string {
  const node = ad.get(name);
  if (node === undefined) return '<absent>';
  return node.kind === 'literal' ? printValue(node.value) : unparse(node);
}
