// Executions from the exchange: every fill (a SubmitOrder answer carries the
// taker's too, but settlement starts here), expiries, and stops' triggers
// (a stop-limit that rests unfilled moves WAITING -> ACCEPTED on it). Kafka hands them
// over in batches: the orders of a batch are worked on concurrently, each
// order's events in their order, recorded through the same idempotent path
// as an RPC answer (the event id in the same transaction as the fill); then
// the whole batch is settled in one ledger SubmitBatch. The batch's offsets
// are committed only after the ledger answered and its answer is recorded;
// a batch seen again changes nothing.
import { fromBinary } from "@bufbuild/protobuf";
import { type ExecutionEvent, ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { consumeTraced, forEachConcurrently, type Logger, observeConsumer } from "@kuku/platform";
import type { Kafka, KafkaMessage } from "kafkajs";
import { reportFromProto } from "../app/convert.js";
import type { Settlement } from "../app/settlement.js";

export const EXECUTIONS_TOPIC = EXCHANGE_EXECUTIONS.name;

/**
 * Orders of one batch recorded at once: each is a read or two, or one
 * transaction, so this many keep the pool (24) busy without queueing
 * behind each other.
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

/**
 * One batch: the events of our orders recorded, grouped per order, the
 * orders concurrently; then the ledger work of all of them in ONE
 * SubmitBatch, inside the span of the batch's last event of ours.
 */
async function applyBatch(topic: string, messages: readonly KafkaMessage[], options: ExecutionsConsumerOptions): Promise<void> {
  const { groupId, settlement, logger } = options;
  const events = messages.map((message) => ({ message, event: fromBinary(ExecutionEventSchema, message.value!) }));
  const ours = await options.oursAmong([...new Set(events.map((e) => e.event.clientOrderId))]);
  // Not the market maker's, nor another broker's.
  const ourEvents = events.filter((e) => ours.has(e.event.clientOrderId));
  const last = ourEvents.pop();
  if (last === undefined) return;
  const byOrder = new Map<string, { message: KafkaMessage; event: ExecutionEvent }[]>();
  for (const e of ourEvents) {
    const list = byOrder.get(e.event.clientOrderId);
    if (list === undefined) byOrder.set(e.event.clientOrderId, [e]);
    else list.push(e);
  }
  const record = async ({ event }: { event: ExecutionEvent }) => {
    // Without a fill (an expiry, a trigger) the event carries only the status: older news than a fill moves nothing.
    const report = reportFromProto(event.status, "", event.fill === undefined ? [] : [event.fill], event.quantity);
    await settlement.record(event.clientOrderId, report, event.eventId);
    logger.debug({ orderId: event.clientOrderId, eventId: event.eventId }, "execution event applied");
  };
  const failures: unknown[] = [];
  await forEachConcurrently([...byOrder.values()], ORDERS_IN_FLIGHT, async (orderEvents) => {
    try {
      for (const e of orderEvents) {
        await consumeTraced(groupId, topic, e.message, () => record(e));
      }
    } catch (error) {
      failures.push(error);
    }
  });
  // Nothing is settled while an event is unrecorded: the batch comes again, and what was recorded stays recorded.
  if (failures.length > 0) throw failures[0];
  const orderIds = [...new Set([...byOrder.keys(), last.event.clientOrderId])];
  await consumeTraced(groupId, topic, last.message, async () => {
    await record(last);
    const { applied, refused } = await settlement.settleOrders(orderIds);
    logger.debug({ orderIds, applied, refused }, "batch settled");
  });
}
