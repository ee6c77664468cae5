// The exchange's front desk. Every call that changes the venue becomes a
// command: written to the journal first, applied to the venue only once the
// journal has it (journal-writer.ts), published to Kafka in journal order
// (publish-queue.ts), and answered last. So whatever the exchange ever said
// or published, a restart (or a crash at any point) rebuilds from the
// journal. The drills' fault modes wrap this desk (faults.ts).
import { randomBytes } from "node:crypto";
import type { Logger } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { PhaseSpan } from "../domain/calendar.js";
import { wallTimeMs } from "../domain/clock.js";
import { type Instrument, isWorking, type Listing, type OrderRecord, type SubmitInput, type SubmitResult } from "../domain/engine.js";
import type { MarketMakerOptions } from "../domain/market-maker.js";
import type { SymbolPhase, VenueSettings } from "../domain/venue.js";
import type { Publisher } from "../events/publisher.js";
import * as journal from "../store/journal-store.js";
import { JournalWriter } from "./journal-writer.js";
import { PublishQueue } from "./publish-queue.js";

export interface DeskOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly instruments: readonly Instrument[];
  /** Used when a new session opens; a resumed session keeps the settings it was opened with. */
  readonly marketMaker: MarketMakerOptions;
  /** The venue's schedule, clock and rules for a session opened at `openedAt`; a resumed session keeps its own. */
  readonly venueFor: (openedAt: Date) => VenueSettings;
  readonly publisherFor: (session: string) => Publisher;
  /** Commands per journal write and per Kafka request: bounds one statement's parameter arrays. */
  readonly groupMax: number;
}

/** What the fault drill does to one new order, decided when the call arrived. */
export interface SubmitDrill {
  /** Refused with this reason (REJECT); journalled, so a replay refuses it too. */
  readonly refusal?: string;
  /** 2 under DUPLICATE: the executions go to Kafka twice. */
  readonly copies?: 1 | 2;
}

/** setTimeout's longest delay; a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const CLOCK_RETRY_MS = 1_000;
/** The venue clock is let run at most this often: an accelerated background flow catches up several rounds at once. */
const CLOCK_MIN_MS = 20;

export class Desk {
  #timer: NodeJS.Timeout | undefined;
  #armedForWallMs = Number.POSITIVE_INFINITY;
  #closed = false;

  private constructor(
    private readonly options: DeskOptions,
    private readonly session: journal.SessionRecord,
    private readonly queue: PublishQueue,
    private readonly writer: JournalWriter,
  ) {}

  /** Resumes the newest session in the journal (replaying it), or opens one. */
  static async open(options: DeskOptions): Promise<Desk> {
    const { pool, logger } = options;
    const resumed = await journal.latestSession(pool);
    const openedAt = new Date();
    const session =
      resumed ??
      (await journal.openSession(pool, randomBytes(4).toString("hex"), openedAt, options.marketMaker, options.venueFor(openedAt)));
    if (resumed !== undefined) warnIfReconfigured(resumed, options, logger);
    const queue = new PublishQueue(options.publisherFor(session.session), logger, options.groupMax, session.publishedThrough);
    const writer = await JournalWriter.resume({
      pool,
      logger,
      instruments: options.instruments,
      session,
      groupMax: options.groupMax,
      queue,
    });
    const desk = new Desk(options, session, queue, writer);
    desk.#arm();
    logger.info({ phase: writer.venue.phase, venueTime: writer.venue.now.toISOString() }, "venue open");
    return desk;
  }

  get sessionId(): string {
    return this.session.session;
  }

  get instruments(): readonly Instrument[] {
    return this.options.instruments;
  }

  /** The venue's phase of the day (and its trading day). */
  get phase(): PhaseSpan {
    return this.writer.venue.phase;
  }

  /** Every symbol's state for the day, with its phase as a trader sees it. */
  listings(): { listing: Readonly<Listing>; phase: SymbolPhase }[] {
    const venue = this.writer.venue;
    return [...venue.engine.listings()].map((listing) => ({ listing, phase: venue.phaseOf(listing.instrument.symbol) }));
  }

  async submit(input: SubmitInput, drill: SubmitDrill = {}): Promise<SubmitResult> {
    const [result] = await this.submitAll([{ input, drill }]);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * Submits each order as a lone SubmitOrder would be, with one journal
   * write for all the new ones (up to the group's bound); an order that
   * could not be entered has its error as its answer. A repeat changes
   * nothing and answers as the first time, once Kafka has what came before.
   */
  async submitAll(orders: readonly { readonly input: SubmitInput; readonly drill?: SubmitDrill }[]): Promise<(SubmitResult | Error)[]> {
    const known = orders.map(({ input }) => this.writer.known(input.clientOrderId));
    const fresh = orders.filter((_, i) => known[i] === undefined);
    const entering = this.writer.enterAll(
      fresh.map(({ input, drill = {} }) => ({
        draft: { kind: "submit", input, ...(drill.refusal === undefined ? {} : { refusal: drill.refusal }) },
        copies: drill.copies ?? 1,
      })),
    );
    const entered = await Promise.allSettled(entering);
    if (fresh.length > 0) this.#arm(); // an order may have started a VI
    const results = await Promise.all(
      entered.map(async (e): Promise<SubmitResult | Error> => {
        try {
          if (e.status === "rejected") throw e.reason;
          const { outcome, published } = e.value;
          assert(outcome.kind === "submit", `a submit came back as ${outcome.kind}`);
          await published;
          return outcome.result;
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
    if (fresh.length < orders.length) await this.queue.drained;
    let next = 0;
    return known.map((order) => (order === undefined ? results[next++]! : { order, duplicate: true, executions: [] }));
  }

  async cancel(clientOrderId: string): Promise<{ order: OrderRecord; cancelledQuantity: number }> {
    const known = this.writer.known(clientOrderId);
    // Nothing left to cancel changes nothing: no journal write (a waiting stop has nothing on the book, but is working).
    if (known !== undefined && !isWorking(known)) return { order: known, cancelledQuantity: 0 };
    const { outcome, published } = await this.writer.enter({ kind: "cancel", clientOrderId }, 1);
    assert(outcome.kind === "cancel", `a cancel came back as ${outcome.kind}`);
    await published;
    return outcome;
  }

  /** Ends the trading day: resting DAY orders expire, and the world is told. */
  async closeSession(): Promise<readonly OrderRecord[]> {
    const { outcome, published } = await this.writer.enter({ kind: "close" }, 1);
    assert(outcome.kind === "close", `a close came back as ${outcome.kind}`);
    this.#arm();
    await published;
    this.options.logger.info({ expired: outcome.expired.length }, "session closed");
    return outcome.expired;
  }

  status(clientOrderId: string): OrderRecord | undefined {
    return this.writer.known(clientOrderId);
  }

  /** Keeps one timer for the venue's next scheduled change (an auction, a VI's end, the close). */
  #arm(): void {
    if (this.#closed) return;
    const nextMs = this.writer.venue.nextChangeMs();
    if (!Number.isFinite(nextMs)) return;
    const wallMs = wallTimeMs(this.session.venue.clock, nextMs);
    if (this.#timer !== undefined && wallMs >= this.#armedForWallMs) return;
    clearTimeout(this.#timer);
    this.#armedForWallMs = wallMs;
    this.#timer = setTimeout(() => void this.#tick(), Math.min(MAX_TIMER_MS, Math.max(CLOCK_MIN_MS, wallMs - Date.now() + 1)));
  }

  /** Lets the venue's clock run through the journal, like any other command. */
  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#armedForWallMs = Number.POSITIVE_INFINITY;
    try {
      const { published } = await this.writer.enter({ kind: "clock" }, 1);
      await published;
      this.#arm();
    } catch (error) {
      this.options.logger.warn({ err: error }, "the venue clock could not run; retrying");
      if (!this.#closed) this.#timer = setTimeout(() => void this.#tick(), CLOCK_RETRY_MS);
    }
  }

  /** Records how far Kafka has got, so a restart republishes as little as it can. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await journal.recordPublished(this.options.pool, this.session.session, this.queue.publishedThrough);
  }
}

/** A resumed session keeps the settings it was opened with (replay needs them); say so when the configuration differs. */
function warnIfReconfigured(resumed: journal.SessionRecord, options: DeskOptions, logger: Logger): void {
  if (JSON.stringify(resumed.marketMaker) !== JSON.stringify(options.marketMaker)) {
    logger.warn(
      { journal: resumed.marketMaker, configured: options.marketMaker },
      "resuming with the session's market-maker settings, not the configured ones",
    );
  }
  const configured = options.venueFor(resumed.openedAt);
  const { schedule, engine, clock } = resumed.venue;
  if (
    schedule !== configured.schedule ||
    clock.speed !== configured.clock.speed ||
    JSON.stringify(engine) !== JSON.stringify(configured.engine)
  ) {
    logger.warn({ journal: resumed.venue, configured }, "resuming with the session's schedule, clock and rules, not the configured ones");
  }
}
