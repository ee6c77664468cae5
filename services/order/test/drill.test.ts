// The UNKNOWN drill, against real processes: the exchange accepts 30 % of
// orders and never answers; halfway through, the order service is killed
// (SIGKILL, no drain) and started again. After reconciliation every order
// must equal the exchange's record, no hold may be left, the ledger must
// verify clean and every won and share must be accounted for.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import t from "tap";
import { eventually, newUser, startStack } from "./support/stack.js";

const ORDERS = Number(process.env["KUKU_DRILL_ORDERS"] ?? 1_000);
const USERS = 20;
const WORKERS = 32;
const DEPOSIT_KRW = 100_000_000n;
const IN_DOUBT = new Set([api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.UNKNOWN, api.OrderState.CANCEL_REQUESTED]);
const WORKING = new Set([api.OrderState.ACCEPTED, api.OrderState.PARTIALLY_FILLED]);

const stack = await startStack({ exchangeTimeoutMs: 300, reconcileIntervalMs: 200 });
t.teardown(() => stack.stop());

async function allOrders(userIds: readonly string[]): Promise<api.Order[]> {
  const pages = await Promise.all(userIds.map((userId) => stack.orders.listOrders({ userId, pageSize: 500 })));
  return pages.flatMap((p) => p.orders);
}

t.test(`${ORDERS} orders, 30 % never answered, the order service killed halfway`, async (t) => {
  const users = await Promise.all(Array.from({ length: USERS }, () => newUser(stack, DEPOSIT_KRW)));
  await stack.exchange.setFaultMode({ mode: exchange.FaultMode.SILENT, percent: 30 });

  const requests = Array.from({ length: ORDERS }, (_, i) => {
    const limit = i % 3 === 0; // a third are DAY limits, some of which rest
    return create(api.PlaceOrderRequestSchema, {
      idempotencyKey: `drill-${i}-${randomUUID()}`,
      userId: users[i % USERS]!,
      symbol: "005930",
      side: Side.BUY,
      type: limit ? OrderType.LIMIT : OrderType.MARKET,
      timeInForce: limit ? TimeInForce.DAY : TimeInForce.IOC,
      quantity: BigInt(1 + (i % 10)),
      limitPriceKrw: limit ? 69_800n + BigInt(i % 4) * 100n : 0n,
    });
  });
  let next = 0;
  let restarted: Promise<void> | undefined;
  let callErrors = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < requests.length && !failed) {
        const i = next++;
        if (i === Math.floor(ORDERS / 2)) restarted = stack.restartOrders();
        // A client that gets no answer retries with the same key, as a real one should.
        for (let attempt = 1; ; attempt++) {
          try {
            await restarted;
            await stack.orders.placeOrder(requests[i]!);
            break;
          } catch (error) {
            callErrors++;
            if (attempt === 20) {
              failed = true;
              throw new Error(`order ${i} could not be placed: ${String(error)}`);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    }),
  );
  t.ok(callErrors > 0, `the crash was felt by clients (${callErrors} failed calls, all retried)`);
  await stack.exchange.setFaultMode({ mode: exchange.FaultMode.NONE });

  const placed = await allOrders(users);
  t.equal(placed.length, ORDERS, "one order per idempotency key, despite retries");
  await eventually("no order is in doubt", async () => (await allOrders(users)).every((o) => !IN_DOUBT.has(o.state)), 120_000);
  for (const o of (await allOrders(users)).filter((x) => WORKING.has(x.state))) {
    await stack.orders.cancelOrder({ orderId: o.orderId, userId: o.userId });
  }
  await eventually(
    "every order is finished and its hold released",
    async () =>
      (await allOrders(users)).every((o) => [api.OrderState.SETTLED, api.OrderState.CANCELLED, api.OrderState.REJECTED].includes(o.state)),
    60_000,
  );
  const final = await allOrders(users);

  // Every order equals the exchange's record.
  let mismatches = 0;
  const expected: Record<number, exchange.ExchangeOrderStatus[]> = {
    [api.OrderState.SETTLED]: [exchange.ExchangeOrderStatus.FILLED],
    [api.OrderState.CANCELLED]: [exchange.ExchangeOrderStatus.CANCELLED],
    [api.OrderState.REJECTED]: [exchange.ExchangeOrderStatus.REJECTED],
  };
  for (const o of final) {
    const truth = await stack.exchange.orderStatus({ clientOrderId: o.orderId });
    if (!expected[o.state]!.includes(truth.status) || truth.filledQuantity !== o.filledQuantity) mismatches++;
  }
  t.equal(mismatches, 0, "every order agrees with the exchange on state and filled quantity");
  let wereUnknown = 0;
  for (const o of final) {
    const { transitions } = await stack.orders.listOrderTransitions({ orderId: o.orderId, userId: o.userId });
    if (transitions.some((x) => x.toState === api.OrderState.UNKNOWN)) wereUnknown++;
  }
  t.ok(wereUnknown > ORDERS * 0.15, `the drill put orders in doubt (${wereUnknown} went through UNKNOWN)`);
  const byState = new Map<api.OrderState, number>();
  for (const o of final) byState.set(o.state, (byState.get(o.state) ?? 0) + 1);
  t.comment(`final states: ${[...byState].map(([s, n]) => `${api.OrderState[s]} ${n}`).join(", ")}`);

  // Every won and share is accounted for.
  await eventually(
    "the ledger work is done",
    async () => {
      const balances = (await Promise.all(users.map((u) => stack.ledger.getBalances({ ownerId: u })))).flatMap((r) => r.balances);
      return balances.every((b) => b.heldMinor === 0n);
    },
    60_000,
  );
  const wrongUsers: string[] = [];
  for (const userId of users) {
    const mine = final.filter((o) => o.userId === userId);
    const { balances } = await stack.ledger.getBalances({ ownerId: userId });
    const cash = balances.find((b) => b.asset === "KRW")!;
    const shares = balances.find((b) => b.asset === "005930")?.totalMinor ?? 0n;
    const spent = mine.reduce((s, o) => s + o.filledNotionalKrw + o.feesKrw, 0n);
    if (cash.totalMinor !== DEPOSIT_KRW - spent || shares !== mine.reduce((s, o) => s + o.filledQuantity, 0n)) {
      wrongUsers.push(`${userId}: cash ${cash.totalMinor} vs ${DEPOSIT_KRW - spent}, shares ${shares}`);
    }
  }
  t.same(wrongUsers, [], "each user's cash = deposit - notional - fees of their fills, and shares = their fills");
  const clearing = await stack.ledger.getSystemAccount({ kind: ledger.AccountKind.CLEARING, asset: "005930" });
  const clearingShares = (await stack.ledger.getBalances({ accountIds: [clearing.account!.accountId] })).balances[0]!.totalMinor;
  t.equal(
    -clearingShares,
    final.reduce((s, o) => s + o.filledQuantity, 0n),
    "shares delivered = shares bought",
  );
  const integrity = await stack.ledger.verifyIntegrity({});
  t.same(integrity.discrepancies, [], `ledger verifies clean (${integrity.entriesChecked} entries)`);
});
