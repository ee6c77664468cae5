// Access tokens already verified, so that a client's next calls skip the
// HMAC and the claim checks (~75 µs of CPU each through jose's WebCrypto,
// the largest part of admitting a call: see docs/benchmarks/orders.md).
// Only the signature's verdict is remembered, and only until the token's
// own expiry: revocation is still asked of Redis on every call (the
// admission script), so a log-out takes effect at once on every replica
// and nothing here needs invalidating.
import type { AccessClaims, AccessTokens, VerifyOutcome } from "../domain/tokens.js";

/** Tokens remembered at most; the oldest go first (a token is ~300 bytes). */
const ENTRIES_MAX = 50_000;

export class VerifiedTokens {
  readonly #valid = new Map<string, { claims: AccessClaims; expiresAtMs: number }>();

  constructor(
    private readonly tokens: AccessTokens,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<VerifyOutcome> {
    const known = this.#valid.get(token);
    if (known !== undefined && this.now() < known.expiresAtMs) return { kind: "valid", claims: known.claims };
    if (known !== undefined) this.#valid.delete(token);
    const outcome = await this.tokens.verify(token);
    if (outcome.kind === "valid") this.#remember(token, outcome.claims);
    return outcome;
  }

  #remember(token: string, claims: AccessClaims): void {
    // Verified just now, so the payload is the signed one and carries a numeric exp (a required claim).
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
    if (this.#valid.size >= ENTRIES_MAX) this.#valid.delete(this.#valid.keys().next().value!);
    this.#valid.set(token, { claims, expiresAtMs: payload.exp * 1000 });
  }
}
