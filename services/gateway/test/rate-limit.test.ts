// Token buckets in the shared Redis: atomic under concurrency, per user and
// per address through the gateway, RESOURCE_EXHAUSTED with Retry-After.
import { randomUUID } from "node:crypto";
import { createTestDatabase } from "@kuku/testkit";
import { Redis } from "ioredis";
import t from "tap";
import { RateLimiter } from "../src/redis/rate-limiter.js";
import { signUp, startGatewayAlone, startStack } from "./support/stack.js";

const REDIS_URL = process.env["KUKU_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";

t.test("the Lua bucket is atomic: 200 concurrent takes from a bucket of 25 admit exactly 25", async (t) => {
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  const limiter = new RateLimiter(redis, `kuku:rltest:${randomUUID()}`);
  // A refill of 1 per second cannot add a token while the 200 calls run (well under a second).
  const outcomes = await Promise.all(Array.from({ length: 200 }, () => limiter.take("k", { capacity: 25, refillPerSecond: 1 })));
  t.equal(outcomes.filter((o) => o.allowed).length, 25);
  const refused = outcomes.find((o) => !o.allowed);
  t.ok(
    refused !== undefined && !refused.allowed && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000,
    "retry after at most one refill interval",
  );
  await new Promise((r) => setTimeout(r, 1_100));
  t.ok((await limiter.take("k", { capacity: 25, refillPerSecond: 1 })).allowed, "refilled");
});

t.test("through the gateway: per user and per address", async (t) => {
  const stack = await startStack({ gatewayEnv: { GATEWAY_RATE_USER_BURST: "3", GATEWAY_RATE_USER_PER_SECOND: "1" } });
  t.teardown(() => stack.stop());
  const alice = await signUp(stack, "alice");
  const bob = await signUp(stack, "bob");
  // Four at once against a bucket of three: no refill can fall between them.
  const answers = await Promise.all(
    Array.from({ length: 4 }, () =>
      fetch(`${stack.gatewayUrl}/kuku.gateway.v1.TradingService/GetPortfolio`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.tokens.accessToken}` },
        body: "{}",
      }),
    ),
  );
  t.same(answers.map((r) => r.status).sort(), [200, 200, 200, 429]);
  const refused = answers.find((r) => r.status === 429)!;
  t.equal(((await refused.json()) as { code: string }).code, "resource_exhausted");
  t.equal(refused.headers.get("retry-after"), "1", "Retry-After in seconds");
  t.ok((await bob.trading.getPortfolio({})) !== undefined, "another user has their own bucket");
  await new Promise((r) => setTimeout(r, 1_100));
  t.ok((await alice.trading.getPortfolio({})) !== undefined, "a token came back after a second");

  // A second gateway on the same database, with a small per-address bucket: guessing passwords is throttled.
  const gateway = await startGatewayAlone(t, stack.gatewayDbUrl, {
    GATEWAY_RATE_IP_BURST: "5",
    GATEWAY_RATE_IP_PER_SECOND: "1",
    GATEWAY_SCRYPT_LOG2_N: "14",
    // The address's bucket alone: its hashing budget (login-abuse.test.ts) would refuse more of them first.
    GATEWAY_HASH_PER_ADDRESS_MAX: "8",
    GATEWAY_HASH_QUEUE_MAX: "16",
  });
  // All at once, so that no refill falls between them however slow scrypt is on this machine.
  const codes = await Promise.all(
    Array.from({ length: 7 }, async (_, i) => {
      const r = await fetch(`http://127.0.0.1:${gateway.port}/kuku.gateway.v1.AuthService/LogIn`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: alice.email, password: `guess-${i}` }),
      });
      return ((await r.json()) as { code: string }).code;
    }),
  );
  t.same(codes.sort(), [...Array(2).fill("resource_exhausted"), ...Array(5).fill("unauthenticated")], "five guesses, then throttled");
  await new Promise((r) => setTimeout(r, 1_100));
  const quote = await fetch(`http://127.0.0.1:${gateway.port}/kuku.gateway.v1.TradingService/GetQuote`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.tokens.accessToken}` },
    body: JSON.stringify({ symbol: "005930" }),
  });
  t.match(
    await quote.json(),
    { code: "unavailable", message: /market data is not configured/ },
    "GATEWAY_MARKET_URL=none: quotes unavailable, said plainly",
  );
});

t.test("Redis down: calls fail closed with UNAVAILABLE, never unchecked", async (t) => {
  const db = await createTestDatabase("gw_noredis");
  t.teardown(() => db.drop());
  // Port 1: nothing listens there.
  const gateway = await startGatewayAlone(t, db.url, { GATEWAY_REDIS_URL: "redis://127.0.0.1:1" });
  const res = await fetch(`http://127.0.0.1:${gateway.port}/kuku.gateway.v1.AuthService/LogIn`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "a@example.com", password: "whatever1" }),
  });
  t.match(await res.json(), { code: "unavailable", message: "rate limiter unavailable, try again" });
});
