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
import type { Instrument, OrderRecord, SubmitInput, SubmitResult } from "../domain/engine.js";
import type { MarketMakerOptions } from "../domain/market-maker.js";
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

export class Desk {
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
    const session = resumed ?? (await journal.openSession(pool, randomBytes(4).toString("hex"), new Date(), options.marketMaker));
    if (resumed !== undefined && JSON.stringify(resumed.marketMaker) !== JSON.stringify(options.marketMaker)) {
      logger.warn(
        { journal: resumed.marketMaker, configured: options.marketMaker },
        "resuming with the session's market-maker settings, not the configured ones",
      );
    }
    const queue = new PublishQueue(options.publisherFor(session.session), logger, options.groupMax, session.publishedThrough);
    const writer = await JournalWriter.resume({
      pool,
      logger,
      instruments: options.instruments,
      session,
      groupMax: options.groupMax,
      queue,
    });
    return new Desk(options, session, queue, writer);
  }

  get sessionId(): string {
    return this.session.session;
  }

  get instruments(): readonly Instrument[] {
    return this.options.instruments;
  }

  limits(symbol: string) {
    return this.writer.venue.engine.limits(symbol);
  }

  async submit(input: SubmitInput, drill: SubmitDrill = {}): Promise<SubmitResult> {
    const known = this.writer.known(input.clientOrderId);
    if (known !== undefined) {
      // Nothing changes: answer as the first time, once Kafka has what came before.
      await this.queue.drained;
      return { order: known, duplicate: true, executions: [] };
    }
    const { outcome, published } = await this.writer.enter(
      { kind: "submit", input, ...(drill.refusal === undefined ? {} : { refusal: drill.refusal }) },
      drill.copies ?? 1,
    );
    assert(outcome.kind === "submit", `a submit came back as ${outcome.kind}`);
    await published;
    return outcome.result;
  }

  async cancel(clientOrderId: string): Promise<{ order: OrderRecord; cancelledQuantity: number }> {
    const known = this.writer.known(clientOrderId);
    // Nothing left to cancel changes nothing: no journal write.
    if (known !== undefined && known.remaining === 0) return { order: known, cancelledQuantity: 0 };
    const { outcome, published } = await this.writer.enter({ kind: "cancel", clientOrderId }, 1);
    assert(outcome.kind === "cancel", `a cancel came back as ${outcome.kind}`);
    await published;
    return outcome;
  }

  /** Ends the trading day: resting DAY orders expire, and the world is told. */
  async closeSession(): Promise<readonly OrderRecord[]> {
    const { outcome, published } = await this.writer.enter({ kind: "close" }, 1);
    assert(outcome.kind === "close", `a close came back as ${outcome.kind}`);
    await published;
    this.options.logger.info({ expired: outcome.expired.length }, "session closed");
    return outcome.expired;
  }

  status(clientOrderId: string): OrderRecord | undefined {
    return this.writer.known(clientOrderId);
  }

  /** Records how far Kafka has got, so a restart republishes as little as it can. */
  async close(): Promise<void> {
    await journal.recordPublished(this.options.pool, this.session.session, this.queue.publishedThrough);
  }
}
