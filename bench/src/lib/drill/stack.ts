// Ledger, exchange and order as real processes on fresh databases, the order
// service reaching the ledger and the exchange through a private toxiproxy
// (links "ledger" and "exchange"). Any service can be killed (SIGKILL) and
// started again on the same port. The order service watches `faultFile`: a
// drill is applied by writing it, lifted by removing it. PostgreSQL, Kafka
// and the ledger's Redis quorum are the drill's own when asked for (so that
// it may crash them), else the shared ones (Redis then unused: the ledger
// keeps its default balance guard).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@connectrpc/connect";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, parsePrometheusText, startServiceProcess, type Sample, type ServiceProcess } from "@kuku/platform/testing";
import { until } from "./daemon.js";
import { PrivateKafka } from "./private-kafka.js";
import { PrivatePostgres } from "./private-postgres.js";
import { PrivateRedis } from "./private-redis.js";
import { addPolicyEvents, policyEventsOf, type PolicyEvents } from "./report.js";
import { Toxiproxy } from "./toxiproxy.js";

const SERVICES_DIR = fileURLToPath(new URL("../../../../services/", import.meta.url));
export type ServiceName = "ledger" | "exchange" | "order";
/** Infrastructure the drill may run privately (and crash). */
export type PrivateInfra = "postgres" | "kafka" | "redis";

export interface DrillStack {
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly orders: Client<typeof api.OrderService>;
  readonly toxiproxy: Toxiproxy;
  /** Where the order service looks for a fault file (absent at start). */
  readonly faultFile: string;
  /** The drill's own PostgreSQL, when asked for (it may be crashed); else the shared one. */
  readonly postgres: PrivatePostgres | undefined;
  /** The drill's own Kafka broker, when asked for; else the shared one. */
  readonly kafka: PrivateKafka | undefined;
  /** The drill's own three Redis servers, the ledger's Redlock quorum (redlock-fenced guard), when asked for. */
  readonly redis: PrivateRedis | undefined;
  /** The order service's breaker changes and retries so far, summed over every process it has been (from /metrics). */
  policyEvents(): Promise<PolicyEvents>;
  /** SIGKILL (no drain) or SIGTERM, then the same service again on the same port. */
  restart(service: ServiceName, signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startDrillStack(options: { orderEnv: Record<string, string>; privateInfra?: readonly PrivateInfra[] }): Promise<DrillStack> {
  const own = new Set(options.privateInfra ?? []);
  const processes = new Map<ServiceName, ServiceProcess>();
  // What has been started so far, stopped in reverse order (at the end, or when a later step fails).
  const undo: (() => Promise<unknown>)[] = [];
  const owned = async <T extends { stop(): Promise<unknown> }>(thing: Promise<T>): Promise<T> => {
    const t = await thing;
    undo.unshift(() => t.stop());
    return t;
  };
  const stopAll = async (signal: NodeJS.Signals) => {
    for (const p of processes.values()) await p.stop(signal);
    for (const u of undo) await u();
  };
  try {
    const faultDir = mkdtempSync(join(tmpdir(), "kuku-drill-"));
    undo.unshift(async () => rmSync(faultDir, { recursive: true, force: true }));
    const faultFile = join(faultDir, "faults.yaml");
    const postgres = own.has("postgres") ? await owned(PrivatePostgres.start()) : undefined;
    const kafka = own.has("kafka") ? await owned(PrivateKafka.start()) : undefined;
    const redis = own.has("redis") ? await owned(PrivateRedis.start()) : undefined;
    const database = async (name: string) => {
      if (postgres !== undefined) return postgres.createDatabase(`kuku_drill_${name}`);
      const db = await createTestDatabase(`drill_${name}`);
      undo.unshift(() => db.drop());
      return db.url;
    };
    // The exchange's database is there for its journal (EXCHANGE_DATABASE_URL); an exchange without one ignores it.
    const urls = { ledger: await database("ledger"), exchange: await database("exchange"), order: await database("order") };
    const toxiproxy = await owned(Toxiproxy.start());
    const ports = new Map<ServiceName, number>();
    const consumerGroup = `kuku-order-drill-${randomUUID()}`;
    const kafkaEnv: Record<string, string> = kafka === undefined ? {} : { KAFKA_BROKERS: kafka.brokers };
    // Locks are lost with every Redis restart: the fencing token in PostgreSQL is what keeps the balances right.
    const redisEnv: Record<string, string> = redis === undefined ? {} : { LEDGER_BALANCE_GUARD: "redlock-fenced", LEDGER_REDLOCK_NODES: redis.nodes };
    let ledgerLink = 0;
    let exchangeLink = 0;

    const envOf = (service: ServiceName): Record<string, string> => {
      const port = String(ports.get(service) ?? 0);
      switch (service) {
        case "ledger":
          return { LEDGER_PORT: port, LEDGER_DATABASE_URL: urls.ledger, LOG_LEVEL: "info", ...redisEnv };
        case "exchange":
          return { EXCHANGE_PORT: port, EXCHANGE_DATABASE_URL: urls.exchange, LOG_LEVEL: "info", ...kafkaEnv };
        case "order":
          return {
            ORDER_PORT: port, ORDER_DATABASE_URL: urls.order, ORDER_CONSUMER_GROUP: consumerGroup, LOG_LEVEL: "info",
            ORDER_LEDGER_URL: `http://127.0.0.1:${ledgerLink}`, ORDER_EXCHANGE_URL: `http://127.0.0.1:${exchangeLink}`,
            ORDER_FAULT_FILE: faultFile, ...kafkaEnv, ...options.orderEnv,
          };
      }
    };
    const start = async (service: ServiceName) => {
      const started = await startServiceProcess({ cwd: `${SERVICES_DIR}${service}`, env: envOf(service), startTimeoutMs: 60_000 });
      processes.set(service, started);
      ports.set(service, started.port);
      return started;
    };
    // The order service's counters die with its process: read before every kill, summed at the end.
    const orderLifetimes: PolicyEvents[] = [];
    const orderEvents = async () => policyEventsOf(await scrape(ports.get("order")!));

    await start("ledger");
    await start("exchange");
    ledgerLink = await toxiproxy.link("ledger", `127.0.0.1:${ports.get("ledger")}`);
    exchangeLink = await toxiproxy.link("exchange", `127.0.0.1:${ports.get("exchange")}`);
    const order = await start("order");
    // A new consumer group reads from the topic's end: fills are only ours once it has joined.
    await until("the order service joined its consumer group", 60_000, () => order.logs.some((l) => l.includes("executions consumer joined")));

    const url = (s: ServiceName) => `http://127.0.0.1:${ports.get(s)}`;
    return {
      ledger: createServiceClient(ledger.LedgerService, { baseUrl: url("ledger"), timeoutMs: 10_000 }),
      exchange: createServiceClient(exchange.ExchangeService, { baseUrl: url("exchange"), timeoutMs: 10_000 }),
      orders: createServiceClient(api.OrderService, { baseUrl: url("order"), timeoutMs: 10_000 }),
      toxiproxy,
      faultFile,
      postgres,
      kafka,
      redis,
      policyEvents: async () => addPolicyEvents([...orderLifetimes, await orderEvents()]),
      async restart(service, signal) {
        if (service === "order") orderLifetimes.push(await orderEvents());
        await processes.get(service)!.stop(signal);
        // Same port, so every client and link stays valid; the listening socket is gone with the process.
        await start(service);
      },
      stop: () => stopAll("SIGTERM"),
    };
  } catch (error) {
    await stopAll("SIGKILL");
    throw error;
  }
}

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`/metrics on ${port} answered ${response.status}`);
  return parsePrometheusText(await response.text());
}
