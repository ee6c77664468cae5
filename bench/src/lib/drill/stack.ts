// Every service as a real process on fresh databases (the platform's trading
// stack), the order service reaching the ledger and the exchange through a
// private toxiproxy (links "ledger" and "exchange"). Any service can be
// killed (SIGKILL) and started again on the same port. The order service
// watches `faultFile`: a drill is applied by writing it, lifted by removing
// it. PostgreSQL, Kafka and Redis are the drill's own when asked for (so that
// it may crash them), else the shared ones; the drill's own Redis is three
// servers, the ledger's Redlock quorum, the first of them also the gateway's
// and the market's Redis. Each service logs to .run/drill/<start time>/<service>.log.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type * as gateway from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { createServiceClient } from "@kuku/platform";
import {
  parsePrometheusText,
  REPO_ROOT,
  SERVICE_NAMES,
  SERVICES,
  type ServiceName,
  startTradingStack,
  type TradingStack,
} from "@kuku/testkit";
import { PrivateKafka } from "./private-kafka.js";
import { PrivatePostgres } from "./private-postgres.js";
import { PrivateRedis } from "./private-redis.js";
import { addPolicyEvents, type PolicyEvents, policyEventsOf } from "./report.js";
import { Toxiproxy } from "./toxiproxy.js";

export type { ServiceName } from "@kuku/testkit";
/** Infrastructure the drill may run privately (and crash). */
export type PrivateInfra = "postgres" | "kafka" | "redis";
/** The services that call others: their clients run the platform's policies, whose kuku_client_* counters are the drill's policy events. */
const CALLERS: readonly ServiceName[] = SERVICES.filter((s) => s.calls.length > 0).map((s) => s.name);

export interface DrillStack {
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly orders: Client<typeof api.OrderService>;
  readonly market: Client<typeof market.MarketDataService>;
  /** The gateway as the console reaches it: Connect over HTTP/1.1, with this user's token, if any. */
  gateway<S extends typeof gateway.AuthService | typeof gateway.TradingService>(service: S, accessToken?: () => string): Client<S>;
  readonly toxiproxy: Toxiproxy;
  /** Where the order service looks for a fault file (absent at start). */
  readonly faultFile: string;
  /** The drill's own PostgreSQL, when asked for (it may be crashed); else the shared one. */
  readonly postgres: PrivatePostgres | undefined;
  /** The drill's own Kafka broker, when asked for; else the shared one. */
  readonly kafka: PrivateKafka | undefined;
  /** Where the stack's Kafka topics are ("<prefix>exchange.trades", …). */
  readonly kafkaBrokers: string;
  readonly kafkaTopicPrefix: string;
  /** The drill's own three Redis servers, when asked for. */
  readonly redis: PrivateRedis | undefined;
  /** Breaker changes and retries of the order service's and the gateway's clients so far, summed over every process each has been (from /metrics). */
  policyEvents(): Promise<PolicyEvents>;
  /** SIGKILL (no drain) or SIGTERM, then the same service again on the same port. */
  restart(service: ServiceName, signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startDrillStack(options: {
  orderEnv: Record<string, string>;
  /** More environment for the exchange (e.g. its background flow). */
  exchangeEnv?: Record<string, string>;
  privateInfra?: readonly PrivateInfra[];
}): Promise<DrillStack> {
  const own = new Set(options.privateInfra ?? []);
  // What has been started so far, stopped in reverse order (at the end, or when a later step fails).
  const undo: (() => Promise<unknown>)[] = [];
  const owned = async <T extends { stop(): Promise<unknown> }>(thing: Promise<T>): Promise<T> => {
    const t = await thing;
    undo.unshift(() => t.stop());
    return t;
  };
  const stopAll = async () => {
    for (const u of undo) await u();
  };
  try {
    const faultDir = mkdtempSync(join(tmpdir(), "kuku-drill-"));
    undo.unshift(async () => rmSync(faultDir, { recursive: true, force: true }));
    const faultFile = join(faultDir, "faults.yaml");
    const postgres = own.has("postgres") ? await owned(PrivatePostgres.start()) : undefined;
    const kafka = own.has("kafka") ? await owned(PrivateKafka.start()) : undefined;
    const redis = own.has("redis") ? await owned(PrivateRedis.start()) : undefined;
    const toxiproxy = await owned(Toxiproxy.start());
    // Every service's log, kept after the drill: what a violation is explained with.
    const logDir = join(REPO_ROOT, ".run", "drill", new Date().toISOString().replace(/[:.]/g, "-"));
    mkdirSync(logDir, { recursive: true });
    console.error(`service logs: ${logDir}`);
    const kafkaEnv: Record<string, string> = kafka === undefined ? {} : { KAFKA_BROKERS: kafka.brokers };
    const redisUrl = redis === undefined ? undefined : `redis://127.0.0.1:${redis.ports[0]}`;
    const stack: TradingStack = await owned(
      startTradingStack({
        services: SERVICE_NAMES,
        env: { LOG_LEVEL: "info" },
        envOf: {
          // Locks are lost with every Redis restart: the fencing token in PostgreSQL is what keeps the balances right.
          ledger: redis === undefined ? {} : { LEDGER_BALANCE_GUARD: "redlock-fenced", LEDGER_REDLOCK_NODES: redis.nodes },
          exchange: { ...kafkaEnv, ...options.exchangeEnv },
          order: { ORDER_FAULT_FILE: faultFile, ...kafkaEnv, ...options.orderEnv },
          market: { ...kafkaEnv, ...(redisUrl === undefined ? {} : { MARKET_REDIS_URL: redisUrl }) },
          gateway: {
            // The whole workload comes from one address: the drill is not what the rate limits are for.
            GATEWAY_RATE_USER_BURST: "1000000",
            GATEWAY_RATE_USER_PER_SECOND: "1000000",
            GATEWAY_RATE_IP_BURST: "1000000",
            GATEWAY_RATE_IP_PER_SECOND: "1000000",
            ...(redisUrl === undefined ? {} : { GATEWAY_REDIS_URL: redisUrl }),
          },
        },
        database: postgres === undefined ? undefined : (service) => postgres.createDatabase(`kuku_drill_${service}`),
        logDir,
        link: async (from, to, url) =>
          from === "order" ? `http://127.0.0.1:${await toxiproxy.link(to, url.replace("http://", ""))}` : url,
      }),
    );

    // Counters die with their process: read before every kill, summed at the end.
    const earlierLifetimes: PolicyEvents[] = [];
    const eventsOf = async (caller: ServiceName) =>
      policyEventsOf(caller, parsePrometheusText(await (await fetchOk(`${stack.adminUrl(caller)}/metrics`)).text()));
    const client = <S extends Parameters<typeof createServiceClient>[0]>(service: S, target: ServiceName) =>
      createServiceClient(service, { baseUrl: stack.url(target), timeoutMs: 10_000 });
    const gatewayTransport = (accessToken?: () => string) =>
      createConnectTransport({
        baseUrl: stack.url("gateway"),
        httpVersion: "1.1",
        defaultTimeoutMs: 10_000,
        interceptors:
          accessToken === undefined
            ? []
            : [
                (next) => (req) => {
                  req.header.set("authorization", `Bearer ${accessToken()}`);
                  return next(req);
                },
              ],
      });
    return {
      ledger: client(ledger.LedgerService, "ledger"),
      exchange: client(exchange.ExchangeService, "exchange"),
      orders: client(api.OrderService, "order"),
      market: client(market.MarketDataService, "market"),
      gateway: (service, accessToken) => createClient(service, gatewayTransport(accessToken)),
      toxiproxy,
      faultFile,
      postgres,
      kafka,
      kafkaBrokers: kafka?.brokers ?? process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092",
      kafkaTopicPrefix: stack.kafkaTopicPrefix,
      redis,
      policyEvents: async () => addPolicyEvents([...earlierLifetimes, ...(await Promise.all(CALLERS.map(eventsOf)))]),
      async restart(service, signal) {
        if (CALLERS.includes(service)) earlierLifetimes.push(await eventsOf(service));
        await stack.restart(service, signal);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response;
}
