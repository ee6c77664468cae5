// Token buckets in Redis, one per key (a user or an IP), shared by every
// gateway replica. Take-a-token is one Lua script, so concurrent requests
// never both spend the last token; time comes from Redis' own clock, so
// replicas with skewed clocks agree.
import type { Redis } from "ioredis";

const TAKE = `
local capacity = tonumber(ARGV[1])
local refill_per_ms = tonumber(ARGV[2]) / 1000
local now_parts = redis.call('TIME')
local now_ms = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at_ms')
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
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at_ms', tostring(now_ms))
-- A full bucket carries no information: let idle keys expire.
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / refill_per_ms) + 1000)
return {allowed, retry_after_ms}
`;

export interface BucketLimits {
  /** The burst: how many requests a fresh bucket admits at once. */
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export type TakeOutcome = { allowed: true } | { allowed: false; retryAfterMs: number };

type WithTake = Redis & { takeToken(key: string, capacity: number, refillPerSecond: number): Promise<[number, number]> };

export class RateLimiter {
  readonly #redis: WithTake;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection.
    redis.defineCommand("takeToken", { numberOfKeys: 1, lua: TAKE });
    this.#redis = redis as WithTake;
  }

  async take(key: string, limits: BucketLimits): Promise<TakeOutcome> {
    const [allowed, retryAfterMs] = await this.#redis.takeToken(`${this.keyPrefix}:bucket:${key}`, limits.capacity, limits.refillPerSecond);
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs };
  }
}
