// Kafka through kafkajs, the way every service uses it: an idempotent
// producer (kafkajs needs one request in flight for that, ADR 0003) and
// topics created up front instead of on first use.
import { SpanKind, trace } from "@opentelemetry/api";
import { type Consumer, Kafka, type KafkaMessage, logLevel, Partitioners, type Producer } from "kafkajs";
import type { Logger } from "./logger.js";
import { kafkaMetrics } from "./metrics.js";
import { contextFromKafkaHeaders, inSpan, insideTrace, traceHeaders } from "./tracing.js";

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
    logCreator:
      () =>
      ({ level, log }) => {
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

export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Record<string, string>;
}

export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}

/**
 * Sends and waits for acks from all in-sync replicas. Inside a trace, under
 * a PRODUCER span whose context travels in every message's headers
 * (traceparent and uber-trace-id), so the consumer's work joins the trace.
 */
export async function sendTraced(producer: Producer, topicMessages: readonly TopicMessages[]): Promise<void> {
  const batch = topicMessages.filter((t) => t.messages.length > 0);
  if (batch.length === 0) return;
  const send = async () => {
    const headers = traceHeaders();
    const started = process.hrtime.bigint();
    await producer.sendBatch({
      topicMessages: batch.map((t) => ({
        topic: t.topic,
        messages: t.messages.map((m) => ({ ...m, headers: { ...m.headers, ...headers } })),
      })),
      acks: -1,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const t of batch) {
      kafkaMetrics.produceDuration.observe({ topic: t.topic }, seconds);
      kafkaMetrics.produced.inc({ topic: t.topic }, t.messages.length);
    }
  };
  if (!insideTrace()) return send();
  const topics = [...new Set(batch.map((t) => t.topic))].join(",");
  return inSpan(
    `${topics} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": topics,
        "messaging.batch.message_count": batch.reduce((n, t) => n + t.messages.length, 0),
      },
    },
    send,
  );
}

/**
 * Processes one consumed message. A message that carries a trace context
 * is processed under a CONSUMER span continuing that trace; one without
 * (published outside any trace) is processed without a span.
 */
export async function consumeTraced<T>(group: string, topic: string, message: KafkaMessage, fn: () => Promise<T>): Promise<T> {
  const parent = contextFromKafkaHeaders(message.headers);
  try {
    const result =
      trace.getSpanContext(parent) === undefined
        ? await fn()
        : await inSpan(
            `${topic} process`,
            {
              kind: SpanKind.CONSUMER,
              parent,
              attributes: {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": group,
                "messaging.kafka.offset": Number(message.offset),
              },
            },
            fn,
          );
    kafkaMetrics.consumed.inc({ group, topic, outcome: "ok" });
    return result;
  } catch (error) {
    kafkaMetrics.consumed.inc({ group, topic, outcome: "error" });
    throw error;
  }
}

/**
 * Consumer lag per partition (from kafkajs's end-of-batch event) and crashes.
 * After a retriable crash kafkajs restarts the consumer in-process, from the
 * group's committed offsets (a consumer that commits none reads its topics
 * again from the start). After any other crash the consumer is gone for good
 * while the process would go on serving stale state: it exits instead, so its
 * supervisor (the kubelet, the drill) starts a fresh one.
 */
export function observeConsumer(consumer: Consumer, group: string, logger: Logger): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    kafkaMetrics.consumerLag.set({ group, topic: payload.topic, partition: String(payload.partition) }, Number(payload.offsetLag));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    kafkaMetrics.consumerCrashes.inc({ group, restart: String(payload.restart) });
    if (payload.restart) {
      logger.warn({ groupId: group, err: payload.error }, "kafka consumer crashed; kafkajs restarts it");
      return;
    }
    logger.fatal({ groupId: group, err: payload.error }, "kafka consumer crashed for good; exiting");
    process.exit(1);
  });
}
