// Executions from the exchange (fills of resting orders arrive only here).
// Each event is applied through the same idempotent path as an RPC answer,
// and its event id is recorded in the same transaction as the fill.
import { fromBinary } from "@bufbuild/protobuf";
import { ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { consumeTraced, type Logger, observeConsumer } from "@kuku/platform";
import type { Kafka } from "kafkajs";
import { reportFromProto } from "../app/convert.js";
import type { Settlement } from "../app/settlement.js";

export const EXECUTIONS_TOPIC = EXCHANGE_EXECUTIONS.name;

/**
 * Every replica of one order service shares `groupId` (and the database).
 * A brand-new group starts at the topic's end; an existing one resumes from
 * its committed offsets, so a restart misses nothing.
 */
export async function startExecutionsConsumer(
  kafka: Kafka,
  groupId: string,
  topic: string,
  settlement: Settlement,
  isOurs: (orderId: string) => Promise<boolean>,
  logger: Logger,
) {
  // A crashed replica's partitions wait for its session to time out: keep that short.
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
    logger.info({ groupId, memberId: payload.memberId }, "executions consumer joined"),
  );
  observeConsumer(consumer, groupId, logger);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: ({ topic, message }) =>
      consumeTraced(groupId, topic, message, async () => {
        const event = fromBinary(ExecutionEventSchema, message.value!);
        // Without a fill (an expiry) the event carries only the status.
        const orderId = event.clientOrderId;
        if (!(await isOurs(orderId))) return; // the market maker's, or another broker's
        // A throw here makes kafkajs retry the message: nothing is committed past it.
        await settlement.applyReport(
          orderId,
          reportFromProto(event.status, "", event.fill === undefined ? [] : [event.fill]),
          event.eventId,
        );
        logger.debug({ orderId, eventId: event.eventId }, "execution event applied");
      }),
  });
  return consumer;
}
