// The public API's view of internal messages: each field a user may see is
// copied by name, so a field the internal services add stays inside.
import { create } from "@bufbuild/protobuf";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import type * as orderEvents from "@kuku/contracts/kuku/order/v1/events_pb";
import type * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { tickSizeKrw } from "@kuku/platform/krx";

/** Without its owner (always the caller) and its concurrency version. */
export const orderView = (o: order.Order): api.Order =>
  create(api.OrderSchema, {
    orderId: o.orderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    quantity: o.quantity,
    limitPriceKrw: o.limitPriceKrw,
    stopPriceKrw: o.stopPriceKrw,
    holdMinor: o.holdMinor,
    amendsOrderId: o.amendsOrderId,
    filledQuantity: o.filledQuantity,
    filledNotionalKrw: o.filledNotionalKrw,
    state: o.state,
    rejectReason: o.rejectReason,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    feesKrw: o.feesKrw,
    taxKrw: o.taxKrw,
  });

export const realizedTradeView = (r: order.RealizedTrade): api.RealizedTrade =>
  create(api.RealizedTradeSchema, {
    executionId: r.executionId,
    orderId: r.orderId,
    symbol: r.symbol,
    quantity: r.quantity,
    priceKrw: r.priceKrw,
    feeKrw: r.feeKrw,
    taxKrw: r.taxKrw,
    costBasisKrw: r.costBasisKrw,
    realizedPnlKrw: r.realizedPnlKrw,
    executedAt: r.executedAt,
  });

export const quoteView = (q: market.Quote): api.Quote =>
  create(api.QuoteSchema, {
    symbol: q.symbol,
    lastPriceKrw: q.lastPriceKrw,
    openPriceKrw: q.openPriceKrw,
    highPriceKrw: q.highPriceKrw,
    lowPriceKrw: q.lowPriceKrw,
    volume: q.volume,
    bestBidKrw: q.bestBidKrw,
    bestAskKrw: q.bestAskKrw,
    sequence: q.sequence,
    updatedAt: q.updatedAt,
  });

const levelView = (l: market.PriceLevel): api.PriceLevel => create(api.PriceLevelSchema, { priceKrw: l.priceKrw, quantity: l.quantity });

export const orderBookView = (b: market.OrderBook): api.OrderBook =>
  create(api.OrderBookSchema, { symbol: b.symbol, bids: b.bids.map(levelView), asks: b.asks.map(levelView), sequence: b.sequence });

export const candleView = (c: market.Candle): api.Candle =>
  create(api.CandleSchema, {
    startTime: c.startTime,
    openPriceKrw: c.openPriceKrw,
    highPriceKrw: c.highPriceKrw,
    lowPriceKrw: c.lowPriceKrw,
    closePriceKrw: c.closePriceKrw,
    volume: c.volume,
  });

export const instrumentView = (i: exchange.Instrument): api.Instrument =>
  create(api.InstrumentSchema, {
    symbol: i.symbol,
    name: i.name,
    referencePriceKrw: i.referencePriceKrw,
    upperLimitKrw: i.upperLimitKrw,
    lowerLimitKrw: i.lowerLimitKrw,
    market: i.market,
    phase: i.phase,
    viUntil: i.viUntil,
    lastPriceKrw: i.lastPriceKrw,
    tradingDay: i.tradingDay,
    tickSizeKrw: tickSizeKrw(i.referencePriceKrw),
  });

/** An order event as its owner sees it. */
export const orderUpdateView = (e: orderEvents.OrderEvent): api.OrderUpdate =>
  create(api.OrderUpdateSchema, {
    eventId: e.eventId,
    state: e.state,
    previousState: e.previousState,
    order: e.order && orderView(e.order),
    fill: e.fill && {
      executionId: e.fill.executionId,
      quantity: e.fill.quantity,
      priceKrw: e.fill.priceKrw,
      feeKrw: e.fill.feeKrw,
      taxKrw: e.fill.taxKrw,
      executedAt: e.fill.executedAt,
    },
    reason: e.reason,
    occurredAt: e.occurredAt,
    orderSequence: e.order?.version ?? 0n,
  });
