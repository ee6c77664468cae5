// Per-symbol market state built from the exchange's trades and book events.
// Pure and synchronous: the Kafka consumer feeds it, the handlers and the
// WebSocket hub read it. Every accepted change bumps the symbol's sequence
// by exactly one, which is what lets a client detect a gap.
import { assert } from "@kuku/platform/assert";
import { tradingDay } from "@kuku/platform/krx";

export interface Level {
  readonly priceKrw: bigint;
  readonly quantity: bigint;
}

export interface TradeInput {
  readonly tradeId: string;
  readonly symbol: string;
  readonly priceKrw: bigint;
  readonly quantity: bigint;
  readonly executedAt: Date;
}

export interface BookInput {
  readonly symbol: string;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  readonly at: Date;
}

export interface QuoteView {
  readonly symbol: string;
  readonly lastPriceKrw: bigint;
  readonly openPriceKrw: bigint;
  readonly highPriceKrw: bigint;
  readonly lowPriceKrw: bigint;
  readonly volume: bigint;
  readonly bestBidKrw: bigint;
  readonly bestAskKrw: bigint;
  readonly sequence: bigint;
  readonly updatedAt: Date;
}

export interface BookView {
  readonly symbol: string;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  readonly sequence: bigint;
}

/** What one accepted event changed: the new quote, plus the book or the trade. */
export interface Change {
  readonly symbol: string;
  readonly sequence: bigint;
  readonly quote: QuoteView;
  readonly book?: BookView;
  readonly trade?: TradeInput;
}

export interface MarketLimits {
  /** Levels kept per side. */
  readonly depthMax: number;
  /** Recent trades kept per symbol (also the window for duplicate trade ids). */
  readonly tradesMax: number;
}

class SymbolState {
  lastPriceKrw = 0n;
  openPriceKrw = 0n;
  highPriceKrw = 0n;
  lowPriceKrw = 0n;
  volume = 0n;
  day = "";
  bids: readonly Level[] = [];
  asks: readonly Level[] = [];
  sequence = 0n;
  updatedAt = new Date(0);
  /** Ring of recent trades, oldest at `head`. */
  readonly trades: TradeInput[] = [];
  head = 0;
  readonly tradeIds = new Set<string>();

  constructor(readonly symbol: string) {}
}

export class Market {
  private readonly symbols = new Map<string, SymbolState>();

  constructor(private readonly limits: MarketLimits) {
    assert(limits.depthMax >= 1 && limits.tradesMax >= 1, "limits must be positive");
  }

  /** A duplicate (redelivered) trade id is ignored: volume is never counted twice. */
  applyTrade(trade: TradeInput): Change | undefined {
    assert(trade.priceKrw > 0n && trade.quantity > 0n, `trade ${trade.tradeId} has a non-positive price or quantity`);
    const s = this.state(trade.symbol);
    if (s.tradeIds.has(trade.tradeId)) return undefined;
    const day = tradingDay(trade.executedAt);
    if (day > s.day) {
      s.day = day;
      s.openPriceKrw = s.highPriceKrw = s.lowPriceKrw = trade.priceKrw;
      s.volume = 0n;
    } else if (day < s.day) {
      return undefined; // a late trade of a closed day changes nothing of today's
    }
    s.lastPriceKrw = trade.priceKrw;
    if (trade.priceKrw > s.highPriceKrw) s.highPriceKrw = trade.priceKrw;
    if (trade.priceKrw < s.lowPriceKrw) s.lowPriceKrw = trade.priceKrw;
    s.volume += trade.quantity;
    this.remember(s, trade);
    return this.bump(s, trade.executedAt, { trade });
  }

  /**
   * Book events are whole snapshots, keyed by symbol so Kafka keeps them in
   * order: the newest one simply wins. (Their sequence restarts with every
   * exchange session, so it cannot tell a stale event from a new session's.)
   */
  applyBook(book: BookInput): Change {
    const s = this.state(book.symbol);
    s.bids = book.bids.slice(0, this.limits.depthMax);
    s.asks = book.asks.slice(0, this.limits.depthMax);
    const change = this.bump(s, book.at, {});
    return { ...change, book: this.book(book.symbol, this.limits.depthMax)! };
  }

  quote(symbol: string): QuoteView | undefined {
    const s = this.symbols.get(symbol);
    return s === undefined ? undefined : quoteOf(s);
  }

  book(symbol: string, depth: number): BookView | undefined {
    const s = this.symbols.get(symbol);
    if (s === undefined) return undefined;
    return { symbol, bids: s.bids.slice(0, depth), asks: s.asks.slice(0, depth), sequence: s.sequence };
  }

  /** Newest first. */
  trades(symbol: string, limit: number): TradeInput[] {
    const s = this.symbols.get(symbol);
    if (s === undefined) return [];
    const n = s.trades.length;
    const out: TradeInput[] = [];
    for (let i = 1; i <= Math.min(limit, n); i++) out.push(s.trades[(s.head - i + n) % n]!);
    return out;
  }

  private state(symbol: string): SymbolState {
    let s = this.symbols.get(symbol);
    if (s === undefined) {
      s = new SymbolState(symbol);
      this.symbols.set(symbol, s);
    }
    return s;
  }

  private remember(s: SymbolState, trade: TradeInput): void {
    if (s.trades.length < this.limits.tradesMax) {
      s.trades.push(trade);
      s.head = s.trades.length % this.limits.tradesMax;
    } else {
      s.tradeIds.delete(s.trades[s.head]!.tradeId);
      s.trades[s.head] = trade;
      s.head = (s.head + 1) % this.limits.tradesMax;
    }
    s.tradeIds.add(trade.tradeId);
    assert(s.tradeIds.size === s.trades.length, "the trade id window matches the ring");
  }

  private bump(s: SymbolState, at: Date, extra: { trade?: TradeInput }): Change {
    s.sequence += 1n;
    if (at > s.updatedAt) s.updatedAt = at;
    return { symbol: s.symbol, sequence: s.sequence, quote: quoteOf(s), ...extra };
  }
}

function quoteOf(s: SymbolState): QuoteView {
  return {
    symbol: s.symbol,
    lastPriceKrw: s.lastPriceKrw,
    openPriceKrw: s.openPriceKrw,
    highPriceKrw: s.highPriceKrw,
    lowPriceKrw: s.lowPriceKrw,
    volume: s.volume,
    bestBidKrw: s.bids[0]?.priceKrw ?? 0n,
    bestAskKrw: s.asks[0]?.priceKrw ?? 0n,
    sequence: s.sequence,
    updatedAt: s.updatedAt,
  };
}
