/**
 * Submit description files and jobsets: HTCondor's languages for describing
 * work, turned into one cluster ad plus a proc factory per cluster (late
 * materialization). Pure apart from reading the files a description names,
 * through `SubmitFiles`.
 */
export { SubmitDescription, type ClusterFactory, type QueueGroup, type SubmitOptions } from './submit-description.ts';
export { compileJobset, type Jobset } from './jobset.ts';
export { SubmitError, type SubmitWarning } from './submit-error.ts';
export { localFiles, type SubmitFiles } from './files.ts';
export type { JobOptions } from './job-builder.ts';
export { splitArgsV1Raw, splitArgsV2Raw } from './arguments.ts';
