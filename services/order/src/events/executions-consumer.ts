// Executions from the exchange: every fill (a SubmitOrder answer carries the
// taker's too, but settlement starts here) and expiries. Kafka hands them
// over in batches: the orders of a batch are worked on concurrently, each
// order's events in their order, recorded through the same idempotent path
// as an RPC answer (the event id in the same transaction as the fill), and
// each order settled once per batch. The batch's offsets are committed only
// when all of it is done; a batch seen again changes nothing.
import { fromBinary } from "@bufbuild/protobuf";
import { type ExecutionEvent, ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { consumeTraced, forEachConcurrently, type Logger, observeConsumer } from "@kuku/platform";
import type { Kafka, KafkaMessage } from "kafkajs";
import { reportFromProto } from "../app/convert.js";
import type { Settlement } from "../app/settlement.js";

export const EXECUTIONS_TOPIC = EXCHANGE_EXECUTIONS.name;

/**
 * Orders of one batch worked on at once: each is two or three database
 * transactions and one or two ledger calls, so this many keep the pool
 * (24) and the ledger busy without queueing behind each other.
 */
const ORDERS_IN_FLIGHT = 16;

export interface ExecutionsConsumerOptions {
  readonly groupId: string;
  readonly topic: string;
  readonly settlement: Settlement;
  /** Which of these client order ids are our orders (not the market maker's, nor another broker's). */
  readonly oursAmong: (clientOrderIds: readonly string[]) => Promise<ReadonlySet<string>>;
  readonly logger: Logger;
}

/**
 * Every replica of one order service shares `groupId` (and the database).
 * A brand-new group starts at the topic's end; an existing one resumes from
 * its committed offsets, so a restart misses nothing.
 */
export async function startExecutionsConsumer(kafka: Kafka, options: ExecutionsConsumerOptions) {
  const { groupId, topic, logger } = options;
  const consumer = kafka.consumer({
    groupId,
    // A crashed replica's partitions wait for its session to time out: keep that short.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    // The broker answers a fetch as soon as one byte is there (minBytes 1), so this only
    // bounds an idle long poll; 100 ms (not kafkajs' 5 s) keeps a partition that was
    // just resumed or reassigned from waiting out a long poll on an empty one.
    minBytes: 1,
    maxWaitTimeInMs: 100,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
    logger.info({ groupId, memberId: payload.memberId }, "executions consumer joined"),
  );
  observeConsumer(consumer, groupId, logger);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    // The topic's partitions are each a separate stream of orders: all of them at once.
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat }) => {
      await applyBatch(batch.topic, batch.messages, options);
      // A throw above leaves the batch unresolved: kafkajs fetches it again from its first offset.
      await heartbeat();
    },
  });
  return consumer;
}

/** One batch: the events of our orders grouped per order, the orders concurrently. */
async function applyBatch(topic: string, messages: readonly KafkaMessage[], options: ExecutionsConsumerOptions): Promise<void> {
  const { groupId, settlement, logger } = options;
  const events = messages.map((message) => ({ message, event: fromBinary(ExecutionEventSchema, message.value!) }));
  const ours = await options.oursAmong([...new Set(events.map((e) => e.event.clientOrderId))]);
  const byOrder = new Map<string, { message: KafkaMessage; event: ExecutionEvent }[]>();
  for (const e of events) {
    if (!ours.has(e.event.clientOrderId)) continue; // the market maker's, or another broker's
    const list = byOrder.get(e.event.clientOrderId);
    if (list === undefined) byOrder.set(e.event.clientOrderId, [e]);
    else list.push(e);
  }
  const failures: unknown[] = [];
  await forEachConcurrently([...byOrder], ORDERS_IN_FLIGHT, async ([orderId, orderEvents]) => {
    try {
      for (const [i, { message, event }] of orderEvents.entries()) {
        // Without a fill (an expiry) the event carries only the status.
        const report = reportFromProto(event.status, "", event.fill === undefined ? [] : [event.fill]);
        await consumeTraced(groupId, topic, message, async () => {
          await settlement.record(orderId, report, event.eventId);
          // Settled once, after the order's last event of the batch, inside that event's span.
          if (i === orderEvents.length - 1) await settlement.settle(orderId);
          logger.debug({ orderId, eventId: event.eventId }, "execution event applied");
        });
      }
    } catch (error) {
      failures.push(error);
    }
  });
  // The others are done (and stay done: their replay is a no-op); the failed ones are tried again.
  if (failures.length > 0) throw failures[0];
}
