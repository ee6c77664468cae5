// The exchange's front desk. Every call that changes the venue becomes a
// command: written to the journal first (group commit: the commands that
// arrive while one write is in flight share the next one), applied to the
// venue only once the journal has it, published to Kafka in journal order,
// and answered last. So whatever the exchange ever said or published, a
// restart (or a crash at any point) rebuilds from the journal.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@kuku/platform";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import type pg from "pg";
import type { Instrument, OrderRecord, SubmitInput, SubmitResult } from "../domain/engine.js";
import { type FaultSetting, NO_FAULT, submitFault } from "../domain/faults.js";
import type { MarketMakerOptions } from "../domain/market-maker.js";
import { type Command, type Outcome, type Publication, Venue } from "../domain/venue.js";
import type { Publisher, PublishItem } from "../events/publisher.js";
import * as journal from "../store/journal-store.js";

export class ExchangeDown extends Error {
  override name = "ExchangeDown";
  constructor() {
    super("the exchange is down (fault mode DOWN)");
  }
}

/** The call was entered but, by the SILENT fault, is never answered. */
export class NeverAnswered extends Error {
  override name = "NeverAnswered";
}

/** The journal cannot be written (or the venue is being rebuilt from it): nothing was answered. */
export class JournalUnavailable extends Error {
  override name = "JournalUnavailable";
}

/** A command before the journal gives it its time. */
type Draft = { [K in Command["kind"]]: Omit<Extract<Command, { kind: K }>, "at"> }[Command["kind"]];

interface Entry {
  readonly draft: Draft;
  /** 2 under the DUPLICATE fault: the executions go to Kafka twice. */
  readonly copies: 1 | 2;
  resolve(entered: { outcome: Outcome; published: Promise<void> }): void;
  reject(error: Error): void;
}

export interface DeskOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly instruments: readonly Instrument[];
  /** Used when a new session opens; a resumed session keeps the settings it was opened with. */
  readonly marketMaker: MarketMakerOptions;
  readonly publisherFor: (session: string) => Publisher;
  /** Commands per journal write: bounds one statement's parameter arrays. */
  readonly groupMax: number;
  readonly random?: () => number;
}

const REPLAY_PAGE = 10_000;

export class Desk {
  #fault: FaultSetting = NO_FAULT;
  #venue!: Venue;
  #nextSequence = 1n;
  /** Journal times never go back, even if the wall clock does: replay asserts it. */
  #lastAtMs = 0;
  readonly #pending: Entry[] = [];
  #writing = false;
  #recovering: Promise<void> | undefined;
  /** Events wait here in journal order; whatever is waiting when Kafka is free goes in one request. */
  readonly #outgoing: { readonly sequence: bigint; readonly item: PublishItem; readonly sent: () => void }[] = [];
  #sending = false;
  /** Settles once everything queued so far is on Kafka. */
  #lastQueued: Promise<void> = Promise.resolve();
  #publishedThrough: bigint;
  readonly #publisher: Publisher;
  // A publication is retried until Kafka takes it: a maker's fill reaches its broker only this way.
  readonly #publishRetry = retry(handleAll, {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
  });

  private constructor(
    private readonly options: DeskOptions,
    private readonly session: journal.SessionRecord,
  ) {
    this.#publisher = options.publisherFor(session.session);
    this.#publishedThrough = session.publishedThrough;
    this.#publishRetry.onRetry((reason) =>
      options.logger.warn({ err: "error" in reason ? reason.error : undefined }, "publish failed; retrying"),
    );
  }

  /** Resumes the newest session in the journal (replaying it), or opens one. */
  static async open(options: DeskOptions): Promise<Desk> {
    const resumed = await journal.latestSession(options.pool);
    const session = resumed ?? (await journal.openSession(options.pool, randomBytes(4).toString("hex"), new Date(), options.marketMaker));
    if (resumed !== undefined && JSON.stringify(resumed.marketMaker) !== JSON.stringify(options.marketMaker)) {
      options.logger.warn(
        { journal: resumed.marketMaker, configured: options.marketMaker },
        "resuming with the session's market-maker settings, not the configured ones",
      );
    }
    const desk = new Desk(options, session);
    // Events of commands Kafka may not have acknowledged go out again.
    await desk.#rebuild(session.publishedThrough);
    return desk;
  }

  get sessionId(): string {
    return this.session.session;
  }

  get instruments(): readonly Instrument[] {
    return this.options.instruments;
  }

  limits(symbol: string) {
    return this.#venue.engine.limits(symbol);
  }

  get fault(): FaultSetting {
    return this.#fault;
  }

  setFault(setting: FaultSetting): void {
    this.#fault = setting;
    this.options.logger.warn({ fault: setting }, "fault mode changed");
  }

  async submit(input: SubmitInput, signal: AbortSignal): Promise<SubmitResult> {
    const fault = submitFault(this.#fault, (this.options.random ?? Math.random)());
    if (fault.kind === "down") throw new ExchangeDown();
    if (fault.kind === "delay") await sleep(fault.delayMs, undefined, { signal });
    const known = this.#known(input.clientOrderId);
    let result: SubmitResult;
    if (known !== undefined) {
      // Nothing changes: answer as the first time, once Kafka has what came before.
      await this.#lastQueued;
      result = { order: known, duplicate: true, executions: [] };
    } else {
      const refusal = fault.kind === "reject" ? "simulated rejection (fault mode REJECT)" : undefined;
      const { outcome, published } = await this.#enter(
        { kind: "submit", input, ...(refusal === undefined ? {} : { refusal }) },
        fault.kind === "duplicate" ? 2 : 1,
      );
      if (outcome.kind !== "submit") throw new Error(`invariant violated: a submit came back as ${outcome.kind}`);
      await published;
      result = outcome.result;
    }
    if (fault.kind === "silent") {
      this.options.logger.info(
        { clientOrderId: input.clientOrderId, status: result.order.status },
        "entered, not answering (fault mode SILENT)",
      );
      await new Promise<never>((_, reject) => {
        const fail = () => reject(new NeverAnswered("the caller gave up waiting (fault mode SILENT)"));
        if (signal.aborted) fail();
        else signal.addEventListener("abort", fail, { once: true });
      });
    }
    return result;
  }

  async cancel(clientOrderId: string): Promise<{ order: OrderRecord; cancelledQuantity: number }> {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    const known = this.#known(clientOrderId);
    // Nothing left to cancel changes nothing: no journal write.
    if (known !== undefined && known.remaining === 0) return { order: known, cancelledQuantity: 0 };
    const { outcome, published } = await this.#enter({ kind: "cancel", clientOrderId }, 1);
    if (outcome.kind !== "cancel") throw new Error(`invariant violated: a cancel came back as ${outcome.kind}`);
    await published;
    return outcome;
  }

  /** Ends the trading day: resting DAY orders expire, and the world is told. */
  async closeSession(): Promise<readonly OrderRecord[]> {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    const { outcome, published } = await this.#enter({ kind: "close" }, 1);
    if (outcome.kind !== "close") throw new Error(`invariant violated: a close came back as ${outcome.kind}`);
    await published;
    this.options.logger.info({ expired: outcome.expired.length }, "session closed");
    return outcome.expired;
  }

  status(clientOrderId: string): OrderRecord | undefined {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    return this.#known(clientOrderId);
  }

  /** Records how far Kafka has got, so a restart republishes as little as it can. */
  async close(): Promise<void> {
    await journal.recordPublished(this.options.pool, this.session.session, this.#publishedThrough);
  }

  // --- the journal ------------------------------------------------------------------

  /** The venue's record of an order; refused while the venue is rebuilt (it may be behind the journal). */
  #known(clientOrderId: string): OrderRecord | undefined {
    if (this.#recovering !== undefined) throw new JournalUnavailable("the exchange is rebuilding from its journal");
    return this.#venue.engine.status(clientOrderId);
  }

  #enter(draft: Draft, copies: 1 | 2): Promise<{ outcome: Outcome; published: Promise<void> }> {
    if (this.#recovering !== undefined) return Promise.reject(new JournalUnavailable("the exchange is rebuilding from its journal"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ draft, copies, resolve, reject });
      if (!this.#writing) void this.#writeGroups();
    });
  }

  async #writeGroups(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0) {
        const group = this.#pending.splice(0, this.options.groupMax);
        this.#lastAtMs = Math.max(this.#lastAtMs, Date.now());
        const at = new Date(this.#lastAtMs);
        const commands = group.map((e) => ({ ...e.draft, at }) as Command);
        const first = this.#nextSequence;
        try {
          await journal.appendCommands(this.options.pool, this.session.session, first, commands, this.#publishedThrough);
        } catch (error) {
          for (const e of group) e.reject(new JournalUnavailable(`the journal write failed: ${(error as Error).message}`));
          this.#recover(error);
          return;
        }
        this.#nextSequence = first + BigInt(group.length);
        // Applied strictly after the write and in journal order; an invariant failure here throws out of
        // this loop on purpose (the process stops rather than serve a venue that differs from its journal).
        group.forEach((entry, i) => {
          const outcome = this.#venue.apply(commands[i]!);
          entry.resolve({ outcome, published: this.#publish(first + BigInt(i), outcome.publication, entry.copies, this.#venue) });
        });
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * A failed write may or may not have committed: only the journal knows. Every
   * waiting call is refused, and the venue is rebuilt from the journal, retried
   * until the database answers.
   */
  #recover(cause: unknown): void {
    if (this.#recovering !== undefined) return;
    this.options.logger.error({ err: cause }, "journal write failed; rebuilding the venue from the journal");
    for (const e of this.#pending.splice(0)) e.reject(new JournalUnavailable("the exchange is rebuilding from its journal"));
    const appliedThrough = this.#nextSequence - 1n;
    this.#recovering = this.#rebuildRetried(appliedThrough).finally(() => (this.#recovering = undefined));
  }

  async #rebuildRetried(appliedThrough: bigint): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // What this process already published needs no second copy; anything the lost write did commit does.
        await this.#rebuild(appliedThrough);
        return;
      } catch (error) {
        this.options.logger.warn({ err: error, attempt }, "rebuild from the journal failed; retrying");
        await sleep(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
  }

  /** Replays the session into a fresh venue; commands after `republishAfter` are published again. */
  async #rebuild(republishAfter: bigint): Promise<void> {
    const startedAt = Date.now();
    const { session, openedAt, marketMaker } = this.session;
    const venue = new Venue(this.options.instruments, session, marketMaker, openedAt);
    let last = 0n;
    let lastAtMs = openedAt.getTime();
    for (;;) {
      const page = await journal.readCommands(this.options.pool, session, last, REPLAY_PAGE);
      for (const { sequence, command } of page) {
        if (sequence !== last + 1n) throw new Error(`invariant violated: the journal skips from ${last} to ${sequence}`);
        const { publication } = venue.apply(command);
        if (sequence > republishAfter) void this.#publish(sequence, publication, 1, venue);
        last = sequence;
        lastAtMs = command.at.getTime();
      }
      if (page.length < REPLAY_PAGE) break;
    }
    this.#venue = venue;
    this.#nextSequence = last + 1n;
    this.#lastAtMs = Math.max(this.#lastAtMs, lastAtMs);
    this.options.logger.info(
      {
        session,
        commands: Number(last),
        republished: Number(last > republishAfter ? last - republishAfter : 0n),
        replayMs: Date.now() - startedAt,
      },
      "venue rebuilt from the journal",
    );
  }

  /** Queues a command's events behind the ones before it; resolves once Kafka has them. */
  #publish(sequence: bigint, publication: Publication, copies: 1 | 2, venue: Venue): Promise<void> {
    const queued = new Promise<void>((sent) => {
      this.#outgoing.push({ sequence, item: { publication, copies, ordersById: (id) => venue.engine.status(id)! }, sent });
    });
    this.#lastQueued = queued;
    if (!this.#sending) void this.#sendQueued();
    return queued;
  }

  async #sendQueued(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#outgoing.length > 0) {
        const batch = this.#outgoing.splice(0, this.options.groupMax);
        await this.#publishRetry.execute(() => this.#publisher.publish(batch.map((o) => o.item)));
        const last = batch.at(-1)!.sequence;
        if (last > this.#publishedThrough) this.#publishedThrough = last;
        for (const o of batch) o.sent();
      }
    } finally {
      this.#sending = false;
    }
  }
}
