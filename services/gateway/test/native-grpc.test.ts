// Native gRPC clients (ghz, the bench, other backends) reach the gateway
// through grpc-js on the same port as the console's Connect and gRPC-Web:
// the same admission (token, revocation, the address's and the user's
// buckets), validation, error model and streams as on the Connect path.
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { Side } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createTestDatabase } from "@kuku/testkit";
import t from "tap";
import { AccessTokens } from "../src/domain/tokens.js";
import { marketOrder, signUp, startGatewayAlone, startStack, stateOf, untilSettled } from "./support/stack.js";

const bearer = (accessToken: string) => ({ headers: { authorization: `Bearer ${accessToken}` } });

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call was answered, not refused");
}

t.test("the address's bucket is one bucket for Connect and native gRPC callers from the same address", async (t) => {
  const db = await createTestDatabase("gw_native_grpc");
  t.teardown(() => db.drop());
  // A refill of 1 per second: no token comes back while the calls below run (well under a second).
  const gateway = await startGatewayAlone(t, db.url, { GATEWAY_RATE_IP_BURST: "5", GATEWAY_RATE_IP_PER_SECOND: "1" });
  const baseUrl = `http://127.0.0.1:${gateway.port}`;
  // Three anonymous Connect calls spend three of the address's five tokens (and are refused for their missing token).
  for (let i = 0; i < 3; i += 1) {
    const r = await fetch(`${baseUrl}/kuku.gateway.v1.TradingService/GetPortfolio`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    t.equal(((await r.json()) as { code: string }).code, "unauthenticated");
  }
  const trading = createClient(api.TradingService, createGrpcTransport({ baseUrl }));
  const errors = await Promise.all(Array.from({ length: 4 }, () => refusal(trading.getPortfolio({}))));
  t.same(
    errors.map((e) => e.code).sort(),
    [Code.Unauthenticated, Code.Unauthenticated, Code.ResourceExhausted, Code.ResourceExhausted].sort(),
    "the two tokens left, then throttled",
  );
  const exhausted = errors.find((e) => e.code === Code.ResourceExhausted)!;
  t.match(exhausted.rawMessage, /rate limit exceeded for this address/);
  t.equal(exhausted.metadata.get("retry-after"), "1", "Retry-After in the gRPC trailers");
});

t.test("the user's bucket over native gRPC: RESOURCE_EXHAUSTED with Retry-After in the trailers", async (t) => {
  const db = await createTestDatabase("gw_native_grpc");
  t.teardown(() => db.drop());
  const secret = `native-grpc-test-secret-${randomUUID()}`;
  const gateway = await startGatewayAlone(t, db.url, {
    GATEWAY_JWT_SECRET: secret,
    GATEWAY_RATE_USER_BURST: "3",
    GATEWAY_RATE_USER_PER_SECOND: "1",
  });
  const token = await new AccessTokens(secret, 300).issue({ userId: randomUUID(), sessionId: randomUUID() });
  const trading = createClient(api.TradingService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gateway.port}` }));
  // All at once, so that no refill falls between them. Admitted calls reach GetQuote, which has no market here.
  const errors = await Promise.all(Array.from({ length: 5 }, () => refusal(trading.getQuote({ symbol: "005930" }, bearer(token)))));
  t.same(errors.map((e) => e.code).sort(), [...Array(3).fill(Code.Unavailable), ...Array(2).fill(Code.ResourceExhausted)].sort());
  const exhausted = errors.find((e) => e.code === Code.ResourceExhausted)!;
  t.match(exhausted.rawMessage, /rate limit exceeded for this user/);
  t.equal(exhausted.metadata.get("retry-after"), "1");
  t.match(
    errors.find((e) => e.code === Code.Unavailable)!.rawMessage,
    /market data is not configured/,
    "admitted: the caller reached the handler",
  );
});

t.test("against the trading stack, over native gRPC", async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.stop());
  const transport = createGrpcTransport({ baseUrl: stack.gatewayUrl });
  const auth = createClient(api.AuthService, transport);
  const trading = createClient(api.TradingService, transport);

  const email = `grpc-${randomUUID()}@example.com`;
  const { userId, tokens } = await auth.signUp({ email, password: "correct horse battery", displayName: "grpc" });
  const as = bearer(tokens!.accessToken);
  await trading.depositCash({ requestId: `deposit-${randomUUID()}`, amountKrw: 10_000_000n }, as);

  await t.test("PlaceOrder answers at acceptance; the stream and the list see the order settle", async (t) => {
    const abort = new AbortController();
    t.teardown(() => abort.abort());
    const updates: api.StreamOrderUpdatesResponse[] = [];
    const streaming = (async () => {
      for await (const m of trading.streamOrderUpdates({}, { ...as, signal: abort.signal })) updates.push(m);
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const { order: placed } = await trading.placeOrder(marketOrder(Side.BUY, 2n), as);
    t.ok(placed?.orderId, "an order id at acceptance");
    const viaConnect = { userId, trading: stack.trading(tokens!.accessToken) };
    t.equal((await untilSettled(viaConnect.trading, placed!.orderId)).state, order.OrderState.SETTLED);
    await t.resolves(
      (async () => {
        while (!updates.some((u) => u.update?.order?.orderId === placed!.orderId && u.update.state === order.OrderState.SETTLED)) {
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      "the gRPC stream reported SETTLED",
    );
    abort.abort();
    await streaming;
  });

  await t.test("invalid input: a field-level INVALID_ARGUMENT, and nothing changes", async (t) => {
    const before = await stateOf(stack, { userId, trading: stack.trading(tokens!.accessToken) });
    const error = await refusal(trading.placeOrder({ ...marketOrder(Side.BUY, 0n), symbol: "" }, as));
    t.equal(error.code, Code.InvalidArgument);
    t.match(error.rawMessage, /symbol: .*; quantity: /);
    t.same(await stateOf(stack, { userId, trading: stack.trading(tokens!.accessToken) }), before);
  });

  await t.test("missing, malformed and forged tokens are UNAUTHENTICATED", async (t) => {
    t.match(await refusal(trading.getPortfolio({})), { code: Code.Unauthenticated, rawMessage: /missing access token/ });
    const malformed = await refusal(trading.getPortfolio({}, { headers: { authorization: "Basic dXNlcjpwYXNz" } }));
    t.match(malformed, { code: Code.Unauthenticated, rawMessage: /malformed authorization header/ });
    const [h, p, s] = tokens!.accessToken.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = [h, Buffer.from(JSON.stringify({ ...payload, sub: randomUUID() })).toString("base64url"), s].join(".");
    t.match(await refusal(trading.getPortfolio({}, bearer(forged))), { code: Code.Unauthenticated, rawMessage: /access token rejected/ });
  });

  await t.test("after log-out the session's access token is refused at once", async (t) => {
    const user = await signUp(stack, "leaving");
    t.ok(await trading.getPortfolio({}, bearer(user.tokens.accessToken)), "admitted before");
    await auth.logOut({ refreshToken: user.tokens.refreshToken });
    t.match(await refusal(trading.getPortfolio({}, bearer(user.tokens.accessToken))), {
      code: Code.Unauthenticated,
      rawMessage: /session logged out/,
    });
  });
});
