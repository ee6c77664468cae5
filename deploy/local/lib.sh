# Shared by infra-up.sh, infra-down.sh and infra-status.sh: where things live
# and which ports they use. Everything the project starts lives under .run/
# (state, logs, pids) and .tools/ (downloaded binaries and jars).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$ROOT/.run"
TOOLS="$ROOT/.tools"

PG_PORT=${KUKU_PG_PORT:-55432}
PG_DIR="$RUN/pg"
PG_DATA="$PG_DIR/data"
PG_DATABASES=(kuku_ledger kuku_order kuku_exchange kuku_market kuku_gateway)

# Three independent Redis servers: a real 2-of-3 quorum for Redlock.
REDIS_PORTS=(6379 6380 6381)

KAFKA_VERSION=3.9.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_DIR="$RUN/kafka"
KAFKA_LIBS="$TOOLS/kafka/libs"

GRPCURL_VERSION=v1.9.3
TOXIPROXY_VERSION=v2.12.0
# gRPC load generator for `kuku-bench rpc`: an external client that is not Node.
GHZ_VERSION=v0.121.0
# Renders deploy/k8s and mesh/ in the manifest test; v5.7+ needs a newer Go than the machine's 1.26.
KUSTOMIZE_VERSION=v5.6.0

step() { printf '==> %s\n' "$*"; }
fail() { printf '!! %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root; everything else runs as the caller.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" ]] || return 1
  printf '%s\n' "$dir"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_until <seconds> <what> <log file> <command...>: polls the command every
# 0.2 s; on timeout names the component and shows the end of its log.
wait_until() {
  local seconds=$1 what=$2 log=$3; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      printf '!! %s did not become ready within %s s; last lines of %s:\n' "$what" "$seconds" "$log" >&2
      tail -n 30 "$log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

# Local tracing backend (make tracing): Zipkin's all-in-one server jar.
ZIPKIN_VERSION=3.5.1
ZIPKIN_PORT=${KUKU_ZIPKIN_PORT:-9411}
ZIPKIN_DIR="$RUN/zipkin"
ZIPKIN_JAR="$TOOLS/zipkin/zipkin-server-$ZIPKIN_VERSION-exec.jar"
