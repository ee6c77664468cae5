// The console's use cases. The user is always the authenticated caller: no
// request names a user, so no request can reach another user's accounts.
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import type * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { DomainError } from "@kuku/platform/errors";
import { openCashAccountRequest } from "./auth.js";
import { instrumentView, orderBookView, orderView, quoteView } from "./views.js";

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
const notYours = (orderId: string) => new DomainError("permission_denied", `order_id: ${orderId} is not an order of yours`);

export class Trading {
  #instruments: Promise<Map<string, exchange.Instrument>> | undefined;

  constructor(private readonly deps: TradingDeps) {}

  async deposit(userId: string, req: api.DepositCashRequest, call: CallOptions): Promise<api.DepositCashResponse> {
    const accountId = await this.#cashAccount(userId, call);
    // The client's request id is unique per user only: namespace it, and hash
    // it to fit the ledger's 128 characters.
    const requestId = `gw-deposit-${createHash("sha256").update(`${userId}\n${req.requestId}`).digest("base64url")}`;
    const { balance } = await this.deps.ledger.deposit(
      { requestId, accountId, amountMinor: req.amountKrw, metadata: { source: "gateway", userId } },
      call,
    );
    return create(api.DepositCashResponseSchema, { cashAvailableKrw: balance?.availableMinor ?? 0n });
  }

  async portfolio(userId: string, call: CallOptions): Promise<api.GetPortfolioResponse> {
    const { balances } = await this.deps.ledger.getBalances({ ownerId: userId }, call);
    const cash = balances.find((b) => b.asset === "KRW");
    const held = balances.filter((b) => b.asset !== "KRW" && (b.totalMinor !== 0n || b.heldMinor !== 0n));
    const prices = await Promise.all(held.map((b) => this.#lastPrice(b.asset, call)));
    return create(api.GetPortfolioResponseSchema, {
      cashTotalKrw: cash?.totalMinor ?? 0n,
      cashHeldKrw: cash?.heldMinor ?? 0n,
      cashAvailableKrw: cash?.availableMinor ?? 0n,
      positions: held.map((b, i) => ({
        symbol: b.asset,
        quantity: b.totalMinor,
        heldQuantity: b.heldMinor,
        lastPriceKrw: prices[i]!,
        valuationKrw: b.totalMinor * prices[i]!,
      })),
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
    const page = await this.deps.orders.listOrders({ userId, pageSize: req.pageSize, pageToken: req.pageToken }, call);
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
