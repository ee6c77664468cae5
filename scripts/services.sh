#!/usr/bin/env bash
# Starts (up) or stops (down) every service as a background process, from
# its compiled dist/, with logs in .run/logs and pids in .run/pids.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p .run/logs .run/pids
grpcurl="$root/.tools/bin/grpcurl"

# name  port  port variable, in start order (a service's dependencies first),
# from the one list of services (packages/testkit/src/services.ts, built by make build).
mapfile -t SERVICES < <(node packages/testkit/dist/services-cli.js)
(( ${#SERVICES[@]} > 0 )) || { echo "!! no services listed; run make build first" >&2; exit 1; }

# make up starts Zipkin (make tracing): send spans there unless told otherwise.
export OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-zipkin}

# Secrets: generated once per checkout and kept across make down/up (sessions
# survive a restart), never the defaults in the source (those need KUKU_ENV=development).
secrets=.run/secrets.env
if [[ ! -s $secrets ]]; then
  (umask 077 && for var in GATEWAY_JWT_SECRET MARKET_WS_TOKEN_SECRET; do
    echo "$var=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  done >"$secrets")
fi
# Service identity keys (ADR 0021), added once to a checkout's secrets (also to one made before them).
if ! grep -q '^KUKU_IDENTITY_TRUST=' "$secrets"; then
  (umask 077 && node scripts/identity-keys.mjs >>"$secrets")
fi
# Every service gets the shared secrets; an identity key goes only to its own service (below),
# and the operator's to no service: scripts/operator-token.mjs reads it for grpcurl.
set -a && . <(grep -v '_IDENTITY_KEY=' "$secrets") && set +a
# The gateway mints the market WebSocket's tokens with the market's key (ADR 0023).
export GATEWAY_MARKET_TOKEN_SECRET=$MARKET_WS_TOKEN_SECRET
identity_key() { grep "^$1_IDENTITY_KEY=" "$secrets" | cut -d= -f2-; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
  for spec in "${SERVICES[@]}"; do
    read -r name port var <<<"$spec"
    pidfile=".run/pids/$name.pid"
    if alive "$pidfile"; then echo "==> $name: already running (pid $(cat "$pidfile"))"; continue; fi
    echo "==> $name: starting on 127.0.0.1:$port"
    # exec: the recorded pid is node's own, and no shell keeps our stdout open.
    prefix=${var%_PORT}
    key=$(identity_key "$prefix")
    (cd "services/$name" && exec env "$var=$port" "${prefix}_IDENTITY_KEY=$key" \
      nohup node dist/main.js </dev/null >>"$root/.run/logs/$name.log" 2>&1) &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if "$grpcurl" -plaintext -max-time 1 "127.0.0.1:$port" grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING; then
        break
      fi
      if ! alive "$pidfile"; then
        echo "!! $name exited during start-up; last lines of .run/logs/$name.log:" >&2
        tail -n 30 ".run/logs/$name.log" >&2
        exit 1
      fi
      sleep 0.2
    done
    "$grpcurl" -plaintext -max-time 1 "127.0.0.1:$port" grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING || {
      echo "!! $name did not become SERVING within 20 s; see .run/logs/$name.log" >&2
      exit 1
    }
  done
  echo
  echo "Kuku Securities is up."
  for spec in "${SERVICES[@]}"; do
    read -r name port _ <<<"$spec"
    printf '  %-9s grpc/grpc-web/connect on %-17s logs: .run/logs/%s.log\n' "$name" "127.0.0.1:$port" "$name"
    if [[ $name == market ]]; then printf '  %-9s WebSocket ws://127.0.0.1:%s/ws\n' "" "$port"; fi
  done
  cat <<INFO

  Trading console (쿠쿠 증권 모의투자): http://127.0.0.1:8080/

Try it (no .proto files needed, the services speak reflection):
  .tools/bin/grpcurl -plaintext 127.0.0.1:50051 list
  .tools/bin/grpcurl -plaintext -d '{"requestId":"hello-1","ownerId":"me","asset":"KRW"}' \\
      -H "authorization: Bearer \$(node scripts/operator-token.mjs kuku.ledger.v1.LedgerService)" \\
      127.0.0.1:50051 kuku.ledger.v1.LedgerService/OpenAccount
  .tools/bin/grpcurl -plaintext -d '{"clientOrderId":"hello-1","symbol":"005930","side":"SIDE_BUY","type":"ORDER_TYPE_MARKET","timeInForce":"TIME_IN_FORCE_IOC","quantity":"10"}' \\
      -H "authorization: Bearer \$(node scripts/operator-token.mjs kuku.exchange.v1.ExchangeService)" \\
      127.0.0.1:50053 kuku.exchange.v1.ExchangeService/SubmitOrder
  .tools/bin/grpcurl -plaintext -d '{"email":"me@example.com","password":"correct horse battery","displayName":"me"}' \\
      127.0.0.1:8080 kuku.gateway.v1.AuthService/SignUp

Traces: http://127.0.0.1:9411/zipkin/ (exporter: $OTEL_TRACES_EXPORTER)
Metrics and health: curl 127.0.0.1:9052/metrics, /healthz, /readyz (each service on its admin port:
  ledger 9051, order 9052, exchange 9053, market 9054, gateway 9080; loopback only)

Stop everything with: make down
INFO
}

down() {
  for (( i=${#SERVICES[@]}-1; i>=0; i-- )); do
    read -r name _ _ <<<"${SERVICES[$i]}"
    pidfile=".run/pids/$name.pid"
    if ! alive "$pidfile"; then echo "==> $name: not running"; rm -f "$pidfile"; continue; fi
    pid=$(cat "$pidfile")
    echo "==> $name: stopping (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "!! $name ignored SIGTERM for 15 s; killing" >&2; kill -KILL "$pid"; }
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
