#!/usr/bin/env bash
# Stops what infra-up.sh started. Data stays in .run/ (delete it to start afresh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if pid_alive "$ZIPKIN_DIR/zipkin.pid"; then
  step "zipkin: stopping"; kill "$(cat "$ZIPKIN_DIR/zipkin.pid")"; rm -f "$ZIPKIN_DIR/zipkin.pid"
fi
if pid_alive "$KAFKA_DIR/kafka.pid"; then
  step "kafka: stopping"
  pid=$(cat "$KAFKA_DIR/kafka.pid"); kill "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && { step "kafka: still running after 30 s, killing"; kill -9 "$pid"; }
  rm -f "$KAFKA_DIR/kafka.pid"
fi
for port in "${REDIS_PORTS[@]}"; do
  pidfile="$RUN/redis-$port/redis.pid"
  if pid_alive "$pidfile"; then step "redis $port: stopping"; redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$pidfile")"; fi
done
if bin=$(pg_bin) && [[ -f $PG_DATA/PG_VERSION ]] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  step "postgres: stopping"
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
fi
step "infra stopped"
