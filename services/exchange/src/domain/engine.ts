// The simulated exchange: one order book per listed symbol, an order
// registry by client order id (so a resubmission is answered, never matched
// twice, and OrderStatus always tells the truth), execution and trade ids.
import { dailyPriceLimits, isOnTick, tickSizeKrw } from "@kuku/platform";
import { OrderBook, type RestingOrder, type Side } from "./order-book.js";

export type OrderType = "limit" | "market";
export type TimeInForce = "day" | "ioc";
export type ExchangeStatus = "accepted" | "partially_filled" | "filled" | "cancelled" | "rejected";

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
  readonly quantity: bigint;
  /** 0 for a market order. */
  readonly priceKrw: bigint;
}

export interface Execution {
  readonly executionId: string;
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: bigint;
  readonly priceKrw: bigint;
  readonly executedAt: Date;
}

export interface OrderRecord {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: bigint;
  status: ExchangeStatus;
  filledQuantity: bigint;
  rejectReason: string;
  readonly fills: Execution[];
  resting: RestingOrder | undefined;
}

export interface Trade {
  readonly tradeId: string;
  readonly symbol: string;
  readonly priceKrw: bigint;
  readonly quantity: bigint;
  readonly executedAt: Date;
}

/** What one submission did: the order's record and every execution it caused (both sides). */
export interface SubmitResult {
  readonly order: OrderRecord;
  readonly duplicate: boolean;
  readonly executions: readonly Execution[];
  readonly trades: readonly Trade[];
}

export class Engine {
  readonly #books = new Map<string, OrderBook>();
  readonly #instruments = new Map<string, Instrument>();
  readonly #orders = new Map<string, OrderRecord>();
  #tradeSequence = 0;

  constructor(instruments: readonly Instrument[], private readonly clock: () => Date = () => new Date()) {
    for (const instrument of instruments) {
      this.#instruments.set(instrument.symbol, instrument);
      this.#books.set(instrument.symbol, new OrderBook(instrument.symbol));
    }
  }

  instruments(): Instrument[] {
    return [...this.#instruments.values()];
  }

  book(symbol: string): OrderBook | undefined {
    return this.#books.get(symbol);
  }

  status(clientOrderId: string): OrderRecord | undefined {
    return this.#orders.get(clientOrderId);
  }

  submit(input: SubmitInput): SubmitResult {
    const known = this.#orders.get(input.clientOrderId);
    if (known !== undefined) return { order: known, duplicate: true, executions: [], trades: [] };
    const record: OrderRecord = {
      clientOrderId: input.clientOrderId,
      symbol: input.symbol,
      side: input.side,
      quantity: input.quantity,
      status: "accepted",
      filledQuantity: 0n,
      rejectReason: "",
      fills: [],
      resting: undefined,
    };
    this.#orders.set(input.clientOrderId, record);
    const problem = this.#check(input);
    const book = this.#books.get(input.symbol);
    if (problem !== undefined || book === undefined) {
      record.status = "rejected";
      record.rejectReason = problem ?? `${input.symbol} is not listed`;
      return { order: record, duplicate: false, executions: [], trades: [] };
    }

    const now = this.clock();
    const matches = book.take(input.side, input.quantity, input.type === "market" ? undefined : input.priceKrw);
    const executions: Execution[] = [];
    const trades: Trade[] = [];
    for (const match of matches) {
      const tradeId = `${input.symbol}-${++this.#tradeSequence}`;
      trades.push({ tradeId, symbol: input.symbol, priceKrw: match.priceKrw, quantity: match.quantity, executedAt: now });
      const maker = this.#orders.get(match.maker.clientOrderId)!;
      executions.push(this.#fill(maker, tradeId, match.priceKrw, match.quantity, now));
      executions.push(this.#fill(record, tradeId, match.priceKrw, match.quantity, now));
    }
    const remaining = input.quantity - record.filledQuantity;
    if (remaining > 0n) {
      if (input.type === "limit" && input.timeInForce === "day") {
        record.resting = { clientOrderId: input.clientOrderId, side: input.side, priceKrw: input.priceKrw, remaining };
        book.rest(record.resting);
      } else {
        // IOC and market orders never rest: what did not fill now is cancelled.
        record.status = "cancelled";
      }
    }
    return { order: record, duplicate: false, executions, trades };
  }

  /** Cancels what is left of a resting order; undefined when the id is unknown. */
  cancel(clientOrderId: string): { order: OrderRecord; cancelledQuantity: bigint } | undefined {
    const record = this.#orders.get(clientOrderId);
    if (record === undefined) return undefined;
    if (record.resting === undefined || record.resting.remaining === 0n) return { order: record, cancelledQuantity: 0n };
    const cancelledQuantity = this.#books.get(record.symbol)!.cancel(record.resting);
    record.resting = undefined;
    record.status = "cancelled";
    return { order: record, cancelledQuantity };
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
      clientOrderId, symbol: "", side: "buy", quantity: 0n, status: "rejected",
      filledQuantity: 0n, rejectReason: "cancelled before it reached the exchange", fills: [], resting: undefined,
    };
    this.#orders.set(clientOrderId, record);
    return record;
  }

  #fill(record: OrderRecord, tradeId: string, priceKrw: bigint, quantity: bigint, executedAt: Date): Execution {
    const execution: Execution = {
      executionId: `${tradeId}-${record.side === "buy" ? "B" : "S"}`,
      tradeId,
      clientOrderId: record.clientOrderId,
      symbol: record.symbol,
      side: record.side,
      quantity,
      priceKrw,
      executedAt,
    };
    record.fills.push(execution);
    record.filledQuantity += quantity;
    if (record.filledQuantity > record.quantity) throw new Error(`invariant violated: ${record.clientOrderId} overfilled`);
    record.status = record.filledQuantity === record.quantity ? "filled" : "partially_filled";
    if (record.status === "filled") record.resting = undefined;
    return execution;
  }

  #check(input: SubmitInput): string | undefined {
    const instrument = this.#instruments.get(input.symbol);
    if (instrument === undefined) return `${input.symbol} is not listed`;
    if (input.quantity <= 0n) return "quantity must be positive";
    if (input.type === "market") return input.priceKrw === 0n ? undefined : "a market order has no price";
    if (!isOnTick(input.priceKrw)) return `price ${input.priceKrw} is off the tick ladder (tick ${tickSizeKrw(input.priceKrw)})`;
    const limits = dailyPriceLimits(instrument.referencePriceKrw);
    if (input.priceKrw > limits.upperLimitKrw || input.priceKrw < limits.lowerLimitKrw) {
      return `price ${input.priceKrw} is outside today's limits ${limits.lowerLimitKrw}..${limits.upperLimitKrw}`;
    }
    return undefined;
  }
}
