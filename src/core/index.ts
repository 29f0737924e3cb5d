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
