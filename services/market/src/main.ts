import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  createKafka,
  createLogger,
  ensureTopics,
  initTracing,
  observeRedis,
  openDatabase,
  prefixedTopics,
  shutdownOnSignal,
  startServer,
} from "@kuku/platform";
import { Redis } from "ioredis";
import type { Consumer } from "kafkajs";
import { Feed } from "./app/feed.js";
import { LookAsideCache } from "./cache/look-aside.js";
import { loadMarketConfig } from "./config.js";
import { Market } from "./domain/market.js";
import { EXCHANGE_TOPICS, startExchangeConsumer } from "./events/exchange-consumer.js";
import { candlesCodec, marketHandlers } from "./rpc/handlers.js";
import * as store from "./store/candle-store.js";
import { Hub } from "./ws/hub.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

const logger = createLogger("market");
const config = loadMarketConfig();
const stopTracing = await initTracing("market");
const pool = await openDatabase(config, { applicationName: "kuku-market", migrationsDir: MIGRATIONS_DIR }, logger);
// observeRedis: command latency (kuku_redis_command_duration_seconds) and, inside a trace, a span per command.
const redis = observeRedis(new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 }), "market");
redis.on("error", (error) => logger.warn({ err: error }, "redis error"));

const feed = new Feed(new Market({ depthMax: config.depthMax, tradesMax: config.tradesMax }));
const candleCache = new LookAsideCache(
  redis,
  {
    name: "candles",
    redisTtlMs: config.candleCacheTtlMs,
    localTtlMs: config.candleLocalTtlMs,
    localEntriesMax: 10_000,
    ...candlesCodec,
  },
  logger,
);

// Write-behind: candles go to PostgreSQL in one batch per interval, never on the event path.
let flushing = Promise.resolve();
const flushCandles = () => {
  const candles = feed.candles.takeDirty();
  flushing = flushing
    .then(() => store.upsertCandles(pool, candles))
    .catch((error: unknown) => {
      feed.candles.restore(candles);
      logger.warn({ err: error, candles: candles.length }, "candle flush failed; retrying next interval");
    });
};
const flushTimer = setInterval(flushCandles, config.candleFlushIntervalMs);

const hub = new Hub(
  feed,
  {
    path: "/ws",
    tokenSecret: new TextEncoder().encode(config.wsTokenSecret),
    clientsMax: config.wsClientsMax,
    symbolsPerClientMax: config.wsSymbolsPerClientMax,
    messageMaxBytes: config.wsMessageMaxBytes,
    heartbeatIntervalMs: config.wsHeartbeatIntervalMs,
    conflateAboveBytes: config.wsConflateAboveBytes,
    sendBufferMaxBytes: config.wsSendBufferMaxBytes,
    slowConsumerMs: config.wsSlowConsumerMs,
    flushIntervalMs: config.wsFlushIntervalMs,
    snapshotTradesMax: 50,
  },
  logger,
);

const kafka = createKafka({ clientId: "kuku-market", brokers: config.kafkaBrokers.split(",") }, logger);
const topics = prefixedTopics(config.kafkaTopicPrefix, EXCHANGE_TOPICS);
await ensureTopics(kafka, Object.values(topics), 3);

const server = await startServer({
  name: "market",
  host: config.host,
  port: config.port,
  logger,
  services: [marketHandlers({ feed, candleCache, latestCandles: (symbol, limit) => store.latestCandles(pool, symbol, limit) })],
  drainTimeoutMs: config.drainTimeoutMs,
  onUpgrade: hub.onUpgrade,
});
logger.info({ port: server.port, ws: "/ws" }, "market ready");
let consumer: Consumer | undefined;
shutdownOnSignal(server, logger, async () => {
  hub.close();
  await consumer?.disconnect();
  clearInterval(flushTimer);
  flushCandles();
  await flushing;
  redis.disconnect();
  await pool.end();
  await stopTracing();
});
// Joining the group can wait out a crashed predecessor's session: serve meanwhile.
consumer = await startExchangeConsumer(
  kafka,
  { groupId: `${config.consumerGroupPrefix}-${randomUUID().slice(0, 8)}`, topics },
  feed,
  logger,
);
