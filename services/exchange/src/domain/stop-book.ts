// Stop orders waiting for their trigger, per side, grouped by stop price: the
// next to trigger is found in O(1) and a new stop is filed in O(log n) over
// the distinct stop prices (few: they sit on the tick ladder), so thousands of
// resting stops cost the matching path nothing.
import { type Side, sortedIndex } from "./order-book.js";

export class StopBook<T extends { readonly side: Side }> {
  readonly #byPrice = { buy: new Map<bigint, T[]>(), sell: new Map<bigint, T[]>() };
  /** Distinct stop prices, the next to trigger last: buy stops descending (lowest triggers first), sell ascending. */
  readonly #prices = { buy: [] as bigint[], sell: [] as bigint[] };

  /** `stopPriceOf`: where a stop's trigger is kept. */
  constructor(private readonly stopPriceOf: (stop: T) => bigint) {}

  /** Files a stop behind the others at its price. */
  add(stop: T): void {
    const stopPriceKrw = this.stopPriceOf(stop);
    const queue = this.#byPrice[stop.side].get(stopPriceKrw);
    if (queue !== undefined) {
      queue.push(stop);
      return;
    }
    this.#byPrice[stop.side].set(stopPriceKrw, [stop]);
    this.#prices[stop.side].splice(this.#indexOf(stop.side, stopPriceKrw), 0, stopPriceKrw);
  }

  remove(stop: T): void {
    const stopPriceKrw = this.stopPriceOf(stop);
    const queue = this.#byPrice[stop.side].get(stopPriceKrw);
    const at = queue?.indexOf(stop) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.#drop(stop.side, stopPriceKrw);
  }

  /** The oldest stop at the price that triggers first on `side`, if the last price reaches it. */
  next(side: Side, lastPriceKrw: bigint): T | undefined {
    const prices = this.#prices[side];
    const priceKrw = prices[prices.length - 1];
    if (priceKrw === undefined || (side === "buy" ? lastPriceKrw < priceKrw : lastPriceKrw > priceKrw)) return undefined;
    return this.#byPrice[side].get(priceKrw)![0];
  }

  #drop(side: Side, priceKrw: bigint): void {
    this.#byPrice[side].delete(priceKrw);
    this.#prices[side].splice(this.#indexOf(side, priceKrw), 1);
  }

  // Buy stops trigger lowest first, so their prices descend; sell stops' ascend.
  #indexOf(side: Side, priceKrw: bigint): number {
    return sortedIndex(this.#prices[side], priceKrw, side === "sell");
  }
}
