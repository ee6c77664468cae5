// Token buckets in Redis, one per key (a user or an IP), shared by every
// gateway replica. Take-a-token is one Lua script, so concurrent requests
// never both spend the last token; time comes from Redis' own clock, so
// replicas with skewed clocks agree. An authenticated call's whole admission
// (its address's bucket, its session's revocation, its user's bucket) is one
// script too: one round trip per call instead of three.
import type { Redis } from "ioredis";
import { revokedKey } from "./revocations.js";

/** take(key, capacity, refill per second, now): 1 or 0, and the wait in ms for the next token when 0. */
const TAKE_FUNCTION = `
local function take(key, capacity, refill_per_second, now_ms)
  local refill_per_ms = refill_per_second / 1000
  local state = redis.call('HMGET', key, 'tokens', 'at_ms')
  local tokens = tonumber(state[1])
  local at_ms = tonumber(state[2])
  if tokens == nil then tokens = capacity; at_ms = now_ms end
  tokens = math.min(capacity, tokens + math.max(0, now_ms - at_ms) * refill_per_ms)
  local allowed = 0
  local retry_after_ms = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  else
    retry_after_ms = math.ceil((1 - tokens) / refill_per_ms)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at_ms', tostring(now_ms))
  -- A full bucket carries no information: let idle keys expire.
  redis.call('PEXPIRE', key, math.ceil(capacity / refill_per_ms) + 1000)
  return allowed, retry_after_ms
end
local now_parts = redis.call('TIME')
local now_ms = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
`;

const TAKE = `${TAKE_FUNCTION}
local allowed, retry_after_ms = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now_ms)
return {allowed, retry_after_ms}
`;

// KEYS: the address's bucket, the session's revocation marker, the user's bucket; in the
// order the checks always ran: a refused address spends no user token, nor does a revoked session.
const ADMIT = `${TAKE_FUNCTION}
local allowed, retry_after_ms = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now_ms)
if allowed == 0 then return {1, retry_after_ms} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2, 0} end
allowed, retry_after_ms = take(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), now_ms)
if allowed == 0 then return {3, retry_after_ms} end
return {0, 0}
`;

export interface BucketLimits {
  /** The burst: how many requests a fresh bucket admits at once. */
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export type TakeOutcome = { allowed: true } | { allowed: false; retryAfterMs: number };

export type AdmitOutcome =
  | { kind: "admitted" }
  | { kind: "address_exhausted"; retryAfterMs: number }
  | { kind: "revoked" }
  | { kind: "user_exhausted"; retryAfterMs: number };

type WithScripts = Redis & {
  takeToken(key: string, capacity: number, refillPerSecond: number): Promise<[number, number]>;
  admitCall(ipKey: string, revoked: string, userKey: string, ...limits: number[]): Promise<[number, number]>;
};

export class RateLimiter {
  readonly #redis: WithScripts;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection.
    redis.defineCommand("takeToken", { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand("admitCall", { numberOfKeys: 3, lua: ADMIT });
    this.#redis = redis as WithScripts;
  }

  async take(key: string, limits: BucketLimits): Promise<TakeOutcome> {
    const [allowed, retryAfterMs] = await this.#redis.takeToken(this.#bucket(key), limits.capacity, limits.refillPerSecond);
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs };
  }

  /** An authenticated call: a token of `ipKey`'s bucket, an unrevoked session, a token of `userKey`'s bucket; one round trip. */
  async admit(
    ipKey: string,
    sessionId: string,
    userKey: string,
    limits: { readonly ip: BucketLimits; readonly user: BucketLimits },
  ): Promise<AdmitOutcome> {
    const [verdict, retryAfterMs] = await this.#redis.admitCall(
      this.#bucket(ipKey),
      revokedKey(this.keyPrefix, sessionId),
      this.#bucket(userKey),
      limits.ip.capacity,
      limits.ip.refillPerSecond,
      limits.user.capacity,
      limits.user.refillPerSecond,
    );
    if (verdict === 1) return { kind: "address_exhausted", retryAfterMs };
    if (verdict === 2) return { kind: "revoked" };
    if (verdict === 3) return { kind: "user_exhausted", retryAfterMs };
    return { kind: "admitted" };
  }

  #bucket(key: string): string {
    return `${this.keyPrefix}:bucket:${key}`;
  }
}
