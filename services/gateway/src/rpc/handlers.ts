import * as accountsApi from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import type { Accounts } from "../app/accounts.js";
import type { Auth } from "../app/auth.js";
import type { History } from "../app/history.js";
import type { MarketStreamAccess } from "../app/market-stream.js";
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

type Ctx = Parameters<typeof callerOf>[0];

/** Every trading call acts on one of the caller's paper accounts: `owner` is that account's owner id. */
export function tradingHandlers(
  trading: Trading,
  history: History,
  updates: OrderUpdates,
  accounts: Accounts,
  options: { downstreamTimeoutMs: number },
): ServiceRegistration {
  const call = (ctx: Ctx) => downstreamOptions(ctx, options.downstreamTimeoutMs);
  const owner = (ctx: Ctx, accountId: string) => accounts.ownerOf(callerOf(ctx).userId, accountId);
  return serviceOf(api.TradingService, {
    depositCash: async (req, ctx) => trading.deposit(await owner(ctx, req.accountId), req, call(ctx)),
    getPortfolio: async (req, ctx) => {
      const account = await owner(ctx, req.accountId);
      return trading.portfolio(account, await accounts.resetAtOf(account), call(ctx));
    },
    placeOrder: async (req, ctx) => trading.placeOrder(await owner(ctx, req.accountId), req, call(ctx)),
    amendOrder: async (req, ctx) => trading.amendOrder(await owner(ctx, req.accountId), req, call(ctx)),
    cancelOrder: async (req, ctx) => trading.cancelOrder(await owner(ctx, req.accountId), req, call(ctx)),
    listOrders: async (req, ctx) => trading.listOrders(await owner(ctx, req.accountId), req, call(ctx)),
    getQuote: (req, ctx) => trading.quote(req, call(ctx)),
    getOrderBook: (req, ctx) => trading.orderBook(req, call(ctx)),
    listCandles: (req, ctx) => trading.candles(req, call(ctx)),
    listInstruments: (_req, ctx) => trading.instruments(call(ctx)),
    streamOrderUpdates: async function* (req, ctx) {
      yield* updates.stream(await owner(ctx, req.accountId), req.afterCursor, ctx.signal);
    },
    getOrder: async (req, ctx) => history.getOrder(await owner(ctx, req.accountId), req, call(ctx)),
    listFills: async (req, ctx) => history.listFills(await owner(ctx, req.accountId), req, call(ctx)),
    getStatement: async (req, ctx) => history.statement(await owner(ctx, req.accountId), req, call(ctx)),
    getFeeSchedule: (_req, ctx) => history.feeSchedule(call(ctx)),
  });
}

export function accountHandlers(
  accounts: Accounts,
  market: MarketStreamAccess,
  options: { downstreamTimeoutMs: number },
): ServiceRegistration {
  const call = (ctx: Ctx) => downstreamOptions(ctx, options.downstreamTimeoutMs);
  return serviceOf(accountsApi.AccountService, {
    listAccounts: (_req, ctx) => accounts.list(callerOf(ctx).userId),
    createAccount: (req, ctx) => accounts.create(callerOf(ctx).userId, req, call(ctx)),
    resetAccount: (req, ctx) => accounts.reset(callerOf(ctx).userId, req, call(ctx)),
    issueMarketStreamToken: (_req, ctx) => market.issue(callerOf(ctx).userId),
  });
}
