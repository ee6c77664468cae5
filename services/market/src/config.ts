import {
  adminConfigShape,
  databaseConfigShape,
  identityConfigShape,
  intVar,
  kafkaTopicPrefixVar,
  loadConfig,
  secretVar,
  stringVar,
  urlVar,
} from "@kuku/platform";

export const marketConfigShape = {
  host: stringVar("MARKET_HOST", "127.0.0.1"),
  port: intVar("MARKET_PORT", 50054, { min: 0, max: 65535 }),
  ...adminConfigShape("MARKET", 9054),
  ...identityConfigShape("MARKET"),
  ...databaseConfigShape("MARKET", { database: "kuku_market", poolSizeMax: 8, statementTimeoutMs: 10_000 }),
  redisUrl: urlVar("MARKET_REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
  kafkaBrokers: stringVar("KAFKA_BROKERS", "127.0.0.1:9092"),
  kafkaTopicPrefix: kafkaTopicPrefixVar(),
  /**
   * Every replica keeps the whole market, so each process joins a group of its
   * own, named this prefix plus a random suffix (no offsets are committed).
   */
  consumerGroupPrefix: stringVar("MARKET_CONSUMER_GROUP_PREFIX", "kuku-market"),
  depthMax: intVar("MARKET_DEPTH_MAX", 10, { min: 1, max: 100 }),
  tradesMax: intVar("MARKET_TRADES_MAX", 500, { min: 1, max: 100_000 }),
  candleFlushIntervalMs: intVar("MARKET_CANDLE_FLUSH_INTERVAL_MS", 1_000, { min: 10, max: 600_000 }),
  candleCacheTtlMs: intVar("MARKET_CANDLE_CACHE_TTL_MS", 5_000, { min: 1, max: 3_600_000 }),
  candleLocalTtlMs: intVar("MARKET_CANDLE_LOCAL_TTL_MS", 500, { min: 0, max: 60_000 }),
  /** The HS256 secret that signs WebSocket access tokens; override it outside development. */
  wsTokenSecret: secretVar("MARKET_WS_TOKEN_SECRET", "kuku-dev-market-token-secret-change-me"),
  wsClientsMax: intVar("MARKET_WS_CLIENTS_MAX", 20_000, { min: 1, max: 1_000_000 }),
  wsSymbolsPerClientMax: intVar("MARKET_WS_SYMBOLS_PER_CLIENT_MAX", 100, { min: 1, max: 10_000 }),
  wsMessageMaxBytes: intVar("MARKET_WS_MESSAGE_MAX_BYTES", 4_096, { min: 256, max: 1_048_576 }),
  wsHeartbeatIntervalMs: intVar("MARKET_WS_HEARTBEAT_INTERVAL_MS", 15_000, { min: 100, max: 600_000 }),
  /** The fan-out tick: changes within it are conflated into one frame per client. */
  wsTickMs: intVar("MARKET_WS_TICK_MS", 20, { min: 1, max: 1_000 }),
  /** Trades one symbol's update carries per tick; a larger burst keeps the newest (the quote still counts all). */
  wsTickTradesMax: intVar("MARKET_WS_TICK_TRADES_MAX", 500, { min: 1, max: 100_000 }),
  wsSkipAboveBytes: intVar("MARKET_WS_SKIP_ABOVE_BYTES", 64 * 1024, { min: 0, max: 64 * 1024 * 1024 }),
  wsSendBufferMaxBytes: intVar("MARKET_WS_SEND_BUFFER_MAX_BYTES", 1024 * 1024, { min: 1024, max: 256 * 1024 * 1024 }),
  wsSlowConsumerMs: intVar("MARKET_WS_SLOW_CONSUMER_MS", 5_000, { min: 10, max: 600_000 }),
  drainTimeoutMs: intVar("MARKET_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadMarketConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(marketConfigShape, env);
