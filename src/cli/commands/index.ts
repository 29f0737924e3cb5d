/**
 * Every command of `htc`, in the order `htc --help` lists them.
 *
 * Add a noun by writing `commands/<noun>/index.ts` (which calls `registerNoun`
 * with its verbs from `commands/<noun>/<verb>.ts`) and listing its register
 * function here. See `../command.ts` for the convention.
 */
import type { Register } from '../command.ts';
import { registerAnnex } from './annex/index.ts';
import { registerAp } from './ap/index.ts';
import { registerClassad } from './classad/index.ts';
import { registerJob } from './job/index.ts';
import { registerJobset } from './jobset/index.ts';
import { registerPilot } from './pilot.ts';
import { registerToken } from './token/index.ts';
import { registerVersion } from './version.ts';

export const commands: readonly Register[] = [registerAp, registerJob, registerJobset, registerAnnex, registerToken, registerClassad, registerVersion, registerPilot];
