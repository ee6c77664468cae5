// Authentication and rate limits, around every gateway call: checked in one
// Redis round trip (rate-limiter.ts), in the order they always had: the
// address's bucket, the token, the session, the user's bucket.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AccountService } from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type { VerifyOutcome } from "../domain/tokens.js";
import type { BucketLimits, RateLimiter } from "../redis/rate-limiter.js";
import { callerKey, peerKey } from "./context.js";
import type { VerifiedTokens } from "./verified-tokens.js";

/**
 * Redis answers every call (buckets, revoked sessions). When it cannot, the
 * call fails closed: UNAVAILABLE, which clients may retry, never unchecked.
 */
async function viaRedis<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ConnectError("rate limiter unavailable, try again", Code.Unavailable, undefined, undefined, error);
  }
}

// The services that act for a signed-in user; AuthService is public.
const SIGNED_IN = new Set([api.TradingService.typeName, AccountService.typeName]);
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/** The bearer token's verdict, checked locally (HS256): the refusal to throw, or the claims. */
async function readToken(tokens: VerifiedTokens, header: string | null): Promise<ConnectError | (VerifyOutcome & { kind: "valid" })> {
  if (header === null) return new ConnectError("missing access token: send authorization: Bearer <token>", Code.Unauthenticated);
  const match = BEARER.exec(header);
  if (match === null) return new ConnectError("malformed authorization header: expected Bearer <token>", Code.Unauthenticated);
  const outcome = await tokens.verify(match[1]!);
  if (outcome.kind === "expired") return new ConnectError("access token expired: refresh it", Code.Unauthenticated);
  if (outcome.kind === "invalid") return new ConnectError(`access token rejected (${outcome.reason})`, Code.Unauthenticated);
  return outcome;
}

function exhausted(what: string, retryAfterMs: number): ConnectError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ConnectError(`rate limit exceeded for this ${what}: retry after ${retryAfterSeconds} s`, Code.ResourceExhausted, {
    "retry-after": String(retryAfterSeconds),
  });
}

export interface AdmissionLimits {
  /** Per peer address, on every call: credential guessing is throttled too. */
  readonly ip: BucketLimits;
  /** Per user, whatever address they come from. */
  readonly user: BucketLimits;
}

/**
 * Every TradingService and AccountService call needs a valid, unexpired, unrevoked HS256 access
 * token; the user it names becomes the caller. AuthService is public, and
 * like a call without a valid token spends only an address token.
 */
export function admissionInterceptor(tokens: VerifiedTokens, limiter: RateLimiter, limits: AdmissionLimits): Interceptor {
  return (next) => async (req) => {
    const ipKey = `ip:${req.contextValues.get(peerKey)}`;
    const token = SIGNED_IN.has(req.service.typeName) ? await readToken(tokens, req.header.get("authorization")) : undefined;
    if (token === undefined || token instanceof ConnectError) {
      const outcome = await viaRedis(() => limiter.take(ipKey, limits.ip));
      if (!outcome.allowed) throw exhausted("address", outcome.retryAfterMs);
      if (token !== undefined) throw token;
      return next(req);
    }
    const { claims } = token;
    const verdict = await viaRedis(() => limiter.admit(ipKey, claims.sessionId, `user:${claims.userId}`, limits));
    if (verdict.kind === "address_exhausted") throw exhausted("address", verdict.retryAfterMs);
    if (verdict.kind === "revoked") throw new ConnectError("session logged out: log in again", Code.Unauthenticated);
    if (verdict.kind === "user_exhausted") throw exhausted("user", verdict.retryAfterMs);
    req.contextValues.set(callerKey, claims);
    return next(req);
  };
}
