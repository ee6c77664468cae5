// The exchange's whole state as a function of its journal: the engine, the
// market maker and the book-snapshot counter, changed only by commands. Same
// session, same market-maker settings, same commands in the same order: same
// orders, same fills, same execution ids. That is what lets a restarted (or
// crashed) exchange rebuild itself from the journal and keep its word.

import { InvariantViolation } from "@kuku/platform/assert";
import { Engine, type Execution, type Instrument, type OrderRecord, type SubmitInput, type SubmitResult } from "./engine.js";
import { MarketMaker, type MarketMakerOptions } from "./market-maker.js";
import type { BookLevelView } from "./order-book.js";

/** Everything that changes the venue; `at` is the venue's clock while it applies. */
export type Command =
  /** `refusal`: the fault drill's simulated rejection, decided once when the call arrived. */
  | { readonly kind: "submit"; readonly at: Date; readonly input: SubmitInput; readonly refusal?: string }
  /** Cancels what is left, or fences an id the venue never saw. */
  | { readonly kind: "cancel"; readonly at: Date; readonly clientOrderId: string }
  /** Ends the trading day: resting orders expire, the market maker quotes again. */
  | { readonly kind: "close"; readonly at: Date };

export interface BookSnapshot {
  readonly symbol: string;
  readonly sequence: bigint;
  readonly bids: readonly BookLevelView[];
  readonly asks: readonly BookLevelView[];
  readonly at: Date;
}

/** What the world must be told about one command (Kafka). */
export interface Publication {
  readonly executions: readonly Execution[];
  readonly book: BookSnapshot | undefined;
  readonly expired: readonly OrderRecord[];
}

export type Outcome =
  | { readonly kind: "submit"; readonly result: SubmitResult; readonly publication: Publication }
  | { readonly kind: "cancel"; readonly order: OrderRecord; readonly cancelledQuantity: number; readonly publication: Publication }
  | { readonly kind: "close"; readonly expired: readonly OrderRecord[]; readonly publication: Publication };

const BOOK_DEPTH = 5;
const NOTHING: Publication = Object.freeze({ executions: [], book: undefined, expired: [] });

export class Venue {
  readonly engine: Engine;
  readonly #marketMaker: MarketMaker;
  #bookSequence = 0n;
  #now: Date;

  constructor(
    instruments: readonly Instrument[],
    readonly session: string,
    marketMaker: MarketMakerOptions,
    openedAt: Date,
  ) {
    this.#now = openedAt;
    this.engine = new Engine(instruments, session, () => this.#now);
    this.#marketMaker = new MarketMaker(this.engine, marketMaker);
    this.#marketMaker.quoteAll();
  }

  apply(command: Command): Outcome {
    if (command.at.getTime() < this.#now.getTime()) {
      // The journal is in time order; an earlier time would mean commands out of order.
      throw new InvariantViolation(`invariant violated: command at ${command.at.toISOString()} after ${this.#now.toISOString()}`);
    }
    this.#now = command.at;
    switch (command.kind) {
      case "submit": {
        const result = this.engine.submit(command.input, command.refusal);
        if (result.duplicate) return { kind: "submit", result, publication: NOTHING };
        if (result.order.status !== "rejected") this.#marketMaker.quote(command.input.symbol);
        return {
          kind: "submit",
          result,
          publication: { executions: result.executions, book: this.#snapshot(command.input.symbol), expired: [] },
        };
      }
      case "cancel": {
        const cancelled = this.engine.cancel(command.clientOrderId);
        // An id the venue never saw is fenced: if the order arrives later, it is refused.
        if (cancelled === undefined)
          return { kind: "cancel", order: this.engine.fence(command.clientOrderId), cancelledQuantity: 0, publication: NOTHING };
        const publication =
          cancelled.cancelledQuantity > 0 ? { executions: [], book: this.#snapshot(cancelled.order.symbol), expired: [] } : NOTHING;
        return { kind: "cancel", ...cancelled, publication };
      }
      case "close": {
        const expired = this.engine.expireResting();
        // The simulator opens the next day at once.
        this.#marketMaker.quoteAll();
        return { kind: "close", expired, publication: { executions: [], book: undefined, expired } };
      }
    }
  }

  #snapshot(symbol: string): BookSnapshot | undefined {
    const book = this.engine.book(symbol);
    if (book === undefined) return undefined;
    return { symbol, sequence: ++this.#bookSequence, ...book.depth(BOOK_DEPTH), at: this.#now };
  }
}
