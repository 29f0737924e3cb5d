/**
 * The import graph of htc, checked on every `npm test` (DESIGN.md, "Modules
 * and the way imports point"):
 *
 *   classad ← submit ← core ← store, ap;  protocol ← ap, pilot, client;
 *   client ← cli, web;  the pilot imports no AP code;  no cycles.
 *
 * src/errors.ts is a leaf that every module may import (docs/decisions/0002).
 * Rules name where an import may NOT point; imports within one module
 * (including its *.test.ts files) are always allowed.
 */

/** A path regex for the given src/ modules, e.g. mods('ap', 'store'). */
const mods = (...names) => `^src/(${names.join('|')})/`;

/** A path regex for everything in src/ except the given modules and the shared leaf files (errors.ts, processes.ts). */
const allBut = (...names) => `^src/(?!(${names.join('|')})/|(errors|processes)\\.ts$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Keep the graph acyclic (DESIGN.md). A cycle made only of runtime imports is an ' +
        'error; one that goes through an `import type` (mutually recursive types, e.g. ' +
        'Value and ClassAd) is erased by TypeScript and allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      comment: 'src/errors.ts imports nothing from src/, so every module may use it.',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'classad-has-no-deps',
      severity: 'error',
      comment: 'The ClassAd language depends on nothing else in htc (only errors.ts).',
      from: { path: '^src/classad/' },
      to: { path: allBut('classad') },
    },
    {
      name: 'submit-uses-only-classad',
      severity: 'error',
      from: { path: '^src/submit/' },
      to: { path: allBut('submit', 'classad') },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core is pure domain logic over classad and submit; no I/O modules.',
      from: { path: '^src/core/' },
      to: { path: allBut('core', 'classad', 'submit') },
    },
    {
      name: 'protocol-is-shared',
      severity: 'error',
      comment: 'Wire types are shared by AP, pilot and client, so they import none of them.',
      from: { path: '^src/protocol/' },
      to: { path: mods('ap', 'pilot', 'client', 'cli', 'web', 'store', 'annex') },
    },
    {
      name: 'pilot-imports-no-ap-code',
      severity: 'error',
      comment: 'The pilot is bundled on its own and runs on compute nodes.',
      from: { path: '^src/pilot/' },
      to: { path: mods('ap', 'store', 'annex', 'cli', 'web') },
    },
    {
      name: 'client-uses-the-api-only',
      severity: 'error',
      comment: 'The client speaks the API; never the store, core internals or the daemon.',
      from: { path: '^src/client/' },
      to: { path: mods('store', 'core', 'ap', 'pilot', 'cli', 'web') },
    },
    {
      name: 'cli-is-thin',
      severity: 'error',
      comment:
        'The CLI talks to the AP through the client; classad and submit are allowed ' +
        'for local-only commands (dry runs, `htc classad eval`), protocol for the ' +
        'access file, annex front-ends (`htc annex`), and the daemon and the pilot only ' +
        'through their entry points (`htc ap start`, `htc pilot`).',
      from: { path: '^src/cli/' },
      to: { path: allBut('cli', 'classad', 'submit', 'client', 'protocol', 'annex'), pathNot: '^src/(ap|pilot)/index\\.ts$' },
    },
    {
      name: 'pilot-used-through-its-entry-point',
      severity: 'error',
      comment: 'Only `htc pilot` runs the pilot, through src/pilot/index.ts.',
      from: { path: '^src/cli/' },
      to: { path: '^src/pilot/', pathNot: '^src/pilot/index\\.ts$' },
    },
    {
      name: 'ap-used-through-its-entry-point',
      severity: 'error',
      comment: 'Only `htc ap start` runs the daemon, through src/ap/index.ts, never its internals.',
      from: { path: '^src/cli/' },
      to: { path: '^src/ap/', pathNot: '^src/ap/index\\.ts$' },
    },
    {
      name: 'web-uses-the-client-only',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: allBut('web', 'client') },
    },
    {
      name: 'src-not-to-test-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'Shipped code may not import devDependencies (tests may).',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: 'node_modules/@types/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a boundary is a boundary for types too.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
