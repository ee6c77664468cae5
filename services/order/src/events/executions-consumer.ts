// Executions from the exchange (fills of resting orders arrive only here).
// Each event is applied through the same idempotent path as an RPC answer,
// and its event id is recorded in the same transaction as the fill.
import { fromBinary } from "@bufbuild/protobuf";
import type { Kafka } from "kafkajs";
import { ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import type { Logger } from "@kuku/platform";
import { reportFromProto } from "../app/convert.js";
import type { Orders } from "../app/orders.js";

export const EXECUTIONS_TOPIC = "exchange.executions";

export async function startExecutionsConsumer(kafka: Kafka, orders: Orders, isOurs: (orderId: string) => Promise<boolean>, logger: Logger) {
  // A crashed replica's partitions wait for its session to time out: keep that short.
  const consumer = kafka.consumer({ groupId: "kuku-order", sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: EXECUTIONS_TOPIC, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = fromBinary(ExecutionEventSchema, message.value!);
      const fill = event.fill;
      if (fill === undefined || !(await isOurs(fill.clientOrderId))) return; // the market maker's, or another broker's
      // A throw here makes kafkajs retry the message: nothing is committed past it.
      await orders.applyReport(fill.clientOrderId, reportFromProto(event.status, "", [fill]), event.eventId);
      logger.debug({ orderId: fill.clientOrderId, executionId: fill.executionId }, "execution applied");
    },
  });
  return consumer;
}
