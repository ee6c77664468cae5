// Signed-out sessions. An access token is valid until it expires, so log-out
// records its session id here for as long as a token of it can live; the
// auth interceptor refuses tokens of a listed session.
import type { Redis } from "ioredis";

export class Revocations {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  async revoke(sessionId: string): Promise<void> {
    await this.redis.set(`${this.keyPrefix}:revoked:${sessionId}`, "1", "EX", this.accessTokenTtlSeconds + 60);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.keyPrefix}:revoked:${sessionId}`)) === 1;
  }
}
