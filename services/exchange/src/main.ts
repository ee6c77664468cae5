import { randomBytes } from "node:crypto";
import { connectIdempotentProducer, createKafka, createLogger, ensureTopics, prefixedTopics, initTracing, shutdownOnSignal, startServer } from "@kuku/platform";
import { Desk } from "./app/desk.js";
import { loadExchangeConfig } from "./config.js";
import { Engine } from "./domain/engine.js";
import { INSTRUMENTS } from "./domain/instruments.js";
import { MarketMaker } from "./domain/market-maker.js";
import { Publisher, TOPICS } from "./events/publisher.js";
import { exchangeHandlers } from "./rpc/handlers.js";

const logger = createLogger("exchange");
const config = loadExchangeConfig();
const stopTracing = await initTracing("exchange");

const kafka = createKafka({ clientId: "kuku-exchange", brokers: config.kafkaBrokers.split(",") }, logger);
const topics = prefixedTopics(config.kafkaTopicPrefix, TOPICS);
await ensureTopics(kafka, Object.values(topics), 3);
const producer = await connectIdempotentProducer(kafka);

// The simulated market lives in memory: a restart opens a fresh trading session.
const session = randomBytes(4).toString("hex");
const engine = new Engine(INSTRUMENTS, session);
const marketMaker = new MarketMaker(engine, {
  seed: config.marketMakerSeed,
  levels: config.marketMakerLevels,
  minQuantity: config.marketMakerMinQuantity,
  maxQuantity: config.marketMakerMaxQuantity,
});
marketMaker.quoteAll();
const desk = new Desk(engine, marketMaker, new Publisher(producer, session, topics), logger);

const server = await startServer({
  name: "exchange",
  host: config.host,
  port: config.port,
  logger,
  services: [exchangeHandlers(desk, engine)],
  drainTimeoutMs: config.drainTimeoutMs,
});
logger.info({ port: server.port, instruments: INSTRUMENTS.length, session }, "exchange ready");
shutdownOnSignal(server, logger, async () => {
  await producer.disconnect();
  await stopTracing();
});
