#!/usr/bin/env bash
# Every test: the formatter and linter (Biome), contract checks (buf lint,
# buf breaking, generated code fresh), then each workspace's tap suite
# against the real infrastructure. Ends with one plain "N passed, N failed"
# line for CI.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p .run/test
passed=0
failed=0
failures=()

check() { # name, command...
  local name=$1; shift
  echo "==> test: $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

check "biome check (format and lint)" npx biome check .
buf=node_modules/.bin/buf
# First: it also writes the third-party protos (git-ignored) that buf lints against.
check "generated code is fresh" node packages/contracts/scripts/generate.mjs --check
check "buf lint" "$buf" lint
# Breaking changes are judged against main; on main itself, against the
# previous commit, so a change that lands on main is still checked.
if [[ "$(git rev-parse --abbrev-ref HEAD 2>/dev/null)" != main ]] && git rev-parse --verify -q main >/dev/null; then
  check "buf breaking (against main)" bash scripts/buf-breaking.sh main
# (No `git ls-tree | grep -q` here: under pipefail grep's early exit fails the pipe and the check was skipped.)
elif git rev-parse --verify -q HEAD~1 >/dev/null && [[ -n $(git ls-tree -r --name-only HEAD~1 -- proto | grep '\.proto$') ]]; then
  check "buf breaking (against HEAD~1)" bash scripts/buf-breaking.sh HEAD~1
fi

for pkg in packages/* services/* bench deploy; do
  [[ -f "$pkg/.taprc" ]] || continue
  name=$(basename "$pkg")
  echo "==> test: tap in $pkg"
  out="$root/.run/test/$name.tap.txt"
  (cd "$pkg" && npx tap --reporter=tap 2>&1) | tee "$out" | grep -E '^(not ok|ok) ' || true
  summary=$(grep -E '^# \{ total: ' "$out" | tail -1)
  pkg_total=$(sed -nE 's/.*total: ([0-9]+).*/\1/p' <<<"$summary")
  pkg_pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
  if [[ -z "$pkg_total" ]]; then
    # tap printed no summary: count the run as one failure, never as a pass.
    failed=$((failed + 1)); failures+=("tap in $pkg (no summary, see $out)")
    continue
  fi
  passed=$((passed + ${pkg_pass:-0}))
  if (( pkg_total > ${pkg_pass:-0} )); then
    failed=$((failed + pkg_total - ${pkg_pass:-0})); failures+=("tap in $pkg")
    grep -E -B2 -A25 '^\s*not ok ' "$out" | head -200
  fi
done

if (( ${#failures[@]} > 0 )); then printf 'FAILED: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
(( failed == 0 ))
