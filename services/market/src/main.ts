import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createKafka, ensureTopics, observeRedis, prefixedTopics, runService } from "@kuku/platform";
import { Redis } from "ioredis";
import type { Consumer } from "kafkajs";
import { CandleWriter } from "./app/candle-writer.js";
import { Feed } from "./app/feed.js";
import { LookAsideCache } from "./cache/look-aside.js";
import { loadMarketConfig } from "./config.js";
import { Market } from "./domain/market.js";
import { EXCHANGE_TOPICS, startExchangeConsumer } from "./events/exchange-consumer.js";
import { candlesCodec, marketHandlers } from "./rpc/handlers.js";
import * as store from "./store/candle-store.js";
import { Hub } from "./ws/hub.js";

// Stops run in reverse order of registration: the hub, the consumer, the last candle batch, then Redis.
await runService({
  name: "market",
  loadConfig: () => loadMarketConfig(),
  migrationsDir: fileURLToPath(new URL("../migrations", import.meta.url)),
  async wire({ config, pool, logger, onStop }) {
    // observeRedis: command latency (kuku_redis_command_duration_seconds) and, inside a trace, a span per command.
    const redis = observeRedis(new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 }), "market");
    redis.on("error", (error) => logger.warn({ err: error }, "redis error"));
    onStop(() => redis.disconnect());

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
    const candleWriter = new CandleWriter({ candles: feed.candles, pool, logger, intervalMs: config.candleFlushIntervalMs });
    candleWriter.start();
    onStop(() => candleWriter.stop());

    const kafka = createKafka({ clientId: "kuku-market", brokers: config.kafkaBrokers.split(",") }, logger);
    const topics = prefixedTopics(config.kafkaTopicPrefix, EXCHANGE_TOPICS);
    await ensureTopics(kafka, Object.values(topics), 3);
    let consumer: Consumer | undefined;
    onStop(() => consumer?.disconnect());

    const hub = new Hub(
      feed,
      {
        path: "/ws",
        tokenSecret: new TextEncoder().encode(config.wsTokenSecret),
        clientsMax: config.wsClientsMax,
        symbolsPerClientMax: config.wsSymbolsPerClientMax,
        messageMaxBytes: config.wsMessageMaxBytes,
        heartbeatIntervalMs: config.wsHeartbeatIntervalMs,
        tickMs: config.wsTickMs,
        skipAboveBytes: config.wsSkipAboveBytes,
        sendBufferMaxBytes: config.wsSendBufferMaxBytes,
        slowConsumerMs: config.wsSlowConsumerMs,
        snapshotTradesMax: 50,
        tickTradesMax: config.wsTickTradesMax,
      },
      logger,
    );
    onStop(() => hub.close());

    return {
      services: [
        marketHandlers({
          feed,
          candleCache,
          latestCandles: (symbol, limit) => store.latestCandles(pool, symbol, limit),
          latestDailyCandles: (symbol, limit) => store.latestDailyCandles(pool, symbol, limit),
        }),
      ],
      server: { onUpgrade: hub.onUpgrade },
      ready: { ws: "/ws" },
      // Joining the group can wait out a crashed predecessor's session: serve meanwhile.
      async afterServing() {
        consumer = await startExchangeConsumer(
          kafka,
          { groupId: `${config.consumerGroupPrefix}-${randomUUID().slice(0, 8)}`, topics },
          feed,
          logger,
        );
      },
    };
  },
});
