// Several paper accounts per user, their reset and the paper-money cap,
// against real ledger, exchange, order, market and gateway processes.
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { TEST_SECRETS } from "@kuku/testkit";
import { jwtVerify } from "jose";
import t from "tap";
import { eventually, signUp, startStack, untilSettled } from "./support/stack.js";

const CAP = 100_000_000n;
const stack = await startStack({ gatewayEnv: { GATEWAY_PAPER_CASH_CAP_KRW: CAP.toString(), GATEWAY_PAPER_ACCOUNTS_PER_USER_MAX: "3" } });
t.teardown(() => stack.stop());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );

const order = (side: Side, quantity: bigint, limitPriceKrw: bigint, accountId: string) => ({
  idempotencyKey: `key-${randomUUID()}`,
  symbol: "005930",
  side,
  type: limitPriceKrw === 0n ? OrderType.MARKET : OrderType.LIMIT,
  timeInForce: limitPriceKrw === 0n ? TimeInForce.IOC : TimeInForce.DAY,
  quantity,
  limitPriceKrw,
  accountId,
});

async function signedIn(name: string) {
  const user = await signUp(stack, name);
  return { ...user, accounts: stack.accounts(user.tokens.accessToken) };
}

t.test("a second account is its own: funded with its starting cash, orders and positions apart from the first", async (t) => {
  const user = await signedIn("strategist");
  const before = await user.accounts.listAccounts({});
  t.equal(before.accounts.length, 1, "the first account exists from sign-up");
  t.equal(before.accounts[0]?.accountId, user.userId, "and has the user's id");
  t.ok(before.accounts[0]?.primary);
  t.equal(before.cashCapKrw, CAP);

  const req = { requestId: "create-1", name: "Momentum", startingCashKrw: 30_000_000n };
  const { account } = await user.accounts.createAccount(req);
  const again = await user.accounts.createAccount(req);
  t.equal(again.account?.accountId, account?.accountId, "a repeated request answers the same account");
  const second = account!.accountId;
  t.equal((await user.trading.getPortfolio({ accountId: second })).cashTotalKrw, 30_000_000n, "funded once");
  t.equal((await user.trading.getPortfolio({})).cashTotalKrw, 0n, "the first account is untouched");

  const { order: placed } = await user.trading.placeOrder(order(Side.BUY, 3n, 0n, second));
  await eventually("the buy settles in the second account", async () => {
    const { orders } = await user.trading.listOrders({ accountId: second });
    return orders.some((o) => o.orderId === placed?.orderId && o.state === OrderState.SETTLED);
  });
  t.equal((await user.trading.listOrders({})).orders.length, 0, "the first account has no orders");
  const positions = (await user.trading.getPortfolio({ accountId: second })).positions;
  t.same(
    positions.map((p) => [p.symbol, p.quantity]),
    [["005930", 3n]],
  );
  const listed = await user.accounts.listAccounts({});
  t.same(
    listed.accounts.map((a) => [a.name, a.primary]),
    [
      ["Main", true],
      ["Momentum", false],
    ],
  );

  const taken = await failure(user.accounts.createAccount({ requestId: "create-2", name: "momentum", startingCashKrw: 1n }));
  t.equal(taken?.code, Code.AlreadyExists, "names are unique per user, whatever their case");
  t.match(taken?.rawMessage, /^name: /);
  await user.accounts.createAccount({ requestId: "create-3", name: "Third", startingCashKrw: 1n });
  const tooMany = await failure(user.accounts.createAccount({ requestId: "create-4", name: "Fourth", startingCashKrw: 1n }));
  t.equal(tooMany?.code, Code.FailedPrecondition, "at most the configured number of accounts");
  t.equal((await user.accounts.createAccount(req)).account?.accountId, second, "a repeat still answers its account at the limit");
  const blank = await failure(user.accounts.createAccount({ requestId: "create-5", name: "   ", startingCashKrw: 1n }));
  t.equal(blank?.code, Code.InvalidArgument);
  t.match(blank?.rawMessage, /^name: /);
});

t.test("the paper-money policy: starting cash and deposits within the cap, refusals name the field and change nothing", async (t) => {
  const user = await signedIn("capped");
  const overCap = await failure(user.accounts.createAccount({ requestId: "big", name: "Big", startingCashKrw: CAP + 1n }));
  t.equal(overCap?.code, Code.InvalidArgument);
  t.match(overCap?.rawMessage, /^starting_cash_krw: must be at most 100000000 KRW/);
  const zero = await failure(user.accounts.createAccount({ requestId: "zero", name: "Zero", startingCashKrw: 0n }));
  t.equal(zero?.code, Code.InvalidArgument);
  t.match(zero?.rawMessage, /starting_cash_krw/);
  t.equal((await user.accounts.listAccounts({})).accounts.length, 1, "no account was created");

  await user.trading.depositCash({ requestId: "d-1", amountKrw: CAP - 1_000n });
  const over = await failure(user.trading.depositCash({ requestId: "d-2", amountKrw: 1_001n }));
  t.equal(over?.code, Code.FailedPrecondition, "a deposit above the cap is refused");
  t.match(over?.rawMessage, /^amount_krw: /);
  t.equal((await user.trading.getPortfolio({})).cashTotalKrw, CAP - 1_000n, "and changed nothing");
  t.equal((await user.trading.depositCash({ requestId: "d-3", amountKrw: 1_000n })).cashAvailableKrw, CAP, "up to the cap is fine");
});

t.test("reset cancels open orders and brings cash and shares back by journal entries; idempotent; the ledger stays whole", async (t) => {
  const user = await signedIn("resetter");
  await user.trading.depositCash({ requestId: "seed", amountKrw: 50_000_000n });
  const { order: bought } = await user.trading.placeOrder(order(Side.BUY, 5n, 0n, ""));
  await untilSettled(user.trading, bought!.orderId);
  const { order: resting } = await user.trading.placeOrder(order(Side.BUY, 2n, 50_000n, "")); // far below the market: rests
  t.equal(resting?.state, OrderState.ACCEPTED);
  const { order: restingSell } = await user.trading.placeOrder(order(Side.SELL, 1n, 90_000n, "")); // far above the market: rests
  t.equal(restingSell?.state, OrderState.ACCEPTED);
  const entriesBefore = await stack.ledger.verifyIntegrity({});

  const reset = await user.accounts.resetAccount({ requestId: "reset-1", accountId: "", startingCashKrw: 20_000_000n });
  t.equal(reset.ordersCancelled, 2, "both resting orders cancelled");
  t.equal(reset.cashTotalKrw, 20_000_000n);
  t.equal(reset.account?.startingCashKrw, 20_000_000n);
  t.ok(reset.account?.resetAt, "the reset is recorded");
  const after = await user.trading.getPortfolio({});
  t.equal(after.cashTotalKrw, 20_000_000n, "cash is the starting cash");
  t.equal(after.cashHeldKrw, 0n, "nothing held");
  t.same(after.positions, [], "no shares");
  const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
  t.same(
    balances.map((b) => [b.asset, b.totalMinor, b.heldMinor]),
    [
      ["005930", 0n, 0n],
      ["KRW", 20_000_000n, 0n],
    ].sort(),
  );
  const orders = (await user.trading.listOrders({})).orders;
  t.notOk(
    orders.some((o) => [OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED, OrderState.RECEIVED, OrderState.SENT].includes(o.state)),
    "no open order is left",
  );
  t.equal(orders.length, 3, "history is kept: every order is still listed");

  const repeat = await user.accounts.resetAccount({ requestId: "reset-1", accountId: "", startingCashKrw: 20_000_000n });
  t.equal(repeat.cashTotalKrw, 20_000_000n);
  const integrity = await stack.ledger.verifyIntegrity({});
  t.same(integrity.discrepancies, [], "VerifyIntegrity is clean");
  t.ok(integrity.entriesChecked > entriesBefore.entriesChecked, "the reset posted entries (deleted none)");
  const { balances: again } = await stack.ledger.getBalances({ ownerId: user.userId });
  t.same(
    again.map((b) => b.version),
    balances.map((b) => b.version),
    "the repeat posted nothing",
  );

  const bad = await failure(user.accounts.resetAccount({ requestId: "reset-2", accountId: "", startingCashKrw: CAP + 1n }));
  t.equal(bad?.code, Code.InvalidArgument);
  t.match(bad?.rawMessage, /^starting_cash_krw: /);
  t.equal((await user.trading.getPortfolio({})).cashTotalKrw, 20_000_000n, "a refused reset changes nothing");
});

t.test("a user never acts on another user's account: PERMISSION_DENIED everywhere, nothing changes", async (t) => {
  const alice = await signedIn("alice");
  const bob = await signedIn("bob");
  const { account } = await alice.accounts.createAccount({ requestId: "a", name: "Alice 2", startingCashKrw: 10_000_000n });
  const target = account!.accountId;
  const denied = async (what: string, promise: Promise<unknown>) => {
    const error = await failure(promise);
    t.equal(error?.code, Code.PermissionDenied, what);
    t.match(error?.rawMessage, /^account_id: /, `${what}: names the field`);
  };
  await denied("GetPortfolio", bob.trading.getPortfolio({ accountId: target }));
  await denied("DepositCash", bob.trading.depositCash({ requestId: "b", amountKrw: 1n, accountId: target }));
  await denied("PlaceOrder", bob.trading.placeOrder(order(Side.BUY, 1n, 0n, target)));
  await denied("ListOrders", bob.trading.listOrders({ accountId: target }));
  await denied("CancelOrder", bob.trading.cancelOrder({ orderId: randomUUID(), accountId: target }));
  await denied("ResetAccount", bob.accounts.resetAccount({ requestId: "b", accountId: target, startingCashKrw: 1n }));
  await denied(
    "ResetAccount of alice's first",
    bob.accounts.resetAccount({ requestId: "b", accountId: alice.userId, startingCashKrw: 1n }),
  );
  await denied(
    "StreamOrderUpdates",
    (async () => {
      for await (const _ of bob.trading.streamOrderUpdates({ accountId: target })) break;
    })(),
  );
  await denied("an account that does not exist", bob.trading.getPortfolio({ accountId: randomUUID() }));
  t.equal((await alice.trading.getPortfolio({ accountId: target })).cashTotalKrw, 10_000_000n, "alice's account is unchanged");
  t.equal((await alice.trading.listOrders({ accountId: target })).orders.length, 0);
  const anonymous = await failure(stack.accounts().listAccounts({}));
  t.equal(anonymous?.code, Code.Unauthenticated, "AccountService needs a token");
});

t.test("the market stream token: aud kuku-market, the user as sub, expiring soon", async (t) => {
  const user = await signedIn("watcher");
  const issued = await user.accounts.issueMarketStreamToken({});
  const { payload } = await jwtVerify(issued.token, new TextEncoder().encode(TEST_SECRETS["MARKET_WS_TOKEN_SECRET"]), {
    audience: "kuku-market",
  });
  t.equal(payload.sub, user.userId);
  t.ok(payload.exp! - Math.floor(Date.now() / 1000) <= Number(issued.expiresInSeconds));
  t.match(issued.websocketUrl, /^ws:\/\/.*\/ws$/);
});
