// Hostile text and crafted page tokens against the order service and the
// ledger as real processes: NUL bytes, lone surrogates, invalid UTF-8 and huge
// strings in every text field are INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for
// a body over the limit), never INTERNAL, and change no balance or order.
import { type DescService, fromJson, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { hostileTextCases, operatorAuthorization, sendHostile } from "@kuku/testkit";
import t, { type Test } from "tap";
import { newUser, startStack } from "./support/stack.js";

const stack = await startStack({ exchangeTimeoutMs: 2_000, reconcileIntervalMs: 60_000 });
t.teardown(() => stack.stop());
const userId = await newUser(stack, 10_000_000n);
const { balances } = await stack.ledger.getBalances({ ownerId: userId });
const accountId = balances[0]!.accountId;
const UUID = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";

async function snapshot() {
  const { balances } = await stack.ledger.getBalances({ ownerId: userId });
  const { orders } = await stack.orders.listOrders({ userId });
  const { entries } = await stack.ledger.listEntries({ accountId, pageSize: 500 });
  return { balances: balances.map((b) => [b.asset, b.totalMinor, b.heldMinor, b.version]), orders: orders.length, entries: entries.length };
}

const fail = (e: unknown) => ConnectError.from(e);
const token = (text: string) => Buffer.from(text).toString("base64url");

t.test("crafted page tokens are INVALID_ARGUMENT page_token, never INTERNAL", async (t) => {
  for (const crafted of [
    token("2026-01-01T00:00:00.000Z|not-a-uuid"),
    token(`+275760-09-13T00:00:00.000Z|${UUID}`),
    token(`-271821-04-20T00:00:00.000Z|${UUID}`),
    token(`2026-02-30T00:00:00.000Z|${UUID}`),
    token(`2026-01-01T00:00:00.000Z|${UUID.toUpperCase()}x`),
  ]) {
    t.match(await stack.orders.listOrders({ userId, pageToken: crafted }).catch(fail), {
      code: Code.InvalidArgument,
      rawMessage: /^page_token: /,
    });
  }
  for (const crafted of [token("p9999999999999999999"), token("p-1"), token("p1 ")]) {
    t.match(await stack.ledger.listEntries({ accountId, pageToken: crafted }).catch(fail), {
      code: Code.InvalidArgument,
      rawMessage: /^page_token: /,
    });
  }
});

t.test("a NUL byte in an idempotency key or in ledger metadata is refused, naming the field", async (t) => {
  const before = await snapshot();
  const order = await stack.orders
    .placeOrder({ idempotencyKey: "key-\u0000-12345", userId, symbol: "005930", side: 1, type: 2, timeInForce: 1, quantity: 1n })
    .catch(fail);
  t.match(order, { code: Code.InvalidArgument, rawMessage: "idempotency_key: contains a NUL byte" });
  const deposit = await stack.ledger
    .deposit({ requestId: "nul-meta", accountId, amountMinor: 1n, metadata: { note: "a\u0000" } })
    .catch(fail);
  t.match(deposit, { code: Code.InvalidArgument, rawMessage: 'metadata["note"]: contains a NUL byte' });
  t.same(await snapshot(), before, "no state changed");
});

// Requests valid in every other field: were a hostile text let through, it would change state.
const bases: Record<string, Record<string, unknown>> = {
  PlaceOrder: {
    idempotencyKey: "fuzz-order-1",
    userId,
    symbol: "005930",
    side: "SIDE_BUY",
    type: "ORDER_TYPE_MARKET",
    timeInForce: "TIME_IN_FORCE_IOC",
    quantity: "1",
  },
  CancelOrder: { orderId: UUID, userId },
  GetOrder: { orderId: UUID, userId },
  ListOrders: { userId },
  ListOrderTransitions: { orderId: UUID, userId },
  OpenAccount: { requestId: "fuzz-open", ownerId: userId, asset: "005930" },
  Deposit: { requestId: "fuzz-deposit", accountId, amountMinor: "1000" },
  Withdraw: { requestId: "fuzz-withdraw", accountId, amountMinor: "1000" },
  PlaceHold: { requestId: "fuzz-hold", accountId, amountMinor: "1000", reference: "fuzz" },
  ReleaseHold: { requestId: "fuzz-release", holdId: UUID },
  GetBalances: { ownerId: userId },
  GetHold: { holdId: UUID },
  ListEntries: { accountId },
};

async function fuzz(t: Test, service: DescService, baseUrl: string) {
  const seen = new Map<string, number>();
  // As the operator: the identity gate comes before validation, so without it nothing would reach the checks.
  const headers = { authorization: await operatorAuthorization(service.typeName) };
  for (const method of service.methods) {
    const json = bases[method.name] ?? {};
    const binary = toBinary(method.input, fromJson(method.input, json as never));
    for (const c of hostileTextCases(method, { json, binary })) {
      const res = await sendHostile(baseUrl, c, headers);
      seen.set(res.code ?? `http ${res.status}`, (seen.get(res.code ?? `http ${res.status}`) ?? 0) + 1);
      const allowed = c.kind === "huge" ? ["invalid_argument", "resource_exhausted"] : ["invalid_argument"];
      t.ok(
        allowed.includes(res.code ?? ""),
        `${c.procedure} ${c.field} ${c.kind} (${c.contentType}): ${res.status} ${res.code} ${res.message}`,
      );
      if (c.contentType === "application/json" && method.name in bases && res.code === "invalid_argument")
        t.match(res.message, c.field, "names the field");
    }
  }
  t.comment(`${service.typeName}: ${JSON.stringify(Object.fromEntries(seen))}`);
}

t.test("fuzz: hostile text in every text field of the order service and the ledger", async (t) => {
  const before = await snapshot();
  await fuzz(t, api.OrderService, stack.urls.order);
  await fuzz(t, ledger.LedgerService, stack.urls.ledger);
  t.same(await snapshot(), before, "no balance, entry or order changed");
});
