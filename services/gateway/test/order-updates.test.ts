// StreamOrderUpdates against real gateway, order, exchange and ledger
// processes, real Kafka and Redis: each user's order events arrive on their
// own stream only, each fill with its own price, quantity, fee and tax; a
// client that reconnects with its cursor gets exactly what it missed, across
// a gateway restart and a redelivery of the whole topic.
import { randomUUID } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createKafka } from "@kuku/platform";
import { tickSizeKrw } from "@kuku/platform/krx";
import { pino } from "pino";
import t from "tap";
import { eventually, signUp, startStack, untilSettled } from "./support/stack.js";

const stack = await startStack();
t.teardown(() => stack.stop());

type Trading = Client<typeof api.TradingService>;
const SYMBOL = "005930";
const { instruments } = await (await signUp(stack, "lookup")).trading.listInstruments({});
const REFERENCE = instruments.find((i) => i.symbol === SYMBOL)!.referencePriceKrw;

/** A stream call collecting what it receives until stopped; `ready` once its first message (the cursor) arrived. */
function follow(trading: Trading, afterCursor = "") {
  const abort = new AbortController();
  const messages: api.StreamOrderUpdatesResponse[] = [];
  let failure: ConnectError | undefined;
  const done = (async () => {
    try {
      for await (const m of trading.streamOrderUpdates({ afterCursor }, { signal: abort.signal })) messages.push(m);
    } catch (error) {
      if (!abort.signal.aborted) failure = ConnectError.from(error);
    }
  })();
  return {
    updates: () => messages.flatMap((m) => (m.update === undefined ? [] : [m.update])),
    cursor: () => messages.at(-1)?.cursor ?? "",
    failure: () => failure,
    ready: () => eventually("the stream is in place", () => messages.length > 0 || failure !== undefined),
    async stop() {
      abort.abort();
      await done;
    },
    done,
  };
}

async function funded(name: string, amountKrw = 50_000_000n) {
  const user = await signUp(stack, name);
  await user.trading.depositCash({ requestId: randomUUID(), amountKrw });
  return user;
}

const order = (side: Side, quantity: bigint, limitPriceKrw: bigint) => ({
  idempotencyKey: `key-${randomUUID()}`,
  symbol: SYMBOL,
  side,
  type: limitPriceKrw === 0n ? OrderType.MARKET : OrderType.LIMIT,
  timeInForce: limitPriceKrw === 0n ? TimeInForce.IOC : TimeInForce.DAY,
  quantity,
  limitPriceKrw,
});

const statesOf = (updates: readonly api.OrderUpdate[], orderId: string) =>
  updates.filter((u) => u.order?.orderId === orderId).map((u) => OrderState[u.state]);

t.test("each user's stream carries their own orders only, each fill with its own price, quantity, fee and tax", async (t) => {
  const alice = await funded("alice");
  const bob = await funded("bob");
  const aliceStream = follow(alice.trading);
  const bobStream = follow(bob.trading);
  await Promise.all([aliceStream.ready(), bobStream.ready()]);

  // Alice bids at the reference price, inside the market maker's spread; Bob sells into her bid twice.
  const bid = (await alice.trading.placeOrder(order(Side.BUY, 10n, REFERENCE))).order!;
  const bobBuy = (await bob.trading.placeOrder(order(Side.BUY, 10n, 0n))).order!;
  await untilSettled(bob.trading, bobBuy.orderId);
  const sell4 = (await bob.trading.placeOrder(order(Side.SELL, 4n, REFERENCE))).order!;
  await untilSettled(bob.trading, sell4.orderId);
  const sell6 = (await bob.trading.placeOrder(order(Side.SELL, 6n, REFERENCE))).order!;
  await untilSettled(bob.trading, sell6.orderId);
  await untilSettled(alice.trading, bid.orderId);
  await eventually("Alice's stream shows her bid settled", () => statesOf(aliceStream.updates(), bid.orderId).includes("SETTLED"));
  await eventually("Bob's shows his last sell settled", () => statesOf(bobStream.updates(), sell6.orderId).includes("SETTLED"));

  const aliceUpdates = aliceStream.updates();
  t.same(new Set(aliceUpdates.map((u) => u.order!.orderId)), new Set([bid.orderId]), "Alice sees her order, none of Bob's");
  t.same(
    new Set(bobStream.updates().map((u) => u.order!.orderId)),
    new Set([bobBuy.orderId, sell4.orderId, sell6.orderId]),
    "Bob sees his three, not Alice's",
  );
  t.same(
    statesOf(aliceUpdates, bid.orderId),
    ["RECEIVED", "SENT", "ACCEPTED", "PARTIALLY_FILLED", "FILLED", "SETTLED"].filter((s) =>
      statesOf(aliceUpdates, bid.orderId).includes(s),
    ),
    "in the order they happened",
  );
  for (const state of ["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "SETTLED"])
    t.ok(statesOf(aliceUpdates, bid.orderId).includes(state), state);
  const fills = aliceUpdates.filter((u) => u.fill !== undefined);
  t.same(
    fills.map((u) => [u.fill!.quantity, u.fill!.priceKrw, OrderState[u.state], OrderState[u.previousState]]),
    [
      [4n, REFERENCE, "PARTIALLY_FILLED", "ACCEPTED"],
      [6n, REFERENCE, "FILLED", "PARTIALLY_FILLED"],
    ],
    "a partial fill, then the fill that completes the order, each with its own quantity and price",
  );
  const settled = (await alice.trading.listOrders({})).orders.find((o) => o.orderId === bid.orderId)!;
  t.equal(
    fills.reduce((sum, u) => sum + u.fill!.feeKrw + u.fill!.taxKrw, 0n),
    settled.feesKrw,
    "the fills' fees add up to the order's",
  );
  t.ok(
    fills.every((u) => u.fill!.taxKrw === 0n && u.fill!.feeKrw > 0n),
    "a buy pays commission, no tax",
  );
  const bobSells = bobStream.updates().filter((u) => u.fill !== undefined && u.order!.side === Side.SELL);
  t.equal(bobSells.length, 2, "Bob's two sells each filled once");
  t.ok(
    bobSells.every((u) => u.fill!.taxKrw > 0n),
    "a sell pays the securities transaction tax, reported apart",
  );
  const ids = [...aliceUpdates, ...bobStream.updates()].map((u) => u.eventId);
  t.equal(new Set(ids).size, ids.length, "no event twice");
  await aliceStream.stop();
  await bobStream.stop();
});

t.test("another user's cursor is refused with PERMISSION_DENIED, a forged one with INVALID_ARGUMENT", async (t) => {
  const alice = await funded("alice");
  const mallory = await signUp(stack, "mallory");
  const aliceStream = follow(alice.trading);
  await aliceStream.ready();
  await alice.trading.placeOrder(order(Side.BUY, 1n, REFERENCE - 10n * tickSizeKrw(REFERENCE)));
  await eventually("Alice's order shows on her stream", () => aliceStream.updates().length > 0);
  await aliceStream.stop();
  for (const cursor of [aliceStream.cursor(), `${alice.userId}/0-0`]) {
    const stolen = follow(mallory.trading, cursor);
    await stolen.done;
    t.equal(stolen.failure()?.code, Code.PermissionDenied, `Mallory with ${cursor}`);
    t.same(stolen.updates(), [], "and nothing of Alice's");
  }
  for (const cursor of ["not-a-cursor", `${mallory.userId}/1-x`, `../${alice.userId}/0-0`]) {
    const forged = follow(mallory.trading, cursor);
    await forged.done;
    t.equal(forged.failure()?.code, Code.InvalidArgument, `a forged cursor ${cursor}`);
  }
  const anonymous = follow(stack.trading());
  await anonymous.done;
  t.equal(anonymous.failure()?.code, Code.Unauthenticated, "no token, no stream");
});

/** The gateway's consumer group, moved back to the start of order.events while no gateway is in it: Kafka redelivers everything. */
async function redeliverEverything(): Promise<void> {
  const kafka = createKafka({ clientId: "order-updates-test", brokers: ["127.0.0.1:9092"] }, pino({ level: "silent" }));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groupId = stack.gateway.logs.map((l) => /"groupId":"([^"]+)"/.exec(l)?.[1]).find((g) => g !== undefined)!;
    // The killed member leaves the group when its session times out; until then the group refuses the reset.
    await eventually(
      "the gateway's consumer group is empty and reset",
      () =>
        admin.resetOffsets({ groupId, topic: `${stack.kafkaTopicPrefix}order.events`, earliest: true }).then(
          () => true,
          () => false,
        ),
      30_000,
    );
  } finally {
    await admin.disconnect();
  }
}

t.test("a client that reconnects with its cursor gets exactly what it missed, across a gateway restart and a redelivery", async (t) => {
  const alice = await funded("alice");
  const first = follow(alice.trading);
  await first.ready();
  const start = first.cursor();
  const buy = async () => (await alice.trading.placeOrder(order(Side.BUY, 1n, 0n))).order!.orderId;
  const before = [await buy(), await buy()];
  for (const id of before) await untilSettled(alice.trading, id);
  await eventually("both show settled", () => before.every((id) => statesOf(first.updates(), id).includes("SETTLED")));
  await first.stop();

  // Disconnected: two more orders, then the gateway dies, and its group is sent back to the topic's start.
  const during = [await buy(), await buy()];
  for (const id of during) await untilSettled(alice.trading, id);
  await stack.restartGateway(redeliverEverything);
  const after = [await buy()];
  const resumed = follow(alice.trading, first.cursor());
  await resumed.ready();
  await untilSettled(alice.trading, after[0]!);
  await eventually("the resumed stream shows every order settled", () =>
    [...during, ...after].every((id) => statesOf(resumed.updates(), id).includes("SETTLED")),
  );
  await resumed.stop();
  t.ok(
    stack.gateway.logs.some((l) => l.includes("order events seen before skipped")),
    "the restarted gateway was handed the events again, and dropped them",
  );

  // The whole log, read from the first cursor: what one unbroken stream would have shown.
  const whole = follow(alice.trading, start);
  await eventually("the whole log is read", () => whole.updates().length >= first.updates().length + resumed.updates().length);
  await new Promise((r) => setTimeout(r, 500));
  await whole.stop();
  const ids = (us: readonly api.OrderUpdate[]) => us.map((u) => u.eventId);
  t.same([...ids(first.updates()), ...ids(resumed.updates())], ids(whole.updates()), "before + after the break = the whole, in order");
  t.equal(new Set(ids(whole.updates())).size, whole.updates().length, "no event twice, though Kafka delivered each again");
  t.same(new Set(whole.updates().map((u) => u.order!.orderId)), new Set([...before, ...during, ...after]), "every order is there");
  for (const id of [...before, ...during, ...after]) {
    const sequences = whole
      .updates()
      .filter((u) => u.order!.orderId === id)
      .map((u) => u.orderSequence);
    t.same(
      sequences,
      [...sequences].sort((a, b) => Number(a - b)),
      `order ${id.slice(0, 8)}: its events in its own order`,
    );
  }
});
