/**
 * Pure domain logic of the access point: the job state machine, policies,
 * job references, the user log text and the annex binding transform. No I/O;
 * time is always passed in.
 */
export { JobStatus, statusName, isFinished, formatJobId, type JobId, type JobSnapshot, type JobStatusCode } from './job.ts';
export { parseJobRef, parseJobRefs, formatJobRef, refMatches, refToJobId, type JobRef } from './job-id.ts';
export {
  hold, release, remove, start, evict, complete, periodic, toProcChange, byUserReason, checkEditable,
  type Transition, type Refusal, type TransitionResult, type ProcChangeData, type ExitOutcome,
} from './job-state.ts';
export { periodicDecision, exitDecision, leaveInQueue, HoldReasonCode } from './policy.ts';
export { formatUserLogEvent, formatStoredEvent, formatUserLog } from './user-log.ts';
export { annexRequirements, withAnnexRequirements, ANNEX_BINDING, NOT_ON_ANNEX } from './transforms.ts';
export { planExecution, outputDestination, PlanError, EXECUTABLE_NAME, STDOUT_NAME, STDERR_NAME, STDIN_NAME, type ExecutionPlan, type PlannedInput } from './execution-plan.ts';
export { IdleIndex, jobAttributesReferencedBySlot, requestOf, maxRuntimeOf, significantAttributes, autoclusterSignature, DEFAULT_REQUEST, type Autocluster, type SlotResources } from './autocluster.ts';
export { FairShare, DEFAULT_HALF_LIFE_SECONDS, type FairShareState } from './fair-share.ts';
export { negotiate, type SlotOffer, type Match } from './matchmaker.ts';
