// Applies the exchange's events to the market state and the candles, and
// tells every listener (the WebSocket hub, gRPC streams) what changed.
import { CandleBuilder } from "../domain/candles.js";
import type { BookInput, Change, Market, TradeInput } from "../domain/market.js";
import type { MarketSink } from "../events/exchange-consumer.js";

export type ChangeListener = (change: Change) => void;

export class Feed implements MarketSink {
  private readonly listeners = new Set<ChangeListener>();
  readonly candles = new CandleBuilder();

  constructor(readonly market: Market) {}

  trade(trade: TradeInput): void {
    const change = this.market.applyTrade(trade);
    if (change === undefined) return;
    this.candles.apply(trade);
    this.emit(change);
  }

  book(book: BookInput): void {
    this.emit(this.market.applyBook(book));
  }

  /** Returns the function that stops listening. */
  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }
}
