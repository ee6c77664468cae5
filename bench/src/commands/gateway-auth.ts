// What authenticating one request costs the gateway, for ADR 0013: a
// stateless JWT check, the same plus the Redis revocation lookup the gateway
// does, an opaque session looked up in Redis, and the token-bucket script.
// Also the scrypt cost per log-in at each work factor (ADR 0013, passwords),
// and the admission script with many calls in flight, as the gateway sends it
// under load, with ioredis' auto-pipelining off and on (issue 16).
import { randomBytes, randomUUID } from "node:crypto";
import { PasswordHasher } from "@kuku/gateway/password";
import { RateLimiter } from "@kuku/gateway/rate-limiter";
import { AccessTokens } from "@kuku/gateway/tokens";
import { observeRedis } from "@kuku/platform";
import { Redis } from "ioredis";
import { command, duration, int, text } from "../lib/command.js";
import { closedLoop } from "../lib/load.js";
import { Histogram, measureSequential as measure, microsSince, table } from "../lib/stats.js";

const UNLIMITED = { capacity: 1e9, refillPerSecond: 1e9 };

/**
 * `inFlight` admissions at a time for `durationMs` through a client like the gateway's (observed: timed per command),
 * with auto-pipelining as asked: the rate, the latency and this process's CPU per admission (the gateway's side of it).
 */
async function admissionsInFlight(redisUrl: string, prefix: string, autoPipelining: boolean, inFlight: number, durationMs: number) {
  const redis = observeRedis(new Redis(redisUrl, { enableAutoPipelining: autoPipelining }), "bench");
  try {
    const limiter = new RateLimiter(redis, prefix);
    const admit = () => limiter.admit("ip:bench", "session", "user:bench", { ip: UNLIMITED, user: UNLIMITED }).then(() => true);
    await closedLoop(inFlight, Math.min(1_000, durationMs), admit); // warm-up: JIT, the script loaded
    const cpu = process.cpuUsage();
    const load = await closedLoop(inFlight, durationMs, admit);
    const { user, system } = process.cpuUsage(cpu);
    return [
      `${inFlight} in flight, auto-pipelining ${autoPipelining ? "on" : "off"}`,
      load.perSecond,
      load.latency.percentile(50).toFixed(0),
      load.latency.percentile(99).toFixed(0),
      ((user + system) / load.latency.count).toFixed(1),
    ];
  } finally {
    redis.disconnect();
  }
}

export const gatewayAuth = command({
  name: "gateway auth",
  summary: "per-request cost of JWT vs opaque-session checks, the rate-limit script, and scrypt per log-in",
  options: {
    requests: int("sequential checks per variant", 20000),
    logins: int("scrypt verifications per work factor", 5),
    "redis-url": text("Redis for revocations, sessions and buckets", "redis://127.0.0.1:6379"),
    "in-flight": int("admission scripts in flight at once for the auto-pipelining rows (0: skip them)", 64),
    "in-flight-duration": duration("measured time per auto-pipelining row", "5s"),
  },
  async run(values) {
    const { requests: count, logins } = values;
    const redis = new Redis(values["redis-url"]);
    const prefix = `kuku:bench:auth:${randomUUID()}`;
    try {
      const tokens = new AccessTokens(randomBytes(32).toString("hex"), 900);
      const token = await tokens.issue({ userId: randomUUID(), sessionId: randomUUID() });
      const sessionKey = `${prefix}:session:${randomBytes(32).toString("base64url")}`;
      await redis.set(sessionKey, JSON.stringify({ userId: randomUUID() }), "EX", 600);
      const limiter = new RateLimiter(redis, prefix);
      const unlimited = UNLIMITED;
      const rows = [
        await measure("JWT HS256 verify (stateless)", count, () => tokens.verify(token)),
        await measure("JWT verify + Redis revocation EXISTS (gateway)", count, async () => {
          const outcome = await tokens.verify(token);
          if (outcome.kind === "valid") await redis.exists(`${prefix}:revoked:${outcome.claims.sessionId}`);
        }),
        await measure("opaque session: Redis GET", count, () => redis.get(sessionKey)),
        await measure("token bucket Lua script (EVALSHA)", count, () => limiter.take("bench", { capacity: 1e9, refillPerSecond: 1e9 })),
        // A TradingService call's whole admission, before (three round trips) and now (one script).
        await measure("verify + IP bucket + EXISTS + user bucket (3 trips, before)", count, async () => {
          await limiter.take("ip:bench", unlimited);
          const outcome = await tokens.verify(token);
          if (outcome.kind === "valid") await redis.exists(`${prefix}:revoked:${outcome.claims.sessionId}`);
          await limiter.take("user:bench", unlimited);
        }),
        await measure("verify + one admission script (first call of a token)", count, async () => {
          const outcome = await tokens.verify(token);
          if (outcome.kind === "valid")
            await limiter.admit("ip:bench", outcome.claims.sessionId, "user:bench", { ip: unlimited, user: unlimited });
        }),
        // The gateway remembers a verified token until it expires (rpc/verified-tokens.ts): its next calls cost the script alone.
        await measure("one admission script (a known token: gateway now)", count, () =>
          limiter.admit("ip:bench", "session", "user:bench", { ip: unlimited, user: unlimited }),
        ),
      ];
      console.log(table(["check", "per second (1 client)", "p50 µs", "p99 µs"], rows));
      const inFlight = values["in-flight"];
      if (inFlight > 0) {
        const pipelined = [];
        for (const on of [false, true, false, true])
          pipelined.push(await admissionsInFlight(values["redis-url"], prefix, on, inFlight, values["in-flight-duration"]));
        console.log(`\n${table(["admission script (a known token)", "per second", "p50 µs", "p99 µs", "client CPU µs/call"], pipelined)}`);
      }
      const scryptRows: (string | number)[][] = [];
      for (const log2N of [14, 15, 16, 17]) {
        const hasher = new PasswordHasher(log2N);
        const hash = await hasher.hash("correct horse battery");
        const latency = new Histogram();
        for (let i = 0; i < logins; i++) {
          const t0 = process.hrtime.bigint();
          await hasher.verify("correct horse battery", hash);
          latency.record(microsSince(t0) / 1_000);
        }
        scryptRows.push([`2^${log2N}`, `${(128 * 2 ** log2N * 8) / 2 ** 20} MiB`, latency.percentile(50).toFixed(0)]);
      }
      console.log(`\n${table(["scrypt N (r=8, p=1)", "memory", "verify p50 ms"], scryptRows)}`);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  },
});
