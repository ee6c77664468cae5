// Access tokens are short-lived HS256 JWTs (jose); refresh tokens are random
// opaque strings stored only as SHA-256 digests, rotated on every use.
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

export type VerifyOutcome = { kind: "valid"; claims: AccessClaims } | { kind: "expired" } | { kind: "invalid"; reason: string };

export class AccessTokens {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  issue(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.#key);
  }

  async verify(token: string): Promise<VerifyOutcome> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
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
