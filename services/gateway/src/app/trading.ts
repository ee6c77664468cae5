// The console's use cases. The user is always the authenticated caller: no
// request names a user, so no request can reach another user's accounts.
// `userId` below is the owner of the paper account the call acts on, which
// rpc/handlers.ts resolves from the caller and the request's account_id
// (app/accounts.ts): the user's own id for their first account.
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import type * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { DomainError } from "@kuku/platform/errors";
import { checkDeposit } from "../domain/paper-money.js";
import { dailyRealized, totalsOf, valuePositions } from "../domain/portfolio.js";
import { openCashAccountRequest } from "./auth.js";
import { candleView, instrumentView, orderBookView, orderView, quoteView, realizedTradeView } from "./views.js";

/** Clients whose failures arrive as domain errors (rpc/downstream.ts). */
export interface TradingDeps {
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly orders: Client<typeof order.OrderService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  /** Undefined when no market service is configured. */
  readonly market: Client<typeof market.MarketDataService> | undefined;
}

/** Per downstream call: deadline, cancellation, request id. */
export interface CallOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly headers: Record<string, string>;
}

// Another user's order and an order that does not exist look the same: the
// caller learns only that it is not theirs, never whether it exists.
export const notYours = (orderId: string) => new DomainError("permission_denied", `order_id: ${orderId} is not an order of yours`);

export class Trading {
  #instruments: Promise<Map<string, exchange.Instrument>> | undefined;

  constructor(
    private readonly deps: TradingDeps,
    private readonly policy: { readonly cashCapKrw: bigint },
  ) {}

  /**
   * Paper money within the cap (domain/paper-money.ts). Two deposits at once
   * may both pass the check: the cap bounds paper money, not integrity.
   */
  async deposit(userId: string, req: api.DepositCashRequest, call: CallOptions): Promise<api.DepositCashResponse> {
    const accountId = await this.#cashAccount(userId, call);
    const { balances } = await this.deps.ledger.getBalances({ accountIds: [accountId] }, call);
    checkDeposit(balances[0]?.totalMinor ?? 0n, req.amountKrw, this.policy.cashCapKrw);
    // The client's request id is unique per user only: namespace it, and hash
    // it to fit the ledger's 128 characters.
    const requestId = `gw-deposit-${createHash("sha256").update(`${userId}\n${req.requestId}`).digest("base64url")}`;
    const { balance } = await this.deps.ledger.deposit(
      { requestId, accountId, amountMinor: req.amountKrw, metadata: { source: "gateway", userId } },
      call,
    );
    return create(api.DepositCashResponseSchema, { cashAvailableKrw: balance?.availableMinor ?? 0n });
  }

  /**
   * The ledger's cash and shares, valued, against the fills' cost basis (ADR
   * 0024): those settled since `resetAt`, when the account was last reset.
   */
  async portfolio(userId: string, resetAt: Date | undefined, call: CallOptions): Promise<api.GetPortfolioResponse> {
    const [{ balances }, known] = await Promise.all([
      this.deps.ledger.getBalances({ ownerId: userId }, call),
      this.deps.orders
        .getPositionCosts({ userId, ...(resetAt === undefined ? {} : { settledFrom: timestampFromDate(resetAt) }) }, call)
        // The order service down: the ledger's cash and shares still answer, marked as without costs.
        .catch((error: unknown) => (error instanceof DomainError && error.kind === "unavailable" ? undefined : Promise.reject(error))),
    ]);
    const costs = known ?? { positions: [], realized: [] };
    const cash = balances.find((b) => b.asset === "KRW");
    const shares = balances
      .filter((b) => b.asset !== "KRW")
      .map((b) => ({ symbol: b.asset, quantity: b.totalMinor, heldQuantity: b.heldMinor }));
    const symbols = shares.filter((s) => s.quantity !== 0n).map((s) => s.symbol);
    const prices = new Map(await Promise.all(symbols.map(async (s) => [s, await this.#lastPrice(s, call)] as const)));
    const positions = valuePositions(shares, costs.positions, (symbol) => prices.get(symbol) ?? 0n, known !== undefined);
    const cashTotalKrw = cash?.totalMinor ?? 0n;
    const realized = costs.realized.map((r) => ({ ...r, executedAt: r.executedAt ? timestampDate(r.executedAt) : new Date(0) }));
    return create(api.GetPortfolioResponseSchema, {
      cashTotalKrw,
      cashHeldKrw: cash?.heldMinor ?? 0n,
      cashAvailableKrw: cash?.availableMinor ?? 0n,
      positions,
      ...totalsOf(cashTotalKrw, positions),
      dailyRealized: dailyRealized(realized),
      realizedTrades: costs.realized.map(realizedTradeView),
      costsUnavailable: known === undefined,
    });
  }

  async placeOrder(userId: string, req: api.PlaceOrderRequest, call: CallOptions): Promise<api.PlaceOrderResponse> {
    const { order: placed } = await this.deps.orders.placeOrder(
      {
        userId,
        idempotencyKey: req.idempotencyKey,
        symbol: req.symbol,
        side: req.side,
        type: req.type,
        timeInForce: req.timeInForce,
        quantity: req.quantity,
        limitPriceKrw: req.limitPriceKrw,
        stopPriceKrw: req.stopPriceKrw,
        waitSettledMs: req.waitSettledMs,
      },
      call,
    );
    return create(api.PlaceOrderResponseSchema, { order: placed && orderView(placed) });
  }

  async amendOrder(userId: string, req: api.AmendOrderRequest, call: CallOptions): Promise<api.AmendOrderResponse> {
    const { orderId, idempotencyKey, quantity, limitPriceKrw, stopPriceKrw } = req;
    const { order: replacement } = await this.deps.orders
      .amendOrder({ userId, orderId, idempotencyKey, quantity, limitPriceKrw, stopPriceKrw }, call)
      .catch((error: unknown) => {
        throw error instanceof DomainError && error.kind === "not_found" ? notYours(orderId) : error;
      });
    return create(api.AmendOrderResponseSchema, { order: replacement && orderView(replacement) });
  }

  async cancelOrder(userId: string, req: api.CancelOrderRequest, call: CallOptions): Promise<api.CancelOrderResponse> {
    const { order: cancelled } = await this.deps.orders.cancelOrder({ orderId: req.orderId, userId }, call).catch((error: unknown) => {
      throw error instanceof DomainError && error.kind === "not_found" ? notYours(req.orderId) : error;
    });
    return create(api.CancelOrderResponseSchema, { order: cancelled && orderView(cancelled) });
  }

  async listOrders(userId: string, req: api.ListOrdersRequest, call: CallOptions): Promise<api.ListOrdersResponse> {
    const { pageSize, pageToken, states, createdFrom, createdBefore } = req;
    const page = await this.deps.orders.listOrders({ userId, pageSize, pageToken, states, createdFrom, createdBefore }, call);
    return create(api.ListOrdersResponseSchema, { orders: page.orders.map(orderView), nextPageToken: page.nextPageToken });
  }

  async quote(req: api.GetQuoteRequest, call: CallOptions): Promise<api.GetQuoteResponse> {
    const client = this.#market();
    const { quote } = await client.getQuote({ symbol: req.symbol }, call);
    return create(api.GetQuoteResponseSchema, { quote: quote && quoteView(quote) });
  }

  async orderBook(req: api.GetOrderBookRequest, call: CallOptions): Promise<api.GetOrderBookResponse> {
    const client = this.#market();
    const { orderBook } = await client.getOrderBook({ symbol: req.symbol, depth: req.depth }, call);
    return create(api.GetOrderBookResponseSchema, { orderBook: orderBook && orderBookView(orderBook) });
  }

  async candles(req: api.ListCandlesRequest, call: CallOptions): Promise<api.ListCandlesResponse> {
    const { candles } = await this.#market().listCandles({ symbol: req.symbol, limit: req.limit, interval: req.interval }, call);
    return create(api.ListCandlesResponseSchema, { candles: candles.map(candleView) });
  }

  async instruments(call: CallOptions): Promise<api.ListInstrumentsResponse> {
    // Read afresh: the session phase and VI state change through the day (valuation keeps its cached reference prices).
    const { instruments } = await this.deps.exchange.listInstruments({}, call);
    return create(api.ListInstrumentsResponseSchema, { instruments: instruments.map(instrumentView) });
  }

  #market(): Client<typeof market.MarketDataService> {
    if (this.deps.market === undefined) throw new DomainError("unavailable", "market data is not configured on this gateway");
    return this.deps.market;
  }

  async #cashAccount(userId: string, call: CallOptions): Promise<string> {
    const { account } = await this.deps.ledger.openAccount(openCashAccountRequest(userId), call);
    return account!.accountId;
  }

  /**
   * The last trade's price; before any trade, or while market data cannot be
   * had, the day's reference price: a portfolio valued at the reference price
   * is more use to the user than no portfolio at all.
   */
  async #lastPrice(symbol: string, call: CallOptions): Promise<bigint> {
    if (this.deps.market !== undefined) {
      const last = await this.deps.market.getQuote({ symbol }, call).then(
        (r) => r.quote?.lastPriceKrw ?? 0n,
        () => 0n,
      );
      if (last > 0n) return last;
    }
    return (await this.#instrumentMap(call)).get(symbol)?.referencePriceKrw ?? 0n;
  }

  /** The instrument master is fixed for the trading day: read once, again only after a failure. */
  #instrumentMap(call: CallOptions): Promise<Map<string, exchange.Instrument>> {
    this.#instruments ??= this.deps.exchange.listInstruments({}, call).then(
      (r) => new Map(r.instruments.map((i) => [i.symbol, i])),
      (error: unknown) => {
        this.#instruments = undefined;
        throw error;
      },
    );
    return this.#instruments;
  }
}
