// Signed-out sessions. An access token is valid until it expires, so log-out
// records its session id here for as long as a token of it can live; the
// admission script (rate-limiter.ts) refuses tokens of a listed session.
import type { Redis } from "ioredis";

/** Where a revoked session is marked. */
export const revokedKey = (keyPrefix: string, sessionId: string) => `${keyPrefix}:revoked:${sessionId}`;

export class Revocations {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  async revoke(sessionId: string): Promise<void> {
    await this.redis.set(revokedKey(this.keyPrefix, sessionId), "1", "EX", this.accessTokenTtlSeconds + 60);
  }
}
