#!/usr/bin/env bash
# The project's test run (`npm test`): install if needed, typecheck, lint,
# check the import graph, then run every test file with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install when node_modules is missing or older than the lockfile (npm writes
# node_modules/.package-lock.json last on every install), so that
# `npm test` works on a fresh clone.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "test.sh: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "test.sh: typecheck"
npx tsc --noEmit -p .
echo "test.sh: lint"
npx eslint .
echo "test.sh: import graph"
npx depcruise src --config .dependency-cruiser.cjs

# The test cluster (SLURM with four nodes, sshd on 127.0.0.1:2222 for a
# non-root user): brought up when it is not running, and stopped again at
# the end only if this run started it. It needs root (apt, daemons).
if [[ $(id -u) -eq 0 ]]; then
  if ! bash scripts/test-env.sh status >/dev/null 2>&1; then
    echo "test.sh: starting the test cluster (scripts/test-env.sh up)"
    bash scripts/test-env.sh up
    trap 'bash scripts/test-env.sh down' EXIT
  fi
  set -a
  eval "$(bash scripts/test-env.sh env)"
  set +a
else
  echo "test.sh: not root, so the SLURM/sshd test cluster is not started (its tests skip)"
fi

# Node 20's --test expands no globs: list the files explicitly.
mapfile -t files < <(find src test -name '*.test.ts' 2>/dev/null | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "test.sh: error: no *.test.ts files found under src/ or test/" >&2
  exit 1
fi
echo "test.sh: ${#files[@]} test files"
node --import tsx --test "${files[@]}"
