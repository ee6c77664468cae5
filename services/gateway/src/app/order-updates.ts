// The signed-in user's order updates (ADR 0022): what came after the
// client's cursor from the user's log, then each new update as the log
// grows. The cursor names its user, so no cursor opens another user's log.
import { create, fromBinary } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { DomainError, invalidArgument } from "@kuku/platform/errors";
import type { Wakeup } from "../redis/append-notifier.js";
import type { LoggedUpdate } from "../redis/order-update-log.js";

/** What the use case needs of the log and its wakeups (redis/). */
export interface UpdateLog {
  channel(userId: string): string;
  after(userId: string, afterId: string, count: number): Promise<LoggedUpdate[]>;
  position(userId: string, cursorId?: string): Promise<{ lastId: string; missed: boolean }>;
}

export interface Wakeups {
  watch(channel: string): Promise<Wakeup>;
}

export interface OrderUpdatesOptions {
  /** An idle stream sends an empty message this often, so proxies keep it and clients see it alive. */
  readonly heartbeatMs: number;
  /** Stream calls one user may hold on one gateway at once. */
  readonly streamsPerUserMax: number;
}

const READ_BATCH = 100;
const CURSOR = /^([0-9A-Za-z_-]{1,64})\/(\d{1,15}-\d{1,15})$/;

export const cursorOf = (userId: string, id: string): string => `${userId}/${id}`;

/** The cursor's user and stream id; undefined for none. */
export function parseCursor(cursor: string): { userId: string; id: string } | undefined {
  if (cursor === "") return undefined;
  const match = CURSOR.exec(cursor);
  if (match === null) throw invalidArgument("after_cursor", "not a cursor this API issued");
  return { userId: match[1]!, id: match[2]! };
}

export class OrderUpdates {
  readonly #streamsOf = new Map<string, number>();
  readonly #closing = new AbortController();

  constructor(
    private readonly log: UpdateLog,
    private readonly wakeups: Wakeups,
    private readonly options: OrderUpdatesOptions,
  ) {}

  /** The user's updates after `afterCursor` (from now on when empty), until `signal` aborts or the gateway closes. */
  async *stream(userId: string, afterCursor: string, signal: AbortSignal): AsyncGenerator<api.StreamOrderUpdatesResponse> {
    const cursor = parseCursor(afterCursor);
    if (cursor !== undefined && cursor.userId !== userId) {
      throw new DomainError("permission_denied", "after_cursor: the cursor is another user's: a stream shows only your own orders");
    }
    const streams = this.#streamsOf.get(userId) ?? 0;
    if (streams >= this.options.streamsPerUserMax) {
      throw new DomainError("resource_exhausted", `at most ${this.options.streamsPerUserMax} order update streams per user at once`);
    }
    this.#streamsOf.set(userId, streams + 1);
    const ended = AbortSignal.any([signal, this.#closing.signal]);
    // Subscribed before the first read: an update appended in between wakes us.
    const wakeup = await this.wakeups.watch(this.log.channel(userId));
    try {
      let last = await this.#start(userId, cursor?.id);
      // In place: the client learns where it stands before anything happens.
      yield create(api.StreamOrderUpdatesResponseSchema, { cursor: cursorOf(userId, last) });
      while (!ended.aborted) {
        const entries = await this.log.after(userId, last, READ_BATCH);
        for (const entry of entries) {
          last = entry.id;
          yield create(api.StreamOrderUpdatesResponseSchema, {
            update: fromBinary(api.OrderUpdateSchema, entry.payload),
            cursor: cursorOf(userId, last),
          });
        }
        if (entries.length === READ_BATCH) continue;
        const woken = await wakeup.wait(this.options.heartbeatMs, ended);
        if (!woken && !ended.aborted) yield create(api.StreamOrderUpdatesResponseSchema, { cursor: cursorOf(userId, last) });
      }
    } finally {
      wakeup.close();
      const left = (this.#streamsOf.get(userId) ?? 1) - 1;
      if (left === 0) this.#streamsOf.delete(userId);
      else this.#streamsOf.set(userId, left);
    }
  }

  /** Ends every stream (the gateway is stopping): their clients resume from their cursors elsewhere. */
  close(): void {
    this.#closing.abort();
  }

  /** Where to read from: after the cursor, if nothing after it was trimmed away; else from the log's end. */
  async #start(userId: string, cursorId: string | undefined): Promise<string> {
    const { lastId, missed } = await this.log.position(userId, cursorId);
    if (missed) {
      throw new DomainError(
        "failed_precondition",
        "after_cursor: updates after this cursor are no longer kept: list your orders again, then stream without a cursor",
      );
    }
    return cursorId ?? lastId;
  }
}
