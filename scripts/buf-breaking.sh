#!/usr/bin/env bash
# buf breaking against a git ref (default main). The third-party protos live
# in a git-ignored, generated module (packages/contracts/.deps/proto), so
# buf's ".git#ref=" input would lack them: build the old tree with today's
# third-party protos into an image and compare against that image instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-main}
buf=$(pwd)/node_modules/.bin/buf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$ref" | tar -x -C "$tmp"
mkdir -p "$tmp/packages/contracts"
cp -r packages/contracts/.deps "$tmp/packages/contracts/"
(cd "$tmp" && "$buf" build -o "$tmp/against.binpb") 2>&1
"$buf" build -o "$tmp/current.binpb"
"$buf" breaking "$tmp/current.binpb" --against "$tmp/against.binpb"
