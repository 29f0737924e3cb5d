/**
 * Printing what a submit would queue, without an access point: every proc's
 * whole job ad, in old ClassAd syntax with attributes sorted as condor_q
 * -long sorts them, a blank line between jobs (as condor_submit -dry-run),
 * or with --json a JSON array of objects. Ads are made one at a time from
 * the proc factory and written as they are made, so `queue 1000000` streams.
 */
import { ClassAd, classAdToJson, printOldClassAd, writeJson } from '../../../classad/index.ts';
import type { ClusterFactory, SubmitWarning } from '../../../submit/index.ts';
import type { TextSink } from '../../command.ts';

function sorted(ad: ClassAd): ClassAd {
  return new ClassAd(ad.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function printDryRun(clusters: readonly ClusterFactory[], json: boolean, out: TextSink): number {
  // A mistake in one proc's commands (an item with a bad value) is found
  // before anything is printed, so stdout never holds half a JSON document.
  for (const cluster of clusters) for (let p = 0; p < cluster.procCount; p++) cluster.procDiff(p);
  let jobs = 0;
  let buffer = json ? '[' : '';
  const flush = (): void => {
    if (buffer.length > 0) out.write(buffer);
    buffer = '';
  };
  for (const cluster of clusters) {
    for (let p = 0; p < cluster.procCount; p++) {
      const ad = sorted(cluster.procAd(p));
      if (json) buffer += `${jobs === 0 ? '\n' : ',\n'}${writeJson(classAdToJson(ad), 2, 1).replace(/^/, '  ')}`;
      else buffer += `${jobs === 0 ? '' : '\n'}${printOldClassAd(ad)}`;
      jobs++;
      if (buffer.length > 1 << 16) flush();
    }
  }
  if (json) buffer += jobs === 0 ? ']\n' : '\n]\n';
  flush();
  return jobs;
}

/** Warnings as condor_submit prints them, each with its place in the file. */
export function printWarnings(warnings: readonly SubmitWarning[], err: TextSink): void {
  for (const w of warnings) {
    const p = w.position;
    const where = p === undefined ? '' : `${p.file === undefined ? '' : `${p.file}:`}${p.line}: `;
    err.write(`htc: warning: ${where}${w.message}\n`);
  }
}
