// One-minute candles for write-behind: trades update the candle of their
// minute in memory, and the store flushes the touched ones in one batch.
// A flushed candle holds absolute values, so writing it twice is harmless.
import type { TradeInput } from "./market.js";

export interface Candle {
  readonly symbol: string;
  readonly startTime: Date;
  openPriceKrw: bigint;
  highPriceKrw: bigint;
  lowPriceKrw: bigint;
  closePriceKrw: bigint;
  volume: bigint;
}

const MINUTE_MS = 60_000;

export class CandleBuilder {
  /** The latest candle per symbol; older minutes are final once flushed. */
  private readonly current = new Map<string, Candle>();
  private readonly dirty = new Map<string, Candle>();

  apply(trade: TradeInput): void {
    const startMs = Math.floor(trade.executedAt.getTime() / MINUTE_MS) * MINUTE_MS;
    let candle = this.current.get(trade.symbol);
    if (candle === undefined || candle.startTime.getTime() < startMs) {
      candle = {
        symbol: trade.symbol,
        startTime: new Date(startMs),
        openPriceKrw: trade.priceKrw,
        highPriceKrw: trade.priceKrw,
        lowPriceKrw: trade.priceKrw,
        closePriceKrw: trade.priceKrw,
        volume: 0n,
      };
      this.current.set(trade.symbol, candle);
    } else if (candle.startTime.getTime() > startMs) {
      return; // a trade from a minute already closed in memory: it arrived too late to count
    }
    if (trade.priceKrw > candle.highPriceKrw) candle.highPriceKrw = trade.priceKrw;
    if (trade.priceKrw < candle.lowPriceKrw) candle.lowPriceKrw = trade.priceKrw;
    candle.closePriceKrw = trade.priceKrw;
    candle.volume += trade.quantity;
    this.dirty.set(`${trade.symbol}@${startMs}`, candle);
  }

  /** Copies of the candles changed since the last call (the flush may be retried with them). */
  takeDirty(): Candle[] {
    const out = [...this.dirty.values()].map((c) => ({ ...c }));
    this.dirty.clear();
    return out;
  }

  /** Puts back candles whose flush failed, unless a newer version is already waiting. */
  restore(candles: readonly Candle[]): void {
    for (const c of candles) {
      const key = `${c.symbol}@${c.startTime.getTime()}`;
      if (!this.dirty.has(key)) this.dirty.set(key, c);
    }
  }
}
