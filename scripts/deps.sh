#!/usr/bin/env bash
# Installs npm dependencies: `npm ci` on a fresh clone (exactly the lock
# file), nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then
  echo "==> deps: node_modules is up to date"
else
  echo "==> deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
