#!/usr/bin/env bash
# buf breaking against a git ref (default main). The third-party protos live
# in a git-ignored, generated module (packages/contracts/.deps/proto), so
# buf's ".git#ref=" input would lack them: check out the old tree, add
# today's third-party protos and compare the two workspaces. Workspaces, not
# images: only a workspace carries buf.yaml's per-module breaking rules.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-main}
buf=$(pwd)/node_modules/.bin/buf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$ref" | tar -x -C "$tmp"
mkdir -p "$tmp/packages/contracts"
cp -r packages/contracts/.deps "$tmp/packages/contracts/"
"$buf" breaking . --against "$tmp"
