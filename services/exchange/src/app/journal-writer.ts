// The journal in front of the venue. A command is written to the journal
// first (group commit: the commands that arrive while one write is in flight
// share the next one), applied to the venue only once the journal has it,
// and its events are queued for Kafka in journal order. A write whose fate is
// unknown is settled by the journal: the venue is rebuilt from it.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@kuku/platform";
import { InvariantViolation } from "@kuku/platform/assert";
import { DomainError } from "@kuku/platform/errors";
import type pg from "pg";
import type { Instrument, OrderRecord } from "../domain/engine.js";
import { type Command, type Outcome, type Publication, Venue } from "../domain/venue.js";
import * as journal from "../store/journal-store.js";
import type { PublishQueue } from "./publish-queue.js";

/** A command before the journal gives it its time. */
export type Draft = { [K in Command["kind"]]: Omit<Extract<Command, { kind: K }>, "at"> }[Command["kind"]];

/** A command in the journal and applied; `published` settles once Kafka has its events. */
export interface Entered {
  readonly outcome: Outcome;
  readonly published: Promise<void>;
}

interface Entry {
  readonly draft: Draft;
  /** 2 under the DUPLICATE fault: the executions go to Kafka twice. */
  readonly copies: 1 | 2;
  resolve(entered: Entered): void;
  reject(error: Error): void;
}

export interface JournalWriterOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly instruments: readonly Instrument[];
  readonly session: journal.SessionRecord;
  /** Commands per journal write: bounds one statement's parameter arrays. */
  readonly groupMax: number;
  readonly queue: PublishQueue;
}

const REPLAY_PAGE = 10_000;

/** Nothing was answered: the journal cannot be written, or the venue is being rebuilt from it. */
const journalUnavailable = (message: string) => new DomainError("unavailable", message);
const REBUILDING = "the exchange is rebuilding from its journal";

export class JournalWriter {
  #venue!: Venue;
  #nextSequence = 1n;
  /** Journal times never go back, even if the wall clock does: replay asserts it. */
  #lastAtMs = 0;
  readonly #pending: Entry[] = [];
  #writing = false;
  #recovering: Promise<void> | undefined;

  private constructor(private readonly options: JournalWriterOptions) {}

  /** Replays the session into the venue; events of commands Kafka may not have acknowledged go out again. */
  static async resume(options: JournalWriterOptions): Promise<JournalWriter> {
    const writer = new JournalWriter(options);
    await writer.#rebuild(options.queue.publishedThrough);
    return writer;
  }

  /** The venue as of the last command applied (for what commands never change, such as price limits). */
  get venue(): Venue {
    return this.#venue;
  }

  /** The venue's record of an order; refused while the venue is rebuilt (it may be behind the journal). */
  known(clientOrderId: string): OrderRecord | undefined {
    if (this.#recovering !== undefined) throw journalUnavailable(REBUILDING);
    return this.#venue.engine.status(clientOrderId);
  }

  /** Whether the venue is being rebuilt (nothing can be entered meanwhile). */
  get rebuilding(): boolean {
    return this.#recovering !== undefined;
  }

  /** Journals the command, then applies it; resolves with its outcome once both are done. */
  enter(draft: Draft, copies: 1 | 2): Promise<Entered> {
    return this.enterAll([{ draft, copies }])[0]!;
  }

  /**
   * `enter` for several commands at once: queued together, so they share a
   * journal write (up to the group's bound) even when none is in flight.
   */
  enterAll(commands: readonly { readonly draft: Draft; readonly copies: 1 | 2 }[]): Promise<Entered>[] {
    if (this.#recovering !== undefined) return commands.map(() => Promise.reject(journalUnavailable(REBUILDING)));
    const entered = commands.map(
      ({ draft, copies }) => new Promise<Entered>((resolve, reject) => this.#pending.push({ draft, copies, resolve, reject })),
    );
    if (!this.#writing) void this.#writeGroups();
    return entered;
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
        const { pool, session, queue } = this.options;
        try {
          await journal.appendCommands(pool, session.session, first, commands, queue.publishedThrough);
        } catch (error) {
          for (const e of group) e.reject(journalUnavailable(`the journal write failed: ${(error as Error).message}`));
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
    for (const e of this.#pending.splice(0)) e.reject(journalUnavailable(REBUILDING));
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
    const { session, openedAt, marketMaker, venue: settings } = this.options.session;
    const venue = new Venue(this.options.instruments, session, marketMaker, openedAt, settings);
    let last = 0n;
    let lastAtMs = openedAt.getTime();
    for (;;) {
      const page = await journal.readCommands(this.options.pool, session, last, REPLAY_PAGE);
      for (const { sequence, command } of page) {
        if (sequence !== last + 1n) throw new InvariantViolation(`invariant violated: the journal skips from ${last} to ${sequence}`);
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

  /** The command's events, with the venue's records as of its application. */
  #publish(sequence: bigint, publication: Publication, copies: 1 | 2, venue: Venue): Promise<void> {
    return this.options.queue.enqueue(sequence, { publication, copies, ordersById: (id) => venue.engine.status(id)! });
  }
}
