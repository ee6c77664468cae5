// Kafka through kafkajs, the way every service uses it: an idempotent
// producer (kafkajs needs one request in flight for that, ADR 0003) and
// topics created up front instead of on first use.
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import type { Logger } from "./logger.js";

export interface KafkaOptions {
  readonly clientId: string;
  /** host:port list */
  readonly brokers: readonly string[];
}

/**
 * Every topic name passes through here. The prefix (KAFKA_TOPIC_PREFIX,
 * empty by default) lets concurrently running tests on one shared broker
 * use topics of their own.
 */
export function prefixedTopics<const T extends Record<string, string>>(prefix: string, topics: T): { readonly [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(topics).map(([key, name]) => [key, `${prefix}${name}`])) as { [K in keyof T]: string };
}

export function createKafka(options: KafkaOptions, logger: Logger): Kafka {
  const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
    [logLevel.ERROR]: "error",
    [logLevel.WARN]: "warn",
    [logLevel.INFO]: "info",
    [logLevel.DEBUG]: "debug",
  };
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log }) => {
      const { message, ...extra } = log;
      logger[levels[level] ?? "info"]({ kafka: extra }, message);
    },
  });
}

/** Creates the topics that do not exist yet (a no-op for the rest). */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

export async function connectIdempotentProducer(kafka: Kafka): Promise<Producer> {
  // The default (murmur2, Java-compatible) partitioner, chosen explicitly: kafkajs warns otherwise.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}
