import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import {
  createLogger,
  createResilience,
  createServiceClient,
  EXCHANGE_IDEMPOTENCY,
  type IdempotencyTable,
  initTracing,
  LEDGER_IDEMPOTENCY,
  MARKET_IDEMPOTENCY,
  ORDER_IDEMPOTENCY,
  observeRedis,
  openDatabase,
  sharedPolicies,
  shutdownOnSignal,
  startServer,
} from "@kuku/platform";
import { Redis } from "ioredis";
import { Auth } from "./app/auth.js";
import { Trading } from "./app/trading.js";
import { loadGatewayConfig } from "./config.js";
import { PasswordHasher } from "./domain/password.js";
import { AccessTokens } from "./domain/tokens.js";
import { staticFiles } from "./http/static-files.js";
import { RateLimiter } from "./redis/rate-limiter.js";
import { Revocations } from "./redis/revocations.js";
import { requestContext } from "./rpc/context.js";
import { authHandlers, tradingHandlers } from "./rpc/handlers.js";
import { authInterceptor, ipRateLimitInterceptor, userRateLimitInterceptor } from "./rpc/interceptors.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

const logger = createLogger("gateway");
const config = loadGatewayConfig();
const stopTracing = await initTracing("gateway");
const pool = await openDatabase(config, { applicationName: "kuku-gateway", migrationsDir: MIGRATIONS_DIR }, logger);
// Fail a command after one reconnection attempt rather than hold the call: the interceptors answer UNAVAILABLE.
// observeRedis: rate-limit and revocation commands timed (kuku_redis_command_duration_seconds) and traced.
const redis = observeRedis(new Redis(config.redisUrl, { maxRetriesPerRequest: 1 }), "gateway");
redis.on("error", (error: Error) => logger.warn({ message: error.message }, "redis connection error"));

// Every downstream gets the platform's policies: retries for idempotent calls only, a breaker, a bulkhead.
// One attempt may use the whole deadline: PlaceOrder waits out the order service's own exchange deadline
// to answer UNKNOWN, and a shorter attempt would cut that answer off. Fast failures (UNAVAILABLE) are retried.
const policies = sharedPolicies(config, logger);
const client = <T extends Parameters<typeof createServiceClient>[0]>(
  desc: T,
  baseUrl: string,
  target: string,
  idempotent: IdempotencyTable,
) =>
  createServiceClient(desc, {
    baseUrl,
    timeoutMs: config.downstreamTimeoutMs,
    resilience: createResilience({ ...policies, target, idempotent, attemptTimeoutMs: config.downstreamTimeoutMs }),
  });
const ledgerClient = client(ledger.LedgerService, config.ledgerUrl, "ledger", LEDGER_IDEMPOTENCY);
const accessTokens = new AccessTokens(config.jwtSecret, config.accessTokenTtlSeconds);
const revocations = new Revocations(redis, config.redisKeyPrefix, config.accessTokenTtlSeconds);
const limiter = new RateLimiter(redis, config.redisKeyPrefix);

const auth = new Auth({
  pool,
  passwords: new PasswordHasher(config.scryptLog2N),
  accessTokens,
  refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  revocations,
  ledger: ledgerClient,
  ledgerTimeoutMs: config.downstreamTimeoutMs,
  logger,
});
const trading = new Trading({
  ledger: ledgerClient,
  orders: client(order.OrderService, config.orderUrl, "order", ORDER_IDEMPOTENCY),
  exchange: client(exchange.ExchangeService, config.exchangeUrl, "exchange", EXCHANGE_IDEMPOTENCY),
  market: config.marketUrl === undefined ? undefined : client(market.MarketDataService, config.marketUrl, "market", MARKET_IDEMPOTENCY),
});

const server = await startServer({
  name: "gateway",
  host: config.host,
  port: config.port,
  logger,
  services: [authHandlers(auth), tradingHandlers(trading, { downstreamTimeoutMs: config.downstreamTimeoutMs })],
  interceptors: [
    ipRateLimitInterceptor(limiter, { capacity: config.ipBurst, refillPerSecond: config.ipRefillPerSecond }),
    authInterceptor(accessTokens, revocations),
    userRateLimitInterceptor(limiter, { capacity: config.userBurst, refillPerSecond: config.userRefillPerSecond }),
  ],
  contextValues: requestContext,
  corsAllowedOrigins: config.corsAllowedOrigins,
  readMaxBytes: config.readMaxBytes,
  maxTimeoutMs: 30_000,
  drainTimeoutMs: config.drainTimeoutMs,
  ...(config.webDistDir === "" ? {} : { fallback: staticFiles(config.webDistDir) }),
});
logger.info({ port: server.port, market: config.marketUrl ?? "not configured", web: config.webDistDir || "not served" }, "gateway ready");
shutdownOnSignal(server, logger, async () => {
  await pool.end();
  redis.disconnect();
  await stopTracing();
});
