// Tokens for the market service's WebSocket (docs/market-websocket.md): the
// market verifies HS256 with aud kuku-market, an exp and a sub. Short-lived,
// as a browser puts it in a URL (query parameter) that proxies may log; the
// market checks it at the upgrade only, so an open socket outlives it.
import { SignJWT } from "jose";

export const MARKET_TOKEN_AUDIENCE = "kuku-market";

export class MarketTokens {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** A token naming `subject`, expiring `ttlSeconds` from now. */
  mint(subject: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("kuku-gateway")
      .setAudience(MARKET_TOKEN_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.#key);
  }
}
