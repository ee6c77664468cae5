// One side of the legacy link's session layer, FIX-like: application records
// (NO, ER) carry consecutive sequence numbers; each side spools what it sends
// and keeps a cursor of what it has handled. On every (re)connect both sides
// send a logon with their next expected sequence and the peer resends from
// its spool; a sequence past the expected one, a corrupted record or a
// heartbeat announcing more than arrived is a gap, answered by a resend
// request; a sequence below it is a duplicate and dropped. The session
// outlives connections: the link may drop and come back any number of times.
import type { Socket } from "node:net";
import type { Logger } from "@kuku/platform";
import { type AppRecord, decode, type ExecutionReport, encode, isAppRecord, type NewOrder, RecordReader } from "./codec.js";
import type { Cursor, Spool } from "./spool.js";

export type Outbound = Omit<NewOrder, "seq"> | Omit<ExecutionReport, "seq">;

export interface SessionOptions {
  readonly spool: Spool;
  readonly cursor: Cursor;
  /**
   * Handles one inbound application record; called in sequence order, possibly
   * before the previous call resolved. The cursor passes a record once it and
   * every record before it resolved. A rejection stops the session.
   */
  readonly onRecord: (record: AppRecord) => Promise<void>;
  readonly logger: Logger;
  readonly heartbeatMs: number;
}

export interface SessionStats {
  gaps: number;
  resendRequests: number;
  resent: number;
  duplicates: number;
}

export class LegacySession {
  readonly stats: SessionStats = { gaps: 0, resendRequests: 0, resent: 0, duplicates: 0 };
  #socket: Socket | undefined;
  #loggedOn = false;
  #expected: number;
  #askedAtMs = Number.NEGATIVE_INFINITY;
  #handled: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(private readonly options: SessionOptions) {
    this.#expected = options.cursor.next;
    this.#heartbeat = setInterval(() => this.#write(encode({ type: "HB", lastSent: options.spool.durableSeq })), options.heartbeatMs);
  }

  /** Sends one application record: numbered, on disk, then on the wire once the peer has logged on. */
  async send(record: Outbound): Promise<number> {
    const seq = this.options.spool.lastSeq + 1;
    const bytes = encode({ ...record, seq } as AppRecord);
    await this.options.spool.append(bytes);
    if (this.#loggedOn) this.#write(bytes);
    return seq;
  }

  /** Takes over a new connection (closing the previous one) and logs on. */
  attach(socket: Socket): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    this.#socket?.destroy();
    this.#socket = socket;
    this.#loggedOn = false;
    socket.setNoDelay(true);
    const reader = new RecordReader();
    socket.on("data", (chunk: Buffer) => {
      for (const bytes of reader.push(chunk)) if (this.#socket === socket) this.#receive(bytes);
    });
    socket.on("error", (error) => this.options.logger.warn({ err: error }, "legacy link error"));
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#loggedOn = false;
    });
    socket.write(encode({ type: "LO", nextExpected: this.#expected }));
  }

  /** Drops the connection; with `drain`, first waits for the records handed to onRecord so far. */
  async close(drain: boolean): Promise<void> {
    clearInterval(this.#heartbeat);
    if (drain) await this.#handled;
    this.#stop();
  }

  #stop(): void {
    clearInterval(this.#heartbeat);
    this.#stopped = true;
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #write(bytes: Buffer): void {
    if (this.#socket !== undefined && !this.#socket.destroyed) this.#socket.write(bytes);
  }

  #receive(bytes: Buffer): void {
    let record: ReturnType<typeof decode>;
    try {
      record = decode(bytes);
    } catch (error) {
      this.options.logger.warn({ err: error }, "legacy record refused; asking for a resend");
      this.#askResend();
      return;
    }
    if (isAppRecord(record)) {
      this.#accept(record);
    } else if (record.type === "HB") {
      if (record.lastSent >= this.#expected) this.#askResend();
    } else if (record.type === "RR") {
      this.#resend(record.from, record.to);
    } else if (record.nextExpected > this.options.spool.durableSeq + 1) {
      this.options.logger.error(
        { nextExpected: record.nextExpected, spooled: this.options.spool.durableSeq },
        "peer expects records this spool never had",
      );
      this.#socket?.destroy();
    } else {
      this.#resend(record.nextExpected, 0);
      this.#loggedOn = true;
    }
  }

  #accept(record: AppRecord): void {
    if (record.seq < this.#expected) {
      this.stats.duplicates++;
      return;
    }
    if (record.seq > this.#expected) {
      this.stats.gaps++;
      this.#askResend();
      return;
    }
    this.#expected++;
    const handled = this.options.onRecord(record);
    this.#handled = Promise.all([this.#handled, handled])
      .then(() => this.options.cursor.save(record.seq + 1))
      .catch((error: unknown) => {
        // After a stop (a crash in a drill) the spool is closed under the handlers still running: nothing to report.
        if (this.#stopped) return;
        this.options.logger.error({ err: error, seq: record.seq }, "legacy record not handled; the session stops at it");
        this.#stop();
      });
  }

  /** One resend request per heartbeat interval at most: the answer to the first covers what arrives meanwhile. */
  #askResend(): void {
    const now = performance.now();
    if (now - this.#askedAtMs < this.options.heartbeatMs) return;
    this.#askedAtMs = now;
    this.stats.resendRequests++;
    this.#write(encode({ type: "RR", from: this.#expected, to: 0 }));
  }

  #resend(from: number, to: number): void {
    const records = this.options.spool.range(from, to);
    this.stats.resent += records.length;
    for (const bytes of records) this.#write(bytes);
  }
}
