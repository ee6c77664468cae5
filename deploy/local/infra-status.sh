#!/usr/bin/env bash
# One line per infrastructure component: up or down, and where.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
status() { if "$@" >/dev/null 2>&1; then echo up; else echo down; fi; }
bin=$(pg_bin 2>/dev/null)
printf '%-10s %-5s 127.0.0.1:%s\n' postgres "$(status "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT")" "$PG_PORT"
for port in "${REDIS_PORTS[@]}"; do
  printf '%-10s %-5s 127.0.0.1:%s\n' redis "$(status redis-cli -p "$port" ping)" "$port"
done
printf '%-10s %-5s 127.0.0.1:%s\n' kafka "$(status port_open "$KAFKA_PORT")" "$KAFKA_PORT"
printf '%-10s %-5s 127.0.0.1:%s\n' zipkin "$(status port_open "$ZIPKIN_PORT")" "$ZIPKIN_PORT"
