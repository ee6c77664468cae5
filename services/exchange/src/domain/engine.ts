// The simulated exchange: one order book per listed symbol, an order
// registry by client order id (so a resubmission is answered, never matched
// twice, and OrderStatus always tells the truth), execution and trade ids.
// Each symbol trades continuously or collects orders for a single-price
// auction (the venue says which, from its clock); the order types are KRX's.
import { assert, InvariantViolation } from "@kuku/platform/assert";
import { dailyPriceLimits, isOnTick, type PriceLimits, roundToTick, tickSizeKrw } from "@kuku/platform/krx";
import { uncrossingPrice } from "./auction.js";
import { OrderBook, type RestingOrder, type Side } from "./order-book.js";
import { StopBook } from "./stop-book.js";

export type { Side };

/**
 * `best`: 최유리 지정가, priced at the best opposite price on arrival;
 * `top`: 최우선 지정가, priced at the best same-side price on arrival;
 * `conditional`: 조건부 지정가, a limit order until the closing auction, a market order in it;
 * `stop`/`stop_limit`: held by the venue until the last trade reaches the stop price.
 */
export type OrderType = "limit" | "market" | "best" | "top" | "conditional" | "stop" | "stop_limit";
export type TimeInForce = "day" | "ioc" | "fok" | "gtc";
/** `waiting`: a stop order held by the venue, not yet triggered. */
export type ExchangeStatus = "accepted" | "partially_filled" | "filled" | "cancelled" | "rejected" | "expired" | "waiting";
export type Market = "KOSPI" | "KOSDAQ";
/** How a symbol trades right now. */
export type SymbolMode = "continuous" | "auction" | "closed";

export interface Instrument {
  readonly symbol: string;
  readonly name: string;
  /** The first day's reference price (yesterday's close); later days roll it to each close. */
  readonly referencePriceKrw: bigint;
  readonly market: Market;
  /** A KOSPI 200 constituent: the tighter dynamic VI rates apply. */
  readonly kospi200?: boolean;
}

export interface SubmitInput {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** Shares; a safe integer (the contract caps it at 1e9). */
  readonly quantity: number;
  /** 0 for market, best, top and stop orders. */
  readonly priceKrw: bigint;
  /** Stop and stop-limit orders: the last price that triggers them. */
  readonly stopPriceKrw?: bigint;
  /** An amendment (정정): the working order this one replaces. */
  readonly amends?: string;
  /**
   * With `amends`: the original's filled quantity as the broker last knew it.
   * The broker held for this plus `quantity`, so the replacement is capped by
   * what the original filled since (see amendedQuantity). Unset: no cap.
   */
  readonly amendsFilledQuantity?: number;
}

export interface EngineOptions {
  /** A market order never fills more than this many percent from the last price (then the reference); the rest is cancelled. 0: no collar. */
  readonly collarPercent: number;
  /** Static and dynamic volatility interruptions (KRX's VI). */
  readonly volatilityInterruption: boolean;
  /** How long a VI auction collects orders. */
  readonly viDurationMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = Object.freeze({
  collarPercent: 10,
  volatilityInterruption: false,
  viDurationMs: 120_000,
});

/**
 * One side of one trade. Ids are derived (executionId, tradeId), not stored:
 * a million orders are a lot of strings, and every field here is paid for
 * per execution (a session field cost ~20 % of matching throughput).
 */
export interface Execution {
  /** Per session, from 1: the trade this execution is one side of. */
  readonly tradeSequence: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: number;
  readonly priceKrw: bigint;
  readonly executedAt: Date;
}

/** An order as the exchange knows it; while it rests, the book holds this very object. */
export interface OrderRecord extends RestingOrder {
  readonly symbol: string;
  readonly quantity: number;
  /** The order as submitted (type, time in force, stop price). */
  readonly terms: SubmitInput;
  /** The working price: set on arrival for best/top, 0 while a market order waits for an auction. */
  priceKrw: bigint;
  status: ExchangeStatus;
  filledQuantity: number;
  rejectReason: string;
  /** In execution order; shared and empty until the first fill (most orders never fill). */
  fills: readonly Execution[];
}

/** A symbol's state for the day. */
export interface Listing {
  readonly instrument: Instrument;
  readonly book: OrderBook;
  referencePriceKrw: bigint;
  limits: PriceLimits;
  mode: SymbolMode;
  /** Today's last trade, undefined before the first. */
  lastPriceKrw: bigint | undefined;
  /** The static VI's base: the last single-price auction's price, or the reference before the open. */
  staticReferenceKrw: bigint;
  /** When a VI auction ends (venue time, ms); 0 when none runs. */
  viUntilMs: number;
  /** Whether this auction was already extended once by a VI. */
  viExtended: boolean;
  /** Market orders collected for the next uncrossing, oldest first (they outrank every limit). */
  readonly auctionMarket: { readonly buy: OrderRecord[]; readonly sell: OrderRecord[] };
  /** Waiting stop orders. */
  readonly stops: StopBook<OrderRecord>;
}

/** `session`: the engine's, which trade numbers restart with. */
export const tradeId = (session: string, e: Execution): string => `${session}-${e.symbol}-${e.tradeSequence}`;
/** Unique per side of a trade (both sides may be the same broker's customers) and across sessions. */
export const executionId = (session: string, e: Execution): string => `${tradeId(session, e)}-${e.side === "buy" ? "B" : "S"}`;

/** Still able to trade: resting, collected for an auction, or a waiting stop. */
export const isWorking = (o: OrderRecord): boolean =>
  o.status === "waiting" || ((o.status === "accepted" || o.status === "partially_filled") && o.remaining > 0);

/**
 * What one submission did: the order's record and every execution it caused,
 * in pairs per trade (the second of each pair stands for the trade).
 */
export interface SubmitResult {
  readonly order: OrderRecord;
  readonly duplicate: boolean;
  readonly executions: readonly Execution[];
}

const NO_EXECUTIONS: readonly Execution[] = Object.freeze([]);
const NO_ORDERS: readonly OrderRecord[] = Object.freeze([]);
const VI_STATIC_PERCENT = 10n;
const opposite = (side: Side): Side => (side === "buy" ? "sell" : "buy");
/** `percent` of `priceKrw` away from it, rounded inward onto the ladder. */
const band = (priceKrw: bigint, percent: bigint, side: Side): bigint =>
  side === "buy" ? roundToTick(priceKrw + (priceKrw * percent) / 100n, "down") : roundToTick(priceKrw - (priceKrw * percent) / 100n, "up");

export class Engine {
  readonly #listings = new Map<string, Listing>();
  readonly #orders = new Map<string, OrderRecord>();
  readonly #options: EngineOptions;
  #tradeSequence = 0;
  /** Stops triggered since the venue last took them: each is told to its broker once (a trigger without a fill is news too). */
  #triggered: OrderRecord[] = [];

  /**
   * `session` names this run of the engine in every trade and execution id,
   * so ids stay unique when the simulator restarts (a new journal session).
   */
  constructor(
    instruments: readonly Instrument[],
    readonly session: string,
    private readonly clock: () => Date = () => new Date(),
    options: Partial<EngineOptions> = {},
  ) {
    if (!/^[0-9A-Za-z]{1,16}$/.test(session)) throw new Error(`session must be 1..16 letters or digits, got ${JSON.stringify(session)}`);
    this.#options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    for (const instrument of instruments) {
      this.#listings.set(instrument.symbol, {
        instrument,
        book: new OrderBook(instrument.symbol),
        referencePriceKrw: instrument.referencePriceKrw,
        limits: dailyPriceLimits(instrument.referencePriceKrw),
        mode: "continuous",
        lastPriceKrw: undefined,
        staticReferenceKrw: instrument.referencePriceKrw,
        viUntilMs: 0,
        viExtended: false,
        auctionMarket: { buy: [], sell: [] },
        stops: new StopBook((o) => o.terms.stopPriceKrw!),
      });
    }
  }

  instruments(): Instrument[] {
    return [...this.#listings.values()].map((l) => l.instrument);
  }

  instrument(symbol: string): Instrument | undefined {
    return this.#listings.get(symbol)?.instrument;
  }

  listing(symbol: string): Readonly<Listing> | undefined {
    return this.#listings.get(symbol);
  }

  listings(): IterableIterator<Readonly<Listing>> {
    return this.#listings.values();
  }

  /** Today's price limits. */
  limits(symbol: string): PriceLimits | undefined {
    return this.#listings.get(symbol)?.limits;
  }

  book(symbol: string): OrderBook | undefined {
    return this.#listings.get(symbol)?.book;
  }

  status(clientOrderId: string): OrderRecord | undefined {
    return this.#orders.get(clientOrderId);
  }

  /** The stops triggered since the last call, oldest first. */
  takeTriggered(): readonly OrderRecord[] {
    if (this.#triggered.length === 0) return NO_ORDERS;
    const triggered = this.#triggered;
    this.#triggered = [];
    return triggered;
  }

  /** Enters an order; `refusal` rejects it as the exchange would (fault drills). */
  submit(input: SubmitInput, refusal?: string): SubmitResult {
    const known = this.#orders.get(input.clientOrderId);
    if (known !== undefined) return { order: known, duplicate: true, executions: NO_EXECUTIONS };
    const listing = this.#listings.get(input.symbol);
    const problem = refusal ?? this.#check(input, listing);
    if (problem !== undefined || listing === undefined) {
      const record = this.#record(input, input.quantity);
      record.status = "rejected";
      record.rejectReason = problem ?? `${input.symbol} is not listed`;
      return { order: record, duplicate: false, executions: NO_EXECUTIONS };
    }
    // Only an amendment pays for the cap: the matching hot path stays as it was.
    const original = input.amends === undefined ? undefined : this.#orders.get(input.amends)!;
    const record = this.#record(input, original === undefined ? input.quantity : amendedQuantity(input, original));
    const out: Execution[] = [];
    if (original !== undefined) this.#amend(listing, record, original, out);
    else this.#enter(listing, record, out);
    if (out.length > 0) this.#triggerStops(listing, out);
    return { order: record, duplicate: false, executions: out.length > 0 ? out : NO_EXECUTIONS };
  }

  /** Cancels what is left of a working order; undefined when the id is unknown. */
  cancel(clientOrderId: string): { order: OrderRecord; cancelledQuantity: number } | undefined {
    const record = this.#orders.get(clientOrderId);
    if (record === undefined) return undefined;
    if (!isWorking(record)) return { order: record, cancelledQuantity: 0 };
    const cancelledQuantity = this.#withdraw(this.#listings.get(record.symbol)!, record);
    record.status = "cancelled";
    return { order: record, cancelledQuantity };
  }

  /** Switches a symbol between continuous trading, auction collection and closed; the schedule overrides a running VI. */
  setMode(symbol: string, mode: SymbolMode): void {
    Object.assign(this.#listings.get(symbol)!, { mode, viUntilMs: 0, viExtended: false });
  }

  /**
   * 조건부 지정가 at the closing auction: what is left of each conditional
   * order becomes a market order, entered as of now (behind earlier market orders).
   */
  convertConditionals(): void {
    for (const record of this.#orders.values()) {
      if (record.terms.type !== "conditional" || !isWorking(record) || record.priceKrw === 0n) continue;
      const listing = this.#listings.get(record.symbol)!;
      const remaining = record.remaining;
      listing.book.cancel(record);
      record.priceKrw = 0n;
      record.remaining = remaining;
      listing.auctionMarket[record.side].push(record);
    }
  }

  /**
   * Ends a single-price auction: everything executable trades at the one
   * uncrossing price, market orders left over are cancelled, and the symbol
   * trades continuously again (closed after the closing auction). A price
   * beyond the static VI band extends the auction once by a VI instead.
   */
  uncross(symbol: string, closing = false): readonly Execution[] {
    const listing = this.#listings.get(symbol)!;
    const { bids, asks } = listing.book.depth(Number.MAX_SAFE_INTEGER);
    const sum = (orders: readonly OrderRecord[]) => orders.reduce((n, o) => n + o.remaining, 0);
    const found = uncrossingPrice({
      bids,
      asks,
      marketBuyQuantity: sum(listing.auctionMarket.buy),
      marketSellQuantity: sum(listing.auctionMarket.sell),
      referencePriceKrw: listing.lastPriceKrw ?? listing.staticReferenceKrw,
    });
    if (
      found !== undefined &&
      this.#options.volatilityInterruption &&
      !closing &&
      !listing.viExtended &&
      this.#outsideViBand(listing, found.priceKrw)
    ) {
      listing.viExtended = true;
      listing.viUntilMs = this.clock().getTime() + this.#options.viDurationMs;
      return NO_EXECUTIONS;
    }
    const out: Execution[] = [];
    if (found !== undefined) this.#executeAuction(listing, found.priceKrw, found.volume, out);
    for (const side of ["buy", "sell"] as const) {
      for (const record of listing.auctionMarket[side].splice(0)) {
        record.remaining = 0;
        if (isWorkingStatus(record.status)) record.status = "cancelled";
      }
    }
    listing.viUntilMs = 0;
    listing.viExtended = false;
    // After the closing auction nothing trades until tomorrow, not even a triggered stop.
    listing.mode = closing ? "closed" : "continuous";
    if (found !== undefined) listing.staticReferenceKrw = found.priceKrw;
    if (out.length > 0) this.#triggerStops(listing, out);
    return out;
  }

  /** The symbols whose VI auction ends at or before `atMs`. */
  viDue(atMs: number): string[] {
    const due: string[] = [];
    for (const l of this.#listings.values()) if (l.viUntilMs !== 0 && l.viUntilMs <= atMs) due.push(l.instrument.symbol);
    return due;
  }

  /** When the next VI auction ends (venue ms); Infinity when none runs. */
  nextViEndMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const l of this.#listings.values()) if (l.viUntilMs !== 0 && l.viUntilMs < next) next = l.viUntilMs;
    return next;
  }

  /**
   * Ends the trading day: DAY orders still working expire; each close becomes
   * the next day's reference price and the limits move with it; GTC orders
   * stay, unless the new limits exclude their price (then they expire too).
   */
  closeDay(): OrderRecord[] {
    for (const listing of this.#listings.values()) {
      const referencePriceKrw = listing.lastPriceKrw ?? listing.referencePriceKrw;
      Object.assign(listing, {
        referencePriceKrw,
        limits: dailyPriceLimits(referencePriceKrw),
        lastPriceKrw: undefined,
        staticReferenceKrw: referencePriceKrw,
        viUntilMs: 0,
        viExtended: false,
      });
    }
    const expired: OrderRecord[] = [];
    for (const record of this.#orders.values()) {
      if (!isWorking(record)) continue;
      const listing = this.#listings.get(record.symbol)!;
      if (record.terms.timeInForce === "gtc" && this.#withinLimits(listing, record)) continue;
      this.#withdraw(listing, record);
      record.status = "expired";
      expired.push(record);
    }
    return expired;
  }

  /**
   * Records an order nobody will ever send again as rejected, so that a late
   * submission with the same id is answered "rejected" instead of traded:
   * how the order service fences an order it gave up on.
   */
  fence(clientOrderId: string): OrderRecord {
    const known = this.#orders.get(clientOrderId);
    if (known !== undefined) return known;
    const record = this.#record(
      { clientOrderId, symbol: "", side: "buy", type: "limit", timeInForce: "day", quantity: 0, priceKrw: 0n },
      0,
    );
    record.status = "rejected";
    record.rejectReason = "cancelled before it reached the exchange";
    return record;
  }

  /** `quantity`: the order's at the venue (an amendment's after the cap). */
  #record(input: SubmitInput, quantity: number): OrderRecord {
    const record: OrderRecord = {
      clientOrderId: input.clientOrderId,
      symbol: input.symbol,
      side: input.side,
      priceKrw: input.priceKrw,
      quantity,
      terms: input,
      remaining: 0,
      status: "accepted",
      filledQuantity: 0,
      rejectReason: "",
      fills: NO_EXECUTIONS,
    };
    this.#orders.set(input.clientOrderId, record);
    return record;
  }

  /** Routes a valid order by the symbol's mode and the order's type. */
  #enter(listing: Listing, record: OrderRecord, out: Execution[]): void {
    const { type } = record.terms;
    if (type === "stop" || type === "stop_limit") {
      if (!this.#stopReached(listing, record)) {
        this.#holdStop(listing, record);
        return;
      }
      record.priceKrw = type === "stop" ? 0n : record.terms.priceKrw;
    }
    if (listing.mode === "auction") {
      this.#collect(listing, record);
      return;
    }
    if (type === "best" || type === "top") {
      const priceKrw = listing.book.bestPrice(type === "best" ? opposite(record.side) : record.side);
      if (priceKrw === undefined) {
        this.#refuse(record, `no ${type === "best" ? "opposite" : "same-side"} price to take`);
        return;
      }
      record.priceKrw = priceKrw;
    }
    this.#match(listing, record, out);
  }

  /** Continuous trading: takes what it can within its price, the collar and the VI band, then rests or cancels the rest. */
  #match(listing: Listing, record: OrderRecord, out: Execution[]): void {
    const { side, quantity } = record;
    const isMarket = record.priceKrw === 0n;
    const orderLimit = isMarket ? this.#collar(listing, side) : record.priceKrw;
    const viLimit = this.#options.volatilityInterruption ? this.#viLimit(listing, side) : undefined;
    const takeLimit = viLimit !== undefined && (orderLimit === undefined || better(side, viLimit, orderLimit)) ? viLimit : orderLimit;
    const tif = record.terms.timeInForce;
    if (tif === "fok" && listing.book.available(side, quantity, takeLimit) < quantity) {
      record.status = "cancelled";
      return;
    }
    const matches = listing.book.take(side, quantity, takeLimit);
    if (matches.length > 0) {
      const now = this.clock();
      for (const match of matches) {
        const tradeSequence = ++this.#tradeSequence;
        out.push(this.#fill(match.maker as OrderRecord, tradeSequence, match.priceKrw, match.quantity, now));
        out.push(this.#fill(record, tradeSequence, match.priceKrw, match.quantity, now));
      }
      listing.lastPriceKrw = matches[matches.length - 1]!.priceKrw;
    }
    const remaining = quantity - record.filledQuantity;
    if (remaining === 0) return;
    if (takeLimit !== orderLimit && this.#wouldTradeBeyond(listing, side, orderLimit)) {
      // The next trade would leave the VI band: the symbol goes to a 2-minute auction and the rest waits in it.
      listing.mode = "auction";
      listing.viUntilMs = this.clock().getTime() + this.#options.viDurationMs;
      if (tif === "ioc" || tif === "fok") record.status = "cancelled";
      else this.#collect(listing, record);
      return;
    }
    if (!isMarket && (tif === "day" || tif === "gtc")) {
      record.remaining = remaining;
      listing.book.rest(record);
    } else {
      // IOC and market orders never rest: what did not fill now is cancelled.
      record.status = "cancelled";
    }
  }

  /** Auction collection: limits rest in the (possibly crossed) book, market orders wait beside it. */
  #collect(listing: Listing, record: OrderRecord): void {
    record.remaining = record.quantity - record.filledQuantity;
    if (record.priceKrw === 0n) listing.auctionMarket[record.side].push(record);
    else listing.book.rest(record);
  }

  /**
   * 정정: a quantity decrease at the same price keeps time priority; any other
   * change re-enters at the back. A replacement capped to nothing (the
   * original filled all the broker held for) withdraws the original and is
   * cancelled at once.
   */
  #amend(listing: Listing, record: OrderRecord, original: OrderRecord, out: Execution[]): void {
    const { amendsFilledQuantity, quantity: asked } = record.terms;
    if (amendsFilledQuantity !== undefined) {
      // The original's fills are done (k may even exceed the new quantity); the replacement must add nothing beyond it.
      const filledSince = original.filledQuantity - amendsFilledQuantity;
      assert(
        filledSince >= 0 && (record.quantity === 0 || filledSince + record.quantity <= asked),
        `${record.clientOrderId} and ${original.clientOrderId} could trade more than the broker held for`,
      );
    }
    const keepsPlace =
      record.quantity > 0 &&
      original.status !== "waiting" &&
      original.priceKrw !== 0n &&
      record.terms.priceKrw === original.priceKrw &&
      record.terms.type === original.terms.type &&
      record.quantity <= original.remaining;
    if (keepsPlace) {
      record.remaining = record.quantity;
      listing.book.replace(original, record);
    } else {
      this.#withdraw(listing, original);
      if (record.quantity === 0) record.status = "cancelled";
      else this.#enter(listing, record, out);
    }
    original.status = "cancelled";
  }

  /** Takes a working order out of wherever it waits; returns the quantity removed. */
  #withdraw(listing: Listing, record: OrderRecord): number {
    if (record.status === "waiting") {
      listing.stops.remove(record);
      return record.quantity;
    }
    if (record.priceKrw !== 0n) return listing.book.cancel(record);
    const waiting = listing.auctionMarket[record.side];
    const at = waiting.indexOf(record);
    if (at >= 0) waiting.splice(at, 1);
    const removed = record.remaining;
    record.remaining = 0;
    return removed;
  }

  #refuse(record: OrderRecord, reason: string): void {
    record.status = "rejected";
    record.rejectReason = reason;
  }

  #stopReached(listing: Listing, record: OrderRecord): boolean {
    const last = listing.lastPriceKrw;
    const stop = record.terms.stopPriceKrw!;
    return last !== undefined && (record.side === "buy" ? last >= stop : last <= stop);
  }

  #holdStop(listing: Listing, record: OrderRecord): void {
    record.status = "waiting";
    listing.stops.add(record);
  }

  /** Enters every stop the last trade has reached, and those their own trades reach, in trigger order. */
  #triggerStops(listing: Listing, out: Execution[]): void {
    while (listing.mode !== "closed" && listing.lastPriceKrw !== undefined) {
      const next = listing.stops.next("buy", listing.lastPriceKrw) ?? listing.stops.next("sell", listing.lastPriceKrw);
      if (next === undefined) return;
      listing.stops.remove(next);
      this.#triggered.push(next);
      next.status = "accepted";
      next.priceKrw = next.terms.type === "stop" ? 0n : next.terms.priceKrw;
      if (listing.mode === "auction") this.#collect(listing, next);
      else this.#match(listing, next, out);
    }
  }

  /** The worst price a market order may fill at: the collar around the last price, within today's limits. */
  #collar(listing: Listing, side: Side): bigint | undefined {
    if (this.#options.collarPercent <= 0) return undefined;
    const from = listing.lastPriceKrw ?? listing.referencePriceKrw;
    const edge = band(from, BigInt(this.#options.collarPercent), side);
    return side === "buy" ? min(edge, listing.limits.upperLimitKrw) : max(edge, listing.limits.lowerLimitKrw);
  }

  /** The worst price the next trade may have before a VI: dynamic (from the last trade) and static bands. */
  #viLimit(listing: Listing, side: Side): bigint {
    const dynamicPercent = listing.instrument.kospi200 === true ? 3n : 6n;
    const staticEdge = band(listing.staticReferenceKrw, VI_STATIC_PERCENT, side);
    const dynamicEdge = band(listing.lastPriceKrw ?? listing.staticReferenceKrw, dynamicPercent, side);
    return side === "buy" ? min(staticEdge, dynamicEdge) : max(staticEdge, dynamicEdge);
  }

  /** Whether an auction price leaves the static VI band (the closing auction is not extended: the day must end). */
  #outsideViBand(listing: Listing, priceKrw: bigint): boolean {
    const from = listing.staticReferenceKrw;
    return priceKrw > band(from, VI_STATIC_PERCENT, "buy") || priceKrw < band(from, VI_STATIC_PERCENT, "sell");
  }

  /** Whether the best opposite price is still within `limitKrw` (undefined: any price). */
  #wouldTradeBeyond(listing: Listing, side: Side, limitKrw: bigint | undefined): boolean {
    const bestKrw = listing.book.bestPrice(opposite(side));
    return bestKrw !== undefined && (limitKrw === undefined || !better(side, limitKrw, bestKrw));
  }

  /** Fills `volume` on each side at `priceKrw`: market orders first, then the book by price and time. */
  #executeAuction(listing: Listing, priceKrw: bigint, volume: number, out: Execution[]): void {
    const allocate = (side: Side) => {
      const lots: { record: OrderRecord; quantity: number }[] = [];
      let left = volume;
      for (const record of listing.auctionMarket[side]) {
        const quantity = Math.min(left, record.remaining);
        if (quantity === 0) break;
        record.remaining -= quantity;
        left -= quantity;
        lots.push({ record, quantity });
      }
      if (left > 0)
        for (const m of listing.book.take(opposite(side), left, priceKrw))
          lots.push({ record: m.maker as OrderRecord, quantity: m.quantity });
      return lots;
    };
    const buys = allocate("buy");
    const sells = allocate("sell");
    const now = this.clock();
    for (let b = 0, s = 0; b < buys.length && s < sells.length; ) {
      const quantity = Math.min(buys[b]!.quantity, sells[s]!.quantity);
      const tradeSequence = ++this.#tradeSequence;
      out.push(this.#fill(sells[s]!.record, tradeSequence, priceKrw, quantity, now));
      out.push(this.#fill(buys[b]!.record, tradeSequence, priceKrw, quantity, now));
      buys[b]!.quantity -= quantity;
      sells[s]!.quantity -= quantity;
      if (buys[b]!.quantity === 0) b++;
      if (sells[s]!.quantity === 0) s++;
    }
    listing.lastPriceKrw = priceKrw;
  }

  #fill(record: OrderRecord, tradeSequence: number, priceKrw: bigint, quantity: number, executedAt: Date): Execution {
    const execution: Execution = {
      tradeSequence,
      clientOrderId: record.clientOrderId,
      symbol: record.symbol,
      side: record.side,
      quantity,
      priceKrw,
      executedAt,
    };
    if (record.fills === NO_EXECUTIONS) record.fills = [execution];
    else (record.fills as Execution[]).push(execution);
    record.filledQuantity += quantity;
    if (record.filledQuantity > record.quantity) throw new InvariantViolation(`invariant violated: ${record.clientOrderId} overfilled`);
    record.status = record.filledQuantity === record.quantity ? "filled" : "partially_filled";
    return execution;
  }

  #withinLimits(listing: Listing, record: OrderRecord): boolean {
    const { lowerLimitKrw, upperLimitKrw } = listing.limits;
    const inside = (p: bigint) => p === 0n || (p >= lowerLimitKrw && p <= upperLimitKrw);
    return inside(record.priceKrw) && inside(record.terms.stopPriceKrw ?? 0n);
  }

  #check(input: SubmitInput, listing: Listing | undefined): string | undefined {
    if (listing === undefined) return `${input.symbol} is not listed`;
    if (!Number.isSafeInteger(input.quantity) || input.quantity <= 0) return "quantity must be a positive whole number";
    if (listing.mode === "closed") return "the market is closed";
    const termsProblem = checkTerms(input, listing.mode);
    if (termsProblem !== undefined) return termsProblem;
    if (input.amends !== undefined) {
      const original = this.#orders.get(input.amends);
      if (original === undefined || original.symbol !== input.symbol || original.side !== input.side || !isWorking(original)) {
        return `nothing to amend: ${input.amends} is not a working ${input.side} order in ${input.symbol}`;
      }
      const known = input.amendsFilledQuantity;
      if (known !== undefined && !(Number.isSafeInteger(known) && known >= 0))
        return "amends_filled_quantity must be a whole number of shares, 0 or more";
      if (known !== undefined && known > original.filledQuantity) {
        return `amends_filled_quantity ${known} is more than ${input.amends} has filled (${original.filledQuantity}): the broker counts fills the venue never made`;
      }
    } else if (input.amendsFilledQuantity !== undefined) {
      return "amends_filled_quantity is only for an amendment (amends_client_order_id)";
    }
    for (const [what, priceKrw] of [
      ["price", input.priceKrw],
      ["stop price", input.stopPriceKrw ?? 0n],
    ] as const) {
      if (priceKrw === 0n) continue;
      if (!isOnTick(priceKrw)) return `${what} ${priceKrw} is off the tick ladder (tick ${tickSizeKrw(priceKrw)})`;
      if (priceKrw > listing.limits.upperLimitKrw || priceKrw < listing.limits.lowerLimitKrw) {
        return `${what} ${priceKrw} is outside today's limits ${listing.limits.lowerLimitKrw}..${listing.limits.upperLimitKrw}`;
      }
    }
    return undefined;
  }
}

/**
 * A checked amendment's quantity: the request's less what the original
 * filled since the broker's `amendsFilledQuantity` (k), never below 0. The
 * broker held for amendsFilledQuantity + quantity; the original's k fills
 * have used k of it, so the replacement may trade only the rest.
 */
function amendedQuantity(input: SubmitInput, original: OrderRecord): number {
  if (input.amendsFilledQuantity === undefined) return input.quantity;
  return Math.max(0, input.quantity - (original.filledQuantity - input.amendsFilledQuantity));
}

const isWorkingStatus = (s: ExchangeStatus) => s === "accepted" || s === "partially_filled";
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
/** Whether `a` is a better price than `b` for an order on `side` (lower for a buyer). */
const better = (side: Side, a: bigint, b: bigint) => (side === "buy" ? a < b : a > b);

/** Which prices and times in force each type takes, and when (KRX allows no IOC/FOK, best or top in an auction). */
const TERMS: Record<OrderType, { readonly priced: boolean; readonly stop: boolean; readonly tifs: readonly TimeInForce[] }> = {
  limit: { priced: true, stop: false, tifs: ["day", "ioc", "fok", "gtc"] },
  market: { priced: false, stop: false, tifs: ["day", "ioc", "fok"] },
  best: { priced: false, stop: false, tifs: ["day", "ioc", "fok"] },
  top: { priced: false, stop: false, tifs: ["day"] },
  conditional: { priced: true, stop: false, tifs: ["day"] },
  stop: { priced: false, stop: true, tifs: ["day", "gtc"] },
  stop_limit: { priced: true, stop: true, tifs: ["day", "gtc"] },
};

function checkTerms(input: SubmitInput, mode: SymbolMode): string | undefined {
  const terms = TERMS[input.type];
  if (terms === undefined) return `unknown order type ${input.type}`;
  if (!terms.tifs.includes(input.timeInForce)) return `a ${input.type} order cannot be ${input.timeInForce.toUpperCase()}`;
  if (terms.priced !== (input.priceKrw !== 0n))
    return terms.priced ? `a ${input.type} order needs a price` : `a ${input.type} order has no price`;
  if (terms.stop !== ((input.stopPriceKrw ?? 0n) !== 0n))
    return terms.stop ? `a ${input.type} order needs a stop price` : `a ${input.type} order has no stop price`;
  if (mode === "auction") {
    if (input.timeInForce === "ioc" || input.timeInForce === "fok") return "IOC and FOK are not accepted in a single-price auction";
    if (input.type === "best" || input.type === "top") return `a ${input.type} order is not accepted in a single-price auction`;
  }
  return undefined;
}
