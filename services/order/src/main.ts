import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import {
  connectIdempotentProducer,
  createKafka,
  createResilience,
  createServiceClient,
  ensureTopics,
  type Logger,
  prefixedTopics,
  runService,
  sharedPolicies,
  watchFaultFile,
} from "@kuku/platform";
import type { Consumer } from "kafkajs";
import { ExchangeInstruments } from "./app/instruments.js";
import { createOrderApp } from "./app/order-app.js";
import { ORDER_EVENTS_TOPIC } from "./app/orders.js";
import { loadOrderConfig, type OrderConfig } from "./config.js";
import { EXECUTIONS_TOPIC, startExecutionsConsumer } from "./events/executions-consumer.js";
import { startRelay } from "./events/relay.js";
import { downstreamFailures } from "./rpc/downstream.js";
import { orderHandlers } from "./rpc/handlers.js";

/** The ledger and exchange clients, with their resilience policies and the drill's faults. */
function downstreamClients(config: OrderConfig, logger: Logger) {
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
      attemptTimeoutMs: config.exchangeTimeoutMs,
      rateLimit: { callsPerSecond: config.exchangeCallsPerSecond, burst: config.exchangeBurst, waitMsMax: config.exchangeRateWaitMsMax },
    }),
    faults: faultsFor("exchange"),
  });
  return { ledgerClient, exchangeClient };
}

/** How old the instrument master may be when an order is checked against it. */
const INSTRUMENTS_MAX_AGE_MS = 1000;

await runService({
  name: "order",
  loadConfig: () => loadOrderConfig(),
  migrationsDir: fileURLToPath(new URL("../migrations", import.meta.url)),
  async wire({ config, pool, logger, onStop }) {
    const { ledgerClient, exchangeClient } = downstreamClients(config, logger);
    // The venue rolls reference prices at each close: the master is read again when a second old.
    const instruments = new ExchangeInstruments(exchangeClient, INSTRUMENTS_MAX_AGE_MS, config.exchangeTimeoutMs);
    const listed = await instruments.all();
    const app = createOrderApp({
      pool,
      ledger: ledgerClient,
      exchange: exchangeClient,
      failures: downstreamFailures,
      instruments,
      fees: { commissionPpm: BigInt(config.commissionPpm), sellTaxPpm: BigInt(config.sellTaxPpm) },
      exchangeTimeoutMs: config.exchangeTimeoutMs,
      reconcile: {
        intervalMs: config.reconcileIntervalMs,
        concurrency: config.reconcileConcurrency,
        settleGraceMs: config.reconcileSettleGraceMs,
      },
      logger,
    });

    const kafka = createKafka({ clientId: "kuku-order", brokers: config.kafkaBrokers.split(",") }, logger);
    const topics = prefixedTopics(config.kafkaTopicPrefix, { orderEvents: ORDER_EVENTS_TOPIC, executions: EXECUTIONS_TOPIC });
    await ensureTopics(kafka, Object.values(topics), 3);
    const producer = await connectIdempotentProducer(kafka);
    onStop(() => producer.disconnect());
    onStop(startRelay(pool, producer, config.kafkaTopicPrefix, config.relayIntervalMs, logger));
    let consumer: Consumer | undefined;
    onStop(() => consumer?.disconnect());
    app.reconciler.start();
    onStop(() => app.reconciler.stop());

    return {
      services: [orderHandlers(app, { pageSizeDefault: config.pageSizeDefault })],
      // Called only by services: gRPC on HTTP/2 served by grpc-js (ADR 0002).
      server: { grpcServer: "grpc-js" },
      ready: { instruments: listed.size },
      // Joining the consumer group can wait out a crashed predecessor's session, so
      // it does not hold up serving: until it joins, the reconciler covers fills.
      async afterServing() {
        consumer = await startExecutionsConsumer(kafka, {
          groupId: config.consumerGroup,
          topic: topics.executions,
          settlement: app.settlement,
          oursAmong: (clientOrderIds) => app.queries.oursAmong(clientOrderIds),
          logger,
        });
      },
    };
  },
});
