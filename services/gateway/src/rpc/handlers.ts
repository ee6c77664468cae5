import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import type { Auth } from "../app/auth.js";
import type { OrderUpdates } from "../app/order-updates.js";
import type { Trading } from "../app/trading.js";
import { callerOf, downstreamOptions, peerKey } from "./context.js";

export function authHandlers(auth: Auth): ServiceRegistration {
  return serviceOf(api.AuthService, {
    signUp: (req, ctx) => auth.signUp(req, ctx.values.get(peerKey)),
    logIn: (req, ctx) => auth.logIn(req, ctx.values.get(peerKey)),
    refreshToken: (req) => auth.refresh(req),
    logOut: (req) => auth.logOut(req),
  });
}

export function tradingHandlers(trading: Trading, updates: OrderUpdates, options: { downstreamTimeoutMs: number }): ServiceRegistration {
  const call = (ctx: Parameters<typeof callerOf>[0]) => downstreamOptions(ctx, options.downstreamTimeoutMs);
  return serviceOf(api.TradingService, {
    depositCash: (req, ctx) => trading.deposit(callerOf(ctx).userId, req, call(ctx)),
    getPortfolio: (_req, ctx) => trading.portfolio(callerOf(ctx).userId, call(ctx)),
    placeOrder: (req, ctx) => trading.placeOrder(callerOf(ctx).userId, req, call(ctx)),
    amendOrder: (req, ctx) => trading.amendOrder(callerOf(ctx).userId, req, call(ctx)),
    cancelOrder: (req, ctx) => trading.cancelOrder(callerOf(ctx).userId, req, call(ctx)),
    listOrders: (req, ctx) => trading.listOrders(callerOf(ctx).userId, req, call(ctx)),
    getQuote: (req, ctx) => trading.quote(req, call(ctx)),
    getOrderBook: (req, ctx) => trading.orderBook(req, call(ctx)),
    listInstruments: (_req, ctx) => trading.instruments(call(ctx)),
    streamOrderUpdates: (req, ctx) => updates.stream(callerOf(ctx).userId, req.afterCursor, ctx.signal),
  });
}
