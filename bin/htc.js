#!/usr/bin/env node
// Entry point of `htc`. There is no build step: tsx's ESM loader is registered
// here and the TypeScript sources run as they are (docs/decisions/0001).
import { register } from 'tsx/esm/api';

register();
// A reader that goes away (`htc ... | head`) is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv);
