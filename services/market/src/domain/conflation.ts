// Per-tick conflation: the changes of one symbol between two fan-out ticks
// become one update that carries the latest quote (and book, if it changed),
// the range of sequences it covers and the tick's trades. A client that had
// `from - 1` applies it and is at `seq`: nothing is lost, no gap appears.
import { assert } from "@kuku/platform/assert";
import type { BookView, Change, QuoteView, TradeInput } from "./market.js";

export interface SymbolTick {
  readonly symbol: string;
  /** The first sequence this update covers. */
  readonly from: bigint;
  /** The last one: the state after it is `quote` and `book`. */
  seq: bigint;
  quote: QuoteView;
  book?: BookView;
  /** The tick's trades, oldest first, at most `tradesMax` (the newest kept). */
  readonly trades: TradeInput[];
  /** Trades of the tick left out by the bound (the quote's volume still counts them). */
  tradesOmitted: number;
}

export class Conflator {
  private pending = new Map<string, SymbolTick>();

  /** `tradesMax` bounds a tick's frame when a burst (a replay, a busy symbol) lands in one tick. */
  constructor(private readonly tradesMax: number) {
    assert(tradesMax >= 1, "tradesMax must be positive");
  }

  add(change: Change): void {
    const tick = this.pending.get(change.symbol);
    if (tick === undefined) {
      this.pending.set(change.symbol, {
        symbol: change.symbol,
        from: change.sequence,
        seq: change.sequence,
        quote: change.quote,
        ...(change.book === undefined ? {} : { book: change.book }),
        trades: change.trade === undefined ? [] : [change.trade],
        tradesOmitted: 0,
      });
      return;
    }
    assert(change.sequence === tick.seq + 1n, `${change.symbol}: change ${change.sequence} does not follow ${tick.seq}`);
    tick.seq = change.sequence;
    tick.quote = change.quote;
    if (change.book !== undefined) tick.book = change.book;
    if (change.trade !== undefined) {
      tick.trades.push(change.trade);
      if (tick.trades.length > this.tradesMax) {
        tick.trades.shift();
        tick.tradesOmitted += 1;
      }
    }
  }

  /** The tick's updates, one per changed symbol; the next tick starts empty. */
  drain(): Map<string, SymbolTick> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}
