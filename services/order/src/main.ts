import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import {
  connectIdempotentProducer,
  createKafka,
  createLogger,
  createResilience,
  createServiceClient,
  EXCHANGE_IDEMPOTENCY,
  ensureTopics,
  initTracing,
  LEDGER_IDEMPOTENCY,
  openDatabase,
  prefixedTopics,
  sharedPolicies,
  shutdownOnSignal,
  startServer,
  watchFaultFile,
} from "@kuku/platform";
import type { Consumer } from "kafkajs";
import { LedgerAccounts } from "./app/ledger-accounts.js";
import { createOrderMetrics } from "./app/metrics.js";
import { ORDER_EVENTS_TOPIC, Orders } from "./app/orders.js";
import { loadOrderConfig } from "./config.js";
import { EXECUTIONS_TOPIC, startExecutionsConsumer } from "./events/executions-consumer.js";
import { startRelay } from "./events/relay.js";
import { orderHandlers } from "./rpc/handlers.js";
import * as store from "./store/order-store.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

const logger = createLogger("order");
const config = loadOrderConfig();
const stopTracing = await initTracing("order");
const pool = await openDatabase(config, { applicationName: "kuku-order", migrationsDir: MIGRATIONS_DIR }, logger);

const policies = sharedPolicies(config, logger);
// A drill is switched on and off by writing and removing the file, while we run.
const faultsFor = (target: string) =>
  config.faultFile === ""
    ? []
    : watchFaultFile(config.faultFile, target, {
        checkIntervalMs: 500,
        onError: (err) => logger.error({ err, faultFile: config.faultFile }, "fault file ignored"),
      });
if (config.faultFile !== "")
  logger.warn({ faultFile: config.faultFile }, "fault drill: the file's faults, whenever it exists, are injected into our calls");
const ledgerClient = createServiceClient(ledger.LedgerService, {
  baseUrl: config.ledgerUrl,
  timeoutMs: config.ledgerTimeoutMs,
  resilience: createResilience({
    ...policies,
    target: "ledger",
    idempotent: LEDGER_IDEMPOTENCY,
    attemptTimeoutMs: config.ledgerAttemptTimeoutMs,
  }),
  faults: faultsFor("ledger"),
});
// One attempt may use the whole exchange budget: an exchange that does not
// answer is asked again by the reconciler (OrderStatus), not by more
// SubmitOrders piling onto it. Fast failures (UNAVAILABLE) are retried within it.
const exchangeClient = createServiceClient(exchange.ExchangeService, {
  baseUrl: config.exchangeUrl,
  timeoutMs: config.exchangeTimeoutMs,
  resilience: createResilience({
    ...policies,
    target: "exchange",
    idempotent: EXCHANGE_IDEMPOTENCY,
    attemptTimeoutMs: config.exchangeTimeoutMs,
    rateLimit: { callsPerSecond: config.exchangeCallsPerSecond, burst: config.exchangeBurst, waitMsMax: config.exchangeRateWaitMsMax },
  }),
  faults: faultsFor("exchange"),
});
// Reference prices are fixed for the trading day: read the instrument master once.
const { instruments } = await exchangeClient.listInstruments({});

const orders = new Orders({
  pool,
  ledger: ledgerClient,
  exchange: exchangeClient,
  accounts: new LedgerAccounts(ledgerClient),
  instruments: new Map(instruments.map((i) => [i.symbol, { symbol: i.symbol, referencePriceKrw: i.referencePriceKrw }])),
  fees: { commissionPpm: BigInt(config.commissionPpm), sellTaxPpm: BigInt(config.sellTaxPpm) },
  exchangeTimeoutMs: config.exchangeTimeoutMs,
  reconcileConcurrency: config.reconcileConcurrency,
  logger,
  metrics: createOrderMetrics(pool),
});

const kafka = createKafka({ clientId: "kuku-order", brokers: config.kafkaBrokers.split(",") }, logger);
const topics = prefixedTopics(config.kafkaTopicPrefix, { orderEvents: ORDER_EVENTS_TOPIC, executions: EXECUTIONS_TOPIC });
await ensureTopics(kafka, Object.values(topics), 3);
const producer = await connectIdempotentProducer(kafka);
const stopRelay = startRelay(pool, producer, config.kafkaTopicPrefix, config.relayIntervalMs, logger);

// Reconcile at start-up (orders left in doubt by the last run), then on a schedule.
let reconciling: Promise<unknown> = orders.reconcile().then((r) => logger.info(r, "start-up reconciliation"));
const reconcileTimer = setInterval(() => {
  reconciling = reconciling.then(() => orders.reconcile()).catch((error: unknown) => logger.error({ err: error }, "reconciliation failed"));
}, config.reconcileIntervalMs);

const server = await startServer({
  name: "order",
  host: config.host,
  port: config.port,
  logger,
  services: [orderHandlers(orders, { pageSizeDefault: config.pageSizeDefault })],
  drainTimeoutMs: config.drainTimeoutMs,
});
logger.info({ port: server.port, instruments: instruments.length }, "order ready");
let consumer: Consumer | undefined;
shutdownOnSignal(server, logger, async () => {
  clearInterval(reconcileTimer);
  await reconciling.catch(() => undefined);
  await consumer?.disconnect();
  await stopRelay();
  await producer.disconnect();
  await pool.end();
  await stopTracing();
});
// Joining the consumer group can wait out a crashed predecessor's session, so
// it does not hold up serving: until it joins, the reconciler covers fills.
// Our client order ids are order ids (UUIDs); anything else is not ours and never reaches SQL.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isOurs = async (clientOrderId: string) => UUID.test(clientOrderId) && (await store.getOrder(pool, clientOrderId)) !== undefined;
consumer = await startExecutionsConsumer(kafka, config.consumerGroup, topics.executions, orders, isOurs, logger);
