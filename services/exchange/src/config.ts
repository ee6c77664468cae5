import { databaseConfigShape, intVar, kafkaTopicPrefixVar, loadConfig, stringVar } from "@kuku/platform";

export const exchangeConfigShape = {
  host: stringVar("EXCHANGE_HOST", "127.0.0.1"),
  port: intVar("EXCHANGE_PORT", 50053, { min: 0, max: 65535 }),
  // The journal: one writer per database (a second exchange on it fails its first write).
  ...databaseConfigShape("EXCHANGE", { database: "kuku_exchange", poolSizeMax: 4, statementTimeoutMs: 10_000 }),
  // Commands per journal write (group commit); 1 writes each command on its own (kuku-bench exchange journal).
  journalGroupMax: intVar("EXCHANGE_JOURNAL_GROUP_MAX", 500, { min: 1, max: 5_000 }),
  kafkaBrokers: stringVar("KAFKA_BROKERS", "127.0.0.1:9092"),
  kafkaTopicPrefix: kafkaTopicPrefixVar(),
  marketMakerSeed: intVar("EXCHANGE_MM_SEED", 42, { min: 0, max: 2 ** 31 - 1 }),
  marketMakerLevels: intVar("EXCHANGE_MM_LEVELS", 10, { min: 1, max: 100 }),
  marketMakerMinQuantity: intVar("EXCHANGE_MM_MIN_QUANTITY", 100, { min: 1, max: 1_000_000 }),
  marketMakerMaxQuantity: intVar("EXCHANGE_MM_MAX_QUANTITY", 1_000, { min: 1, max: 1_000_000 }),
  drainTimeoutMs: intVar("EXCHANGE_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadExchangeConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(exchangeConfigShape, env);
