import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/market/v1/market_pb";
import { CandleInterval } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import type { Feed } from "../app/feed.js";
import type { LookAsideCache } from "../cache/look-aside.js";
import type { Candle } from "../domain/candles.js";
import type { QuoteView } from "../domain/market.js";

export interface MarketHandlerDeps {
  readonly feed: Feed;
  readonly candleCache: LookAsideCache<api.ListCandlesResponse>;
  readonly latestCandles: (symbol: string, limit: number) => Promise<Candle[]>;
  readonly latestDailyCandles: (symbol: string, limit: number) => Promise<Candle[]>;
}

const DEPTH_DEFAULT = 10;
const TRADES_DEFAULT = 50;
const CANDLES_DEFAULT = 60;

const quoteToProto = (q: QuoteView) => create(api.QuoteSchema, { ...q, updatedAt: timestampFromDate(q.updatedAt) });

/** Encodes a candle list for the cache (protobuf binary: compact, and the same schema as the answer). */
export const candlesCodec = {
  encode: (value: api.ListCandlesResponse) => toBinary(api.ListCandlesResponseSchema, value),
  decode: (bytes: Uint8Array) => fromBinary(api.ListCandlesResponseSchema, bytes),
};

export function marketHandlers(deps: MarketHandlerDeps): ServiceRegistration {
  const { market } = deps.feed;
  const known = (symbol: string) => {
    const quote = market.quote(symbol);
    if (quote === undefined) throw new ConnectError(`symbol: no market data for ${symbol}`, Code.NotFound);
    return quote;
  };
  return serviceOf(api.MarketDataService, {
    getQuote: (req) => create(api.GetQuoteResponseSchema, { quote: quoteToProto(known(req.symbol)) }),
    getOrderBook: (req) => {
      known(req.symbol);
      const book = market.book(req.symbol, req.depth === 0 ? DEPTH_DEFAULT : req.depth)!;
      return create(api.GetOrderBookResponseSchema, { orderBook: { ...book, bids: [...book.bids], asks: [...book.asks] } });
    },
    listTrades: (req) =>
      create(api.ListTradesResponseSchema, {
        trades: market
          .trades(req.symbol, req.limit === 0 ? TRADES_DEFAULT : req.limit)
          .map((t) => ({ ...t, executedAt: timestampFromDate(t.executedAt) })),
      }),
    listCandles: (req) => {
      const limit = req.limit === 0 ? CANDLES_DEFAULT : req.limit;
      const daily = req.interval === CandleInterval.ONE_DAY;
      const read = daily ? deps.latestDailyCandles : deps.latestCandles;
      return deps.candleCache.get(`${req.symbol}:${limit}${daily ? ":day" : ""}`, async () =>
        create(api.ListCandlesResponseSchema, {
          candles: (await read(req.symbol, limit)).map((c) => ({ ...c, startTime: timestampFromDate(c.startTime) })),
        }),
      );
    },
    streamQuotes: (req, ctx) => streamQuotes(deps.feed, req.symbols, ctx),
  });
}

/**
 * A snapshot of every symbol, then each change. A slow reader gets the
 * latest quote per symbol (conflation), never an unbounded queue.
 */
async function* streamQuotes(feed: Feed, symbols: readonly string[], ctx: HandlerContext): AsyncGenerator<api.StreamQuotesResponse> {
  const wanted = new Set(symbols);
  const pending = new Map<string, QuoteView>();
  const sent = new Map<string, bigint>();
  let wake: (() => void) | undefined;
  const stop = feed.listen((change) => {
    if (!wanted.has(change.symbol)) return;
    pending.set(change.symbol, change.quote);
    wake?.();
  });
  const onAbort = () => wake?.();
  ctx.signal.addEventListener("abort", onAbort);
  try {
    for (const symbol of wanted) {
      const quote = feed.market.quote(symbol) ?? emptyQuote(symbol);
      sent.set(symbol, quote.sequence);
      yield create(api.StreamQuotesResponseSchema, { quote: quoteToProto(quote) });
    }
    while (!ctx.signal.aborted) {
      if (pending.size === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const batch = [...pending.values()];
      pending.clear();
      for (const quote of batch) {
        if (quote.sequence <= (sent.get(quote.symbol) ?? -1n)) continue; // already covered by the snapshot
        sent.set(quote.symbol, quote.sequence);
        yield create(api.StreamQuotesResponseSchema, { quote: quoteToProto(quote) });
      }
    }
  } finally {
    stop();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

function emptyQuote(symbol: string): QuoteView {
  return {
    symbol,
    lastPriceKrw: 0n,
    openPriceKrw: 0n,
    highPriceKrw: 0n,
    lowPriceKrw: 0n,
    volume: 0n,
    bestBidKrw: 0n,
    bestAskKrw: 0n,
    sequence: 0n,
    updatedAt: new Date(0),
  };
}
