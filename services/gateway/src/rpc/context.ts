// What the gateway knows about a call beyond its message: the peer, the
// request id it passes downstream, and (once authenticated) the user.
import { randomUUID } from "node:crypto";
import { type ContextValues, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { CallOrigin } from "@kuku/platform";

export interface Caller {
  readonly userId: string;
  readonly sessionId: string;
}

export const peerKey = createContextKey<string>("unknown", { description: "peer address" });
export const requestIdKey = createContextKey<string>("", { description: "request id" });
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: "authenticated caller" });

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * From the call's origin, the same on the Connect and the native gRPC path: the socket's peer address (not
 * X-Forwarded-For, which a client can forge) and a request id.
 */
export function requestContext(origin: CallOrigin): ContextValues {
  const values = createContextValues();
  values.set(peerKey, origin.remoteAddress ?? "unknown");
  const offered = origin.headers["x-request-id"];
  values.set(requestIdKey, typeof offered === "string" && REQUEST_ID.test(offered) ? offered : randomUUID());
  return values;
}

/** The authenticated caller; the auth interceptor guarantees one on TradingService. */
export function callerOf(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(callerKey);
  if (caller === undefined) throw new Error("TradingService handler ran without an authenticated caller");
  return caller;
}

/** Deadline, cancellation and request id for a downstream call made on behalf of this one. */
export function downstreamOptions(ctx: HandlerContext, defaultTimeoutMs: number) {
  const remainingMs = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    timeoutMs: remainingMs === undefined ? defaultTimeoutMs : Math.max(1, Math.min(remainingMs, defaultTimeoutMs)),
    headers: { "x-request-id": ctx.values.get(requestIdKey) },
  };
}
