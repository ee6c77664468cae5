// The look-aside cache against the real Redis: a stampede of cold reads
// computes once, a second replica is answered by Redis, the TTL expires, and
// a Redis that is down degrades to computing rather than failing.
import { randomUUID } from "node:crypto";
import { createLogger } from "@kuku/platform";
import { Redis } from "ioredis";
import t from "tap";
import { LookAsideCache, type LookAsideOptions } from "../src/cache/look-aside.js";

const REDIS_URL = process.env["KUKU_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";
const logger = createLogger("market-cache-test", "silent");
const redis = new Redis(REDIS_URL);
t.teardown(() => redis.quit());

const options = (overrides: Partial<LookAsideOptions<string>> = {}): LookAsideOptions<string> => ({
  name: `test-${randomUUID().slice(0, 8)}`,
  redisTtlMs: 10_000,
  localTtlMs: 500,
  localEntriesMax: 100,
  encode: (v) => Buffer.from(v),
  decode: (b) => Buffer.from(b).toString(),
  ...overrides,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test("1,000 concurrent cold reads of one key compute once", async (t) => {
  const cache = new LookAsideCache(redis, options(), logger);
  let computed = 0;
  const compute = async () => {
    computed += 1;
    await sleep(50); // a database query's worth of time for the others to pile up
    return "candles";
  };
  const answers = await Promise.all(Array.from({ length: 1_000 }, () => cache.get("005930:60", compute)));
  t.equal(computed, 1, "one computation");
  t.equal(cache.computations, 1);
  t.ok(
    answers.every((a) => a === "candles"),
    "every reader got the value",
  );
});

t.test("another replica is answered from Redis; after the TTL it computes again", async (t) => {
  const shared = options({ redisTtlMs: 300, localTtlMs: 0 });
  const first = new LookAsideCache(redis, shared, logger);
  const second = new LookAsideCache(redis, shared, logger);
  await first.get("k", async () => "v1");
  // Redis writes are fire-and-forget after the computation: wait until it holds the value.
  for (let i = 0; i < 50 && (await redis.exists(`kuku:market:${shared.name}:k`)) === 0; i++) await sleep(10);
  t.equal(await second.get("k", async () => "recomputed"), "v1", "served by Redis");
  t.equal(second.computations, 0);
  await sleep(400);
  t.equal(await second.get("k", async () => "v2"), "v2", "expired in Redis");
  t.equal(second.computations, 1);
});

t.test("the local layer answers hot keys without Redis, for its short TTL only", async (t) => {
  const shared = options({ localTtlMs: 200, redisTtlMs: 10_000 });
  const cache = new LookAsideCache(redis, shared, logger);
  await cache.get("hot", async () => "v1");
  // Change the value behind the local layer's back: it keeps answering from memory until its TTL.
  await redis.set(`kuku:market:${shared.name}:hot`, "v2", "PX", 10_000);
  for (let i = 0; i < 100; i++) t.equal(await cache.get("hot", async () => "never"), "v1");
  await sleep(250);
  t.equal(await cache.get("hot", async () => "never"), "v2", "then Redis answers");
  t.equal(cache.computations, 1);
});

t.test("with Redis unreachable every read computes, none fails", async (t) => {
  const down = new Redis("redis://127.0.0.1:1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  t.teardown(() => down.disconnect());
  const cache = new LookAsideCache(down, options({ localTtlMs: 0 }), logger);
  t.equal(await cache.get("k", async () => "v"), "v");
  t.equal(await cache.get("k", async () => "v"), "v");
  t.equal(cache.computations, 2);
});
