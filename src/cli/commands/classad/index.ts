/** `htc classad ...`: the ClassAd language at the command line (no access point needed). */
import { registerNoun, type Register } from '../../command.ts';
import { registerEval } from './eval.ts';
import { registerFormat } from './format.ts';
import { registerMatch } from './match.ts';

export const registerClassad: Register = (parent, ctx) => {
  registerNoun(parent, ctx, {
    name: 'classad',
    description: 'evaluate, match and convert ClassAds',
    verbs: [registerEval, registerMatch, registerFormat],
  });
};
