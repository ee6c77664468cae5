// Authentication and rate limits, around every gateway call.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type { AccessTokens } from "../domain/tokens.js";
import type { BucketLimits, RateLimiter } from "../redis/rate-limiter.js";
import type { Revocations } from "../redis/revocations.js";
import { callerKey, peerKey } from "./context.js";

/**
 * Redis answers every call (buckets, revoked sessions). When it cannot, the
 * call fails closed: UNAVAILABLE, which clients may retry, never unchecked.
 */
async function viaRedis<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ConnectError(`${what} unavailable, try again`, Code.Unavailable, undefined, undefined, error);
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/**
 * Every TradingService call needs a valid, unexpired, unrevoked HS256 access
 * token; the user it names becomes the caller. AuthService is public.
 */
export function authInterceptor(tokens: AccessTokens, revocations: Revocations): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName !== api.TradingService.typeName) return next(req);
    const header = req.header.get("authorization");
    if (header === null) throw new ConnectError("missing access token: send authorization: Bearer <token>", Code.Unauthenticated);
    const match = BEARER.exec(header);
    if (match === null) throw new ConnectError("malformed authorization header: expected Bearer <token>", Code.Unauthenticated);
    const outcome = await tokens.verify(match[1]!);
    if (outcome.kind === "expired") throw new ConnectError("access token expired: refresh it", Code.Unauthenticated);
    if (outcome.kind === "invalid") throw new ConnectError(`access token rejected (${outcome.reason})`, Code.Unauthenticated);
    if (await viaRedis("session check", () => revocations.isRevoked(outcome.claims.sessionId)))
      throw new ConnectError("session logged out: log in again", Code.Unauthenticated);
    req.contextValues.set(callerKey, outcome.claims);
    return next(req);
  };
}

function exhausted(what: string, retryAfterMs: number): ConnectError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ConnectError(`rate limit exceeded for this ${what}: retry after ${retryAfterSeconds} s`, Code.ResourceExhausted, {
    "retry-after": String(retryAfterSeconds),
  });
}

/** Before authentication: one bucket per peer address, so credential guessing is throttled too. */
export function ipRateLimitInterceptor(limiter: RateLimiter, limits: BucketLimits): Interceptor {
  return (next) => async (req) => {
    const outcome = await viaRedis("rate limiter", () => limiter.take(`ip:${req.contextValues.get(peerKey)}`, limits));
    if (!outcome.allowed) throw exhausted("address", outcome.retryAfterMs);
    return next(req);
  };
}

/** After authentication: one bucket per user, whatever address they come from. */
export function userRateLimitInterceptor(limiter: RateLimiter, limits: BucketLimits): Interceptor {
  return (next) => async (req) => {
    const caller = req.contextValues.get(callerKey);
    if (caller !== undefined) {
      const outcome = await viaRedis("rate limiter", () => limiter.take(`user:${caller.userId}`, limits));
      if (!outcome.allowed) throw exhausted("user", outcome.retryAfterMs);
    }
    return next(req);
  };
}
