#!/usr/bin/env bash
# Installs the Node that .nvmrc pins (scripts/node.sh, when the machine has
# another) and npm dependencies with it: `npm ci` on a fresh clone (exactly
# the lock file), nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(bash scripts/node.sh):$PATH"
echo "==> deps: node $(node --version)"
if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then
  echo "==> deps: node_modules is up to date"
else
  echo "==> deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
