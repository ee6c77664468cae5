// Text at the gateway's door: NUL bytes, lone surrogates, invalid UTF-8 and
// huge strings in every text field of every public procedure are refused as
// INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for a body over the limit), never
// INTERNAL, and change nothing. Checks run after authentication and rate
// limiting: an anonymous caller learns nothing about its fields.
import { fromJson, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountService } from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { hostileTextCases, sendHostile } from "@kuku/testkit";
import t from "tap";
import { signUp, startStack, stateOf } from "./support/stack.js";

const stack = await startStack({ gatewayEnv: { GATEWAY_RATE_IP_BURST: "100000", GATEWAY_RATE_USER_BURST: "100000" } });
t.teardown(() => stack.stop());
const victim = await signUp(stack, "victim");
await victim.trading.depositCash({ requestId: "seed", amountKrw: 1_000_000n });

const snapshot = () => stateOf(stack, victim);

const fail = (e: unknown) => ConnectError.from(e);

t.test("a NUL byte or a lone surrogate is refused, naming the field", async (t) => {
  const before = await snapshot();
  const nul = await stack
    .auth()
    .signUp({ email: "nul@example.com", password: "correct horse battery", displayName: "a\u0000b" })
    .catch(fail);
  t.match(nul, { code: Code.InvalidArgument, rawMessage: "display_name: contains a NUL byte" });
  // Sent raw: a client's own encoder would replace the lone surrogate with U+FFFD before it leaves.
  const surrogate = await fetch(`${stack.gatewayUrl}/kuku.gateway.v1.AuthService/SignUp`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"email":"surrogate@example.com","password":"correct horse battery","displayName":"a\\ud800b"}',
  });
  t.equal(surrogate.status, 400);
  t.match(await surrogate.json(), { code: "invalid_argument", message: /display_name.*invalid UTF8/ });
  const key = await victim.trading.depositCash({ requestId: "dep\u0000osit", amountKrw: 1000n }).catch(fail);
  t.match(key, { code: Code.InvalidArgument, rawMessage: "request_id: contains a NUL byte" });
  t.same(await snapshot(), before, "no state changed");
});

t.test("authenticate, then rate limit, then validate: an anonymous caller gets no field-level answer", async (t) => {
  const anonymous = await stack.trading().depositCash({ requestId: "", amountKrw: -1n }).catch(fail);
  t.match(anonymous, { code: Code.Unauthenticated });
  const signedIn = await victim.trading.depositCash({ requestId: "", amountKrw: -1n }).catch(fail);
  t.match(signedIn, { code: Code.InvalidArgument });
});

t.test("a crafted ListOrders page token is INVALID_ARGUMENT page_token, never INTERNAL", async (t) => {
  const token = (text: string) => Buffer.from(text).toString("base64url");
  const uuid = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";
  for (const crafted of [
    token(`2026-01-01T00:00:00.000Z|not-a-uuid`),
    token(`+275760-09-13T00:00:00.000Z|${uuid}`),
    token(`2026-02-30T00:00:00.000Z|${uuid}`),
    token(`2026-01-01T00:00:00.000Z|${uuid}|extra`),
    token(`2026-01-01|${uuid}`),
    "not base64 !",
  ]) {
    const error = await victim.trading.listOrders({ pageToken: crafted }).catch(fail);
    t.match(error, { code: Code.InvalidArgument, rawMessage: /^page_token: / }, crafted);
  }
});

// A request valid in every other field: were a hostile text let through, it would change state.
const bases: Record<string, Record<string, unknown>> = {
  SignUp: { email: "fuzz@example.com", password: "correct horse battery", displayName: "fuzz" },
  LogIn: { email: victim.email, password: victim.password },
  RefreshToken: { refreshToken: victim.tokens.refreshToken },
  LogOut: { refreshToken: victim.tokens.refreshToken },
  DepositCash: { requestId: "fuzz-deposit", amountKrw: "1000" },
  PlaceOrder: {
    idempotencyKey: "fuzz-order-1",
    symbol: "005930",
    side: "SIDE_BUY",
    type: "ORDER_TYPE_LIMIT",
    timeInForce: "TIME_IN_FORCE_DAY",
    quantity: "1",
    limitPriceKrw: "60000",
  },
  CancelOrder: { orderId: "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f" },
  ListOrders: { pageSize: 10 },
  GetQuote: { symbol: "005930" },
  GetOrderBook: { symbol: "005930", depth: 5 },
  ListCandles: { symbol: "005930", limit: 5 },
  StreamOrderUpdates: { afterCursor: "" },
  CreateAccount: { requestId: "fuzz-account", name: "fuzz", startingCashKrw: "1000" },
  ResetAccount: { requestId: "fuzz-reset", startingCashKrw: "1000" },
  GetOrder: { orderId: "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f" },
  ListFills: { pageSize: 10 },
  GetStatement: { from: "2026-01-01T00:00:00Z", before: "2026-02-01T00:00:00Z" },
};

t.test("fuzz: hostile text in every text field of every public procedure, JSON and binary", async (t) => {
  const before = await snapshot();
  const seen = new Map<string, number>();
  let sent = 0;
  for (const method of [...api.AuthService.methods, ...api.TradingService.methods, ...AccountService.methods]) {
    const json = bases[method.name] ?? {};
    const binary = toBinary(method.input, fromJson(method.input, json as never));
    for (const c of hostileTextCases(method, { json, binary })) {
      const res = await sendHostile(stack.gatewayUrl, c, { authorization: `Bearer ${victim.tokens.accessToken}` });
      sent += 1;
      seen.set(res.code ?? `http ${res.status}`, (seen.get(res.code ?? `http ${res.status}`) ?? 0) + 1);
      const allowed = c.kind === "huge" ? ["invalid_argument", "resource_exhausted"] : ["invalid_argument"];
      t.ok(
        allowed.includes(res.code ?? ""),
        `${c.procedure} ${c.field} ${c.kind} (${c.contentType}): ${res.status} ${res.code} ${res.message}`,
      );
      if (c.contentType === "application/json" && res.code === "invalid_argument") t.match(res.message, c.field, "names the field");
    }
  }
  t.comment(`${sent} cases, answers: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.ok(sent > 40, "every text field was tried");
  t.same(await snapshot(), before, "no state changed");
});
