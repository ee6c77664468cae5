// order.events into each user's update log (ADR 0022). Every gateway
// replica shares one consumer group, so each event is consumed by one of
// them; its batch's offsets are committed only after Redis took the batch,
// and a redelivered event is dropped by its id (redis/order-update-log.ts).
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { type OrderEvent, OrderEventSchema } from "@kuku/contracts/kuku/order/v1/events_pb";
import { ORDER_EVENTS } from "@kuku/contracts/topics";
import { type Logger, observeConsumer } from "@kuku/platform";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import { orderUpdateView } from "../app/views.js";
import type { UpdateToAppend } from "../redis/order-update-log.js";

export const ORDER_EVENTS_TOPIC = ORDER_EVENTS.name;

export interface OrderEventsConsumerOptions {
  readonly groupId: string;
  readonly topic: string;
  readonly append: (updates: readonly UpdateToAppend[]) => Promise<number>;
  /** Events older than this are history (the log forgets ids after it): skipped, never appended twice. */
  readonly windowSeconds: number;
  readonly logger: Logger;
}

/**
 * A brand-new group reads the topic from its start: events published
 * before the first gateway joined still reach the logs (those inside the
 * window). Joining is logged, as tests and `make up` wait for it.
 */
export async function startOrderEventsConsumer(kafka: Kafka, options: OrderEventsConsumerOptions): Promise<Consumer> {
  const { groupId, topic, logger } = options;
  // A short session, as for the order service's consumer. minBytes 1: the broker answers a fetch at its first event, so
  // the long-poll bound only paces idle polls, which were most of an idle gateway's CPU at 100 ms (docs/benchmarks/orders.md).
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, minBytes: 1, maxWaitTimeInMs: 1_000 });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
    logger.info({ groupId, memberId: payload.memberId }, "order events consumer joined"),
  );
  observeConsumer(consumer, groupId, logger);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat }) => {
      const updates = updatesOf(batch.messages, options);
      const appended = await options.append(updates);
      if (appended < updates.length) logger.info({ redelivered: updates.length - appended }, "order events seen before skipped");
      await heartbeat();
    },
  });
  return consumer;
}

/** The batch's events as updates for their users, in order; undecodable, ownerless and too old ones are logged and skipped. */
function updatesOf(messages: readonly KafkaMessage[], options: OrderEventsConsumerOptions): UpdateToAppend[] {
  const oldestMs = Date.now() - options.windowSeconds * 1000;
  const updates: UpdateToAppend[] = [];
  for (const message of messages) {
    const event = decode(message, options.logger);
    if (event === undefined) continue;
    if (event.occurredAt !== undefined && timestampMs(event.occurredAt) < oldestMs) continue;
    updates.push({
      userId: event.order!.userId,
      eventId: event.eventId,
      payload: toBinary(api.OrderUpdateSchema, orderUpdateView(event)),
    });
  }
  return updates;
}

function decode(message: KafkaMessage, logger: Logger): OrderEvent | undefined {
  try {
    const event = fromBinary(OrderEventSchema, message.value ?? new Uint8Array());
    if (event.eventId !== "" && event.order !== undefined && event.order.userId !== "") return event;
    logger.warn({ offset: message.offset }, "order event without an id or an owner skipped");
  } catch (error) {
    logger.warn({ offset: message.offset, message: (error as Error).message }, "undecodable order event skipped");
  }
  return undefined;
}
