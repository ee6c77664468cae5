// The simulated exchange: one order book per listed symbol, an order
// registry by client order id (so a resubmission is answered, never matched
// twice, and OrderStatus always tells the truth), execution and trade ids.
import { InvariantViolation } from "@kuku/platform/assert";
import { dailyPriceLimits, isOnTick, tickSizeKrw } from "@kuku/platform/krx";
import { OrderBook, type RestingOrder, type Side } from "./order-book.js";

export type { Side };

export type OrderType = "limit" | "market";
export type TimeInForce = "day" | "ioc";
export type ExchangeStatus = "accepted" | "partially_filled" | "filled" | "cancelled" | "rejected" | "expired";

export interface Instrument {
  readonly symbol: string;
  readonly name: string;
  readonly referencePriceKrw: bigint;
}

export interface SubmitInput {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** Shares; a safe integer (the contract caps it at 1e9). */
  readonly quantity: number;
  /** 0 for a market order. */
  readonly priceKrw: bigint;
}

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
  status: ExchangeStatus;
  filledQuantity: number;
  rejectReason: string;
  /** In execution order; shared and empty until the first fill (most orders never fill). */
  fills: readonly Execution[];
}

/** `session`: the engine's, which trade numbers restart with. */
export const tradeId = (session: string, e: Execution): string => `${session}-${e.symbol}-${e.tradeSequence}`;
/** Unique per side of a trade (both sides may be the same broker's customers) and across sessions. */
export const executionId = (session: string, e: Execution): string => `${tradeId(session, e)}-${e.side === "buy" ? "B" : "S"}`;

/**
 * What one submission did: the order's record and every execution it caused,
 * maker first then taker for each trade (so the taker's executions are the
 * trades, in order).
 */
export interface SubmitResult {
  readonly order: OrderRecord;
  readonly duplicate: boolean;
  readonly executions: readonly Execution[];
}

const NO_EXECUTIONS: readonly Execution[] = Object.freeze([]);

export class Engine {
  readonly #books = new Map<string, OrderBook>();
  readonly #instruments = new Map<string, Instrument>();
  readonly #limits = new Map<string, ReturnType<typeof dailyPriceLimits>>();
  readonly #orders = new Map<string, OrderRecord>();
  #tradeSequence = 0;

  /**
   * `session` names this run of the engine in every trade and execution id,
   * so ids stay unique when the simulator restarts (a new trading day).
   */
  constructor(
    instruments: readonly Instrument[],
    readonly session: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (!/^[0-9A-Za-z]{1,16}$/.test(session)) throw new Error(`session must be 1..16 letters or digits, got ${JSON.stringify(session)}`);
    for (const instrument of instruments) {
      this.#instruments.set(instrument.symbol, instrument);
      this.#limits.set(instrument.symbol, dailyPriceLimits(instrument.referencePriceKrw));
      this.#books.set(instrument.symbol, new OrderBook(instrument.symbol));
    }
  }

  instruments(): Instrument[] {
    return [...this.#instruments.values()];
  }

  instrument(symbol: string): Instrument | undefined {
    return this.#instruments.get(symbol);
  }

  /** Today's price limits, computed once per instrument. */
  limits(symbol: string): ReturnType<typeof dailyPriceLimits> | undefined {
    return this.#limits.get(symbol);
  }

  book(symbol: string): OrderBook | undefined {
    return this.#books.get(symbol);
  }

  status(clientOrderId: string): OrderRecord | undefined {
    return this.#orders.get(clientOrderId);
  }

  /** Enters an order; `refusal` rejects it as the exchange would (fault drills). */
  submit(input: SubmitInput, refusal?: string): SubmitResult {
    const known = this.#orders.get(input.clientOrderId);
    if (known !== undefined) return { order: known, duplicate: true, executions: NO_EXECUTIONS };
    const record: OrderRecord = {
      clientOrderId: input.clientOrderId,
      symbol: input.symbol,
      side: input.side,
      priceKrw: input.priceKrw,
      quantity: input.quantity,
      remaining: 0,
      status: "accepted",
      filledQuantity: 0,
      rejectReason: "",
      fills: NO_EXECUTIONS,
    };
    this.#orders.set(input.clientOrderId, record);
    const problem = refusal ?? this.#check(input);
    const book = this.#books.get(input.symbol);
    if (problem !== undefined || book === undefined) {
      record.status = "rejected";
      record.rejectReason = problem ?? `${input.symbol} is not listed`;
      return { order: record, duplicate: false, executions: NO_EXECUTIONS };
    }

    const matches = book.take(input.side, input.quantity, input.type === "market" ? undefined : input.priceKrw);
    let executions = NO_EXECUTIONS;
    if (matches.length > 0) {
      const now = this.clock();
      const made: Execution[] = [];
      for (const match of matches) {
        const tradeSequence = ++this.#tradeSequence;
        made.push(this.#fill(match.maker as OrderRecord, tradeSequence, match.priceKrw, match.quantity, now));
        made.push(this.#fill(record, tradeSequence, match.priceKrw, match.quantity, now));
      }
      executions = made;
    }
    const remaining = input.quantity - record.filledQuantity;
    if (remaining > 0) {
      if (input.type === "limit" && input.timeInForce === "day") {
        record.remaining = remaining;
        book.rest(record);
      } else {
        // IOC and market orders never rest: what did not fill now is cancelled.
        record.status = "cancelled";
      }
    }
    return { order: record, duplicate: false, executions };
  }

  /** Cancels what is left of a resting order; undefined when the id is unknown. */
  cancel(clientOrderId: string): { order: OrderRecord; cancelledQuantity: number } | undefined {
    const record = this.#orders.get(clientOrderId);
    if (record === undefined) return undefined;
    if (record.remaining === 0) return { order: record, cancelledQuantity: 0 };
    const cancelledQuantity = this.#books.get(record.symbol)!.cancel(record);
    record.status = "cancelled";
    return { order: record, cancelledQuantity };
  }

  /** Ends the session: every order still resting expires. Returns them. */
  expireResting(): OrderRecord[] {
    const expired: OrderRecord[] = [];
    for (const record of this.#orders.values()) {
      if (record.remaining === 0 || (record.status !== "accepted" && record.status !== "partially_filled")) continue;
      this.#books.get(record.symbol)!.cancel(record);
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
    const record: OrderRecord = {
      clientOrderId,
      symbol: "",
      side: "buy",
      priceKrw: 0n,
      quantity: 0,
      remaining: 0,
      status: "rejected",
      filledQuantity: 0,
      rejectReason: "cancelled before it reached the exchange",
      fills: NO_EXECUTIONS,
    };
    this.#orders.set(clientOrderId, record);
    return record;
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

  #check(input: SubmitInput): string | undefined {
    const instrument = this.#instruments.get(input.symbol);
    if (instrument === undefined) return `${input.symbol} is not listed`;
    if (!Number.isSafeInteger(input.quantity) || input.quantity <= 0) return "quantity must be a positive whole number";
    if (input.type === "market") return input.priceKrw === 0n ? undefined : "a market order has no price";
    if (!isOnTick(input.priceKrw)) return `price ${input.priceKrw} is off the tick ladder (tick ${tickSizeKrw(input.priceKrw)})`;
    const limits = this.limits(input.symbol)!;
    if (input.priceKrw > limits.upperLimitKrw || input.priceKrw < limits.lowerLimitKrw) {
      return `price ${input.priceKrw} is outside today's limits ${limits.lowerLimitKrw}..${limits.upperLimitKrw}`;
    }
    return undefined;
  }
}
