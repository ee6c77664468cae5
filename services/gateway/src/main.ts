import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import {
  createKafka,
  createResilience,
  createServiceClient,
  ensureTopics,
  observeRedis,
  prefixedTopics,
  runService,
  sharedPolicies,
} from "@kuku/platform";
import { Redis } from "ioredis";
import type { Consumer } from "kafkajs";
import type { Logger } from "pino";
import { Accounts } from "./app/accounts.js";
import { Auth } from "./app/auth.js";
import { HashBudget } from "./app/hash-budget.js";
import { History } from "./app/history.js";
import { MarketStreamAccess } from "./app/market-stream.js";
import { OrderUpdates } from "./app/order-updates.js";
import { Trading } from "./app/trading.js";
import { type GatewayConfig, loadGatewayConfig } from "./config.js";
import { MarketTokens } from "./domain/market-token.js";
import { PasswordHasher } from "./domain/password.js";
import { AccessTokens } from "./domain/tokens.js";
import { ORDER_EVENTS_TOPIC, startOrderEventsConsumer } from "./events/order-events-consumer.js";
import { staticFiles } from "./http/static-files.js";
import { AppendNotifier } from "./redis/append-notifier.js";
import { LoginFailures } from "./redis/login-failures.js";
import { OrderUpdateLog } from "./redis/order-update-log.js";
import { RateLimiter } from "./redis/rate-limiter.js";
import { Revocations } from "./redis/revocations.js";
import { requestContext } from "./rpc/context.js";
import { withDownstreamErrors } from "./rpc/downstream.js";
import { accountHandlers, authHandlers, tradingHandlers } from "./rpc/handlers.js";
import { admissionInterceptor } from "./rpc/interceptors.js";
import { VerifiedTokens } from "./rpc/verified-tokens.js";

/**
 * Every downstream gets the platform's policies: retries for idempotent calls only, a breaker, a bulkhead.
 * One attempt may use the whole deadline: PlaceOrder waits out the order service's own exchange deadline
 * to answer UNKNOWN, and a shorter attempt would cut that answer off. Fast failures (UNAVAILABLE) are retried.
 */
function downstreamClients(config: GatewayConfig, logger: Logger) {
  const policies = sharedPolicies(config, logger);
  const client = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, baseUrl: string, target: string) =>
    withDownstreamErrors(
      desc,
      target,
      createServiceClient(desc, {
        baseUrl,
        timeoutMs: config.downstreamTimeoutMs,
        resilience: createResilience({ ...policies, target, attemptTimeoutMs: config.downstreamTimeoutMs }),
      }),
    );
  return {
    ledger: client(ledger.LedgerService, config.ledgerUrl, "ledger"),
    orders: client(order.OrderService, config.orderUrl, "order"),
    exchange: client(exchange.ExchangeService, config.exchangeUrl, "exchange"),
    market: config.marketUrl === undefined ? undefined : client(market.MarketDataService, config.marketUrl, "market"),
  };
}

/**
 * The users' order update logs, their wakeups (a subscriber connection of
 * its own) and the stream calls. A stopping gateway ends its streams first,
 * so the drain does not wait for them: their clients resume elsewhere.
 */
function orderUpdates(config: GatewayConfig, redis: Redis, logger: Logger, onStop: (stop: () => unknown) => void) {
  const log = new OrderUpdateLog(redis, config.redisKeyPrefix, {
    windowSeconds: config.orderUpdatesWindowSeconds,
    entriesPerUserMax: config.orderUpdatesPerUserMax,
  });
  const subscriber = new Redis(config.redisUrl);
  subscriber.on("error", (error: Error) => logger.warn({ message: error.message }, "redis subscriber connection error"));
  onStop(() => subscriber.disconnect());
  const streams = new OrderUpdates(log, new AppendNotifier(subscriber, logger), {
    heartbeatMs: config.orderUpdatesHeartbeatMs,
    streamsPerUserMax: config.orderUpdateStreamsPerUserMax,
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => streams.close());
  return { log, streams };
}

/** Where browsers open the market's WebSocket (ADR 0023); undefined without a market. */
function marketWebSocketUrl(config: GatewayConfig): string | undefined {
  if (config.marketWebSocketUrl !== undefined) return config.marketWebSocketUrl;
  if (config.marketUrl === undefined) return undefined;
  const url = new URL("/ws", config.marketUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/** The market WebSocket's origin when it is not the console's own (a path is). */
const connectSources = (url: string | undefined): string[] => (url === undefined || url.startsWith("/") ? [] : [new URL(url).origin]);

await runService({
  name: "gateway",
  loadConfig: () => loadGatewayConfig(),
  migrationsDir: fileURLToPath(new URL("../migrations", import.meta.url)),
  async wire({ config, pool, logger, onStop }) {
    // Fail a command after one reconnection attempt rather than hold the call: the interceptors answer UNAVAILABLE.
    // observeRedis: rate-limit and revocation commands timed (kuku_redis_command_duration_seconds) and traced.
    const redis = observeRedis(new Redis(config.redisUrl, { maxRetriesPerRequest: 1 }), "gateway");
    redis.on("error", (error: Error) => logger.warn({ message: error.message }, "redis connection error"));
    onStop(() => redis.disconnect());
    const clients = downstreamClients(config, logger);
    const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds, config.jwtPreviousSecrets);
    const revocations = new Revocations(redis, config.redisKeyPrefix, config.accessTokenTtlSeconds);
    const limiter = new RateLimiter(redis, config.redisKeyPrefix);
    const auth = new Auth({
      pool,
      passwords: new PasswordHasher(config.scryptLog2N),
      hashBudget: new HashBudget({
        concurrencyMax: config.hashConcurrencyMax,
        queueMax: config.hashQueueMax,
        perAddressMax: config.hashPerAddressMax,
      }),
      loginFailures: new LoginFailures(redis, config.redisKeyPrefix, {
        freeFailures: config.loginFreeFailures,
        backoffMaxSeconds: config.loginBackoffMaxSeconds,
      }),
      accessTokens,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      revocations,
      ledger: clients.ledger,
      ledgerTimeoutMs: config.downstreamTimeoutMs,
      logger,
    });
    const updates = orderUpdates(config, redis, logger, onStop);
    const accounts = new Accounts({
      pool,
      ledger: clients.ledger,
      orders: clients.orders,
      cashCapKrw: BigInt(config.paperCashCapKrw),
      accountsPerUserMax: config.paperAccountsPerUserMax,
      resetSettleTimeoutMs: config.resetSettleTimeoutMs,
    });
    const marketStream = new MarketStreamAccess(
      new MarketTokens(config.marketTokenSecret, config.marketTokenTtlSeconds),
      marketWebSocketUrl(config),
    );
    const downstream = { downstreamTimeoutMs: config.downstreamTimeoutMs };
    const kafka = createKafka({ clientId: "kuku-gateway", brokers: config.kafkaBrokers.split(",") }, logger);
    const topics = prefixedTopics(config.kafkaTopicPrefix, { orderEvents: ORDER_EVENTS_TOPIC });
    await ensureTopics(kafka, [topics.orderEvents], 3);
    let consumer: Consumer | undefined;
    onStop(() => consumer?.disconnect());
    return {
      services: [
        authHandlers(auth),
        tradingHandlers(
          new Trading(clients, { cashCapKrw: accounts.cashCapKrw }),
          new History(clients),
          updates.streams,
          accounts,
          downstream,
        ),
        accountHandlers(accounts, marketStream, downstream),
      ],
      server: {
        // Authenticate and meter before validating: anonymous callers get no field-level answers, unmetered.
        gateInterceptors: [
          admissionInterceptor(new VerifiedTokens(accessTokens), limiter, {
            ip: { capacity: config.ipBurst, refillPerSecond: config.ipRefillPerSecond },
            user: { capacity: config.userBurst, refillPerSecond: config.userRefillPerSecond },
          }),
        ],
        contextValues: requestContext,
        // Native gRPC clients (ghz, the bench, other backends) through grpc-js; browsers keep Connect and gRPC-Web.
        grpcServer: "grpc-js",
        corsAllowedOrigins: config.corsAllowedOrigins,
        readMaxBytes: config.readMaxBytes,
        maxTimeoutMs: 30_000,
        ...(config.webDistDir === ""
          ? {}
          : { fallback: staticFiles(config.webDistDir, { connectSources: connectSources(marketWebSocketUrl(config)) }) }),
      },
      ready: { market: config.marketUrl ?? "not configured", web: config.webDistDir || "not served" },
      // Joining the group can wait out a crashed predecessor's session: serve meanwhile.
      async afterServing() {
        consumer = await startOrderEventsConsumer(kafka, {
          groupId: config.consumerGroup,
          topic: topics.orderEvents,
          append: (batch) => updates.log.append(batch),
          windowSeconds: config.orderUpdatesWindowSeconds,
          logger,
        });
      },
    };
  },
});
