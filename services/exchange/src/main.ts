import { fileURLToPath } from "node:url";
import {
  connectIdempotentProducer,
  createKafka,
  createLogger,
  ensureTopics,
  initTracing,
  openDatabase,
  prefixedTopics,
  shutdownOnSignal,
  startServer,
} from "@kuku/platform";
import { Desk } from "./app/desk.js";
import { loadExchangeConfig } from "./config.js";
import { INSTRUMENTS } from "./domain/instruments.js";
import { Publisher, TOPICS } from "./events/publisher.js";
import { exchangeHandlers } from "./rpc/handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

const logger = createLogger("exchange");
const config = loadExchangeConfig();
const stopTracing = await initTracing("exchange");
const pool = await openDatabase(config, { applicationName: "kuku-exchange", migrationsDir: MIGRATIONS_DIR }, logger);

const kafka = createKafka({ clientId: "kuku-exchange", brokers: config.kafkaBrokers.split(",") }, logger);
const topics = prefixedTopics(config.kafkaTopicPrefix, TOPICS);
await ensureTopics(kafka, Object.values(topics), 3);
const producer = await connectIdempotentProducer(kafka);

// The venue is rebuilt from its journal: a restart resumes the same session, with every order and fill.
const desk = await Desk.open({
  pool,
  logger,
  instruments: INSTRUMENTS,
  marketMaker: {
    seed: config.marketMakerSeed,
    levels: config.marketMakerLevels,
    minQuantity: config.marketMakerMinQuantity,
    maxQuantity: config.marketMakerMaxQuantity,
  },
  publisherFor: (session) => new Publisher(producer, session, topics),
  groupMax: config.journalGroupMax,
});

const server = await startServer({
  name: "exchange",
  host: config.host,
  port: config.port,
  logger,
  services: [exchangeHandlers(desk)],
  drainTimeoutMs: config.drainTimeoutMs,
});
logger.info({ port: server.port, instruments: INSTRUMENTS.length, session: desk.sessionId }, "exchange ready");
shutdownOnSignal(server, logger, async () => {
  await desk.close();
  await producer.disconnect();
  await pool.end();
  await stopTracing();
});
