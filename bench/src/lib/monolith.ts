// The ledger and the exchange composed in one process for kuku-bench
// architecture monolith (ADR 0001): each service's own app classes (Ledger,
// Desk), built from its own config loader with its defaults and migrated on
// its own fresh database, and its own RPC handlers mounted on connect's
// in-memory router transport: the callers' code is the same Client either
// way, only the hop differs (a function call vs gRPC to another process).
import { fileURLToPath } from "node:url";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import * as exchangeApi from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledgerApi from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import {
  connectIdempotentProducer,
  createKafka,
  ensureTopics,
  type Logger,
  openDatabase,
  prefixedTopics,
  validationInterceptor,
} from "@kuku/platform";
import { Desk } from "../../../services/exchange/src/app/desk.js";
import { DeskWithFaults } from "../../../services/exchange/src/app/faults.js";
import { deskSettings, loadExchangeConfig } from "../../../services/exchange/src/config.js";
import { Publisher, TOPICS } from "../../../services/exchange/src/events/publisher.js";
import { exchangeHandlers } from "../../../services/exchange/src/rpc/handlers.js";
import { Ledger } from "../../../services/ledger/src/app/ledger.js";
import { loadLedgerConfig } from "../../../services/ledger/src/config.js";
import { ledgerHandlers } from "../../../services/ledger/src/rpc/handlers.js";

export interface Monolith {
  readonly ledger: Client<typeof ledgerApi.LedgerService>;
  readonly exchange: Client<typeof exchangeApi.ExchangeService>;
  close(): Promise<void>;
}

const migrations = (service: string) => fileURLToPath(new URL(`../../../services/${service}/migrations`, import.meta.url));

export async function startMonolith(
  urls: { ledger: string; exchange: string },
  kafkaTopicPrefix: string,
  logger: Logger,
): Promise<Monolith> {
  const ledgerConfig = loadLedgerConfig({ LEDGER_DATABASE_URL: urls.ledger });
  const exchangeConfig = loadExchangeConfig({ EXCHANGE_DATABASE_URL: urls.exchange, KAFKA_TOPIC_PREFIX: kafkaTopicPrefix });
  const ledgerPool = await openDatabase(ledgerConfig, { applicationName: "monolith-ledger", migrationsDir: migrations("ledger") }, logger);
  const exchangePool = await openDatabase(
    exchangeConfig,
    { applicationName: "monolith-exchange", migrationsDir: migrations("exchange") },
    logger,
  );
  const ledger = new Ledger({
    pool: ledgerPool,
    logger,
    transactions: {
      isolation: ledgerConfig.isolation,
      attemptsMax: ledgerConfig.transactionAttemptsMax,
      backoffBaseMs: ledgerConfig.transactionBackoffBaseMs,
      backoffMaxMs: ledgerConfig.transactionBackoffMaxMs,
    },
    balanceGuard: ledgerConfig.balanceGuard,
    batchItemsMax: ledgerConfig.batchItemsMax,
    batchWriters: ledgerConfig.batchWriters,
  });
  const kafka = createKafka({ clientId: "kuku-monolith", brokers: exchangeConfig.kafkaBrokers.split(",") }, logger);
  const topics = prefixedTopics(exchangeConfig.kafkaTopicPrefix, TOPICS);
  await ensureTopics(kafka, Object.values(topics), 3);
  const producer = await connectIdempotentProducer(kafka);
  const desk = await Desk.open({
    pool: exchangePool,
    logger,
    ...deskSettings(exchangeConfig),
    publisherFor: (session) => new Publisher(producer, session, topics),
  });
  // The servers validate every request (protovalidate); so does the in-process router, to compare like with like.
  const transport = createRouterTransport(
    (router) => {
      ledgerHandlers(ledger, { pageSizeDefault: ledgerConfig.pageSizeDefault }).register(router);
      exchangeHandlers(new DeskWithFaults(desk, logger)).register(router);
    },
    { router: { interceptors: [validationInterceptor()] } },
  );
  return {
    ledger: createClient(ledgerApi.LedgerService, transport),
    exchange: createClient(exchangeApi.ExchangeService, transport),
    async close() {
      await desk.close();
      await producer.disconnect();
      await Promise.all([ledgerPool.end(), exchangePool.end()]);
    },
  };
}
