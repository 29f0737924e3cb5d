/** `htc version [--json]`: the htc and Node.js versions. */
import type { Register } from '../command.ts';
import { createOutput, withJsonOption } from '../output.ts';

export const registerVersion: Register = (parent, ctx) => {
  withJsonOption(parent.command('version').description('print the htc and Node.js versions')).action(
    (options: { json: boolean }) => {
      const out = createOutput({ json: options.json, stdout: ctx.stdout });
      out.record({ htc: ctx.version, node: process.versions.node });
    },
  );
};
