import {
  adminConfigShape,
  databaseConfigShape,
  identityConfigShape,
  intVar,
  kafkaTopicPrefixVar,
  loadConfig,
  resilienceConfigShape,
  stringVar,
  urlVar,
} from "@kuku/platform";

export const orderConfigShape = {
  host: stringVar("ORDER_HOST", "127.0.0.1"),
  port: intVar("ORDER_PORT", 50052, { min: 0, max: 65535 }),
  ...adminConfigShape("ORDER", 9052),
  ...identityConfigShape("ORDER"),
  ...databaseConfigShape("ORDER", { database: "kuku_order", poolSizeMax: 24, statementTimeoutMs: 10_000 }),
  ledgerUrl: urlVar("ORDER_LEDGER_URL", "http://127.0.0.1:50051", ["http:", "https:"]),
  exchangeUrl: urlVar("ORDER_EXCHANGE_URL", "http://127.0.0.1:50053", ["http:", "https:"]),
  kafkaBrokers: stringVar("KAFKA_BROKERS", "127.0.0.1:9092"),
  kafkaTopicPrefix: kafkaTopicPrefixVar(),
  /** Shared by the replicas of one deployment; separate deployments (tests) need their own. */
  consumerGroup: stringVar("ORDER_CONSUMER_GROUP", "kuku-order"),
  /** How long SubmitOrder may take before the order is UNKNOWN. */
  exchangeTimeoutMs: intVar("ORDER_EXCHANGE_TIMEOUT_MS", 2_000, { min: 50, max: 60_000 }),
  ledgerTimeoutMs: intVar("ORDER_LEDGER_TIMEOUT_MS", 5_000, { min: 50, max: 60_000 }),
  /** One attempt of a ledger call; retries of idempotent calls fit in ledgerTimeoutMs. */
  ledgerAttemptTimeoutMs: intVar("ORDER_LEDGER_ATTEMPT_TIMEOUT_MS", 2_000, { min: 50, max: 60_000 }),
  ...resilienceConfigShape("ORDER"),
  exchangeCallsPerSecond: intVar("ORDER_EXCHANGE_CALLS_PER_SECOND", 2_000, { min: 1, max: 1_000_000 }),
  exchangeBurst: intVar("ORDER_EXCHANGE_BURST", 200, { min: 1, max: 1_000_000 }),
  exchangeRateWaitMsMax: intVar("ORDER_EXCHANGE_RATE_WAIT_MS_MAX", 250, { min: 0, max: 60_000 }),
  /** An Istio VirtualService file whose fault specs are applied to our calls while it exists (a local fault drill); empty: never. */
  faultFile: stringVar("ORDER_FAULT_FILE", ""),
  reconcileIntervalMs: intVar("ORDER_RECONCILE_INTERVAL_MS", 1_000, { min: 50, max: 600_000 }),
  reconcileConcurrency: intVar("ORDER_RECONCILE_CONCURRENCY", 16, { min: 1, max: 256 }),
  /**
   * Fills and releases younger than this are the executions consumer's work; the reconciler
   * finishes older ones. Settling alongside a consumer that is merely busy doubles the ledger
   * calls just when the system is busiest.
   */
  reconcileSettleGraceMs: intVar("ORDER_RECONCILE_SETTLE_GRACE_MS", 5_000, { min: 0, max: 600_000 }),
  relayIntervalMs: intVar("ORDER_RELAY_INTERVAL_MS", 100, { min: 10, max: 60_000 }),
  commissionPpm: intVar("ORDER_COMMISSION_PPM", 150, { min: 0, max: 100_000 }),
  sellTaxPpm: intVar("ORDER_SELL_TAX_PPM", 1_800, { min: 0, max: 100_000 }),
  pageSizeDefault: intVar("ORDER_PAGE_SIZE_DEFAULT", 50, { min: 1, max: 500 }),
  drainTimeoutMs: intVar("ORDER_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadOrderConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(orderConfigShape, env);
export type OrderConfig = ReturnType<typeof loadOrderConfig>;
