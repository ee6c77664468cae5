// The gateway against real ledger, exchange and order processes: sign-up and
// sessions, the trading calls, and that a user reaches only their own things.
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { TradingPhase } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { CandleInterval, OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import t from "tap";
import { eventually, marketOrder, signUp, startStack, untilSettled } from "./support/stack.js";

const stack = await startStack();
t.teardown(() => stack.stop());

async function code(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

const marketBuy = (quantity: bigint) => marketOrder(Side.BUY, quantity);

t.test("sign-up opens the KRW account in the ledger under the gateway's user id", async (t) => {
  const user = await signUp(stack);
  const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
  t.same(
    balances.map((b) => [b.asset, b.totalMinor]),
    [["KRW", 0n]],
  );
  t.equal(
    await code(stack.auth().signUp({ email: user.email.toUpperCase(), password: "another password", displayName: "x" })),
    Code.AlreadyExists,
    "e-mail taken, whatever its case",
  );
});

t.test("log-in: right password works, a wrong one and an unknown e-mail get the same answer", async (t) => {
  const user = await signUp(stack);
  const ok = await stack.auth().logIn({ email: user.email, password: user.password });
  t.equal(ok.userId, user.userId);
  const wrong = await stack
    .auth()
    .logIn({ email: user.email, password: "not the password" })
    .catch((e: unknown) => ConnectError.from(e));
  const unknown = await stack
    .auth()
    .logIn({ email: `nobody-${randomUUID()}@example.com`, password: "whatever1" })
    .catch((e: unknown) => ConnectError.from(e));
  t.ok(wrong instanceof ConnectError && unknown instanceof ConnectError);
  t.equal((wrong as ConnectError).code, Code.Unauthenticated);
  t.equal((wrong as ConnectError).rawMessage, (unknown as ConnectError).rawMessage);
});

t.test("refresh rotates; a rotated token presented again ends the session", async (t) => {
  const user = await signUp(stack);
  const first = await stack.auth().refreshToken({ refreshToken: user.tokens.refreshToken });
  t.not(first.tokens!.refreshToken, user.tokens.refreshToken);
  t.equal(await code(stack.trading(first.tokens!.accessToken).getPortfolio({})), "ok");
  // The old token again: theft is assumed and the whole family goes.
  t.equal(await code(stack.auth().refreshToken({ refreshToken: user.tokens.refreshToken })), Code.Unauthenticated);
  t.equal(
    await code(stack.auth().refreshToken({ refreshToken: first.tokens!.refreshToken })),
    Code.Unauthenticated,
    "the new one is revoked too",
  );
  t.equal(await code(stack.trading(first.tokens!.accessToken).getPortfolio({})), Code.Unauthenticated, "and its access tokens");
});

t.test("log-out revokes the refresh token and the session's access tokens at once", async (t) => {
  const user = await signUp(stack);
  t.equal(await code(user.trading.getPortfolio({})), "ok");
  await stack.auth().logOut({ refreshToken: user.tokens.refreshToken });
  t.equal(await code(user.trading.getPortfolio({})), Code.Unauthenticated);
  t.equal(await code(stack.auth().refreshToken({ refreshToken: user.tokens.refreshToken })), Code.Unauthenticated);
  t.equal(await code(stack.auth().logOut({ refreshToken: user.tokens.refreshToken })), "ok", "logging out twice is fine");
  const again = await stack.auth().logIn({ email: user.email, password: user.password });
  t.equal(await code(stack.trading(again.tokens!.accessToken).getPortfolio({})), "ok", "another session is unaffected");
});

t.test("deposit is idempotent per user and request id; buy fills and shows as a valued position", async (t) => {
  const user = await signUp(stack);
  const requestId = "deposit-1";
  t.equal((await user.trading.depositCash({ requestId, amountKrw: 10_000_000n })).cashAvailableKrw, 10_000_000n);
  t.equal((await user.trading.depositCash({ requestId, amountKrw: 10_000_000n })).cashAvailableKrw, 10_000_000n, "retried: deposited once");
  const other = await signUp(stack);
  t.equal(
    (await other.trading.depositCash({ requestId, amountKrw: 5_000n })).cashAvailableKrw,
    5_000n,
    "the same request id of another user is another deposit",
  );

  const { order: accepted } = await user.trading.placeOrder(marketBuy(10n));
  t.equal(accepted?.filledQuantity, 10n, "answered at acceptance, filled");
  const placed = await untilSettled(user.trading, accepted!.orderId);
  t.equal(placed.state, order.OrderState.SETTLED);
  t.notOk("userId" in placed! || "version" in placed!, "the public view leaves out the owner and the version");
  const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
  t.equal(balances.find((b) => b.asset === "005930")?.totalMinor, 10n, "placed for the token's user");
  const portfolio = await user.trading.getPortfolio({});
  t.equal(portfolio.cashTotalKrw, 10_000_000n - placed!.filledNotionalKrw - placed!.feesKrw);
  const position = portfolio.positions.find((p) => p.symbol === "005930");
  t.equal(position?.quantity, 10n);
  t.ok(position!.lastPriceKrw > 0n, "priced");
  t.equal(position?.valuationKrw, 10n * position!.lastPriceKrw);
  const { instruments } = await user.trading.listInstruments({});
  t.ok(instruments.some((i) => i.symbol === "005930" && i.referencePriceKrw > 0n));
});

t.test("a user acts only on their own accounts and orders, in every RPC", async (t) => {
  const alice = await signUp(stack, "alice");
  const bob = await signUp(stack, "bob");
  await alice.trading.depositCash({ requestId: "a-1", amountKrw: 50_000_000n });
  const { order: resting } = await alice.trading.placeOrder({
    ...marketBuy(1n),
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.DAY,
    limitPriceKrw: 50_000n, // far below the market: rests
  });
  t.equal(resting?.state, order.OrderState.ACCEPTED);
  const aliceBefore = await alice.trading.getPortfolio({});

  // CancelOrder: Bob cannot cancel Alice's order, nor tell it from a missing one.
  t.equal(await code(bob.trading.cancelOrder({ orderId: resting!.orderId })), Code.PermissionDenied);
  t.equal(await code(bob.trading.cancelOrder({ orderId: randomUUID() })), Code.PermissionDenied);
  // AmendOrder: the same.
  const amendBy = (user: typeof bob) => (orderId: string) =>
    user.trading.amendOrder({ idempotencyKey: `amend-${randomUUID()}`, orderId, quantity: 2n, limitPriceKrw: 50_000n });
  t.equal(await code(amendBy(bob)(resting!.orderId)), Code.PermissionDenied);
  t.equal(await code(amendBy(bob)(randomUUID())), Code.PermissionDenied);
  // ListOrders, GetPortfolio: Bob sees only his own.
  t.same((await bob.trading.listOrders({})).orders, []);
  t.same((await bob.trading.getPortfolio({})).cashTotalKrw, 0n);
  // No request field names a user. A client that adds one anyway (unknown
  // JSON fields are ignored, as protobuf's forward compatibility wants) still
  // acts as the token's user: Bob, who has no cash yet.
  const smuggled = async (method: string, body: object) => {
    const res = await fetch(`${stack.gatewayUrl}/kuku.gateway.v1.TradingService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bob.tokens.accessToken}` },
      body: JSON.stringify({ ...body, userId: alice.userId, ownerId: alice.userId }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const order1 = {
    idempotencyKey: `key-${randomUUID()}`,
    symbol: "005930",
    side: "SIDE_BUY",
    type: "ORDER_TYPE_MARKET",
    timeInForce: "TIME_IN_FORCE_IOC",
    quantity: "1",
  };
  t.equal((await smuggled("PlaceOrder", order1)).body["code"], "failed_precondition", "PlaceOrder: Bob's empty account, not Alice's cash");
  t.equal((await smuggled("CancelOrder", { orderId: resting!.orderId })).body["code"], "permission_denied", "CancelOrder");
  t.equal(
    (
      await smuggled("AmendOrder", {
        idempotencyKey: `amend-${randomUUID()}`,
        orderId: resting!.orderId,
        quantity: "2",
        limitPriceKrw: "50000",
      })
    ).body["code"],
    "permission_denied",
    "AmendOrder",
  );
  const listed = (await smuggled("ListOrders", {})).body["orders"] as { orderId: string; state: string }[];
  t.same(
    listed.map((o) => o.state),
    ["ORDER_STATE_REJECTED"],
    "ListOrders: Bob's own rejected order only",
  );
  t.same(
    listed.map((o) => o.orderId),
    (await bob.trading.listOrders({})).orders.map((o) => o.orderId),
    "the order Bob's token lists",
  );
  t.notOk(
    listed.some((o) => "userId" in o || "version" in o),
    "no owner or version in the public JSON",
  );
  t.same((await smuggled("GetPortfolio", {})).body, {}, "GetPortfolio: Bob's (empty)");
  t.same(
    (await smuggled("DepositCash", { requestId: "b-1", amountKrw: "1000" })).body,
    { cashAvailableKrw: "1000" },
    "DepositCash: into Bob's account",
  );
  // Bob's own deposit and order touch only Bob.
  t.equal((await bob.trading.getPortfolio({})).cashTotalKrw, 1_000n);
  t.same(await alice.trading.getPortfolio({}), aliceBefore, "Alice unchanged");
  t.equal(
    (await alice.trading.cancelOrder({ orderId: resting!.orderId })).order?.state,
    order.OrderState.CANCELLED,
    "the owner can cancel",
  );
});

t.test("the venue's order types through the gateway: a waiting stop, an amendment, the session phase", async (t) => {
  const user = await signUp(stack);
  await user.trading.depositCash({ requestId: "d-1", amountKrw: 5_000_000n });
  const { instruments } = await user.trading.listInstruments({});
  const samsung = instruments.find((i) => i.symbol === "005930");
  t.equal(samsung?.phase, TradingPhase.CONTINUOUS, "the session phase, from the venue");
  t.equal(samsung?.market, "KOSPI");
  t.equal(samsung?.tickSizeKrw, 100n, "the tick at 70,000 won");
  t.match(samsung?.tradingDay, /^\d{4}-\d{2}-\d{2}$/);

  const { order: stop } = await user.trading.placeOrder({
    ...marketBuy(1n),
    type: OrderType.STOP,
    timeInForce: TimeInForce.DAY,
    stopPriceKrw: samsung!.upperLimitKrw,
  });
  t.equal(stop?.state, order.OrderState.WAITING, "a stop waits at the venue");
  t.equal(stop?.stopPriceKrw, samsung!.upperLimitKrw);
  t.equal(
    stop?.holdMinor,
    samsung!.upperLimitKrw + (samsung!.upperLimitKrw * 150n + 999_999n) / 1_000_000n,
    "held at the upper limit, fee included",
  );
  await t.rejects(user.trading.placeOrder({ ...marketBuy(1n), type: OrderType.STOP, timeInForce: TimeInForce.DAY }), {
    code: Code.InvalidArgument,
    message: /stop_price_krw/,
  });

  const { order: resting } = await user.trading.placeOrder({
    ...marketBuy(3n),
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    limitPriceKrw: 60_000n,
  });
  t.equal(resting?.state, order.OrderState.ACCEPTED);
  const { order: amended } = await user.trading.amendOrder({
    idempotencyKey: `amend-${randomUUID()}`,
    orderId: resting!.orderId,
    quantity: 2n,
    limitPriceKrw: 61_000n,
  });
  t.equal(amended?.amendsOrderId, resting!.orderId);
  t.equal(amended?.timeInForce, TimeInForce.GTC, "the original's terms");
  t.equal(amended?.limitPriceKrw, 61_000n);
  const stateOf = async (orderId: string) => (await user.trading.listOrders({})).orders.find((o) => o.orderId === orderId)?.state;
  await eventually("the original is replaced: CANCELLED", async () => (await stateOf(resting!.orderId)) === order.OrderState.CANCELLED);
  await t.rejects(
    user.trading.amendOrder({ idempotencyKey: `amend-${randomUUID()}`, orderId: resting!.orderId, quantity: 1n, limitPriceKrw: 61_000n }),
    { code: Code.FailedPrecondition },
  );
  for (const o of [stop, amended]) {
    t.equal((await user.trading.cancelOrder({ orderId: o!.orderId })).order?.state, order.OrderState.CANCELLED);
  }
  await eventually("every hold released", async () => (await user.trading.getPortfolio({})).cashHeldKrw === 0n);
  t.equal((await user.trading.getPortfolio({})).cashTotalKrw, 5_000_000n, "no money moved");
});

t.test("quotes and the order book come from the market service; positions are valued at the last trade", async (t) => {
  const user = await signUp(stack);
  await user.trading.depositCash({ requestId: "d", amountKrw: 5_000_000n });
  const { order: accepted } = await user.trading.placeOrder(marketBuy(5n));
  const bought = await untilSettled(user.trading, accepted!.orderId);
  const tradePriceKrw = bought!.filledNotionalKrw / bought!.filledQuantity;
  // The trade reaches the market service through Kafka: wait for it in the quote.
  let quote = (await user.trading.getQuote({ symbol: "005930" })).quote;
  for (let i = 0; i < 100 && (quote === undefined || quote.volume === 0n); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    quote = (await user.trading.getQuote({ symbol: "005930" })).quote;
  }
  t.equal(quote?.lastPriceKrw, tradePriceKrw, "last price is the fill's price");
  const { orderBook } = await user.trading.getOrderBook({ symbol: "005930", depth: 5 });
  t.ok(orderBook!.asks.length > 0 && orderBook!.bids.length > 0, "the market maker's book");
  const position = (await user.trading.getPortfolio({})).positions.find((p) => p.symbol === "005930");
  t.equal(position?.lastPriceKrw, tradePriceKrw);
  t.equal(position?.valuationKrw, position!.quantity * tradePriceKrw);
  // The chart's candles: the trade's minute and its day, once the market service has written them behind.
  const latestClose = async (interval: CandleInterval) => {
    const { candles } = await user.trading.listCandles({ symbol: "005930", interval, limit: 5 });
    return candles.at(-1)?.closePriceKrw;
  };
  for (let i = 0; i < 100 && (await latestClose(CandleInterval.ONE_MINUTE)) !== tradePriceKrw; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(await latestClose(CandleInterval.ONE_MINUTE), tradePriceKrw, "the one-minute candle closes at the fill's price");
  t.equal(await latestClose(CandleInterval.ONE_DAY), tradePriceKrw, "so does the day's");
});
