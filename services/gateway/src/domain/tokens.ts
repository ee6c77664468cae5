// Access tokens are short-lived HS256 JWTs (jose); refresh tokens are random
// opaque strings stored only as SHA-256 digests, rotated on every use.
// Signing keys rotate without logging anyone out: each token names its key
// (`kid`, a digest of the key, never the key), the current key signs, and
// the previous keys still verify the tokens they signed until those expire.
import { createHash, randomBytes } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";

const ISSUER = "kuku-gateway";
const AUDIENCE = "kuku-console";
// Only this algorithm is accepted: "none", RS256 with the HMAC key as a
// public key and every other algorithm confusion fail verification.
const ALGORITHM = "HS256";

export interface AccessClaims {
  readonly userId: string;
  /** The sign-in (refresh token family) the token belongs to; log-out revokes it. */
  readonly sessionId: string;
}

// Verifies nothing: a token naming a key this gateway does not hold fails its signature check.
const UNKNOWN_KEY = new TextEncoder().encode(randomBytes(32).toString("hex"));

export type VerifyOutcome = { kind: "valid"; claims: AccessClaims } | { kind: "expired" } | { kind: "invalid"; reason: string };

/** A key's id: a digest, so that a token's header says which key without saying anything about it. */
export const keyId = (secret: string): string => createHash("sha256").update(`kuku-gateway-jwt:${secret}`).digest("base64url").slice(0, 16);

export class AccessTokens {
  readonly #key: Uint8Array;
  readonly #kid: string;
  /** Every key that verifies, the current one included, by id. */
  readonly #keys: ReadonlyMap<string, Uint8Array>;

  /** `previousSecrets`: keys rotated out, still verifying the tokens they signed (keep them one access-token lifetime). */
  constructor(
    secret: string,
    readonly ttlSeconds: number,
    previousSecrets: readonly string[] = [],
  ) {
    this.#key = new TextEncoder().encode(secret);
    this.#kid = keyId(secret);
    this.#keys = new Map([secret, ...previousSecrets].map((s) => [keyId(s), new TextEncoder().encode(s)]));
  }

  issue(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT", kid: this.#kid })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.#key);
  }

  async verify(token: string): Promise<VerifyOutcome> {
    try {
      // A token without a kid is from before keys had ids: only the current key may verify it.
      const key = (header: { kid?: string }) => (header.kid === undefined ? this.#key : this.#keys.get(header.kid)) ?? UNKNOWN_KEY;
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ["exp", "sub", "sid"],
      });
      if (typeof payload.sid !== "string" || typeof payload.sub !== "string") return { kind: "invalid", reason: "claims missing" };
      return { kind: "valid", claims: { userId: payload.sub, sessionId: payload.sid } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { kind: "expired" };
      if (error instanceof errors.JOSEError) return { kind: "invalid", reason: error.code };
      throw error;
    }
  }
}

export function newRefreshToken(): string {
  return randomBytes(32).toString("base64url");
}

export function refreshTokenDigest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
