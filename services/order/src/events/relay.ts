// The transactional outbox's other half: publishes committed order events
// to Kafka in commit order, then marks them published. At-least-once: a
// crash between send and mark sends them again, and consumers dedupe by
// event id. SKIP LOCKED lets several replicas relay without overlap.

import { type Logger, type OutgoingMessage, sendTraced, withTransaction } from "@kuku/platform";
import type { Producer } from "kafkajs";
import type pg from "pg";
import * as store from "../store/order-store.js";

const BATCH_SIZE = 200;

/** `topicPrefix`: KAFKA_TOPIC_PREFIX; the outbox stores unprefixed topic names. */
export function relayOnce(pool: pg.Pool, producer: Producer, topicPrefix: string): Promise<number> {
  return withTransaction(pool, async (db) => {
    const rows = await store.claimUnpublished(db, BATCH_SIZE);
    if (rows.length > 0) {
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const r of rows) {
        const topic = `${topicPrefix}${r.topic}`;
        const messages = byTopic.get(topic) ?? [];
        messages.push({ key: r.key, value: r.payload, headers: { ...r.trace_headers, "event-id": r.event_id } });
        byTopic.set(topic, messages);
      }
      await sendTraced(
        producer,
        [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      );
      await store.markPublished(
        db,
        rows.map((r) => r.seq),
      );
    }
    return rows.length;
  });
}

/** Relays until stopped; returns the stop function. */
export function startRelay(
  pool: pg.Pool,
  producer: Producer,
  topicPrefix: string,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        if ((await relayOnce(pool, producer, topicPrefix)) === BATCH_SIZE) continue; // more waiting
      } catch (error) {
        logger.warn({ err: error }, "outbox relay failed; retrying");
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
