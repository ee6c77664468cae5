#!/usr/bin/env bash
# MariaDB on 127.0.0.1:53306, for the storage-engine experiment only
# (kuku-bench ledger engines, ADR 0004); the platform itself does not use it.
# Idempotent, like infra-up.sh; stop it with mariadb-down.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MARIADB_PORT=${KUKU_MARIADB_PORT:-53306}
dir="$RUN/mariadb"

if ! command -v mariadbd >/dev/null; then
  step "packages: apt-get install mariadb-server"
  sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"; own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends mariadb-server \
    || { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends mariadb-server; }
  ((own_policy == 0)) || "${sudo[@]}" rm -f "$policy"
fi

mkdir -p "$dir"
if [[ ! -d $dir/data/mysql ]]; then
  step "mariadb: initialising $dir/data"
  mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" --auth-root-authentication-method=normal \
    >"$dir/install.log" 2>&1 || { tail -n 20 "$dir/install.log" >&2; fail "mariadb-install-db failed"; }
fi
mariadb_ping() { mariadb-admin --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u root ping >/dev/null 2>&1; }
if mariadb_ping; then
  step "mariadb: already running on 127.0.0.1:$MARIADB_PORT"
else
  step "mariadb: starting on 127.0.0.1:$MARIADB_PORT"
  # Durability as PostgreSQL's defaults: flush the redo log at every commit.
  nohup mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" --bind-address=127.0.0.1 \
    --port="$MARIADB_PORT" --socket="$dir/mariadb.sock" --pid-file="$dir/mariadb.pid" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=1 --max-connections=300 \
    --log-error="$dir/mariadb.log" >/dev/null 2>&1 &
  wait_until 60 mariadb "$dir/mariadb.log" mariadb_ping
fi
mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u root -e \
  "CREATE USER IF NOT EXISTS 'kuku'@'localhost' IDENTIFIED BY 'kuku'; GRANT ALL ON *.* TO 'kuku'@'localhost';
   CREATE USER IF NOT EXISTS 'kuku'@'127.0.0.1' IDENTIFIED BY 'kuku'; GRANT ALL ON *.* TO 'kuku'@'127.0.0.1';"
step "mariadb: ready (user kuku/kuku) on 127.0.0.1:$MARIADB_PORT"
