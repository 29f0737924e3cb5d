/**
 * ClassAd benchmark: parse rate, and evaluations per second of a typical job
 * Requirements against a slot ad, side by side with the same logic written
 * by hand as a JS function over a plain object (the baseline). The ratio is
 * compiled-ClassAd rate / hand-written rate.
 *
 * The expression is the shape HTCondor gives a job (its default resource
 * clauses plus the annex binding htc adds), evaluated with MY = job and
 * TARGET = slot, so every reference goes through the real scoping rules.
 */
import { BUILTINS, compileExpression, parseClassAd, parseExpression, symmetricMatch } from '../src/classad/index.ts';
import type { BenchResult } from './run.ts';
import { measure } from './harness.ts';

const REQUIREMENTS =
  '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && ' +
  '(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus) && (TARGET.HasFileTransfer) && ' +
  '(TARGET.AnnexName =?= MY.TargetAnnexName)';

const JOB = parseClassAd(`[
  ClusterId = 12; ProcId = 3; Owner = "alice"; Cmd = "/bin/sleep"; Args = "1";
  RequestCpus = 1; RequestMemory = 2048; RequestDisk = 1048576; TargetAnnexName = "annex-1";
  Requirements = ${REQUIREMENTS}
]`);
const SLOT = parseClassAd(`[
  Name = "slot1@node001"; Arch = "X86_64"; OpSys = "LINUX"; Cpus = 64; Memory = 256000;
  Disk = 100000000; HasFileTransfer = true; AnnexName = "annex-1"; Owner = "alice";
  Requirements = MY.Owner == TARGET.Owner && TARGET.TargetAnnexName =?= MY.AnnexName
]`);

interface PlainSlot { Arch: string; OpSys: string; Disk: number; Memory: number; Cpus: number; HasFileTransfer: boolean; AnnexName: string }
interface PlainJob { RequestDisk: number; RequestMemory: number; RequestCpus: number; TargetAnnexName: string }
const plainSlot: PlainSlot = { Arch: 'X86_64', OpSys: 'LINUX', Disk: 100000000, Memory: 256000, Cpus: 64, HasFileTransfer: true, AnnexName: 'annex-1' };
const plainJob: PlainJob = { RequestDisk: 1048576, RequestMemory: 2048, RequestCpus: 1, TargetAnnexName: 'annex-1' };

/** The same Requirements by hand: string == is case-insensitive, =?= is not. */
function handWritten(job: PlainJob, slot: PlainSlot): boolean {
  return (
    slot.Arch.toLowerCase() === 'x86_64' &&
    slot.OpSys.toLowerCase() === 'linux' &&
    slot.Disk >= job.RequestDisk &&
    slot.Memory >= job.RequestMemory &&
    slot.Cpus >= job.RequestCpus &&
    slot.HasFileTransfer &&
    slot.AnnexName === job.TargetAnnexName
  );
}

export async function run(): Promise<BenchResult> {
  const compiled = compileExpression(parseExpression(REQUIREMENTS));
  const env = { scope: JOB, target: SLOT };
  if (compiled(env) !== true || !handWritten(plainJob, plainSlot)) throw new Error('benchmark expressions must both be true');

  const jsonText = JSON.stringify({ requirements: REQUIREMENTS, job: plainJob, slot: plainSlot });
  const parse = await measure('parse Requirements (ClassAd parser)', () => parseExpression(REQUIREMENTS));
  const parseBaseline = await measure(`JSON.parse of ${jsonText.length} chars (reference)`, () => JSON.parse(jsonText) as unknown);
  const evaluate = await measure('evaluate compiled Requirements (MY=job, TARGET=slot)', () => compiled(env));
  const baseline = await measure('hand-written JS function (baseline)', () => handWritten(plainJob, plainSlot));
  const match = await measure('symmetric match (both Requirements)', () => symmetricMatch(JOB, SLOT, BUILTINS));

  return {
    bench: 'classad',
    baseline: 'hand-written JS function of the same Requirements',
    ratio: Number((evaluate / baseline).toFixed(4)),
    evaluationsPerSec: Math.round(evaluate),
    baselinePerSec: Math.round(baseline),
    symmetricMatchesPerSec: Math.round(match),
    parsesPerSec: Math.round(parse),
    jsonParseReferencePerSec: Math.round(parseBaseline),
    requirementsChars: REQUIREMENTS.length,
  };
}
