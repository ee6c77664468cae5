// The store of store-and-forward: every sequenced record this side sends is
// on disk (datasync'd) before it goes on the wire, at offset (seq - 1) * 96,
// so a restart knows its next sequence from the file's length and can resend
// anything the peer asks for. Appends are group-committed: records that
// arrive while a write is in flight share the next write and datasync.
// The inbound cursor is the receiving half: the next sequence to expect,
// saved only after the record before it was handled (at-least-once; the
// venue's client order id makes a repeat harmless).
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "@kuku/platform/assert";
import { RECORD_BYTES } from "./codec.js";

interface Pending {
  readonly bytes: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class Spool {
  readonly #records: Buffer[];
  #assigned: number;
  #pending: Pending[] = [];
  #flushing = false;

  private constructor(
    private readonly file: FileHandle,
    records: Buffer[],
  ) {
    this.#records = records;
    this.#assigned = records.length;
  }

  /** Opens (or creates) the spool; a torn last record from a crash mid-write is cut off, it was never sent. */
  static async open(path: string): Promise<Spool> {
    const file = await open(path, "a+");
    const bytes = await file.readFile();
    const whole = bytes.length - (bytes.length % RECORD_BYTES);
    if (whole !== bytes.length) await file.truncate(whole);
    const records = Array.from({ length: whole / RECORD_BYTES }, (_, i) =>
      Buffer.from(bytes.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES)),
    );
    return new Spool(file, records);
  }

  /** The sequence of the last record assigned (durable or on its way to disk). */
  get lastSeq(): number {
    return this.#assigned;
  }

  /** The sequence of the last record on disk. */
  get durableSeq(): number {
    return this.#records.length;
  }

  /** Durable records from..to (to capped at the last durable one), for a resend. */
  range(from: number, to: number): Buffer[] {
    return this.#records.slice(Math.max(from, 1) - 1, to === 0 ? undefined : to);
  }

  /** Appends the record of sequence lastSeq + 1 and resolves once it is on disk. */
  append(bytes: Buffer): Promise<void> {
    assert(bytes.length === RECORD_BYTES, "a spooled record is one fixed-length record");
    this.#assigned++;
    return new Promise((resolve, reject) => {
      this.#pending.push({ bytes, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        await this.file.write(Buffer.concat(batch.map((p) => p.bytes)));
        await this.file.datasync();
        this.#records.push(...batch.map((p) => p.bytes));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = false;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** The next inbound sequence to expect, saved in place; concurrent saves coalesce into the newest value. */
export class Cursor {
  #saved: number;
  #wanted: number;
  #saving: Promise<void> | undefined;

  private constructor(
    private readonly file: FileHandle,
    next: number,
  ) {
    this.#saved = next;
    this.#wanted = next;
  }

  static async open(path: string): Promise<Cursor> {
    await (await open(path, "a")).close();
    // Not append mode: the 10 digits are rewritten in place, one small write that never leaves the file empty.
    const file = await open(path, "r+");
    const text = (await file.readFile("latin1")).trim();
    return new Cursor(file, text === "" ? 1 : Number(text));
  }

  get next(): number {
    return this.#wanted;
  }

  save(next: number): Promise<void> {
    assert(next >= this.#wanted, "the inbound cursor only moves forward");
    this.#wanted = next;
    this.#saving ??= this.#write();
    return this.#saving;
  }

  async #write(): Promise<void> {
    while (this.#saved !== this.#wanted) {
      const value = this.#wanted;
      await this.file.write(String(value).padStart(10, "0"), 0, "latin1");
      await this.file.datasync();
      this.#saved = value;
    }
    this.#saving = undefined;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** The spool and cursor of one side of one link, in its own directory. */
export async function openStore(dir: string): Promise<{ spool: Spool; cursor: Cursor }> {
  await mkdir(dir, { recursive: true });
  return { spool: await Spool.open(join(dir, "outbound.spool")), cursor: await Cursor.open(join(dir, "inbound.cursor")) };
}
