// The single-price auction's uncrossing price (KRX's "matching price"): the
// price that executes the most shares; among equals, the one leaving the
// smallest imbalance; then the one closest to the reference price; then the
// one on the side of the surplus (higher when buyers are left over).
// Market orders count at every price. Pure arithmetic on the book's levels.
import type { BookLevelView } from "./order-book.js";

export interface AuctionInterest {
  /** Best first: bids highest first, asks lowest first. */
  readonly bids: readonly BookLevelView[];
  readonly asks: readonly BookLevelView[];
  readonly marketBuyQuantity: number;
  readonly marketSellQuantity: number;
  readonly referencePriceKrw: bigint;
}

export interface Uncrossing {
  readonly priceKrw: bigint;
  readonly volume: number;
  /** Demand minus supply at that price: what is left over, positive on the buy side. */
  readonly imbalance: number;
}

const distance = (a: bigint, b: bigint): bigint => (a > b ? a - b : b - a);

/** Undefined when nothing would execute. */
export function uncrossingPrice(interest: AuctionInterest): Uncrossing | undefined {
  const candidates = [...new Set([...interest.bids, ...interest.asks].map((l) => l.priceKrw))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Only market orders on both sides: they meet at the reference price.
  if (candidates.length === 0) candidates.push(interest.referencePriceKrw);
  let best: Uncrossing | undefined;
  for (const priceKrw of candidates) {
    let demand = interest.marketBuyQuantity;
    for (const bid of interest.bids) if (bid.priceKrw >= priceKrw) demand += bid.quantity;
    let supply = interest.marketSellQuantity;
    for (const ask of interest.asks) if (ask.priceKrw <= priceKrw) supply += ask.quantity;
    const here = { priceKrw, volume: Math.min(demand, supply), imbalance: demand - supply };
    if (here.volume > 0 && (best === undefined || better(here, best, interest.referencePriceKrw))) best = here;
  }
  return best;
}

function better(a: Uncrossing, b: Uncrossing, referenceKrw: bigint): boolean {
  if (a.volume !== b.volume) return a.volume > b.volume;
  if (Math.abs(a.imbalance) !== Math.abs(b.imbalance)) return Math.abs(a.imbalance) < Math.abs(b.imbalance);
  const da = distance(a.priceKrw, referenceKrw);
  const db = distance(b.priceKrw, referenceKrw);
  if (da !== db) return da < db;
  return a.imbalance > 0 ? a.priceKrw > b.priceKrw : a.priceKrw < b.priceKrw;
}
