#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (playwright-core drives
# it; a browser download of Playwright's own cannot work on a closed network),
# and a Korean font so the console's labels render in screenshots.
# Idempotent: installs only what is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -qi nanum || missing+=(fonts-nanum)
if ((${#missing[@]} == 0)); then step "browser: chromium and a Korean font already installed"; exit 0; fi
step "browser: apt-get install ${missing[*]}"
sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
