import { fileURLToPath } from "node:url";
import {
  adminConfigShape,
  databaseConfigShape,
  identityConfigShape,
  intVar,
  kafkaTopicPrefixVar,
  loadConfig,
  resilienceConfigShape,
  secretListVar,
  secretVar,
  stringVar,
  urlVar,
  type Variable,
} from "@kuku/platform";

/** An optional dependency's URL: "none" means it is not deployed. */
function optionalUrlVar(name: string, defaultValue: string): Variable<string | undefined> {
  return {
    name,
    parse(env) {
      const url = urlVar(name, defaultValue, ["http:", "https:"]);
      return env[name] === "none" ? undefined : url.parse(env);
    },
  };
}

const commaList = (name: string, defaultValue: string): Variable<readonly string[]> => ({
  name,
  parse: (env) =>
    stringVar(name, defaultValue)
      .parse(env)
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
});

/** A ws:// or wss:// URL, or an absolute path on the console's origin; unset: undefined. */
function webSocketUrlVar(name: string): Variable<string | undefined> {
  return {
    name,
    parse(env) {
      const value = env[name];
      if (value === undefined || value === "") return undefined;
      return value.startsWith("/") && !value.startsWith("//") ? value : urlVar(name, value, ["ws:", "wss:"]).parse(env);
    },
  };
}

export const gatewayConfigShape = {
  host: stringVar("GATEWAY_HOST", "127.0.0.1"),
  port: intVar("GATEWAY_PORT", 8080, { min: 0, max: 65535 }),
  ...adminConfigShape("GATEWAY", 9080),
  ...identityConfigShape("GATEWAY"),
  ...databaseConfigShape("GATEWAY", { database: "kuku_gateway", poolSizeMax: 10, statementTimeoutMs: 5_000 }),
  redisUrl: urlVar("GATEWAY_REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
  ledgerUrl: urlVar("GATEWAY_LEDGER_URL", "http://127.0.0.1:50051", ["http:", "https:"]),
  orderUrl: urlVar("GATEWAY_ORDER_URL", "http://127.0.0.1:50052", ["http:", "https:"]),
  exchangeUrl: urlVar("GATEWAY_EXCHANGE_URL", "http://127.0.0.1:50053", ["http:", "https:"]),
  /** "none": GetQuote and GetOrderBook answer UNAVAILABLE and valuation uses the reference price. */
  marketUrl: optionalUrlVar("GATEWAY_MARKET_URL", "http://127.0.0.1:50054"),
  /** order.events, the source of the order update streams (ADR 0022). */
  kafkaBrokers: stringVar("KAFKA_BROKERS", "127.0.0.1:9092"),
  kafkaTopicPrefix: kafkaTopicPrefixVar(),
  /** One group for every gateway replica: each event is appended to its user's log by one of them. */
  consumerGroup: stringVar("GATEWAY_CONSUMER_GROUP", "kuku-gateway"),
  /** How long an update stays resumable, and how long its event id is remembered against redelivery. */
  orderUpdatesWindowSeconds: intVar("GATEWAY_ORDER_UPDATES_WINDOW_SECONDS", 86_400, { min: 60, max: 30 * 86_400 }),
  orderUpdatesPerUserMax: intVar("GATEWAY_ORDER_UPDATES_PER_USER_MAX", 1_000, { min: 10, max: 100_000 }),
  orderUpdatesHeartbeatMs: intVar("GATEWAY_ORDER_UPDATES_HEARTBEAT_MS", 15_000, { min: 100, max: 300_000 }),
  orderUpdateStreamsPerUserMax: intVar("GATEWAY_ORDER_UPDATE_STREAMS_PER_USER_MAX", 8, { min: 1, max: 1_000 }),
  /** Paper money (domain/paper-money.ts): the most cash an account may start with or hold through deposits. */
  paperCashCapKrw: intVar("GATEWAY_PAPER_CASH_CAP_KRW", 10_000_000_000, { min: 1, max: 1_000_000_000_000_000 }),
  paperAccountsPerUserMax: intVar("GATEWAY_PAPER_ACCOUNTS_PER_USER_MAX", 10, { min: 1, max: 1_000 }),
  /** How long a reset waits for the holds of the orders it cancelled to be released. */
  resetSettleTimeoutMs: intVar("GATEWAY_RESET_SETTLE_TIMEOUT_MS", 10_000, { min: 100, max: 60_000 }),
  /** Signs the market WebSocket's tokens: the market service's MARKET_WS_TOKEN_SECRET (ADR 0023). */
  marketTokenSecret: secretVar("GATEWAY_MARKET_TOKEN_SECRET", "kuku-dev-market-token-secret-change-me"),
  marketTokenTtlSeconds: intVar("GATEWAY_MARKET_TOKEN_TTL_SECONDS", 60, { min: 5, max: 3_600 }),
  /**
   * Where browsers open the market WebSocket: ws(s):// or a path on the console's origin (the ingress routes /market/ws).
   * Unset: /ws at GATEWAY_MARKET_URL's host, which suits a browser on the same host as the market.
   */
  marketWebSocketUrl: webSocketUrlVar("GATEWAY_MARKET_WS_URL"),
  downstreamTimeoutMs: intVar("GATEWAY_DOWNSTREAM_TIMEOUT_MS", 5_000, { min: 50, max: 60_000 }),
  ...resilienceConfigShape("GATEWAY"),
  /** The development default is public; every real deployment sets its own. */
  jwtSecret: secretVar("GATEWAY_JWT_SECRET", "kuku-local-development-secret-do-not-deploy"),
  /** Keys rotated out (comma-separated), still verifying the tokens they signed: keep each for one access-token lifetime. */
  jwtPreviousSecrets: secretListVar("GATEWAY_JWT_PREVIOUS_SECRETS"),
  /** scrypt cost as log2(N); 17 is OWASP's minimum with r=8, p=1. */
  scryptLog2N: intVar("GATEWAY_SCRYPT_LOG2_N", 17, { min: 10, max: 20 }),
  /** Password hashes at once (one per core: ~1 s of CPU and 128 MiB each at log2N 17), waiting, and per address (ADR 0013). */
  hashConcurrencyMax: intVar("GATEWAY_HASH_CONCURRENCY_MAX", 2, { min: 1, max: 64 }),
  hashQueueMax: intVar("GATEWAY_HASH_QUEUE_MAX", 8, { min: 0, max: 1_000 }),
  hashPerAddressMax: intVar("GATEWAY_HASH_PER_ADDRESS_MAX", 1, { min: 1, max: 64 }),
  /** Wrong passwords an account may take before its log-in backs off (1 s, doubling, up to the maximum). */
  loginFreeFailures: intVar("GATEWAY_LOGIN_FREE_FAILURES", 5, { min: 1, max: 1_000 }),
  loginBackoffMaxSeconds: intVar("GATEWAY_LOGIN_BACKOFF_MAX_SECONDS", 900, { min: 1, max: 86_400 }),
  accessTokenTtlSeconds: intVar("GATEWAY_ACCESS_TOKEN_TTL_SECONDS", 900, { min: 1, max: 86_400 }),
  refreshTokenTtlSeconds: intVar("GATEWAY_REFRESH_TOKEN_TTL_SECONDS", 30 * 86_400, { min: 60, max: 365 * 86_400 }),
  /** Token buckets: capacity is the burst, refill the sustained rate per second. */
  userBurst: intVar("GATEWAY_RATE_USER_BURST", 60, { min: 1, max: 1_000_000 }),
  userRefillPerSecond: intVar("GATEWAY_RATE_USER_PER_SECOND", 20, { min: 1, max: 1_000_000 }),
  ipBurst: intVar("GATEWAY_RATE_IP_BURST", 120, { min: 1, max: 1_000_000 }),
  ipRefillPerSecond: intVar("GATEWAY_RATE_IP_PER_SECOND", 40, { min: 1, max: 1_000_000 }),
  /** Prefix of the Redis keys, so that test runs sharing one Redis do not share buckets. */
  redisKeyPrefix: stringVar("GATEWAY_REDIS_KEY_PREFIX", "kuku:gateway"),
  /** The console's origin(s) allowed cross-origin; the console served by the gateway itself is same-origin. */
  corsAllowedOrigins: commaList("GATEWAY_CORS_ORIGINS", "http://127.0.0.1:5173,http://localhost:5173"),
  /** The built console to serve (npm run build -w @kuku/web); empty serves none. */
  webDistDir: stringVar("GATEWAY_WEB_DIST", fileURLToPath(new URL("../../../web/dist", import.meta.url))),
  readMaxBytes: intVar("GATEWAY_READ_MAX_BYTES", 64 * 1024, { min: 1024, max: 4 * 1024 * 1024 }),
  drainTimeoutMs: intVar("GATEWAY_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadGatewayConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(gatewayConfigShape, env);
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
