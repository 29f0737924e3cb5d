#!/usr/bin/env node
// Entry point of `htc`. There is no build step: tsx's ESM loader is registered
// here and the TypeScript sources run as they are (docs/decisions/0001).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv);
