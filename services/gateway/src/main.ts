import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { createResilience, createServiceClient, observeRedis, runService, sharedPolicies } from "@kuku/platform";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { Auth } from "./app/auth.js";
import { HashBudget } from "./app/hash-budget.js";
import { Trading } from "./app/trading.js";
import { type GatewayConfig, loadGatewayConfig } from "./config.js";
import { PasswordHasher } from "./domain/password.js";
import { AccessTokens } from "./domain/tokens.js";
import { staticFiles } from "./http/static-files.js";
import { LoginFailures } from "./redis/login-failures.js";
import { RateLimiter } from "./redis/rate-limiter.js";
import { Revocations } from "./redis/revocations.js";
import { requestContext } from "./rpc/context.js";
import { withDownstreamErrors } from "./rpc/downstream.js";
import { authHandlers, tradingHandlers } from "./rpc/handlers.js";
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
    return {
      services: [authHandlers(auth), tradingHandlers(new Trading(clients), { downstreamTimeoutMs: config.downstreamTimeoutMs })],
      server: {
        // Authenticate and meter before validating: anonymous callers get no field-level answers, unmetered.
        gateInterceptors: [
          admissionInterceptor(new VerifiedTokens(accessTokens), limiter, {
            ip: { capacity: config.ipBurst, refillPerSecond: config.ipRefillPerSecond },
            user: { capacity: config.userBurst, refillPerSecond: config.userRefillPerSecond },
          }),
        ],
        contextValues: requestContext,
        corsAllowedOrigins: config.corsAllowedOrigins,
        readMaxBytes: config.readMaxBytes,
        maxTimeoutMs: 30_000,
        ...(config.webDistDir === "" ? {} : { fallback: staticFiles(config.webDistDir) }),
      },
      ready: { market: config.marketUrl ?? "not configured", web: config.webDistDir || "not served" },
    };
  },
});
