// The exchange's whole state as a function of its journal: the engine, the
// market maker, the session schedule and the book-snapshot counter, changed
// only by commands. Same session, same settings, same commands in the same
// order: same orders, same fills, same execution ids. That is what lets a
// restarted (or crashed) exchange rebuild itself from the journal and keep
// its word. The schedule's transitions (auctions, the close) happen at their
// own venue times, applied before the first command that comes after them,
// so a replay meets them exactly where the first run did.

import { InvariantViolation } from "@kuku/platform/assert";
import { BackgroundFlow, type BackgroundFlowOptions } from "./background.js";
import { type MarketPhase, type PhaseSpan, phaseAt, type ScheduleName } from "./calendar.js";
import { REAL_CLOCK, type VenueClockSettings, venueTimeMs } from "./clock.js";
import {
  Engine,
  type EngineOptions,
  type ExchangeStatus,
  type Execution,
  type Instrument,
  type OrderRecord,
  type SubmitInput,
  type SubmitResult,
} from "./engine.js";
import { MarketMaker, type MarketMakerOptions } from "./market-maker.js";
import type { BookLevelView } from "./order-book.js";

/** Everything that changes the venue; `at` is the wall time the journal gave it. */
export type Command =
  /** `refusal`: the fault drill's simulated rejection, decided once when the call arrived. */
  | { readonly kind: "submit"; readonly at: Date; readonly input: SubmitInput; readonly refusal?: string }
  /** Cancels what is left, or fences an id the venue never saw. */
  | { readonly kind: "cancel"; readonly at: Date; readonly clientOrderId: string }
  /** Ends the trading day now (an operator's close). */
  | { readonly kind: "close"; readonly at: Date }
  /** Lets the venue's clock run: the schedule's transitions and VI ends due by then happen. */
  | { readonly kind: "clock"; readonly at: Date };

/** How the venue keeps time; fixed when a journal session opens, so replay keeps it. */
export interface VenueSettings {
  readonly schedule: ScheduleName;
  readonly clock: VenueClockSettings;
  readonly engine: Partial<EngineOptions>;
  /** Background traders; absent (the default) for none. */
  readonly background?: BackgroundFlowOptions;
}

export const ALWAYS_OPEN: VenueSettings = Object.freeze({ schedule: "always-open", clock: REAL_CLOCK, engine: {} });

/** A symbol's phase as a trader sees it. */
export type SymbolPhase = MarketPhase | "volatility";

export interface BookSnapshot {
  readonly symbol: string;
  readonly sequence: bigint;
  readonly bids: readonly BookLevelView[];
  readonly asks: readonly BookLevelView[];
  readonly at: Date;
  readonly phase: SymbolPhase;
  /** When a running VI auction ends. */
  readonly viUntil: Date | undefined;
}

/** A stop the last trade triggered, with its status once the command was applied (accepted when it rests unfilled). */
export interface TriggeredStop {
  readonly clientOrderId: string;
  readonly status: ExchangeStatus;
  /** Not yet filled. */
  readonly remaining: number;
  /** The order's quantity at the venue. */
  readonly quantity: number;
}

/** What the world must be told about one command (Kafka). */
export interface Publication {
  readonly executions: readonly Execution[];
  readonly books: readonly BookSnapshot[];
  readonly expired: readonly OrderRecord[];
  /** After the executions: a stop's fills, if any, come first. */
  readonly triggered: readonly TriggeredStop[];
}

export type Outcome =
  | { readonly kind: "submit"; readonly result: SubmitResult; readonly publication: Publication }
  | { readonly kind: "cancel"; readonly order: OrderRecord; readonly cancelledQuantity: number; readonly publication: Publication }
  | { readonly kind: "close"; readonly expired: readonly OrderRecord[]; readonly publication: Publication }
  | { readonly kind: "clock"; readonly publication: Publication };

const BOOK_DEPTH = 5;
const NONE: readonly never[] = Object.freeze([]);
const NOTHING: Publication = Object.freeze({ executions: NONE, books: NONE, expired: NONE, triggered: NONE });

export class Venue {
  readonly engine: Engine;
  readonly #marketMaker: MarketMaker;
  readonly #settings: VenueSettings;
  #bookSequence = 0n;
  /** The last command's journal (wall) time, and the venue time it maps to. */
  #atMs: number;
  #now: Date;
  #span: PhaseSpan;
  readonly #flow: BackgroundFlow | undefined;
  /** When the background flow's next round is due (venue ms); Infinity without a flow. */
  #nextFlowMs = Number.POSITIVE_INFINITY;
  /** The trading day an operator closed early: its remaining phases stay closed. */
  #closedDay: string | undefined;
  // What the schedule did since the last command, told with the next one.
  #pendingExecutions: Execution[] = [];
  #pendingExpired: OrderRecord[] = [];
  readonly #pendingBooks = new Set<string>();

  constructor(
    instruments: readonly Instrument[],
    readonly session: string,
    marketMaker: MarketMakerOptions,
    openedAt: Date,
    settings: VenueSettings = ALWAYS_OPEN,
  ) {
    this.#settings = settings;
    this.#atMs = openedAt.getTime();
    this.#now = new Date(venueTimeMs(settings.clock, this.#atMs));
    this.engine = new Engine(instruments, session, () => this.#now, settings.engine);
    this.#marketMaker = new MarketMaker(this.engine, marketMaker);
    this.#span = phaseAt(settings.schedule, this.#now.getTime());
    this.#setModes(this.#span.phase);
    this.#marketMaker.quoteAll();
    const background = settings.background;
    if (background !== undefined && background.ordersPerTick > 0) {
      this.#flow = new BackgroundFlow(this.engine, background);
      this.#nextFlowMs = this.#now.getTime() + background.intervalMs;
    }
  }

  /** The venue's time as of the last command. */
  get now(): Date {
    return this.#now;
  }

  get phase(): PhaseSpan {
    return this.#span;
  }

  /** When the schedule or a VI next changes something (venue ms); Infinity when never. */
  nextChangeMs(): number {
    return Math.min(this.#span.untilMs, this.engine.nextViEndMs(), this.#nextFlowMs);
  }

  phaseOf(symbol: string): SymbolPhase {
    const listing = this.engine.listing(symbol)!;
    if (listing.viUntilMs !== 0) return "volatility";
    if (listing.mode === "closed") return "closed";
    return listing.mode === "auction" ? (this.#span.phase === "closing" ? "closing" : "preopen") : "continuous";
  }

  apply(command: Command): Outcome {
    const atMs = command.at.getTime();
    if (atMs < this.#atMs) {
      // The journal is in time order; an earlier time would mean commands out of order.
      throw new InvariantViolation(
        `invariant violated: command at ${command.at.toISOString()} after ${new Date(this.#atMs).toISOString()}`,
      );
    }
    this.#atMs = atMs;
    this.#advance(venueTimeMs(this.#settings.clock, atMs));
    switch (command.kind) {
      case "submit": {
        const result = this.engine.submit(command.input, command.refusal);
        if (result.duplicate) return { kind: "submit", result, publication: this.#drain() };
        if (result.order.status !== "rejected") this.#marketMaker.quote(command.input.symbol);
        return { kind: "submit", result, publication: this.#drain(result.executions, command.input.symbol) };
      }
      case "cancel": {
        const cancelled = this.engine.cancel(command.clientOrderId);
        // An id the venue never saw is fenced: if the order arrives later, it is refused.
        if (cancelled === undefined)
          return { kind: "cancel", order: this.engine.fence(command.clientOrderId), cancelledQuantity: 0, publication: this.#drain() };
        const symbol = cancelled.cancelledQuantity > 0 ? cancelled.order.symbol : undefined;
        return { kind: "cancel", ...cancelled, publication: this.#drain(NONE, symbol) };
      }
      case "close": {
        const expired = this.#closeDay();
        if (this.#settings.schedule === "always-open") this.#marketMaker.quoteAll();
        else if (this.#span.phase !== "closed") this.#closedDay = this.#span.tradingDay;
        return { kind: "close", expired, publication: this.#drain() };
      }
      case "clock":
        return { kind: "clock", publication: this.#drain() };
    }
  }

  /** Runs the schedule, the VI timers and the background flow up to `toMs`, each event at its own time. */
  #advance(toMs: number): void {
    for (;;) {
      const viEndMs = this.engine.nextViEndMs();
      const nextMs = Math.min(this.#span.untilMs, viEndMs, this.#nextFlowMs);
      if (nextMs > toMs) break;
      this.#now = new Date(nextMs);
      if (viEndMs === nextMs && viEndMs <= this.#span.untilMs) this.#endVolatilityAuctions(nextMs);
      else if (this.#span.untilMs === nextMs) this.#enter(phaseAt(this.#settings.schedule, nextMs));
      else this.#flowRound();
    }
    if (toMs > this.#now.getTime()) this.#now = new Date(toMs);
  }

  /** The background traders' round; none while the market is closed (the next comes when it opens). */
  #flowRound(): void {
    const interval = this.#settings.background!.intervalMs;
    if (this.#span.phase === "closed") {
      this.#nextFlowMs = Math.max(this.#nextFlowMs + interval, this.#span.untilMs);
      return;
    }
    const { executions, symbols } = this.#flow!.tick();
    this.#pendingExecutions.push(...executions);
    for (const symbol of symbols) {
      this.#marketMaker.quote(symbol);
      this.#pendingBooks.add(symbol);
    }
    this.#nextFlowMs += interval;
  }

  #endVolatilityAuctions(atMs: number): void {
    for (const symbol of this.engine.viDue(atMs)) {
      this.#pendingExecutions.push(...this.engine.uncross(symbol));
      this.#marketMaker.quote(symbol);
      this.#pendingBooks.add(symbol);
    }
  }

  #enter(span: PhaseSpan): void {
    const from = this.#span.phase;
    this.#span = span;
    const symbols = this.engine.instruments().map((i) => i.symbol);
    for (const symbol of symbols) this.#pendingBooks.add(symbol);
    if (span.tradingDay === this.#closedDay && span.phase !== "closed") {
      this.#setModes("closed");
      return;
    }
    switch (span.phase) {
      case "preopen":
        this.#setModes(span.phase);
        this.#marketMaker.quoteAll();
        return;
      case "continuous":
        for (const symbol of symbols) this.#pendingExecutions.push(...this.engine.uncross(symbol));
        this.#marketMaker.quoteAll();
        return;
      case "closing":
        this.engine.convertConditionals();
        this.#setModes(span.phase);
        return;
      case "closed":
        if (from === "closing") {
          for (const symbol of symbols) this.#pendingExecutions.push(...this.engine.uncross(symbol, true));
          this.#closeDay();
        }
        this.#setModes(span.phase);
        return;
    }
  }

  #closeDay(): OrderRecord[] {
    const expired = this.engine.closeDay();
    this.#pendingExpired.push(...expired);
    return expired;
  }

  #setModes(phase: MarketPhase): void {
    const mode = phase === "continuous" ? "continuous" : phase === "closed" ? "closed" : "auction";
    for (const { symbol } of this.engine.instruments()) this.engine.setMode(symbol, mode);
  }

  /** This command's events with whatever the schedule did before it; stops as they stand now (the records change later). */
  #drain(executions: readonly Execution[] = NONE, symbol?: string): Publication {
    const stops = this.engine.takeTriggered();
    const triggered =
      stops.length === 0
        ? NONE
        : stops.map((o) => ({
            clientOrderId: o.clientOrderId,
            status: o.status,
            remaining: o.quantity - o.filledQuantity,
            quantity: o.quantity,
          }));
    if (this.#pendingBooks.size === 0 && this.#pendingExecutions.length === 0 && this.#pendingExpired.length === 0) {
      if (symbol === undefined && executions.length === 0 && triggered.length === 0) return NOTHING;
      const book = symbol === undefined ? undefined : this.#snapshot(symbol);
      return { executions, books: book === undefined ? NONE : [book], expired: NONE, triggered };
    }
    if (symbol !== undefined) this.#pendingBooks.add(symbol);
    const publication = {
      executions: [...this.#pendingExecutions, ...executions],
      books: [...this.#pendingBooks].flatMap((s) => this.#snapshot(s) ?? []),
      expired: this.#pendingExpired,
      triggered,
    };
    this.#pendingExecutions = [];
    this.#pendingExpired = [];
    this.#pendingBooks.clear();
    return publication;
  }

  #snapshot(symbol: string): BookSnapshot | undefined {
    const listing = this.engine.listing(symbol);
    if (listing === undefined) return undefined;
    return {
      symbol,
      sequence: ++this.#bookSequence,
      ...listing.book.depth(BOOK_DEPTH),
      at: this.#now,
      phase: this.phaseOf(symbol),
      viUntil: listing.viUntilMs === 0 ? undefined : new Date(listing.viUntilMs),
    };
  }
}
