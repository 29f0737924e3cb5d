/** `htc job ...`: submitting and (with the access point) managing jobs. */
import { registerNoun, type Register } from '../../command.ts';
import { JOB_MANAGEMENT_VERBS } from './manage.ts';
import { registerJobSubmit } from './submit.ts';

export const registerJob: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'job', description: 'submit and manage jobs', verbs: [registerJobSubmit, ...JOB_MANAGEMENT_VERBS] });
};
