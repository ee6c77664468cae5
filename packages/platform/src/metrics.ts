// Prometheus metrics on prom-client's default registry, so metrics that
// other platform parts and the services register (circuit breakers,
// business counters) come out of the same /metrics. The server serves it on
// the service's own port (see server.ts).
import { readFile } from "node:fs/promises";
import type pg from "pg";
import client from "prom-client";

export { client as promClient };
export const registry = client.register;

let started = false;

/**
 * Once per process: Node runtime metrics (event-loop delay, heap, GC pauses
 * by kind, active handles, open file descriptors) from prom-client, context
 * switches from /proc, and `service` on every series.
 */
export function initMetrics(service: string): void {
  if (started) return;
  started = true;
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ gcDurationBuckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1] });
  new client.Counter({
    name: "process_context_switches_total",
    help: "Context switches of this process (/proc/self/status): voluntary (waited for I/O or a lock) and involuntary (preempted).",
    labelNames: ["kind"],
    async collect() {
      const switches = await readContextSwitches();
      if (switches === undefined) return; // not Linux
      this.reset();
      this.inc({ kind: "voluntary" }, switches.voluntary);
      this.inc({ kind: "involuntary" }, switches.involuntary);
    },
  });
}

export async function readContextSwitches(): Promise<{ voluntary: number; involuntary: number } | undefined> {
  let status: string;
  try {
    status = await readFile("/proc/self/status", "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return { voluntary: field("voluntary_ctxt_switches"), involuntary: field("nonvoluntary_ctxt_switches") };
}

/** The text Prometheus scrapes, and its content type. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

// --- RPC ---------------------------------------------------------------------

const RPC_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const rpcMetrics = {
  serverHandled: new client.Counter({
    name: "kuku_rpc_server_handled_total",
    help: "RPCs completed by this server, by method and gRPC status code (rate and errors).",
    labelNames: ["rpc_service", "rpc_method", "code"],
  }),
  serverDuration: new client.Histogram({
    name: "kuku_rpc_server_duration_seconds",
    help: "Time from request to response of RPCs served, by method and gRPC status code.",
    labelNames: ["rpc_service", "rpc_method", "code"],
    buckets: RPC_BUCKETS_S,
  }),
  clientDuration: new client.Histogram({
    name: "kuku_rpc_client_duration_seconds",
    help: "Time of RPCs this service made to others, by method and gRPC status code.",
    labelNames: ["rpc_service", "rpc_method", "code"],
    buckets: RPC_BUCKETS_S,
  }),
};

// --- PostgreSQL ----------------------------------------------------------------

const pools = new Map<string, pg.Pool>();

export const pgMetrics = {
  queryDuration: new client.Histogram({
    name: "kuku_pg_query_duration_seconds",
    help: "PostgreSQL query time seen by the client, by pool.",
    labelNames: ["pool"],
    buckets: RPC_BUCKETS_S,
  }),
  connections: new client.Gauge({
    name: "kuku_pg_pool_connections",
    help: "Connections of the pool by state: in_use (checked out) and idle.",
    labelNames: ["pool", "state"],
    collect() {
      this.reset();
      for (const [name, pool] of pools) {
        this.set({ pool: name, state: "in_use" }, pool.totalCount - pool.idleCount);
        this.set({ pool: name, state: "idle" }, pool.idleCount);
      }
    },
  }),
  waiting: new client.Gauge({
    name: "kuku_pg_pool_waiting",
    help: "Callers waiting for a connection of the pool (all are in use).",
    labelNames: ["pool"],
    collect() {
      this.reset();
      for (const [name, pool] of pools) this.set({ pool: name }, pool.waitingCount);
    },
  }),
};

export function observePool(name: string, pool: pg.Pool): void {
  // By name: a pool made again under the same name (tests, benchmarks) replaces the old one.
  pools.set(name, pool);
}

// --- Kafka -------------------------------------------------------------------------

export const kafkaMetrics = {
  consumerLag: new client.Gauge({
    name: "kuku_kafka_consumer_lag",
    help: "Messages behind the partition's high watermark after the last batch this consumer processed.",
    labelNames: ["group", "topic", "partition"],
  }),
  consumerCrashes: new client.Counter({
    name: "kuku_kafka_consumer_crashes_total",
    help: "Consumer crashes, by whether kafkajs restarts the consumer (restart=true) or gives it up (the process then exits).",
    labelNames: ["group", "restart"],
  }),
  consumed: new client.Counter({
    name: "kuku_kafka_consumed_total",
    help: "Messages processed by this consumer, by outcome (ok, error: retried by kafkajs).",
    labelNames: ["group", "topic", "outcome"],
  }),
  produceDuration: new client.Histogram({
    name: "kuku_kafka_produce_duration_seconds",
    help: "Time for Kafka to acknowledge a send (acks from all in-sync replicas), by topic.",
    labelNames: ["topic"],
    buckets: RPC_BUCKETS_S,
  }),
  produced: new client.Counter({
    name: "kuku_kafka_produced_messages_total",
    help: "Messages acknowledged by Kafka, by topic.",
    labelNames: ["topic"],
  }),
};

// --- Redis ---------------------------------------------------------------------------

export const redisMetrics = {
  commandDuration: new client.Histogram({
    name: "kuku_redis_command_duration_seconds",
    help: "Redis command latency seen by the client, by client name, command and outcome (ok, error).",
    labelNames: ["client", "command", "outcome"],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  }),
};
