// The order flow across real processes: ledger, exchange and order services,
// PostgreSQL and Kafka. Money is checked in the ledger after every scenario.
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderEventSchema } from "@kuku/contracts/kuku/order/v1/events_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { Kafka, logLevel } from "kafkajs";
import t from "tap";
import { eventually, newUser as newUserIn, type OrderOverrides, orderRequest, startStack } from "./support/stack.js";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");

// The exchange gets the production deadline: on a loaded CI machine a healthy SubmitOrder took
// 400-490 ms, and a shorter deadline turned normal orders UNKNOWN.
const stack = await startStack({ exchangeTimeoutMs: 2_000, reconcileIntervalMs: 200 });
t.teardown(() => stack.stop());
const { ledger: ledgerClient, exchange: exchangeClient, orders } = stack;
const newUser = (cashKrw: bigint) => newUserIn(stack, cashKrw);

async function balance(userId: string, asset: string) {
  const { balances } = await ledgerClient.getBalances({ ownerId: userId });
  const b = balances.find((x) => x.asset === asset);
  return { totalMinor: b?.totalMinor ?? 0n, heldMinor: b?.heldMinor ?? 0n };
}

const place = (userId: string, overrides: OrderOverrides = {}) => orders.placeOrder(orderRequest(userId, overrides));

/** The old answer, asked for: PlaceOrder waits until the order is settled or resting. */
const placeSettled = (userId: string, overrides: OrderOverrides = {}) => place(userId, { waitSettledMs: 15_000, ...overrides });

const stateOf = async (order: api.Order) => (await orders.getOrder({ orderId: order.orderId, userId: order.userId })).order!.state;

t.afterEach(async () => {
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.NONE });
  const integrity = await ledgerClient.verifyIntegrity({});
  if (integrity.discrepancies.length > 0) throw new Error(`ledger discrepancies: ${JSON.stringify(integrity.discrepancies)}`);
});

t.test("a market buy is answered at acceptance, then settles through the ledger and releases the rest of its hold", async (t) => {
  const userId = await newUser(10_000_000n);
  const { order: accepted } = await place(userId);
  // The executions consumer may have settled it already, in the moment between the exchange's publish and its answer.
  t.ok([api.OrderState.FILLED, api.OrderState.SETTLED].includes(accepted!.state), "answered with the exchange's immediate fill");
  t.equal(accepted?.filledQuantity, 10n);
  await eventually("the order settles", async () => (await stateOf(accepted!)) === api.OrderState.SETTLED);
  const order = (await orders.getOrder({ orderId: accepted!.orderId, userId })).order;
  t.equal(order?.state, api.OrderState.SETTLED);
  t.equal(order?.filledQuantity, 10n);
  const notionalKrw = order!.filledNotionalKrw;
  t.ok(notionalKrw >= 701_000n, `bought at the market maker's ask (${notionalKrw} won)`);
  const cash = await balance(userId, "KRW");
  t.equal(cash.totalMinor, 10_000_000n - notionalKrw - order!.feesKrw, "paid notional + fee, exactly");
  t.equal(cash.heldMinor, 0n, "nothing left on hold");
  t.equal((await balance(userId, "005930")).totalMinor, 10n, "owns the shares");
  const transitions = await orders.listOrderTransitions({ orderId: order!.orderId, userId });
  t.same(
    transitions.transitions.map((x) => x.toState),
    [api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.FILLED, api.OrderState.SETTLED],
  );
});

t.test("asked to wait, PlaceOrder answers the settled order (the old behaviour)", async (t) => {
  const userId = await newUser(10_000_000n);
  const request = orderRequest(userId, { quantity: 2n, waitSettledMs: 15_000 });
  const { order } = await orders.placeOrder(request);
  t.equal(order?.state, api.OrderState.SETTLED);
  const cash = await balance(userId, "KRW");
  t.equal(cash.totalMinor, 10_000_000n - order!.filledNotionalKrw - order!.feesKrw, "paid notional + fee, exactly");
  t.equal(cash.heldMinor, 0n, "nothing left on hold");
  t.equal((await balance(userId, "005930")).totalMinor, 2n, "owns the shares");
  const replay = await orders.placeOrder({ ...request, waitSettledMs: 0 });
  t.equal(replay.order?.orderId, order!.orderId, "a replay that waits differently is the same request");
  const { order: resting } = await placeSettled(userId, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 1n,
    limitPriceKrw: 65_000n,
  });
  t.equal(resting?.state, api.OrderState.ACCEPTED, "a resting order is answered once it rests, not after the wait");
  await orders.cancelOrder({ orderId: resting!.orderId, userId });
});

t.test("idempotency keys: a replay returns the same order and holds nothing twice", async (t) => {
  const userId = await newUser(10_000_000n);
  const request = orderRequest(userId, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, quantity: 3n, limitPriceKrw: 60_000n });
  const results = await Promise.all(Array.from({ length: 8 }, () => orders.placeOrder(request)));
  t.equal(new Set(results.map((r) => r.order!.orderId)).size, 1, "eight concurrent requests, one order");
  await eventually("the order rests at the exchange", async () => (await stateOf(results[0]!.order!)) === api.OrderState.ACCEPTED);
  t.equal((await balance(userId, "KRW")).heldMinor, 180_027n, "one hold: 3 x 60,000 + 0.015 % fee, rounded up");
  await t.rejects(orders.placeOrder({ ...request, quantity: 4n }), { code: Code.AlreadyExists, message: /idempotency_key/ });
  const cancelled = await orders.cancelOrder({ orderId: results[0]!.order!.orderId, userId });
  t.equal(cancelled.order?.state, api.OrderState.CANCELLED);
  t.equal((await balance(userId, "KRW")).heldMinor, 0n, "cancel released the hold");
  t.equal((await orders.placeOrder(request)).order?.state, api.OrderState.CANCELLED, "a replay after the fact tells the current state");
});

t.test("bad orders are refused with the field, and leave no hold", async (t) => {
  const userId = await newUser(1_000_000n);
  await t.rejects(place(userId, { quantity: 0n }), { code: Code.InvalidArgument, message: /quantity/ });
  await t.rejects(place(userId, { type: OrderType.LIMIT, limitPriceKrw: 70_050n }), {
    code: Code.InvalidArgument,
    message: /limit_price_krw: 70050 is not on the KRX tick ladder/,
  });
  await t.rejects(place(userId, { symbol: "999999" }), { code: Code.InvalidArgument, message: /symbol: 999999 is not listed/ });
  // Combinations the venue refuses are refused here, naming the field, before any hold.
  await t.rejects(place(userId, { type: OrderType.STOP, timeInForce: TimeInForce.DAY }), {
    code: Code.InvalidArgument,
    message: /stop_price_krw: a stop order needs one/,
  });
  await t.rejects(place(userId, { timeInForce: TimeInForce.GTC }), {
    code: Code.InvalidArgument,
    message: /time_in_force: a market order takes DAY, IOC, FOK/,
  });
  await t.rejects(place(userId, { type: OrderType.LIMIT, limitPriceKrw: 70_000n, stopPriceKrw: 69_000n }), {
    code: Code.InvalidArgument,
    message: /stop_price_krw: must be 0 for a limit order/,
  });
  await t.rejects(place(userId, { type: OrderType.STOP, timeInForce: TimeInForce.GTC, stopPriceKrw: 75_000n }), {
    code: Code.InvalidArgument,
    message: /time_in_force: a stop buy cannot be GTC/,
  });
  await t.rejects(place(userId, { type: 99 as OrderType }), { code: Code.InvalidArgument, message: /type/ });
  await t.rejects(place(userId, { quantity: 1_000n }), { code: Code.FailedPrecondition, message: /insufficient cash/ });
  await t.rejects(place(userId, { side: Side.SELL }), { code: Code.FailedPrecondition, message: /insufficient 005930 shares/ });
  t.same(await balance(userId, "KRW"), { totalMinor: 1_000_000n, heldMinor: 0n });
});

t.test("a resting order filled later learns of it through Kafka, and settles", async (t) => {
  const buyer = await newUser(10_000_000n);
  const seller = await newUser(10_000_000n);
  await placeSettled(seller, { quantity: 5n }); // the seller buys shares from the market maker first (settled: the sale holds them)
  const { order: bid } = await place(buyer, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 5n,
    limitPriceKrw: 70_000n,
  });
  t.equal(bid?.state, api.OrderState.ACCEPTED, "best bid, resting");
  const { order: sold } = await place(seller, { side: Side.SELL, quantity: 5n });
  t.equal(sold?.filledNotionalKrw, 350_000n, "the seller hit our buyer's 70,000 bid");
  await eventually("the seller's order settles", async () => (await stateOf(sold!)) === api.OrderState.SETTLED);
  await eventually("the buyer's order settles", async () => (await stateOf(bid!)) === api.OrderState.SETTLED);
  t.equal((await balance(buyer, "005930")).totalMinor, 5n);
  t.same(await balance(buyer, "KRW"), { totalMinor: 10_000_000n - 350_000n - 53n, heldMinor: 0n }, "350,000 + 53 won fee");
  t.equal((await balance(seller, "005930")).totalMinor, 0n);
});

t.test("executions delivered twice (fault DUPLICATE) fill the order once", async (t) => {
  const buyer = await newUser(10_000_000n);
  const seller = await newUser(10_000_000n);
  await placeSettled(seller, { quantity: 3n });
  const { order: bid } = await place(buyer, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 3n,
    limitPriceKrw: 70_000n,
  });
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.DUPLICATE, percent: 100 });
  await place(seller, { side: Side.SELL, quantity: 3n });
  await eventually("the buyer's order settles", async () => (await stateOf(bid!)) === api.OrderState.SETTLED);
  const final = (await orders.getOrder({ orderId: bid!.orderId, userId: buyer })).order!;
  t.equal(final.filledQuantity, 3n, "filled once");
  t.equal((await balance(buyer, "005930")).totalMinor, 3n, "delivered once");
  t.same(await balance(buyer, "KRW"), { totalMinor: 10_000_000n - 210_000n - 32n, heldMinor: 0n }, "paid once");
});

t.test("no answer is UNKNOWN, never assumed; the reconciler finds the truth", async (t) => {
  const userId = await newUser(10_000_000n);
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.SILENT, percent: 100 });
  // A resting order produces no execution event: only the exchange's record can tell what became of it.
  const { order: resting } = await place(userId, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 2n,
    limitPriceKrw: 65_000n,
  });
  t.equal(resting?.state, api.OrderState.UNKNOWN, "accepted by the exchange, but nobody said so");
  t.equal((await balance(userId, "KRW")).heldMinor, 130_020n, "the hold stays while in doubt");
  // A market order that trades silently: its executions may reach us through Kafka before the timeout does.
  const { order: traded } = await place(userId, { quantity: 2n });
  t.ok([api.OrderState.UNKNOWN, api.OrderState.FILLED, api.OrderState.SETTLED].includes(traded!.state), "never assumed failed");
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.DOWN });
  const { order: lost } = await place(userId, { quantity: 1n });
  t.equal(lost?.state, api.OrderState.UNKNOWN, "UNAVAILABLE is not a rejection either: it may have arrived");
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.NONE });

  await eventually("the resting order is known to rest", async () => (await stateOf(resting!)) === api.OrderState.ACCEPTED);
  await eventually("the silent trade settles", async () => (await stateOf(traded!)) === api.OrderState.SETTLED);
  t.equal((await balance(userId, "005930")).totalMinor, 2n, "its shares arrived");
  await eventually("the order that never arrived is rejected", async () => (await stateOf(lost!)) === api.OrderState.REJECTED);
  const final = await orders.getOrder({ orderId: lost!.orderId, userId });
  t.match(final.order?.rejectReason, /never reached the exchange/);
  t.equal(
    (await exchangeClient.orderStatus({ clientOrderId: lost!.orderId })).status,
    exchange.ExchangeOrderStatus.REJECTED,
    "fenced at the exchange",
  );
  const { orders: all } = await orders.listOrders({ userId });
  t.same(all.map((o) => o.orderId).sort(), [resting!.orderId, traded!.orderId, lost!.orderId].sort(), "ListOrders shows all three");
  await orders.cancelOrder({ orderId: resting!.orderId, userId });
  await eventually("no hold is left", async () => (await balance(userId, "KRW")).heldMinor === 0n);
});

t.test("every transition reached Kafka through the outbox", async (t) => {
  const userId = await newUser(1_000_000n);
  const { order } = await place(userId, { quantity: 1n });
  const kafka = new Kafka({ clientId: "order-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `order-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${stack.kafkaTopicPrefix}order.events`, fromBeginning: true });
  const states: api.OrderState[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`saw ${states.length} events`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const event = fromBinary(OrderEventSchema, message.value!);
        if (event.order?.orderId !== order!.orderId) return;
        states.push(event.state);
        if (event.state === api.OrderState.SETTLED) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  t.same(states, [api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.FILLED, api.OrderState.SETTLED], "in order, once each");
});

t.test("a stop waits at the venue, held at the upper limit; a cancel releases it", async (t) => {
  const userId = await newUser(10_000_000n);
  const { order } = await place(userId, { type: OrderType.STOP, timeInForce: TimeInForce.DAY, quantity: 2n, stopPriceKrw: 90_000n });
  t.equal(order?.state, api.OrderState.WAITING, "visible as waiting");
  t.equal(order?.stopPriceKrw, 90_000n);
  t.equal(order?.holdMinor, 182_028n, "2 x the upper limit 91,000 + fee");
  t.equal((await balance(userId, "KRW")).heldMinor, 182_028n);
  const { order: cancelled } = await orders.cancelOrder({ orderId: order!.orderId, userId });
  t.equal(cancelled?.state, api.OrderState.CANCELLED);
  await eventually("the hold is released", async () => (await balance(userId, "KRW")).heldMinor === 0n);
  t.same(
    (await orders.listOrderTransitions({ orderId: order!.orderId, userId })).transitions.map((x) => x.toState),
    [api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.WAITING, api.OrderState.CANCEL_REQUESTED, api.OrderState.CANCELLED],
  );
});

t.test("a stop whose price has traded works at once as a market order, and settles", async (t) => {
  const userId = await newUser(10_000_000n);
  await placeSettled(userId, { quantity: 1n }); // a trade, so the venue has a last price (~70,100)
  const { order } = await placeSettled(userId, { type: OrderType.STOP, timeInForce: TimeInForce.DAY, quantity: 3n, stopPriceKrw: 60_000n });
  t.equal(order?.state, api.OrderState.SETTLED);
  t.equal(order?.filledQuantity, 3n);
  await eventually("nothing left on hold", async () => (await balance(userId, "KRW")).heldMinor === 0n);
  t.equal((await balance(userId, "005930")).totalMinor, 4n);
});

t.test("each KRX type goes through: best, top, conditional, FOK, stop-limit", async (t) => {
  const userId = await newUser(50_000_000n);
  const { order: best } = await placeSettled(userId, { type: OrderType.BEST_OPPOSITE, timeInForce: TimeInForce.IOC, quantity: 2n });
  t.equal(best?.state, api.OrderState.SETTLED, "최유리: takes the best ask");
  const { order: fok } = await placeSettled(userId, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.FOK,
    quantity: 1n,
    limitPriceKrw: 60_000n,
  });
  t.equal(fok?.state, api.OrderState.CANCELLED, "FOK below the ask: nothing fills, nothing rests");
  const { order: top } = await placeSettled(userId, { type: OrderType.BEST_SAME_SIDE, timeInForce: TimeInForce.DAY, quantity: 1n });
  t.equal(top?.state, api.OrderState.ACCEPTED, "최우선: rests at the best bid");
  t.equal(top?.holdMinor, 91_014n, "held at the upper limit, not at the price the venue gave it");
  const { order: conditional } = await placeSettled(userId, {
    type: OrderType.CONDITIONAL_LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 1n,
    limitPriceKrw: 65_000n,
  });
  t.equal(conditional?.state, api.OrderState.ACCEPTED, "조건부: a limit in continuous trading");
  t.equal(conditional?.holdMinor, 91_014n, "held at the upper limit: it may become a market order in the closing auction");
  const { order: stopLimit } = await placeSettled(userId, {
    type: OrderType.STOP_LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: 1n,
    limitPriceKrw: 80_000n,
    stopPriceKrw: 80_000n,
  });
  t.equal(stopLimit?.state, api.OrderState.WAITING);
  t.equal(stopLimit?.holdMinor, 80_012n, "held at its limit");
  for (const o of [top, conditional, stopLimit]) await orders.cancelOrder({ orderId: o!.orderId, userId });
  await eventually("every hold released", async () => (await balance(userId, "KRW")).heldMinor === 0n);
});

t.test("정정: an amendment replaces a working order; holds follow; the original ends CANCELLED", async (t) => {
  const userId = await newUser(1_000_000n);
  const amend = (orderId: string, change: { quantity: bigint; limitPriceKrw: bigint }, key = `amend-${randomUUID()}`) =>
    orders.amendOrder({ idempotencyKey: key, userId, orderId, stopPriceKrw: 0n, ...change });
  const { order: original } = await place(userId, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 5n,
    limitPriceKrw: 65_000n,
  });
  t.equal((await balance(userId, "KRW")).heldMinor, 325_049n);

  const key = `amend-${randomUUID()}`;
  const { order: smaller } = await amend(original!.orderId, { quantity: 3n, limitPriceKrw: 65_000n }, key);
  t.equal(smaller?.state, api.OrderState.ACCEPTED, "the venue took the amendment");
  t.equal(smaller?.amendsOrderId, original!.orderId);
  t.not(smaller?.orderId, original!.orderId, "an amendment has its own order id, as KRX gives it its own number");
  await eventually("the original is cancelled", async () => (await stateOf(original!)) === api.OrderState.CANCELLED);
  await eventually("only the replacement is held", async () => (await balance(userId, "KRW")).heldMinor === 195_030n);
  t.equal((await amend(original!.orderId, { quantity: 3n, limitPriceKrw: 65_000n }, key)).order?.orderId, smaller!.orderId, "a replay");
  await t.rejects(amend(original!.orderId, { quantity: 2n, limitPriceKrw: 65_000n }), {
    code: Code.FailedPrecondition,
    message: /is cancelled and cannot be amended/,
  });

  const { order: larger } = await amend(smaller!.orderId, { quantity: 4n, limitPriceKrw: 66_000n });
  t.equal(larger?.state, api.OrderState.ACCEPTED);
  await eventually("the increase is held, the old hold released", async () => (await balance(userId, "KRW")).heldMinor === 264_040n);
  await t.rejects(amend(larger!.orderId, { quantity: 4n, limitPriceKrw: 66_000n }), {
    code: Code.InvalidArgument,
    message: /quantity: the amendment changes/,
  });
  await t.rejects(amend(larger!.orderId, { quantity: 4n, limitPriceKrw: 66_050n }), {
    code: Code.InvalidArgument,
    message: /limit_price_krw: .*tick/,
  });
  await t.rejects(
    orders.amendOrder({
      idempotencyKey: `amend-${randomUUID()}`,
      userId: "someone-else",
      orderId: larger!.orderId,
      quantity: 1n,
      limitPriceKrw: 66_000n,
    }),
    { code: Code.NotFound },
    "another user's order is not there to amend",
  );
  // 16 at 66,000 needs 1,056,159 in all, 792,119 more than the shared hold's 264,040: beyond the 735,960 available.
  await t.rejects(amend(larger!.orderId, { quantity: 16n, limitPriceKrw: 66_000n }), {
    code: Code.FailedPrecondition,
    message: /insufficient cash/,
  });
  t.equal(await stateOf(larger!), api.OrderState.ACCEPTED, "a refused amendment leaves the order working");
  t.equal((await balance(userId, "KRW")).heldMinor, 264_040n, "and its hold as it was");
  // 14 at 66,000 (924,139) fits: the hold grows by the difference, 660,099 and a won for the commission's
  // rounding at the same price (amendmentTopUpMinor), rather than holding both orders (1,188,179).
  const { order: largest } = await amend(larger!.orderId, { quantity: 14n, limitPriceKrw: 66_000n });
  t.equal(largest?.holdMinor, 660_100n, "the amendment adds only what the original's part does not cover");
  t.equal(largest?.state, api.OrderState.ACCEPTED);
  await eventually("the swapped order gives its part back", async () => (await stateOf(larger!)) === api.OrderState.CANCELLED);
  t.equal((await balance(userId, "KRW")).heldMinor, 924_139n, "held: the replacement's worst case, exactly");

  const { order: crossing } = await amend(largest!.orderId, { quantity: 4n, limitPriceKrw: 75_000n });
  t.equal(crossing?.holdMinor, 0n, "fewer shares at a higher price, within what the original held: nothing added");
  t.ok([api.OrderState.FILLED, api.OrderState.SETTLED].includes(crossing!.state), "a price through the ask trades at once");
  await eventually("the crossing amendment settles", async () => (await stateOf(crossing!)) === api.OrderState.SETTLED);
  await eventually("nothing is held", async () => (await balance(userId, "KRW")).heldMinor === 0n);
  t.equal(await stateOf(largest!), api.OrderState.CANCELLED);
  const cash = await balance(userId, "KRW");
  const settled = (await orders.getOrder({ orderId: crossing!.orderId, userId })).order!;
  t.equal(cash.totalMinor, 1_000_000n - settled.filledNotionalKrw - settled.feesKrw, "paid for the replacement's fills, exactly");
  t.equal((await balance(userId, "005930")).totalMinor, 4n);
});

t.test(
  "정정 racing a fill: the venue caps the replacement by what the original filled meanwhile; the shared hold covers both",
  async (t) => {
    const userId = await newUser(2_000_000n);
    // KB Financial at 78,000: the market maker quotes from a tick either side, so this bid is the book's best.
    const symbol = "105560";
    const { order: original } = await place(userId, {
      symbol,
      type: OrderType.LIMIT,
      timeInForce: TimeInForce.DAY,
      quantity: 10n,
      limitPriceKrw: 78_000n,
    });
    t.equal(original?.state, api.OrderState.ACCEPTED);
    t.equal((await balance(userId, "KRW")).heldMinor, 780_117n);
    // The amendment (8 at 77,900, nothing added: the original's 10 at 78,000 cover it) is held up at the venue...
    await exchangeClient.setFaultMode({ mode: exchange.FaultMode.DELAY, delayMs: 1_500, percent: 100 });
    const amending = orders.amendOrder({
      idempotencyKey: `amend-${randomUUID()}`,
      userId,
      orderId: original!.orderId,
      quantity: 8n,
      limitPriceKrw: 77_900n,
      stopPriceKrw: 0n,
    });
    const sent = async () => (await orders.listOrders({ userId, states: [api.OrderState.SENT] })).orders.length === 1;
    await eventually("the amendment is on its way", sent);
    await exchangeClient.setFaultMode({ mode: exchange.FaultMode.NONE });
    // ...while another broker's sell takes 3 of the original: the order service counted 0 filled when it amended.
    const sell = await exchangeClient.submitOrder({
      clientOrderId: `other-broker-${randomUUID()}`,
      symbol,
      side: Side.SELL,
      type: OrderType.LIMIT,
      timeInForce: TimeInForce.DAY,
      quantity: 3n,
      priceKrw: 78_000n,
    });
    t.equal(sell.status, exchange.ExchangeOrderStatus.FILLED, "the sell met the original");
    const { order: answered } = await amending;
    t.equal(answered?.holdMinor, 0n, "the replacement added nothing to the hold");
    const replacement = (await orders.getOrder({ orderId: answered!.orderId, userId })).order!;
    await eventually("the replacement is taken", async () => (await stateOf(replacement)) === api.OrderState.ACCEPTED);
    const capped = (await orders.getOrder({ orderId: replacement.orderId, userId })).order!;
    t.equal(capped.quantity, 5n, "capped at 8 - 3: the two never buy more than the 8 asked for");
    await eventually("the original ends", async () => (await stateOf(original!)) === api.OrderState.CANCELLED);
    t.equal((await orders.getOrder({ orderId: original!.orderId, userId })).order?.filledQuantity, 3n);
    // 3 at 78,000 settled from the hold; what stays is the replacement's worst case: 5 x 77,900 + 59.
    await eventually("the hold is cut to the replacement's worst case", async () => (await balance(userId, "KRW")).heldMinor === 389_559n);
    await orders.cancelOrder({ orderId: replacement.orderId, userId });
    await eventually("nothing is held", async () => (await balance(userId, "KRW")).heldMinor === 0n);
    t.equal((await balance(userId, "KRW")).totalMinor, 2_000_000n - 234_000n - 36n, "paid for the 3 bought and their commission, exactly");
    t.equal((await balance(userId, symbol)).totalMinor, 3n);
  },
);

t.test("in doubt: a stop found waiting, an amendment found taken and its original followed, by the reconciler", async (t) => {
  const userId = await newUser(1_000_000n);
  const { order: original } = await place(userId, {
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    quantity: 2n,
    limitPriceKrw: 65_000n,
  });
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.SILENT, percent: 100 });
  const { order: stop } = await place(userId, { type: OrderType.STOP, timeInForce: TimeInForce.DAY, quantity: 1n, stopPriceKrw: 90_000n });
  t.equal(stop?.state, api.OrderState.UNKNOWN);
  const { order: replacement } = await orders.amendOrder({
    idempotencyKey: `amend-${randomUUID()}`,
    userId,
    orderId: original!.orderId,
    quantity: 1n,
    limitPriceKrw: 66_000n,
    stopPriceKrw: 0n,
  });
  // Unanswered: UNKNOWN, unless the reconciler has already read the venue's record (SENT past the exchange timeout).
  t.ok([api.OrderState.UNKNOWN, api.OrderState.ACCEPTED].includes(replacement!.state), "never assumed refused");
  await exchangeClient.setFaultMode({ mode: exchange.FaultMode.NONE });
  await eventually("the stop is found waiting", async () => (await stateOf(stop!)) === api.OrderState.WAITING);
  await eventually("the amendment is found taken", async () => (await stateOf(replacement!)) === api.OrderState.ACCEPTED);
  await eventually("the original is followed to its end", async () => (await stateOf(original!)) === api.OrderState.CANCELLED);
  const held = 91_014n + 66_010n; // the stop at the upper limit, the replacement at 66,000
  await eventually("the original's hold is released", async () => (await balance(userId, "KRW")).heldMinor === held);
  for (const o of [stop, replacement]) await orders.cancelOrder({ orderId: o!.orderId, userId });
  await eventually("no hold is left", async () => (await balance(userId, "KRW")).heldMinor === 0n);
});

t.test("at the close DAY orders (a waiting stop too) expire and release their holds; a GTC order stays until cancelled", async (t) => {
  const userId = await newUser(10_000_000n);
  const dayLimit = { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, quantity: 4n, limitPriceKrw: 65_000n };
  const { order } = await place(userId, dayLimit);
  t.equal(order?.state, api.OrderState.ACCEPTED);
  const { order: stop } = await place(userId, { type: OrderType.STOP, timeInForce: TimeInForce.DAY, quantity: 1n, stopPriceKrw: 90_000n });
  t.equal(stop?.state, api.OrderState.WAITING);
  const { order: gtc } = await place(userId, { ...dayLimit, timeInForce: TimeInForce.GTC, quantity: 2n });
  t.equal(gtc?.state, api.OrderState.ACCEPTED);
  const gtcHold = 130_020n; // 2 x 65,000 + fee
  await exchangeClient.closeSession({});
  await eventually("the DAY order expires", async () => (await stateOf(order!)) === api.OrderState.EXPIRED);
  await eventually("the stop expires", async () => (await stateOf(stop!)) === api.OrderState.EXPIRED);
  await eventually("their holds are released", async () => (await balance(userId, "KRW")).heldMinor === gtcHold);
  t.equal(await stateOf(gtc!), api.OrderState.ACCEPTED, "the GTC order survived the close");
  t.same(await balance(userId, "KRW"), { totalMinor: 10_000_000n, heldMinor: gtcHold }, "no money moved; the GTC hold stays");
  const { order: cancelled } = await orders.cancelOrder({ orderId: gtc!.orderId, userId });
  t.equal(cancelled?.state, api.OrderState.CANCELLED, "cancelled on the next day");
  await eventually("the GTC hold is released", async () => (await balance(userId, "KRW")).heldMinor === 0n);
  t.same(await balance(userId, "KRW"), { totalMinor: 10_000_000n, heldMinor: 0n });
});

t.test("the order service logged no error: every execution event was handled", async (t) => {
  // A message the consumer cannot handle is retried forever and blocks its partition: it shows up here.
  const errors = stack.orderProcess.logs.filter((line) => line.includes('"level":50'));
  t.same(errors, []);
});
