// A stop's trigger reaches the order service as the venue's own event:
// against real ledger, exchange and order processes (PostgreSQL, Kafka),
// with the reconciler out of the way, a stop-limit that another user's trade
// triggers and that rests unfilled shows ACCEPTED; a trigger's word arriving
// after a fill (late, or again) changes nothing.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { ExchangeOrderStatus } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import t from "tap";
import { eventually, newUser, type OrderOverrides, orderRequest, startStack } from "./support/stack.js";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
const GROUP = `stop-trigger-${randomUUID().slice(0, 8)}`;

// The reconciler every ten minutes: only the venue's event can move a waiting stop here.
const stack = await startStack({ exchangeTimeoutMs: 2_000, reconcileIntervalMs: 600_000, orderEnv: { ORDER_CONSUMER_GROUP: GROUP } });
t.teardown(() => stack.stop());
const { orders } = stack;

const place = (userId: string, overrides: OrderOverrides) => orders.placeOrder(orderRequest(userId, overrides));
const orderOf = async (o: api.Order) => (await orders.getOrder({ orderId: o.orderId, userId: o.userId })).order!;
const statesOf = async (o: api.Order) =>
  (await orders.listOrderTransitions({ orderId: o.orderId, userId: o.userId })).transitions.map((x) => x.toState);
const stopLimit = (quantity: bigint, limitPriceKrw: bigint): OrderOverrides => ({
  type: OrderType.STOP_LIMIT,
  timeInForce: TimeInForce.DAY,
  quantity,
  limitPriceKrw,
  stopPriceKrw: 70_000n,
});

t.test("a stop-limit triggered by another user's trade shows ACCEPTED, resting unfilled, without a reconcile", async (t) => {
  const userId = await newUser(stack, 20_000_000n);
  const other = await newUser(stack, 10_000_000n);
  const { order: resting } = await place(userId, stopLimit(2n, 65_000n));
  // Its limit is far above the ask: triggered, it takes what is offered and rests with the rest.
  const { order: taking } = await place(userId, stopLimit(100n, 91_000n));
  t.equal(resting?.state, api.OrderState.WAITING, "no trade yet in this venue: the stop waits");
  t.equal(taking?.state, api.OrderState.WAITING);

  const { order: trade } = await place(other, { quantity: 1n, waitSettledMs: 15_000 });
  t.equal(trade?.filledQuantity, 1n, "another user's market buy trades at the ask, at or above the stop");

  await eventually("the resting stop-limit is ACCEPTED", async () => (await orderOf(resting!)).state === api.OrderState.ACCEPTED, 30_000);
  const accepted = await orderOf(resting!);
  t.equal(accepted.filledQuantity, 0n, "unfilled");
  t.same(await statesOf(resting!), [api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.WAITING, api.OrderState.ACCEPTED]);
  const venue = await stack.exchange.orderStatus({ clientOrderId: resting!.orderId });
  t.equal(venue.status, ExchangeOrderStatus.ACCEPTED, "the venue's own record agrees");

  await eventually("the taking stop-limit has its fills", async () => (await orderOf(taking!)).filledQuantity > 0n, 30_000);
  const before = await orderOf(taking!);
  const transitionsBefore = await statesOf(taking!);
  t.notOk(transitionsBefore.includes(api.OrderState.ACCEPTED), "its trigger came after its fills and moved nothing back");

  // The trigger's word again, late: the original event id (a redelivery) and a new one (a late copy).
  const producer = new Kafka({ clientId: "stop-trigger-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  // An execution id is "<session>-<symbol>-<trade>-<side>" (the exchange's engine.ts): the trigger's id is "<session>-triggered-<order>".
  const { fills } = await stack.exchange.orderStatus({ clientOrderId: taking!.orderId });
  const session = fills[0]!.executionId.split("-")[0]!;
  const topic = `${stack.kafkaTopicPrefix}${EXCHANGE_EXECUTIONS.name}`;
  const late = (eventId: string) =>
    Buffer.from(
      toBinary(
        ExecutionEventSchema,
        create(ExecutionEventSchema, {
          eventId,
          status: ExchangeOrderStatus.ACCEPTED,
          remainingQuantity: 100n,
          clientOrderId: taking!.orderId,
        }),
      ),
    );
  const [sent] = await producer.send({
    topic,
    messages: [`${session}-triggered-${taking!.orderId}`, `late-${randomUUID()}`].map((id) => ({ key: taking!.orderId, value: late(id) })),
  });
  const admin = new Kafka({ clientId: "stop-trigger-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const lastOffset = BigInt(sent!.baseOffset!) + 1n;
  await eventually(
    "the order service consumed the late events",
    async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: GROUP, topics: [topic] });
      const committed = offsets!.partitions.find((p) => p.partition === sent!.partition)!.offset;
      return BigInt(committed) > lastOffset;
    },
    30_000,
  );
  const after = await orderOf(taking!);
  t.equal(after.filledQuantity, before.filledQuantity, "no fill undone");
  t.not(after.state, api.OrderState.ACCEPTED, "a fill arrived first: ACCEPTED is older news");
  t.same((await statesOf(taking!)).slice(0, transitionsBefore.length), transitionsBefore, "no step back");

  const working = [accepted, after].filter((o) => [api.OrderState.ACCEPTED, api.OrderState.PARTIALLY_FILLED].includes(o.state));
  for (const o of working) t.equal((await orders.cancelOrder({ orderId: o.orderId, userId })).order?.state, api.OrderState.CANCELLED);
  const integrity = await stack.ledger.verifyIntegrity({});
  t.equal(integrity.discrepancies.length, 0, "the ledger verifies clean");
});
