#!/usr/bin/env bash
# Stops the experiment's MariaDB started by mariadb-up.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pidfile="$RUN/mariadb/mariadb.pid"
if pid_alive "$pidfile"; then
  step "mariadb: stopping"
  pid=$(cat "$pidfile"); kill "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
fi
