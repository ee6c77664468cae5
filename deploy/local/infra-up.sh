#!/usr/bin/env bash
# Installs (first run) and starts the platform's real infrastructure on this
# machine, without Docker: PostgreSQL and three Redis servers from Debian
# packages, a single-node KRaft Kafka from Maven Central jars on the machine's
# Java 17, and the Go tools (grpcurl, toxiproxy, kustomize, ghz). Idempotent: a second run
# finds everything up and only says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$RUN" "$TOOLS/bin"
started=$SECONDS

# --- Debian packages --------------------------------------------------------
install_packages() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if ((${#missing[@]} == 0)); then step "packages: postgresql and redis-server already installed"; return; fi
  step "packages: apt-get install ${missing[*]}"
  local sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  # The packages' own init scripts would start a system PostgreSQL on 5432 and
  # a Redis on 6379; we run our own instances under .run/, so forbid that.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"; own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  ((own_policy == 0)) || "${sudo[@]}" rm -f "$policy"
}

# --- PostgreSQL -------------------------------------------------------------
start_postgres() {
  local bin; bin=$(pg_bin) || fail "PostgreSQL binaries not found under /usr/lib/postgresql"
  mkdir -p "$PG_DIR"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$PG_DIR"
    # The postgres user must be able to reach the data directory.
    local d=$PG_DIR
    while [[ $d != / ]]; do d=$(dirname "$d"); chmod o+x "$d" 2>/dev/null || true; done
  fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    step "postgres: initdb $PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
      || { tail -n 20 "$PG_DIR/initdb.log" >&2; fail "postgres: initdb failed"; }
    cat >>"$PG_DATA/postgresql.conf" <<CONF
# Kuku Securities local instance (deploy/local/infra-up.sh)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 300
shared_buffers = 256MB
CONF
  fi
  # Two-phase commit (kuku-bench orders 2pc, ADR 0007) needs prepared transactions; only a restart
  # changes the setting, so an older cluster gets the line here and one restart below (once: idempotent).
  if ! grep -q '^max_prepared_transactions' "$PG_DATA/postgresql.conf"; then
    echo "max_prepared_transactions = 64" >>"$PG_DATA/postgresql.conf"
  fi
  if as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    step "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    step "postgres: starting on 127.0.0.1:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null \
      || { tail -n 30 "$PG_DIR/postgres.log" >&2; fail "postgres did not start"; }
  fi
  wait_until 30 postgres "$PG_DIR/postgres.log" as_pg "$bin/pg_isready" -q -h "$PG_DIR" -p "$PG_PORT"
  local psql=(as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres)
  if [[ $("${psql[@]}" -tA -c "SHOW max_prepared_transactions") == 0 ]]; then
    step "postgres: restarting once to apply max_prepared_transactions = 64"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 restart >/dev/null \
      || { tail -n 30 "$PG_DIR/postgres.log" >&2; fail "postgres did not restart"; }
    wait_until 30 postgres "$PG_DIR/postgres.log" as_pg "$bin/pg_isready" -q -h "$PG_DIR" -p "$PG_PORT"
  fi
  "${psql[@]}" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kuku') THEN
        CREATE ROLE kuku LOGIN CREATEDB PASSWORD 'kuku';
      END IF; END \$\$;"
  # Tests drop their databases WITH (FORCE); without this grant that fails
  # whenever an autovacuum worker (not kuku's process) is busy in the database.
  "${psql[@]}" -c "GRANT pg_signal_backend TO kuku"
  local db
  for db in "${PG_DATABASES[@]}"; do
    if [[ -z $("${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
      "${psql[@]}" -c "CREATE DATABASE $db OWNER kuku"
    fi
  done
  step "postgres: ready (role kuku, databases ${PG_DATABASES[*]})"
}

# --- Redis ------------------------------------------------------------------
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

start_redis() {
  local port dir
  for port in "${REDIS_PORTS[@]}"; do
    dir="$RUN/redis-$port"
    if redis_ping "$port"; then step "redis: already running on 127.0.0.1:$port"; continue; fi
    mkdir -p "$dir"
    step "redis: starting on 127.0.0.1:$port"
    # Caches and locks only: nothing here must survive a restart.
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no
    wait_until 15 "redis on $port" "$dir/redis.log" redis_ping "$port"
  done
}

# --- Kafka ------------------------------------------------------------------
kafka_ready() { grep -q 'Kafka Server started' "$KAFKA_DIR/kafka.log" 2>/dev/null && port_open "$KAFKA_PORT"; }

start_kafka() {
  command -v java >/dev/null || fail "java not found (Kafka needs Java 17)"
  if [[ ! -f $KAFKA_LIBS/.complete-$KAFKA_VERSION ]]; then
    step "kafka: resolving kafka_2.13:$KAFKA_VERSION jars from Maven Central"
    rm -rf "$KAFKA_LIBS"
    mvn -q -B -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" || fail "kafka: maven could not resolve the jars"
    touch "$KAFKA_LIBS/.complete-$KAFKA_VERSION"
  fi
  mkdir -p "$KAFKA_DIR"
  if pid_alive "$KAFKA_DIR/kafka.pid"; then step "kafka: already running on 127.0.0.1:$KAFKA_PORT"; return; fi
  port_open "$KAFKA_PORT" && fail "port $KAFKA_PORT is taken by a process this project did not start"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  local java=(java -Xms256m -Xmx512m -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$ROOT/deploy/local/kafka/log4j.properties")
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    [[ -s $KAFKA_DIR/cluster-id ]] || "${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$KAFKA_DIR/cluster-id"
    step "kafka: formatting KRaft storage (cluster $(cat "$KAFKA_DIR/cluster-id"))"
    "${java[@]}" kafka.tools.StorageTool format -t "$(cat "$KAFKA_DIR/cluster-id")" \
      -c "$KAFKA_DIR/server.properties" --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 \
      || { tail -n 20 "$KAFKA_DIR/format.log" >&2; fail "kafka: storage format failed"; }
  fi
  step "kafka: starting KRaft broker+controller on 127.0.0.1:$KAFKA_PORT"
  : >"$KAFKA_DIR/kafka.log"
  nohup "${java[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/kafka.log" 2>&1 &
  echo $! >"$KAFKA_DIR/kafka.pid"
  wait_until 90 kafka "$KAFKA_DIR/kafka.log" kafka_ready
}

# --- Go tools ---------------------------------------------------------------
install_go_tools() {
  command -v go >/dev/null || fail "go not found (needed to install grpcurl, toxiproxy, kustomize and ghz)"
  if [[ -x $TOOLS/bin/grpcurl ]]; then
    step "grpcurl: already installed"
  else
    step "grpcurl: go install $GRPCURL_VERSION"
    GOBIN="$TOOLS/bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  fi
  if [[ -x $TOOLS/bin/toxiproxy-server && -x $TOOLS/bin/toxiproxy-cli ]]; then
    step "toxiproxy: already installed"
  else
    step "toxiproxy: go install $TOXIPROXY_VERSION"
    # Binaries come out named after their folders (server, cli): build aside, rename.
    local tmp; tmp=$(mktemp -d)
    GOBIN="$tmp" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" \
      "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
    mv "$tmp/server" "$TOOLS/bin/toxiproxy-server"
    mv "$tmp/cli" "$TOOLS/bin/toxiproxy-cli"
    rm -rf "$tmp"
  fi
  if [[ -x $TOOLS/bin/kustomize ]]; then
    step "kustomize: already installed"
  else
    step "kustomize: go install $KUSTOMIZE_VERSION"
    GOBIN="$TOOLS/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  fi
  install_ghz
}

install_ghz() {
  if [[ -x $TOOLS/bin/ghz ]]; then
    step "ghz: already installed"
  else
    step "ghz: go install $GHZ_VERSION"
    GOBIN="$TOOLS/bin" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  fi
}

install_packages
bash "$(dirname "$0")/chromium.sh"
install_go_tools
start_postgres
start_redis
start_kafka
step "infra ready in $((SECONDS - started)) s: postgres 127.0.0.1:$PG_PORT, redis ${REDIS_PORTS[*]}, kafka 127.0.0.1:$KAFKA_PORT"
