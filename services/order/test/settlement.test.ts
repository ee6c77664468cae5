// Batch settlement against real processes (ledger, exchange and order
// services, PostgreSQL, Kafka): a Kafka batch settled in one ledger
// SubmitBatch, sent again after a crash without moving anything twice, and
// one order's refused settlement leaving the rest of its batch settled.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { parsePrometheusText } from "@kuku/testkit";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import pg from "pg";
import t, { type Test } from "tap";
import { eventually, newUser, orderRequest, type Stack, startStack } from "./support/stack.js";

const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
const CASH_KRW = 10_000_000n;

async function withStack(t: Test, orderEnv: Record<string, string>): Promise<{ stack: Stack; db: pg.Pool }> {
  // Debug: the consumer's "batch settled" lines say what each batch did.
  const stack = await startStack({ exchangeTimeoutMs: 2_000, reconcileIntervalMs: 200, env: { LOG_LEVEL: "debug" }, orderEnv });
  const db = new pg.Pool({ connectionString: stack.orderDatabaseUrl, max: 2 });
  t.teardown(async () => {
    await db.end();
    await stack.stop();
  });
  return { stack, db };
}

const stateOf = async (stack: Stack, o: api.Order) => (await stack.orders.getOrder({ orderId: o.orderId, userId: o.userId })).order!;

/** Every balance of these users, by user and asset. */
async function balancesOf(stack: Stack, users: readonly string[]) {
  const all = await Promise.all(users.map((ownerId) => stack.ledger.getBalances({ ownerId })));
  return all.map(({ balances }, i) =>
    Object.fromEntries(balances.map((b) => [`${users[i]}/${b.asset}`, { total: b.totalMinor, held: b.heldMinor }])),
  );
}

interface BatchLog {
  readonly msg: string;
  readonly orderIds: string[];
  readonly applied: number;
  readonly refused: number;
  readonly orderId?: string;
  readonly reason?: string;
}

const logsOf = (stack: Stack): BatchLog[] =>
  stack.orderProcess.logs
    .flatMap((line) => line.split("\n"))
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as BatchLog);

async function integrity(stack: Stack) {
  const { discrepancies, entriesChecked } = await stack.ledger.verifyIntegrity({});
  return { discrepancies: discrepancies.length, entriesChecked };
}

t.test("a Kafka batch redelivered after a kill -9 of the order service settles nothing twice", async (t) => {
  const group = `kuku-order-settle-test-${randomUUID().slice(0, 8)}`;
  // The reconciler's grace is long: whatever is settled after the restart, the redelivered batch settled.
  const { stack, db } = await withStack(t, { ORDER_RECONCILE_SETTLE_GRACE_MS: "600000", ORDER_CONSUMER_GROUP: group });
  const users = await Promise.all(Array.from({ length: 4 }, () => newUser(stack, CASH_KRW)));
  // Limit IOC buys above the market maker's ask fill at once, for less than their hold: each order's
  // chain is its fills' settles and the release of the rest of its hold.
  const placed = await Promise.all(
    users.map(async (userId, i) => {
      const request = orderRequest(userId, { type: OrderType.LIMIT, quantity: BigInt(1 + i), limitPriceKrw: 70_500n });
      return (await stack.orders.placeOrder(request)).order!;
    }),
  );
  t.ok(
    placed.every((o) => o.filledQuantity === o.quantity),
    "every order filled at once",
  );
  await eventually("the consumer settles every order", async () =>
    (await Promise.all(placed.map((o) => stateOf(stack, o)))).every((o) => o.state === api.OrderState.SETTLED),
  );
  const settled = await balancesOf(stack, users);
  const ledgerBefore = await integrity(stack);
  t.equal(ledgerBefore.discrepancies, 0, "the ledger verifies clean");
  for (const [i, o] of (await Promise.all(placed.map((p) => stateOf(stack, p)))).entries()) {
    t.same(
      settled[i]![`${users[i]}/KRW`],
      { total: CASH_KRW - o.filledNotionalKrw - o.feesKrw, held: 0n },
      `user ${i}: paid notional + fee, the rest of the hold released`,
    );
  }

  // The crash: killed after the ledger answered. Played back exactly: the order service's own record of
  // the settlement rolled back (as if it died before writing it), its group's offsets back to the start.
  await stack.orderProcess.stop("SIGKILL");
  const orderIds = placed.map((o) => o.orderId);
  await db.query("UPDATE fills SET settled_at = NULL WHERE order_id = ANY($1::uuid[])", [orderIds]);
  await db.query("DELETE FROM order_transitions WHERE order_id = ANY($1::uuid[]) AND to_state = 'settled'", [orderIds]);
  await db.query("UPDATE orders SET state = 'filled', hold_released = false WHERE order_id = ANY($1::uuid[])", [orderIds]);
  const admin = new Kafka({ clientId: "settlement-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await eventually(
    "the killed consumer's session ends",
    async () => (await admin.describeGroups([group])).groups[0]!.members.length === 0,
    30_000,
  );
  // Numbers, not resetOffsets' "earliest": a consumer reads that as no offset and starts from the end.
  const topic = `${stack.kafkaTopicPrefix}${EXCHANGE_EXECUTIONS.name}`;
  const starts = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: group, topic, partitions: starts.map((p) => ({ partition: p.partition, offset: p.low })) });
  await stack.restartOrders();

  await eventually(
    "the redelivered batches settle every order again",
    async () => (await Promise.all(placed.map((o) => stateOf(stack, o)))).every((o) => o.state === api.OrderState.SETTLED),
    60_000,
  );
  const batches = logsOf(stack).filter((r) => r.msg === "batch settled");
  t.equal(
    batches.reduce((n, b) => n + b.applied, 0),
    placed.length,
    "the redelivered batches sent every order's chain to the ledger again, and every one was answered as applied",
  );
  t.equal(
    batches.reduce((n, b) => n + b.refused, 0),
    0,
    "none refused: a replayed request id gets its first result",
  );
  t.same(await balancesOf(stack, users), settled, "every balance exactly as after the first settlement");
  t.same(await integrity(stack), ledgerBefore, "not one ledger entry more, and the ledger verifies clean");
});

t.test("a batch where one settlement is refused: the others settle, the refused one is visible, retried, then resolved", async (t) => {
  const { stack, db } = await withStack(t, { ORDER_RECONCILE_SETTLE_GRACE_MS: "1000" });
  const users = await Promise.all(Array.from({ length: 6 }, () => newUser(stack, CASH_KRW)));
  const bids = await Promise.all(
    users.map(async (userId) => {
      const request = orderRequest(userId, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, quantity: 2n, limitPriceKrw: 70_000n });
      return (await stack.orders.placeOrder(request)).order!;
    }),
  );
  t.ok(
    bids.every((b) => b.state === api.OrderState.ACCEPTED),
    "six bids rest at the exchange",
  );
  // Executions are keyed by order id: the victim shares a partition (a Kafka batch) with another bid.
  const partition = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0] }));
  const partitionOf = (orderId: string) => partition({ topic: "executions", partitionMetadata, message: { key: orderId, value: null } });
  const victim = bids.find((b) => bids.some((o) => o !== b && partitionOf(o.orderId) === partitionOf(b.orderId)))!;
  const victimUser = users[bids.indexOf(victim)]!;
  // An operator's mistake: the victim's hold id names no hold the ledger knows.
  const { rows } = await db.query<{ hold_id: string }>("SELECT hold_id FROM orders WHERE order_id = $1", [victim.orderId]);
  const holdId = rows[0]!.hold_id;
  await db.query("UPDATE orders SET hold_id = $2 WHERE order_id = $1", [victim.orderId, randomUUID()]);
  const victimHeld = (await balancesOf(stack, [victimUser]))[0]![`${victimUser}/KRW`]!;

  // Another broker's market sell takes all six bids at once: their executions go out in one publish.
  const sale = await stack.exchange.submitOrder(
    create(exchange.SubmitOrderRequestSchema, {
      clientOrderId: `other-broker-${randomUUID()}`,
      symbol: "005930",
      side: Side.SELL,
      type: OrderType.MARKET,
      timeInForce: TimeInForce.IOC,
      quantity: 12n,
    }),
  );
  t.equal(
    sale.fills.reduce((n, f) => n + f.quantity, 0n),
    12n,
    "the sale filled against our six bids",
  );
  const others = bids.filter((b) => b !== victim);
  await eventually("the other bids settle", async () =>
    (await Promise.all(others.map((o) => stateOf(stack, o)))).every((o) => o.state === api.OrderState.SETTLED),
  );
  // Logged once the batch's answer is recorded, refusal included: a moment after the others are SETTLED.
  const batchOf = () => logsOf(stack).find((r) => r.msg === "batch settled" && r.orderIds.includes(victim.orderId));
  await eventually("the victim's batch is settled", async () => batchOf() !== undefined);
  const victimBatch = batchOf();
  t.ok(victimBatch !== undefined && victimBatch.orderIds.length >= 2, "the victim was settled in a batch with others");
  t.equal(victimBatch?.refused, 1, "in that batch, the ledger refused the victim's chain alone");
  t.equal(victimBatch?.applied, victimBatch!.orderIds.length - 1, "and applied every other order's");

  // Visible: the order's state, its row, the error log, the metrics.
  t.equal((await stateOf(stack, victim)).state, api.OrderState.FILLED, "the victim stays FILLED, not SETTLED");
  const refusal = async () =>
    (
      await db.query<{ settlement_refusal: string | null; settlement_refusals: number }>(
        "SELECT settlement_refusal, settlement_refusals FROM orders WHERE order_id = $1",
        [victim.orderId],
      )
    ).rows[0]!;
  t.match((await refusal()).settlement_refusal, /hold_id/, "the ledger's reason is on the order's row");
  t.ok(
    logsOf(stack).some((r) => r.msg.startsWith("the ledger refused an order's settlement") && r.orderId === victim.orderId),
    "and in the error log",
  );
  const metric = async (name: string) =>
    parsePrometheusText(await (await fetch(`http://127.0.0.1:${stack.orderProcess.adminPort}/metrics`)).text()).find((s) => s.name === name)
      ?.value;
  t.equal(await metric("kuku_orders_settlement_refused"), 1, "one order's settlement stands refused");
  t.ok(((await metric("kuku_settlement_refusals_total")) ?? 0) >= 1, "refusals counted");
  t.same((await balancesOf(stack, [victimUser]))[0]![`${victimUser}/KRW`], victimHeld, "the victim's money did not move: still held");

  await eventually("the reconciler tries again (and is refused again)", async () => (await refusal()).settlement_refusals >= 2, 30_000);

  // The operator puts the hold id back: the next try goes through.
  await db.query("UPDATE orders SET hold_id = $2 WHERE order_id = $1", [victim.orderId, holdId]);
  await eventually("the victim settles", async () => (await stateOf(stack, victim)).state === api.OrderState.SETTLED, 30_000);
  t.equal((await refusal()).settlement_refusal, null, "its refusal is cleared");
  t.equal(await metric("kuku_orders_settlement_refused"), 0, "no settlement stands refused");
  const all = await balancesOf(stack, users);
  for (const [i, userId] of users.entries()) {
    t.same(all[i]![`${userId}/KRW`], { total: CASH_KRW - 140_000n - 21n, held: 0n }, `user ${i}: paid 2 x 70,000 + 21 won fee once`);
    t.same(all[i]![`${userId}/005930`], { total: 2n, held: 0n }, `user ${i}: owns the 2 shares`);
  }
  t.equal((await integrity(stack)).discrepancies, 0, "the ledger verifies clean");
});
