// Batched intake across real processes (ledger, exchange, order; PostgreSQL
// and Kafka): concurrent PlaceOrders share the work of each step, and each
// still gets its own right answer.
import { Code, ConnectError } from "@connectrpc/connect";
import * as exchangeApi from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { parsePrometheusText } from "@kuku/testkit";
import t from "tap";
import { eventually, newUser as newUserIn, orderRequest, startStack } from "./support/stack.js";

const stack = await startStack({ exchangeTimeoutMs: 2_000, reconcileIntervalMs: 200 });
t.teardown(() => stack.stop());
const { ledger, orders } = stack;
const newUser = (cashKrw: bigint) => newUserIn(stack, cashKrw);

async function balance(userId: string, asset: string) {
  const { balances } = await ledger.getBalances({ ownerId: userId });
  const b = balances.find((x) => x.asset === asset);
  return { totalMinor: b?.totalMinor ?? 0n, heldMinor: b?.heldMinor ?? 0n };
}

/** The sum of a counter's (or a histogram's _count's) series on a service's /metrics whose labels match. */
async function counted(adminPort: number, name: string, labels: Record<string, string>): Promise<number> {
  const samples = parsePrometheusText(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const exchangeCalls = async () =>
  (await counted(stack.adminPorts.exchange, "kuku_rpc_server_handled_total", { rpc_method: "SubmitOrders" })) +
  (await counted(stack.adminPorts.exchange, "kuku_rpc_server_handled_total", { rpc_method: "SubmitOrder" }));
const ledgerHoldCalls = async () =>
  (await counted(stack.adminPorts.ledger, "kuku_rpc_server_handled_total", { rpc_method: "SubmitBatch" })) +
  (await counted(stack.adminPorts.ledger, "kuku_rpc_server_handled_total", { rpc_method: "PlaceHold" }));
const intakeBatches = (step: string) => counted(stack.orderProcess.adminPort!, "kuku_order_intake_batch_size_count", { step });

t.afterEach(async () => {
  await stack.exchange.setFaultMode({ mode: exchangeApi.FaultMode.NONE });
  const integrity = await ledger.verifyIntegrity({});
  if (integrity.discrepancies.length > 0) throw new Error(`ledger discrepancies: ${JSON.stringify(integrity.discrepancies)}`);
});

t.test("many concurrent PlaceOrders form batches, and each gets its own order", async (t) => {
  const users = await Promise.all(Array.from({ length: 8 }, () => newUser(10_000_000n)));
  const before = { exchange: await exchangeCalls(), ledger: await ledgerHoldCalls(), holds: await intakeBatches("hold") };
  const requests = Array.from({ length: 80 }, (_, i) => orderRequest(users[i % users.length]!, { quantity: BigInt(1 + (i % 3)) }));
  const answers = await Promise.all(requests.map((r) => orders.placeOrder(r)));
  const after = { exchange: await exchangeCalls(), ledger: await ledgerHoldCalls(), holds: await intakeBatches("hold") };

  t.equal(new Set(answers.map((a) => a.order!.orderId)).size, requests.length, "one order per request");
  t.same(
    answers.map((a) => [a.order!.userId, a.order!.quantity, a.order!.filledQuantity]),
    requests.map((r) => [r.userId, r.quantity, r.quantity]),
    "each answer is its own request's order, filled at once",
  );
  t.ok(
    answers.every((a) => [api.OrderState.FILLED, api.OrderState.SETTLED].includes(a.order!.state)),
    "answered with the exchange's fill",
  );
  const holdBatches = after.holds - before.holds;
  t.ok(holdBatches < requests.length, `${requests.length} orders' holds in ${holdBatches} batches`);
  t.ok(after.exchange - before.exchange < requests.length, `${after.exchange - before.exchange} calls to the exchange`);
  // The ledger's SubmitBatch also serves the settlements running meanwhile: still fewer calls than orders.
  t.ok(after.ledger - before.ledger < requests.length, `${after.ledger - before.ledger} ledger calls for holds and settlements`);

  await eventually("every order settles", async () => {
    const states = await Promise.all(
      answers.map(async (a) => (await orders.getOrder({ orderId: a.order!.orderId, userId: a.order!.userId })).order!.state),
    );
    return states.every((s) => s === api.OrderState.SETTLED);
  });
  for (const userId of users) {
    const mine = answers.map((a) => a.order!).filter((o) => o.userId === userId);
    const settled = await Promise.all(mine.map(async (o) => (await orders.getOrder({ orderId: o.orderId, userId })).order!));
    const paid = settled.reduce((sum, o) => sum + o.filledNotionalKrw + o.feesKrw, 0n);
    const shares = settled.reduce((sum, o) => sum + o.filledQuantity, 0n);
    t.same(await balance(userId, "KRW"), { totalMinor: 10_000_000n - paid, heldMinor: 0n }, `${userId} paid exactly, nothing held`);
    t.equal((await balance(userId, "005930")).totalMinor, shares, `${userId} owns its shares`);
  }
});

t.test("one batch: a refused hold, a replay and a reused key each get their own answer, and the failures change nothing", async (t) => {
  const rich = await newUser(10_000_000n);
  const poor = await newUser(1_000n);
  const earlier = orderRequest(rich, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, quantity: 1n, limitPriceKrw: 60_000n });
  const { order: resting } = await orders.placeOrder(earlier);
  t.equal(resting?.state, api.OrderState.ACCEPTED);
  const heldBefore = (await balance(rich, "KRW")).heldMinor;
  const inserts = await intakeBatches("insert");

  // An answer, or the status it failed with.
  const outcome = (request: api.PlaceOrderRequest) =>
    orders.placeOrder(request).then(
      (r) => r.order!,
      (e: unknown) => ConnectError.from(e),
    );
  const requests = [
    orderRequest(rich, { quantity: 1n }), // goes at once; the others form the next batch
    orderRequest(poor, { quantity: 1n }),
    earlier,
    { ...earlier, quantity: 2n },
    orderRequest(rich, { quantity: 2n }),
  ];
  const [lone, refused, replay, reused, fresh] = await Promise.all(requests.map(outcome));
  t.ok((await intakeBatches("insert")) - inserts < requests.length, "the calls shared insert batches");

  t.equal(lone instanceof ConnectError ? lone : lone?.filledQuantity, 1n, "the lone order filled");
  t.equal(fresh instanceof ConnectError ? fresh : fresh?.filledQuantity, 2n, "the other good order filled");
  t.ok(refused instanceof ConnectError && refused.code === Code.FailedPrecondition, "the poor buyer is refused");
  t.match(refused instanceof ConnectError ? refused.rawMessage : "", /insufficient cash/);
  t.same(
    replay instanceof ConnectError ? replay : [replay?.orderId, replay?.state],
    [resting!.orderId, api.OrderState.ACCEPTED],
    "the replay finds its first order",
  );
  t.ok(reused instanceof ConnectError && reused.code === Code.AlreadyExists, "another order under a used key is ALREADY_EXISTS");

  t.same(await balance(poor, "KRW"), { totalMinor: 1_000n, heldMinor: 0n }, "the refused order holds nothing");
  const { orders: poorOrders } = await orders.listOrders({ userId: poor });
  t.same(
    poorOrders.map((o) => [o.state, o.rejectReason.startsWith("insufficient cash")]),
    [[api.OrderState.REJECTED, true]],
    "and is recorded REJECTED with the reason",
  );
  const { orders: richOrders } = await orders.listOrders({ userId: rich });
  t.equal(richOrders.length, 3, "the replay and the reused key added no order");
  await eventually("the filled orders settle", async () => (await balance(rich, "KRW")).heldMinor === heldBefore);
  t.equal((await orders.getOrder({ orderId: resting!.orderId, userId: rich })).order?.quantity, 1n, "the first order is untouched");
  await orders.cancelOrder({ orderId: resting!.orderId, userId: rich });
});

t.test("no answer for a batch puts each of its orders in doubt, and the reconciler resolves each", async (t) => {
  const userId = await newUser(10_000_000n);
  // Longer than the order service's 2 s exchange budget: SubmitOrders goes unanswered.
  await stack.exchange.setFaultMode({ mode: exchangeApi.FaultMode.DELAY, percent: 100, delayMs: 3_000 });
  const answers = await Promise.all(Array.from({ length: 6 }, () => orders.placeOrder(orderRequest(userId, { quantity: 1n }))));
  t.same(
    answers.map((a) => a.order!.state),
    answers.map(() => api.OrderState.UNKNOWN),
    "every order of the unanswered batch is UNKNOWN, none assumed failed",
  );
  await stack.exchange.setFaultMode({ mode: exchangeApi.FaultMode.NONE });
  const final = new Set([api.OrderState.SETTLED, api.OrderState.REJECTED]);
  await eventually("the reconciler resolves each from the exchange's record", async () => {
    const states = await Promise.all(answers.map(async (a) => (await orders.getOrder({ orderId: a.order!.orderId, userId })).order!));
    return states.every((o) => final.has(o.state));
  });
  await eventually("and every hold is released", async () => (await balance(userId, "KRW")).heldMinor === 0n);
  const resolved = await Promise.all(answers.map(async (a) => (await orders.getOrder({ orderId: a.order!.orderId, userId })).order!));
  const paid = resolved.reduce((sum, o) => sum + o.filledNotionalKrw + o.feesKrw, 0n);
  t.equal((await balance(userId, "KRW")).totalMinor, 10_000_000n - paid, "paid for exactly the orders that traded");
  t.equal(
    (await balance(userId, "005930")).totalMinor,
    resolved.reduce((sum, o) => sum + o.filledQuantity, 0n),
    "and owns their shares",
  );
});
