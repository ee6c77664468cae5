// Each user's order updates as a Redis Stream (ADR 0022): appended once per
// event by whichever gateway consumes it from order.events, read by every
// gateway that holds one of the user's stream calls. The stream's entry id is
// the update's position; a pub/sub message per append wakes the readers.
import type { Redis } from "ioredis";

export interface LogLimits {
  /** How long an event id is remembered (a redelivery within it is dropped), and how old an entry may get. */
  readonly windowSeconds: number;
  /** Entries kept per user, at most (approximately: MAXLEN ~). */
  readonly entriesPerUserMax: number;
}

export interface LoggedUpdate {
  /** The stream entry id: "<ms>-<seq>". */
  readonly id: string;
  readonly payload: Buffer;
}

/** One event to append: its owner, its id (the dedupe key) and its bytes. */
export interface UpdateToAppend {
  readonly userId: string;
  readonly eventId: string;
  readonly payload: Uint8Array;
}

/**
 * Appends unless the event id was seen within the window, trims by length
 * and age, and publishes the new id on the user's channel: one script, so a
 * redelivered event can never be appended twice, whichever gateway gets it.
 * KEYS: stream, seen-marker. ARGV: payload, window s, max entries, min id, channel.
 */
const APPEND = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'u', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], id)
return id
`;

/** A stream id as [ms, seq] for comparison. */
function streamIdParts(id: string): [bigint, bigint] {
  const [ms, seq] = id.split("-");
  return [BigInt(ms!), BigInt(seq ?? "0")];
}

export const streamIdBefore = (a: string, b: string): boolean => {
  const [am, as] = streamIdParts(a);
  const [bm, bs] = streamIdParts(b);
  return am < bm || (am === bm && as < bs);
};

export class OrderUpdateLog {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: LogLimits,
  ) {
    redis.defineCommand("kukuAppendOrderUpdate", { numberOfKeys: 2, lua: APPEND });
  }

  streamKey = (userId: string) => `${this.keyPrefix}:order-updates:${userId}`;
  channel = (userId: string) => `${this.keyPrefix}:order-updates-appended:${userId}`;
  #seenKey = (eventId: string) => `${this.keyPrefix}:order-update-seen:${eventId}`;

  /** Appends the events in their order, in one round trip; how many were new (the rest were redeliveries). */
  async append(updates: readonly UpdateToAppend[], now = Date.now()): Promise<number> {
    if (updates.length === 0) return 0;
    const minId = `${now - this.limits.windowSeconds * 1000}-0`;
    const pipeline = this.redis.pipeline();
    for (const u of updates) {
      (pipeline as unknown as AppendCommand).kukuAppendOrderUpdate(
        this.streamKey(u.userId),
        this.#seenKey(u.eventId),
        Buffer.from(u.payload),
        this.limits.windowSeconds,
        this.limits.entriesPerUserMax,
        minId,
        this.channel(u.userId),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    let appended = 0;
    for (const [error, id] of results) {
      if (error !== null) throw error;
      if (id !== null) appended += 1;
    }
    return appended;
  }

  /** Up to `count` entries after `afterId` (exclusive), oldest first. */
  async after(userId: string, afterId: string, count: number): Promise<LoggedUpdate[]> {
    const entries = await this.redis.xrangeBuffer(this.streamKey(userId), `(${afterId}`, "+", "COUNT", count);
    return entries.map(([id, fields]) => ({ id: id.toString(), payload: fieldOf(fields, "u") }));
  }

  /**
   * Where a reader stands: the id of the newest entry ever appended ("0-0"
   * for none), and whether an entry after `cursorId` has been trimmed away
   * (then the reader would miss it, and must start again from its orders).
   */
  async position(userId: string, cursorId?: string): Promise<{ lastId: string; missed: boolean }> {
    const info = await this.#info(userId);
    // No log (none yet, or gone after a quiet window): only a cursor from before its first entry misses nothing.
    if (info === undefined) return { lastId: "0-0", missed: cursorId !== undefined && cursorId !== "0-0" };
    return {
      lastId: info.lastGeneratedId,
      missed: cursorId !== undefined && streamIdBefore(cursorId, info.maxDeletedId),
    };
  }

  async #info(userId: string): Promise<{ lastGeneratedId: string; maxDeletedId: string } | undefined> {
    const key = this.streamKey(userId);
    // XINFO STREAM on a missing key is an error: ask EXISTS in the same round trip.
    const [[, exists], [infoError, info]] = (await this.redis.multi().exists(key).xinfo("STREAM", key).exec()) as [
      [Error | null, number],
      [Error | null, unknown[]],
    ];
    if (exists === 0) return undefined;
    if (infoError !== null) throw infoError;
    const field = (name: string) => String(info[info.indexOf(name) + 1]);
    return { lastGeneratedId: field("last-generated-id"), maxDeletedId: field("max-deleted-entry-id") };
  }
}

interface AppendCommand {
  kukuAppendOrderUpdate(...args: (string | number | Buffer)[]): void;
}

function fieldOf(fields: Buffer[], name: string): Buffer {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1]!;
  throw new Error(`stream entry without its ${name} field`);
}
