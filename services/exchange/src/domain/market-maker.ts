// A seeded market-maker bot: keeps `levels` price levels of resting
// liquidity on both sides of every book, one tick apart, so that a user
// trading alone gets realistic fills. Same seed, same quotes.
import { tickSizeKrw } from "@kuku/platform/krx";
import type { Engine } from "./engine.js";

/** mulberry32: a tiny deterministic PRNG; quality is irrelevant here. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MarketMakerOptions {
  readonly seed: number;
  readonly levels: number;
  readonly minQuantity: number;
  readonly maxQuantity: number;
}

export class MarketMaker {
  readonly #random: () => number;
  #sequence = 0;

  constructor(
    private readonly engine: Engine,
    private readonly options: MarketMakerOptions,
  ) {
    if (options.levels < 1 || options.minQuantity < 1 || options.maxQuantity < options.minQuantity) {
      throw new Error(`invalid market maker options ${JSON.stringify(options)}`);
    }
    this.#random = prng(options.seed);
  }

  /** Tops every side of `symbol`'s book back up to the configured depth; nothing while the symbol is closed. */
  quote(symbol: string): void {
    const listing = this.engine.listing(symbol);
    if (listing === undefined) throw new Error(`${symbol} is not listed`);
    if (listing.mode === "closed") return;
    const { limits, referencePriceKrw } = listing;
    const { bids, asks } = listing.book.depth(this.options.levels);
    // Quote around the current best prices, or today's reference price in an empty book.
    let bidKrw = bids.at(-1)?.priceKrw ?? asks[0]?.priceKrw ?? referencePriceKrw;
    for (let n = bids.length; n < this.options.levels; n++) {
      bidKrw -= tickSizeKrw(bidKrw - 1n);
      if (bidKrw < limits.lowerLimitKrw) break;
      this.#place(symbol, "buy", bidKrw);
    }
    let askKrw = asks.at(-1)?.priceKrw ?? bids[0]?.priceKrw ?? referencePriceKrw;
    for (let n = asks.length; n < this.options.levels; n++) {
      askKrw += tickSizeKrw(askKrw);
      if (askKrw > limits.upperLimitKrw) break;
      this.#place(symbol, "sell", askKrw);
    }
  }

  quoteAll(): void {
    for (const { symbol } of this.engine.instruments()) this.quote(symbol);
  }

  #place(symbol: string, side: "buy" | "sell", priceKrw: bigint): void {
    const span = this.options.maxQuantity - this.options.minQuantity + 1;
    const quantity = this.options.minQuantity + Math.floor(this.#random() * span);
    const result = this.engine.submit({
      clientOrderId: `mm-${symbol}-${++this.#sequence}`,
      symbol,
      side,
      type: "limit",
      timeInForce: "day",
      quantity,
      priceKrw,
    });
    if (result.order.status === "rejected") throw new Error(`market maker quote refused: ${result.order.rejectReason}`);
  }
}
