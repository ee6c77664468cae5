// The exchange as a real process with the real Kafka: orders, the market
// maker's liquidity, the truth from OrderStatus, and every fault mode.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ExecutionEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, run, type ServiceProcess, startServiceProcess, type TestDatabase, TOOLS_BIN } from "@kuku/testkit";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import t from "tap";
import { id, kiaAt95000, order } from "./support/orders.js";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));
const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");

let db: TestDatabase;
let service: ServiceProcess;
let client: ReturnType<typeof createServiceClient<typeof api.ExchangeService>>;
t.before(async () => {
  db = await createTestDatabase("exchange");
  service = await startServiceProcess({ cwd: SERVICE_DIR, env: { EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: db.url, LOG_LEVEL: "info" } });
  client = createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 10_000 });
});
t.teardown(async () => {
  await service.stop("SIGTERM");
  await db.drop();
});

const setFault = (mode: api.FaultMode, percent = 100, delayMs = 0) => client.setFaultMode({ mode, percent, delayMs });
t.afterEach(() => setFault(api.FaultMode.NONE));

/** Every execution event on the topic for these client order ids, as (event id, client order id, venue quantity). */
async function executionEvents(clientOrderIds: readonly string[], expected: number) {
  const kafka = new Kafka({ clientId: "exchange-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: id("exchange-test") });
  await consumer.connect();
  await consumer.subscribe({ topic: "exchange.executions", fromBeginning: true });
  const wanted = new Set(clientOrderIds);
  const seen: { eventId: string; clientOrderId: string; quantity: bigint }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`saw ${seen.length} of ${expected} execution events`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const event = fromBinary(ExecutionEventSchema, message.value!);
          if (!wanted.has(event.clientOrderId)) return;
          seen.push({ eventId: event.eventId, clientOrderId: event.clientOrderId, quantity: event.quantity });
          if (seen.length >= expected) {
            clearTimeout(timer);
            // Linger a little: more than expected would be a bug too.
            setTimeout(resolve, 1_000);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

t.test("grpcurl sees the service; the instrument master carries KRX limits", async (t) => {
  const list = await run(`${TOOLS_BIN}/grpcurl`, ["-plaintext", `127.0.0.1:${service.port}`, "list"]);
  t.match(list.stdout, "kuku.exchange.v1.ExchangeService");
  const { instruments } = await client.listInstruments({});
  const samsung = instruments.find((i) => i.symbol === "005930");
  t.same([samsung?.referencePriceKrw, samsung?.lowerLimitKrw, samsung?.upperLimitKrw], [70_000n, 49_000n, 91_000n]);
});

t.test("a market buy fills against the market maker; a resubmission does not trade again", async (t) => {
  const clientOrderId = id("buy");
  const first = await client.submitOrder(order(clientOrderId));
  t.equal(first.status, api.ExchangeOrderStatus.FILLED);
  t.equal(
    first.fills.reduce((s, f) => s + f.quantity, 0n),
    10n,
  );
  t.ok(
    first.fills.every((f) => f.priceKrw >= 70_100n && f.executionId.endsWith("-B")),
    "bought at the ask",
  );
  const again = await client.submitOrder(order(clientOrderId));
  t.same(
    again.fills.map((f) => f.executionId),
    first.fills.map((f) => f.executionId),
    "the same answer",
  );
  const status = await client.orderStatus({ clientOrderId });
  t.equal(status.filledQuantity, 10n);
  t.equal(status.remainingQuantity, 0n);
  const events = await executionEvents([clientOrderId], first.fills.length);
  t.equal(events.length, first.fills.length, "one execution event per fill, none for the resubmission");
});

t.test("limit orders rest until cancelled; an unknown id is fenced by cancel", async (t) => {
  const clientOrderId = id("rest");
  const placed = await client.submitOrder(order(clientOrderId, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 60_000n }));
  t.equal(placed.status, api.ExchangeOrderStatus.ACCEPTED);
  t.equal(placed.remainingQuantity, 10n);
  const cancelled = await client.cancelOrder({ clientOrderId });
  t.same([cancelled.status, cancelled.cancelledQuantity], [api.ExchangeOrderStatus.CANCELLED, 10n]);
  const lost = id("lost");
  t.equal((await client.orderStatus({ clientOrderId: lost })).status, api.ExchangeOrderStatus.NOT_FOUND);
  t.equal((await client.cancelOrder({ clientOrderId: lost })).status, api.ExchangeOrderStatus.REJECTED);
  const late = await client.submitOrder(order(lost));
  t.equal(late.status, api.ExchangeOrderStatus.REJECTED, "a fenced order arriving late never trades");
  t.equal(late.fills.length, 0);
});

t.test(
  "an amendment is capped by what its original filled meanwhile: the answer, OrderStatus and the event say the venue quantity",
  async (t) => {
    const original = id("original");
    t.equal((await client.submitOrder(kiaAt95000(original, Side.BUY, 10n))).quantity, 10n);
    await client.submitOrder(kiaAt95000(id("seller"), Side.SELL, 3n, { timeInForce: TimeInForce.IOC })); // k = 3, unknown to the broker
    const amended = id("amended");
    const answer = await client.submitOrder(kiaAt95000(amended, Side.BUY, 8n, { amendsClientOrderId: original, amendsFilledQuantity: 0n }));
    t.same(
      [answer.status, answer.quantity, answer.remainingQuantity],
      [api.ExchangeOrderStatus.ACCEPTED, 5n, 5n],
      "8 asked, 3 filled since",
    );
    const before = await client.orderStatus({ clientOrderId: original });
    t.same([before.status, before.quantity, before.filledQuantity], [api.ExchangeOrderStatus.CANCELLED, 10n, 3n]);
    const taken = await client.submitOrder(kiaAt95000(id("seller"), Side.SELL, 6n, { timeInForce: TimeInForce.IOC }));
    t.equal(
      taken.fills.reduce((n, f) => n + f.quantity, 0n),
      5n,
      "the replacement traded its 5, not 6",
    );
    const status = await client.orderStatus({ clientOrderId: amended });
    t.same([status.status, status.quantity, status.filledQuantity], [api.ExchangeOrderStatus.FILLED, 5n, 5n]);
    t.equal((await client.orderStatus({ clientOrderId: id("unknown") })).quantity, 0n, "0 when not found");
    t.same(
      (await executionEvents([amended], 1)).map((e) => e.quantity),
      [5n],
      "its execution event carries the capped quantity",
    );

    // The batched path reads the figure too: k = 4 >= Q = 3 leaves nothing; a broker ahead of the venue is refused.
    const second = id("second");
    await client.submitOrder(kiaAt95000(second, Side.BUY, 10n));
    await client.submitOrder(kiaAt95000(id("seller"), Side.SELL, 4n, { timeInForce: TimeInForce.IOC }));
    const { results } = await client.submitOrders({
      batchId: id("batch"),
      orders: [
        kiaAt95000(id("ahead"), Side.BUY, 8n, { amendsClientOrderId: second, amendsFilledQuantity: 5n }),
        kiaAt95000(id("nothing-left"), Side.BUY, 3n, { amendsClientOrderId: second, amendsFilledQuantity: 0n }),
      ],
    });
    const [ahead, nothingLeft] = results.map((r) => (r.result.case === "order" ? r.result.value : undefined));
    t.equal(ahead?.status, api.ExchangeOrderStatus.REJECTED);
    t.match(ahead?.rejectReason, /more than .* has filled \(4\)/);
    t.same([nothingLeft?.status, nothingLeft?.quantity, nothingLeft?.fills.length], [api.ExchangeOrderStatus.CANCELLED, 0n, 0]);
    const withdrawn = await client.orderStatus({ clientOrderId: second });
    t.same([withdrawn.status, withdrawn.filledQuantity, withdrawn.remainingQuantity], [api.ExchangeOrderStatus.CANCELLED, 4n, 0n]);
  },
);

t.test("SubmitOrders: each order answered as its SubmitOrder would be, the new ones in one journal write", async (t) => {
  const earlier = id("earlier");
  const first = await client.submitOrder(order(earlier, { quantity: 1n }));
  const fresh = [id("batch-buy"), id("batch-rest"), id("batch-tick")];
  const { results } = await client.submitOrders({
    batchId: id("batch"),
    orders: [
      order(fresh[0]!, { quantity: 2n }),
      order(earlier, { quantity: 1n }),
      order(fresh[1]!, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 60_000n }),
      order(fresh[2]!, { type: OrderType.LIMIT, priceKrw: 70_050n }),
    ],
  });
  const answers = results.map((r) => (r.result.case === "order" ? r.result.value : undefined));
  t.same(
    answers.map((a) => [a?.clientOrderId, a?.status]),
    [
      [fresh[0], api.ExchangeOrderStatus.FILLED],
      [earlier, api.ExchangeOrderStatus.FILLED],
      [fresh[1], api.ExchangeOrderStatus.ACCEPTED],
      [fresh[2], api.ExchangeOrderStatus.REJECTED],
    ],
    "in the order of the request",
  );
  t.same(
    answers[1]?.fills.map((f) => f.executionId),
    first.fills.map((f) => f.executionId),
    "a repeat answers its first record and trades nothing",
  );
  t.match(answers[3]?.rejectReason, /off the tick ladder/);
  t.equal((await client.orderStatus({ clientOrderId: fresh[1]! })).remainingQuantity, 10n, "the resting one is on the book");
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  t.teardown(() => admin.end());
  const { rows } = await admin.query<{ writes: number; commands: number }>(
    `SELECT count(DISTINCT entered_at)::int AS writes, count(*)::int AS commands FROM exchange_commands
     WHERE kind = 'submit' AND (payload::text LIKE '%' || $1 || '%' OR payload::text LIKE '%' || $2 || '%' OR payload::text LIKE '%' || $3 || '%')`,
    fresh,
  );
  t.same(rows[0], { writes: 1, commands: 3 }, "the three new orders were journalled by one write");
  await client.cancelOrder({ clientOrderId: fresh[1]! });
});

t.test("SubmitOrders: bounded, distinct ids, every order checked; DOWN fails the call, SILENT leaves each order unanswered", async (t) => {
  const batch = (orders: api.SubmitOrderRequest[]) => client.submitOrders({ batchId: id("batch"), orders });
  await t.rejects(batch([]), { code: Code.InvalidArgument, message: /orders/ });
  const same = id("same");
  await t.rejects(batch([order(same), order(same)]), { code: Code.InvalidArgument, message: /distinct/ });
  await t.rejects(batch([order(id("ok")), order(id("bad"), { symbol: "SAMSUNG" })]), { code: Code.InvalidArgument, message: /symbol/ });
  const many = Array.from({ length: 1025 }, (_, i) => order(`many-${i}-${randomUUID().slice(0, 8)}`));
  await t.rejects(batch(many), { code: Code.InvalidArgument, message: /orders/ });
  await setFault(api.FaultMode.DOWN);
  await t.rejects(batch([order(id("down"))]), { code: Code.Unavailable });
  await setFault(api.FaultMode.SILENT);
  const silent = id("silent");
  const { results } = await batch([order(silent, { quantity: 1n })]);
  t.same(
    results.map((r) => (r.result.case === "error" ? r.result.value.code : undefined)),
    [Code.DeadlineExceeded],
    "no answer for that order",
  );
  await setFault(api.FaultMode.NONE);
  t.equal((await client.orderStatus({ clientOrderId: silent })).status, api.ExchangeOrderStatus.FILLED, "it did trade");
});

t.test("bad orders: contract violations are INVALID_ARGUMENT, market rules are REJECTED with the reason", async (t) => {
  await t.rejects(client.submitOrder(order(id("bad"), { symbol: "SAMSUNG" })), { code: Code.InvalidArgument, message: /symbol/ });
  const offTick = await client.submitOrder(order(id("tick"), { type: OrderType.LIMIT, priceKrw: 70_050n }));
  t.equal(offTick.status, api.ExchangeOrderStatus.REJECTED);
  t.match(offTick.rejectReason, /off the tick ladder \(tick 100\)/);
});

t.test("closing the session expires resting orders, says so on Kafka, and reopens with fresh quotes", async (t) => {
  const clientOrderId = id("day");
  await client.submitOrder(order(clientOrderId, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 60_000n }));
  const closed = await client.closeSession({});
  t.ok(closed.expiredOrders >= 1n, `${closed.expiredOrders} orders expired (the market maker's too)`);
  t.equal((await client.orderStatus({ clientOrderId })).status, api.ExchangeOrderStatus.EXPIRED);
  const events = await executionEvents([clientOrderId], 1);
  t.equal(events.length, 1, "one event for the expiry");
  t.equal((await client.submitOrder(order(id("next-day"), { quantity: 1n }))).status, api.ExchangeOrderStatus.FILLED, "liquidity again");
});

t.test("fault REJECT: refused, and OrderStatus agrees", async (t) => {
  await setFault(api.FaultMode.REJECT);
  const clientOrderId = id("reject");
  const r = await client.submitOrder(order(clientOrderId));
  t.equal(r.status, api.ExchangeOrderStatus.REJECTED);
  t.match(r.rejectReason, /fault mode REJECT/);
  t.equal((await client.orderStatus({ clientOrderId })).status, api.ExchangeOrderStatus.REJECTED);
});

t.test("fault SILENT: the order trades but the caller never hears back; OrderStatus tells the truth", async (t) => {
  await setFault(api.FaultMode.SILENT);
  const clientOrderId = id("silent");
  const started = Date.now();
  await t.rejects(client.submitOrder(order(clientOrderId), { timeoutMs: 500 }), { code: Code.DeadlineExceeded });
  t.ok(Date.now() - started >= 450, "waited for the deadline");
  const status = await client.orderStatus({ clientOrderId });
  t.equal(status.status, api.ExchangeOrderStatus.FILLED, "it did trade");
  t.equal(status.filledQuantity, 10n);
});

t.test("fault DUPLICATE: executions are delivered twice, with the same event ids", async (t) => {
  await setFault(api.FaultMode.DUPLICATE);
  const clientOrderId = id("dup");
  const r = await client.submitOrder(order(clientOrderId, { quantity: 1n }));
  t.equal(r.fills.length, 1);
  const events = await executionEvents([clientOrderId], 2);
  t.equal(events.length, 2);
  t.equal(events[0]?.eventId, events[1]?.eventId, "a consumer can recognise the copy");
});

t.test("fault DELAY and DOWN", async (t) => {
  await setFault(api.FaultMode.DELAY, 100, 300);
  const started = Date.now();
  await client.submitOrder(order(id("slow"), { quantity: 1n }));
  t.ok(Date.now() - started >= 290, `answered after the delay (${Date.now() - started} ms)`);
  await setFault(api.FaultMode.DOWN);
  await t.rejects(client.submitOrder(order(id("down"))), { code: Code.Unavailable });
  await t.rejects(client.orderStatus({ clientOrderId: "x" }), { code: Code.Unavailable });
  await setFault(api.FaultMode.NONE);
  t.equal((await client.submitOrder(order(id("up"), { quantity: 1n }))).status, api.ExchangeOrderStatus.FILLED, "back up");
  await t.rejects(setFault(api.FaultMode.DELAY, 100, 0), { code: Code.InvalidArgument, message: /delay_ms/ });
});
