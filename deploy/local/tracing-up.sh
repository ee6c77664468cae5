#!/usr/bin/env bash
# Installs (first run) and starts the local tracing backend: Zipkin's server
# jar (io.zipkin:zipkin-server, classifier exec) from Maven Central on the
# machine's Java 17, in-memory storage, UI at http://127.0.0.1:9411/zipkin/.
# Idempotent like infra-up.sh: a second run finds it up and only says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$ZIPKIN_DIR" "$(dirname "$ZIPKIN_JAR")"
command -v java >/dev/null || fail "java not found (Zipkin needs Java 17)"

zipkin_ready() { curl -fs -o /dev/null "http://127.0.0.1:$ZIPKIN_PORT/health"; }

if [[ ! -s $ZIPKIN_JAR ]]; then
  step "zipkin: resolving io.zipkin:zipkin-server:$ZIPKIN_VERSION:exec from Maven Central"
  mvn -q -B dependency:copy "-Dartifact=io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
    -DoutputDirectory="$(dirname "$ZIPKIN_JAR")" || fail "zipkin: maven could not resolve the jar"
fi
if pid_alive "$ZIPKIN_DIR/zipkin.pid" && zipkin_ready; then
  step "zipkin: already running on 127.0.0.1:$ZIPKIN_PORT"
  exit 0
fi
port_open "$ZIPKIN_PORT" && fail "port $ZIPKIN_PORT is taken by a process this project did not start"
step "zipkin: starting on 127.0.0.1:$ZIPKIN_PORT (in-memory storage)"
: >"$ZIPKIN_DIR/zipkin.log"
# Spans live in memory and are bounded (MEM_MAX_SPANS): a restart forgets them.
STORAGE_TYPE=mem MEM_MAX_SPANS=200000 QUERY_PORT=$ZIPKIN_PORT \
  nohup java -Xms64m -Xmx384m -jar "$ZIPKIN_JAR" --armeria.ports[0].ip=127.0.0.1 \
  --armeria.ports[0].port="$ZIPKIN_PORT" --armeria.ports[0].protocols=http \
  </dev/null >>"$ZIPKIN_DIR/zipkin.log" 2>&1 &
echo $! >"$ZIPKIN_DIR/zipkin.pid"
wait_until 90 zipkin "$ZIPKIN_DIR/zipkin.log" zipkin_ready
step "zipkin: ready, UI http://127.0.0.1:$ZIPKIN_PORT/zipkin/, API http://127.0.0.1:$ZIPKIN_PORT/api/v2/"
