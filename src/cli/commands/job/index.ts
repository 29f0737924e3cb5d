/** `htc job ...`: submitting and (with the access point) managing jobs. */
import { registerNoun, type Register } from '../../command.ts';
import { registerJobSubmit } from './submit.ts';

export const registerJob: Register = (parent, ctx) => {
  registerNoun(parent, ctx, { name: 'job', description: 'submit jobs', verbs: [registerJobSubmit] });
};
