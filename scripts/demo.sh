#!/usr/bin/env bash
# `npm run demo`: install what is needed (as `npm test` does), then run the
# demo: an access point, a jobset, a local annex, progress, a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "demo.sh: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
exec node --import tsx demo/demo.ts
