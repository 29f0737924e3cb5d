/**
 * The bundle entry of the `htc-pilot` executable (built by
 * src/annex/pilot-executable.ts): runs pilotMain on the arguments after the
 * program name. In a Node single executable application process.argv is
 * [exe, exe, ...args], under node [node, script, ...args]: slice(2) fits
 * both. No top-level await: the bundle is CommonJS, which is what Node 20's
 * single executables run.
 */
import { pilotMain } from './main.ts';

void pilotMain(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // An ended pilot must not hold its node: should a handle (a socket slow to close) keep the process alive, it goes anyway.
  setTimeout(() => process.exit(code), 10_000).unref();
});
