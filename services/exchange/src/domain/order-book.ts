// One symbol's limit order book with price-time priority. Pure and
// synchronous: the engine (engine.ts) owns ids, time and the order registry.
//
// Price levels are kept in arrays sorted so that the BEST price is LAST
// (bids ascending, asks descending): taking the best level is a pop().
//
// Prices are money, so bigint won. Quantities are share counts, capped at
// 1e9 by the contract (far below 2^53), so plain numbers: bigint arithmetic
// allocates on every operation and the hot loop would spend its time in GC.

import { assert } from "@kuku/platform/assert";

export type Side = "buy" | "sell";

/**
 * Where `priceKrw` belongs in `prices`, sorted with the best last: ascending
 * when `ascending` (bids: the highest is best), else descending. Binary search.
 */
export function sortedIndex(prices: readonly bigint[], priceKrw: bigint, ascending: boolean): number {
  let lo = 0;
  let hi = prices.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ascending ? priceKrw > prices[mid]! : priceKrw < prices[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RestingOrder {
  readonly clientOrderId: string;
  readonly side: Side;
  readonly priceKrw: bigint;
  remaining: number;
}

interface Level {
  readonly priceKrw: bigint;
  readonly queue: RestingOrder[];
  /** Index of the oldest order still in the queue. */
  head: number;
  /** Resting quantity at this price (cancelled orders excluded). */
  quantity: number;
}

export interface Match {
  readonly maker: RestingOrder;
  readonly priceKrw: bigint;
  readonly quantity: number;
}

export interface BookLevelView {
  readonly priceKrw: bigint;
  readonly quantity: number;
}

export class OrderBook {
  readonly #levels = { buy: new Map<bigint, Level>(), sell: new Map<bigint, Level>() };
  /** Sorted with the best price last. */
  readonly #prices = { buy: [] as bigint[], sell: [] as bigint[] };

  constructor(readonly symbol: string) {}

  /**
   * Takes liquidity from the opposite side for an incoming order, best price
   * first and oldest first within a price, up to `limitPriceKrw` (undefined:
   * a market order, any price). Returns the matches in execution order.
   */
  take(side: Side, quantity: number, limitPriceKrw: bigint | undefined): Match[] {
    assert(Number.isSafeInteger(quantity) && quantity > 0, "an incoming order has a positive whole quantity");
    const opposite: Side = side === "buy" ? "sell" : "buy";
    const prices = this.#prices[opposite];
    const levels = this.#levels[opposite];
    const matches: Match[] = [];
    let remaining = quantity;
    while (remaining > 0 && prices.length > 0) {
      const bestPriceKrw = prices[prices.length - 1]!;
      if (limitPriceKrw !== undefined && (side === "buy" ? bestPriceKrw > limitPriceKrw : bestPriceKrw < limitPriceKrw)) break;
      const level = levels.get(bestPriceKrw)!;
      while (remaining > 0 && level.head < level.queue.length) {
        const maker = level.queue[level.head]!;
        if (maker.remaining === 0) {
          level.head++; // cancelled while resting
          continue;
        }
        const filled = Math.min(maker.remaining, remaining);
        maker.remaining -= filled;
        level.quantity -= filled;
        remaining -= filled;
        matches.push({ maker, priceKrw: bestPriceKrw, quantity: filled });
        if (maker.remaining === 0) level.head++;
      }
      if (level.quantity === 0) {
        levels.delete(bestPriceKrw);
        prices.pop();
      } else if (level.head > 1024 && level.head * 2 > level.queue.length) {
        level.queue.splice(0, level.head); // keep long-lived levels from growing without bound
        level.head = 0;
      }
    }
    return matches;
  }

  /** How much of `quantity` the opposite side could fill now up to `limitPriceKrw` (a FOK's test). */
  available(side: Side, quantity: number, limitPriceKrw: bigint | undefined): number {
    const opposite: Side = side === "buy" ? "sell" : "buy";
    const prices = this.#prices[opposite];
    let found = 0;
    for (let i = prices.length - 1; i >= 0 && found < quantity; i--) {
      const priceKrw = prices[i]!;
      if (limitPriceKrw !== undefined && (side === "buy" ? priceKrw > limitPriceKrw : priceKrw < limitPriceKrw)) break;
      found += this.#levels[opposite].get(priceKrw)!.quantity;
    }
    return Math.min(found, quantity);
  }

  /**
   * Puts `next` in `previous`'s place in the queue, keeping its time priority
   * (an amendment that only lowers the quantity); `next.remaining` may be smaller.
   */
  replace(previous: RestingOrder, next: RestingOrder): void {
    const level = this.#levels[previous.side].get(previous.priceKrw);
    assert(level !== undefined && next.priceKrw === previous.priceKrw && next.side === previous.side, "a replacement keeps side and price");
    const at = level.queue.indexOf(previous, level.head);
    assert(at >= 0 && next.remaining > 0 && next.remaining <= previous.remaining, "a replacement rests and does not grow");
    level.queue[at] = next;
    level.quantity -= previous.remaining - next.remaining;
    previous.remaining = 0;
  }

  /** Rests an order at the back of its price level. */
  rest(order: RestingOrder): void {
    assert(order.remaining > 0, "a resting order has quantity left");
    const levels = this.#levels[order.side];
    let level = levels.get(order.priceKrw);
    if (level === undefined) {
      level = { priceKrw: order.priceKrw, queue: [], head: 0, quantity: 0 };
      levels.set(order.priceKrw, level);
      this.#insertPrice(order.side, order.priceKrw);
    }
    level.queue.push(order);
    level.quantity += order.remaining;
  }

  /** Removes what is left of a resting order; returns the quantity removed. */
  cancel(order: RestingOrder): number {
    const level = this.#levels[order.side].get(order.priceKrw);
    const removed = order.remaining;
    if (level === undefined || removed === 0) return 0;
    order.remaining = 0;
    level.quantity -= removed;
    if (level.quantity === 0) {
      this.#levels[order.side].delete(order.priceKrw);
      const prices = this.#prices[order.side];
      prices.splice(this.#indexOf(order.side, order.priceKrw), 1);
    }
    return removed;
  }

  /** The best `depth` levels per side, best first. */
  depth(depth: number): { bids: BookLevelView[]; asks: BookLevelView[] } {
    const view = (side: Side) =>
      this.#prices[side]
        .slice(-depth)
        .reverse()
        .map((priceKrw) => ({ priceKrw, quantity: this.#levels[side].get(priceKrw)!.quantity }));
    return { bids: view("buy"), asks: view("sell") };
  }

  bestPrice(side: Side): bigint | undefined {
    const prices = this.#prices[side];
    return prices[prices.length - 1];
  }

  #indexOf(side: Side, priceKrw: bigint): number {
    return sortedIndex(this.#prices[side], priceKrw, side === "buy");
  }

  #insertPrice(side: Side, priceKrw: bigint): void {
    this.#prices[side].splice(this.#indexOf(side, priceKrw), 0, priceKrw);
  }
}
