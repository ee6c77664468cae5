// Failed log-ins per account, shared by every gateway replica: after
// `freeFailures` wrong passwords an account's log-in waits 1 s, then 2, 4 ...
// up to `backoffMaxSeconds`, whatever address the guesses come from (a
// per-address budget alone lets a botnet guess one account's password). A
// success clears the count. Keyed by a digest of the e-mail: no addresses in Redis.
import { createHash } from "node:crypto";
import { DomainError } from "@kuku/platform/errors";
import type { Redis } from "ioredis";

export interface LoginFailureLimits {
  readonly freeFailures: number;
  readonly backoffMaxSeconds: number;
}

// One round trip: count the failure, keep the count a day, and lock the account for its backoff.
const RECORD = `
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 86400)
local over = n - tonumber(ARGV[1])
if over > 0 then
  local seconds = math.min(2 ^ (over - 1), tonumber(ARGV[2]))
  redis.call('SET', KEYS[2], '1', 'EX', seconds)
end
return n`;

export class LoginFailures {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: LoginFailureLimits,
  ) {}

  #keys(email: string): [string, string] {
    const digest = createHash("sha256").update(email.trim().toLowerCase()).digest("base64url");
    return [`${this.keyPrefix}:login-failures:${digest}`, `${this.keyPrefix}:login-locked:${digest}`];
  }

  /** Refuses (RESOURCE_EXHAUSTED, with retry-after) while the account waits out its backoff; before any hashing. */
  async check(email: string): Promise<void> {
    const remainingMs = await this.redis.pttl(this.#keys(email)[1]);
    if (remainingMs <= 0) return;
    const seconds = Math.ceil(remainingMs / 1000);
    throw new DomainError("resource_exhausted", `too many failed log-ins for this account: retry after ${seconds} s`, {
      "retry-after": String(seconds),
    });
  }

  async recordFailure(email: string): Promise<void> {
    await this.redis.eval(RECORD, 2, ...this.#keys(email), this.limits.freeFailures, this.limits.backoffMaxSeconds);
  }

  async clear(email: string): Promise<void> {
    await this.redis.del(...this.#keys(email));
  }
}
