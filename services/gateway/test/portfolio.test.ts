// Portfolio, P&L, history and statement (issue 18 items 3 and 4) against the
// real stack: a random trading session, then every figure checked against the
// ledger and against a hand computation from the fills.
import { randomUUID } from "node:crypto";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import t from "tap";
import { eventually, marketOrder, signUp, startStack } from "./support/stack.js";

const stack = await startStack();
t.teardown(() => stack.stop());

const DEPOSIT_KRW = 50_000_000n;
const SYMBOLS = ["005930", "000660"];
const RESTING = new Set([order.OrderState.SETTLED, order.OrderState.CANCELLED, order.OrderState.REJECTED, order.OrderState.EXPIRED]);

type User = Awaited<ReturnType<typeof signUp>>;

async function failure(promise: Promise<unknown>): Promise<{ code: Code | "ok"; message: string }> {
  try {
    await promise;
    return { code: "ok", message: "" };
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
}

const market = (symbol: string, side: Side, quantity: bigint) => marketOrder(side, quantity, symbol);

/** Nothing in flight: every order at rest and nothing held in the ledger. */
async function quiet(user: User): Promise<void> {
  await eventually("the user's orders are at rest and settled", async () => {
    const { orders } = await user.trading.listOrders({ pageSize: 500 });
    const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
    const { fills } = await user.trading.listFills({ pageSize: 500 });
    return orders.every((o) => RESTING.has(o.state)) && balances.every((b) => b.heldMinor === 0n) && fills.every((f) => f.settled);
  });
}

async function allFills(user: User): Promise<api.OrderFill[]> {
  const fills: api.OrderFill[] = [];
  let pageToken = "";
  do {
    const page = await user.trading.listFills({ pageSize: 3, pageToken });
    fills.push(...page.fills);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return fills.reverse();
}

/** The moving average by hand: total cost of what is held, a sell taking its pro-rata share (floor; all of it on the last share). */
function handComputation(fills: readonly api.OrderFill[]) {
  const book = new Map<string, { quantity: bigint; cost: bigint; realized: bigint }>();
  const sells: bigint[] = [];
  for (const { symbol, side, fill } of fills) {
    const p = book.get(symbol) ?? { quantity: 0n, cost: 0n, realized: 0n };
    const notional = fill!.priceKrw * fill!.quantity;
    if (side === Side.BUY) {
      book.set(symbol, { ...p, quantity: p.quantity + fill!.quantity, cost: p.cost + notional + fill!.feeKrw });
    } else {
      const out = fill!.quantity === p.quantity ? p.cost : (p.cost * fill!.quantity) / p.quantity;
      const pnl = notional - fill!.feeKrw - fill!.taxKrw - out;
      sells.push(pnl);
      book.set(symbol, { quantity: p.quantity - fill!.quantity, cost: p.cost - out, realized: p.realized + pnl });
    }
  }
  return { book, sells };
}

/** A session of random market buys and sells of what the user holds; a seeded generator, so a failure can be replayed. */
async function randomSession(user: User, seed: number, rounds: number): Promise<void> {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
  for (let i = 0; i < rounds; i++) {
    const symbol = SYMBOLS[next(SYMBOLS.length)]!;
    const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
    const held = balances.find((b) => b.asset === symbol)?.availableMinor ?? 0n;
    const sell = held > 0n && next(2) === 0;
    const quantity = sell ? 1n + BigInt(next(Number(held))) : BigInt(1 + next(25));
    await user.trading.placeOrder(market(symbol, sell ? Side.SELL : Side.BUY, quantity));
    await quiet(user);
  }
}

t.test("after a random session every figure reconciles to the ledger and to a hand computation from the fills", async (t) => {
  const users = [await signUp(stack, "pnl-a"), await signUp(stack, "pnl-b")];
  for (const [i, user] of users.entries()) {
    await user.trading.depositCash({ requestId: "start", amountKrw: DEPOSIT_KRW });
    await randomSession(user, 17 + i, 10);
  }
  for (const user of users) {
    const portfolio = await user.trading.getPortfolio({});
    const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
    t.equal(portfolio.cashTotalKrw, balances.find((b) => b.asset === "KRW")!.totalMinor, "예수금 is the ledger's cash");
    const fills = await allFills(user);
    const { book, sells } = handComputation(fills);
    for (const b of balances.filter((b) => b.asset !== "KRW" && b.totalMinor > 0n)) {
      const p = portfolio.positions.find((x) => x.symbol === b.asset);
      t.equal(p?.quantity, b.totalMinor, `${b.asset}: the ledger's shares`);
      t.ok(p?.costReconciled, `${b.asset}: the fills' quantity is the ledger's`);
      t.equal(p?.valuationKrw, b.totalMinor * p!.lastPriceKrw, `${b.asset}: valued at the last price`);
    }
    for (const [symbol, hand] of book) {
      const p = portfolio.positions.find((x) => x.symbol === symbol)!;
      t.equal(p.quantity, hand.quantity, `${symbol}: quantity from the fills`);
      t.equal(p.costBasisKrw, hand.cost, `${symbol}: cost basis by hand`);
      t.equal(p.realizedPnlKrw, hand.realized, `${symbol}: realised P&L by hand`);
      t.equal(p.unrealizedPnlKrw, hand.quantity === 0n ? 0n : p.valuationKrw - hand.cost, `${symbol}: unrealised`);
    }
    t.same(
      portfolio.realizedTrades.map((r) => r.realizedPnlKrw),
      [...sells].reverse(),
      "realised P&L per sell, newest first",
    );
    t.equal(
      portfolio.dailyRealized.reduce((s, d) => s + d.realizedPnlKrw, 0n),
      portfolio.realizedPnlKrw,
      "the days add up to the realised total",
    );
    t.equal(
      portfolio.totalPnlKrw,
      portfolio.cashTotalKrw + portfolio.marketValueKrw - DEPOSIT_KRW,
      "총손익 = 예수금 + 평가금액 - deposits: nothing lost between the fills and the ledger",
    );
    t.equal(portfolio.totalAssetsKrw, portfolio.cashTotalKrw + portfolio.marketValueKrw);
    t.ok(sells.length > 0 && fills.some((f) => f.side === Side.BUY), "the session bought and sold");
  }
  const integrity = await stack.ledger.verifyIntegrity({});
  t.equal(integrity.discrepancies.length, 0, "the ledger verifies");
});

t.test("commission and tax are separate fields and separate postings; the statement walks the balance", async (t) => {
  const user = await signUp(stack, "stmt");
  const start = new Date(Date.now() - 1000);
  await user.trading.depositCash({ requestId: "start", amountKrw: 10_000_000n });
  await user.trading.placeOrder(market("005930", Side.BUY, 7n));
  await quiet(user);
  await user.trading.placeOrder(market("005930", Side.SELL, 4n));
  await quiet(user);
  const fills = await allFills(user);
  const sell = fills.find((f) => f.side === Side.SELL)!;
  t.ok(sell.fill!.feeKrw > 0n && sell.fill!.taxKrw > 0n, "a sell fill has its commission and its tax");
  const { order: sellOrder, fills: orderFills, transitions } = await user.trading.getOrder({ orderId: sell.orderId });
  t.equal(
    sellOrder?.taxKrw,
    orderFills.reduce((s, f) => s + f.fill!.taxKrw, 0n),
    "the order's tax is its fills'",
  );
  t.equal(
    sellOrder?.feesKrw,
    orderFills.reduce((s, f) => s + f.fill!.feeKrw + f.fill!.taxKrw, 0n),
    "fees_krw is commission and tax",
  );
  t.same(transitions.map((x) => x.toState).at(-1), order.OrderState.SETTLED, "the transitions end settled");
  const { rows } = await user.trading.getStatement({
    from: timestampFromDate(start),
    before: timestampFromDate(new Date(Date.now() + 1000)),
  });
  const ofSell = rows.filter((r) => r.executionId === sell.fill!.executionId && r.asset === "KRW");
  t.same(
    ofSell.map((r) => [r.kind, r.amount]).sort(),
    [
      ["fee", -sell.fill!.feeKrw],
      ["sell", sell.fill!.priceKrw * sell.fill!.quantity],
      ["tax", -sell.fill!.taxKrw],
    ].sort(),
    "the sell's proceeds, commission and tax: three postings",
  );
  const buy = fills.find((f) => f.side === Side.BUY)!;
  t.same(
    rows.filter((r) => r.executionId === buy.fill!.executionId && r.asset === "KRW").map((r) => [r.kind, r.amount]),
    [
      ["buy", -buy.fill!.priceKrw * buy.fill!.quantity],
      ["fee", -buy.fill!.feeKrw],
    ],
    "the buy's notional and commission: two postings",
  );
  const cash = rows.filter((r) => r.asset === "KRW");
  t.equal(
    cash.reduce((s, r) => s + r.amount, 0n),
    (await user.trading.getPortfolio({})).cashTotalKrw,
    "the rows add up to the cash",
  );
  t.equal(cash.at(-1)?.balanceAfter, (await user.trading.getPortfolio({})).cashTotalKrw, "the last row's balance is the cash");
  t.equal(rows.filter((r) => r.asset === "005930").at(-1)?.balanceAfter, 3n, "the shares walk too");
  const schedule = await user.trading.getFeeSchedule({});
  t.same([schedule.commissionPpm, schedule.sellTaxPpm], [150n, 1_800n], "the fee schedule the fills were charged at");
});

t.test("history: filtered by state and date, paged without gaps or repeats", async (t) => {
  const user = await signUp(stack, "hist");
  await user.trading.depositCash({ requestId: "start", amountKrw: 10_000_000n });
  for (let i = 0; i < 5; i++) await user.trading.placeOrder(market("005930", Side.BUY, 1n));
  // A limit buy far below the market rests, then is cancelled.
  const { instruments } = await user.trading.listInstruments({});
  const lower = instruments.find((i) => i.symbol === "005930")!.lowerLimitKrw;
  const { order: resting } = await user.trading.placeOrder({
    ...market("005930", Side.BUY, 1n),
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    limitPriceKrw: lower,
  });
  await user.trading.cancelOrder({ orderId: resting!.orderId });
  await quiet(user);
  const seen: string[] = [];
  let pageToken = "";
  do {
    const page = await user.trading.listOrders({ pageSize: 2, pageToken, states: [order.OrderState.SETTLED] });
    seen.push(...page.orders.map((o) => o.orderId));
    t.ok(page.orders.every((o) => o.state === order.OrderState.SETTLED));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  t.equal(new Set(seen).size, 5, "five settled orders, each once");
  const cancelled = await user.trading.listOrders({ states: [order.OrderState.CANCELLED] });
  t.same(
    cancelled.orders.map((o) => o.orderId),
    [resting!.orderId],
    "the cancelled one by its state",
  );
  const future = await user.trading.listOrders({ createdFrom: timestampFromDate(new Date(Date.now() + 60_000)) });
  t.equal(future.orders.length, 0, "nothing created in the future");
  const all = await user.trading.listOrders({ createdBefore: timestampFromDate(new Date(Date.now() + 60_000)) });
  t.equal(all.orders.length, 6);
  const fills = await user.trading.listFills({ executedFrom: timestampFromDate(new Date(Date.now() - 600_000)) });
  t.equal(fills.fills.length, 5, "five fills in the last ten minutes");
  t.ok(fills.fills.every((f) => timestampDate(f.fill!.executedAt!) <= new Date()));
});

t.test("another user's order, fills and statement are out of reach; bad input changes nothing", async (t) => {
  const alice = await signUp(stack, "alice");
  const bob = await signUp(stack, "bob");
  await alice.trading.depositCash({ requestId: "start", amountKrw: 5_000_000n });
  const { order: placed } = await alice.trading.placeOrder(market("005930", Side.BUY, 2n));
  await quiet(alice);
  t.equal((await failure(bob.trading.getOrder({ orderId: placed!.orderId }))).code, Code.PermissionDenied, "GetOrder");
  t.equal((await failure(bob.trading.listFills({ orderId: placed!.orderId }))).code, Code.PermissionDenied, "ListFills");
  t.equal(
    (await failure(bob.trading.getOrder({ orderId: randomUUID() }))).code,
    Code.PermissionDenied,
    "an order that does not exist looks the same",
  );
  const range = { from: timestampFromDate(new Date(Date.now() - 3_600_000)), before: timestampFromDate(new Date(Date.now() + 60_000)) };
  const bobs = await bob.trading.getStatement(range);
  const alices = await alice.trading.getStatement(range);
  t.equal(bobs.rows.length, 0, "bob's statement has none of alice's entries");
  t.ok(alices.rows.length >= 3, "alice's has hers");
  t.equal((await bob.trading.listFills({})).fills.length, 0, "nor her fills");

  const reversed = await failure(alice.trading.getStatement({ from: range.before, before: range.from }));
  t.same([reversed.code, /before/.test(reversed.message)], [Code.InvalidArgument, true], "a reversed range names before");
  const long = await failure(
    alice.trading.getStatement({ from: timestampFromDate(new Date(Date.now() - 400 * 86_400_000)), before: range.before }),
  );
  t.same([long.code, /366 days/.test(long.message)], [Code.InvalidArgument, true], "more than a year");
  t.equal((await failure(alice.trading.getStatement({ before: range.before }))).code, Code.InvalidArgument, "from is required");
  const token = await failure(alice.trading.listFills({ pageToken: "bm90IGEgdG9rZW4" }));
  t.same([token.code, /page_token/.test(token.message)], [Code.InvalidArgument, true], "a crafted page token");
  t.equal((await failure(alice.trading.listOrders({ states: [99 as order.OrderState] }))).code, Code.InvalidArgument, "an unknown state");
  const backwards = await failure(alice.trading.listOrders({ createdFrom: range.before, createdBefore: range.from }));
  t.same([backwards.code, /created_before/.test(backwards.message)], [Code.InvalidArgument, true], "a reversed order range");
  t.equal((await failure(alice.trading.getOrder({ orderId: "not-a-uuid" }))).code, Code.InvalidArgument, "order_id must be a uuid");
});

t.test("the order service down: the portfolio still shows the ledger's cash and shares, marked as without costs", async (t) => {
  const user = await signUp(stack, "costless");
  await user.trading.depositCash({ requestId: randomUUID(), amountKrw: DEPOSIT_KRW });
  await user.trading.placeOrder(market("005930", Side.BUY, 3n));
  await quiet(user);
  const before = await user.trading.getPortfolio({});
  t.notOk(before.costsUnavailable, "with the order service: costs known");
  await stack.restartOrder(async () => {
    const during = await user.trading.getPortfolio({});
    t.ok(during.costsUnavailable, "marked as without costs");
    t.equal(during.cashTotalKrw, before.cashTotalKrw, "the ledger's cash");
    t.same(
      during.positions.map((p) => [p.symbol, p.quantity, p.valuationKrw > 0n]),
      [["005930", 3n, true]],
      "the ledger's shares, valued",
    );
    t.same(
      during.positions.map((p) => [p.costBasisKrw, p.unrealizedPnlKrw, p.realizedPnlKrw, p.costReconciled]),
      [[0n, 0n, 0n, false]],
      "no cost or P&L guessed",
    );
    t.equal(during.totalPnlKrw, 0n);
  });
  await eventually("the order service is back: costs known again", async () => !(await user.trading.getPortfolio({})).costsUnavailable);
  t.same(
    (await user.trading.getPortfolio({})).positions.map((p) => p.costBasisKrw),
    before.positions.map((p) => p.costBasisKrw),
  );
});
