// The legacy link's wire format (docs/adr/0025): fixed-length 96-byte ASCII
// records, as KRX-era member gateways speak them. A record is a 2-letter type,
// a 10-digit sequence number, an 81-byte body laid out per type (numbers
// right-aligned and zero-padded, text left-aligned and space-padded, the rest
// spaces) and a 3-digit checksum: the sum of the 93 bytes before it mod 256,
// as FIX's tag 10. Only NO and ER are sequenced (spooled and resent); the
// session records LO, RR and HB carry sequence 0.
import { invalidArgument } from "@kuku/platform/errors";

export const RECORD_BYTES = 96;
const HEAD_BYTES = 12;
const BODY_BYTES = 81;
const CHECKSUM_AT = HEAD_BYTES + BODY_BYTES;

/** Logon: the sender's next expected inbound sequence; the peer resends its spool from there. */
export interface Logon {
  readonly type: "LO";
  readonly nextExpected: number;
}
/** Resend request: sequences from..to of the peer's spool; to 0 = through its latest. */
export interface ResendRequest {
  readonly type: "RR";
  readonly from: number;
  readonly to: number;
}
/** Heartbeat: the sender's last durable sequence, so a lost last record shows as a gap too. */
export interface Heartbeat {
  readonly type: "HB";
  readonly lastSent: number;
}
export interface NewOrder {
  readonly type: "NO";
  readonly seq: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: "B" | "S";
  /** L = limit, M = market. */
  readonly orderType: "L" | "M";
  /** D = day, I = immediate or cancel. */
  readonly timeInForce: "D" | "I";
  readonly quantity: bigint;
  readonly priceKrw: bigint;
}
/** The venue's answer to one NO: A accepted, P partially filled, F filled, C cancelled, R rejected. */
export interface ExecutionReport {
  readonly type: "ER";
  readonly seq: number;
  readonly clientOrderId: string;
  readonly status: "A" | "P" | "F" | "C" | "R";
  readonly filledQuantity: bigint;
  readonly remainingQuantity: bigint;
  readonly reason: string;
}
export type SessionRecord = Logon | ResendRequest | Heartbeat;
export type AppRecord = NewOrder | ExecutionReport;
export type LegacyRecord = SessionRecord | AppRecord;

type Field = readonly [name: string, width: number, kind: "n" | "a", allowed?: string];

const BODIES: Readonly<Record<LegacyRecord["type"], readonly Field[]>> = {
  LO: [["nextExpected", 10, "n"]],
  RR: [
    ["from", 10, "n"],
    ["to", 10, "n"],
  ],
  HB: [["lastSent", 10, "n"]],
  NO: [
    ["clientOrderId", 20, "a"],
    ["symbol", 6, "a"],
    ["side", 1, "a", "BS"],
    ["orderType", 1, "a", "LM"],
    ["timeInForce", 1, "a", "DI"],
    ["quantity", 12, "n"],
    ["priceKrw", 12, "n"],
  ],
  ER: [
    ["clientOrderId", 20, "a"],
    ["status", 1, "a", "APFCR"],
    ["filledQuantity", 12, "n"],
    ["remainingQuantity", 12, "n"],
    ["reason", 30, "a"],
  ],
};
/** Fields held as bigint (quantities and prices); other numbers are safe integers. */
const BIGINT_FIELDS = new Set(["quantity", "priceKrw", "filledQuantity", "remainingQuantity"]);
const PRINTABLE = /^[\x20-\x7e]*$/;

export const isAppRecord = (record: LegacyRecord): record is AppRecord => record.type === "NO" || record.type === "ER";

const checksum = (bytes: Uint8Array): number => {
  let sum = 0;
  for (let i = 0; i < CHECKSUM_AT; i++) sum += bytes[i]!;
  return sum % 256;
};

function encodeField([name, width, kind, allowed]: Field, value: unknown): string {
  const text = String(value);
  if (kind === "n") {
    if (!/^\d+$/.test(text) || text.length > width) throw invalidArgument(name, `must be 0..${"9".repeat(width)}, got ${text}`);
    return text.padStart(width, "0");
  }
  if (text.length > width || !PRINTABLE.test(text) || text !== text.trim()) {
    throw invalidArgument(name, `must be at most ${width} printable ASCII characters without edge spaces`);
  }
  if (allowed !== undefined && (text.length !== 1 || !allowed.includes(text))) throw invalidArgument(name, `must be one of ${allowed}`);
  return text.padEnd(width, " ");
}

/** The record's 96 bytes; throws an invalid_argument DomainError naming the field that does not fit. */
export function encode(record: LegacyRecord): Buffer {
  const seq = isAppRecord(record) ? record.seq : 0;
  const fields = record as unknown as Readonly<Record<string, unknown>>;
  const body = BODIES[record.type].map((field) => encodeField(field, fields[field[0]])).join("");
  const bytes = Buffer.from(`${record.type}${encodeField(["seq", 10, "n"], seq)}${body.padEnd(BODY_BYTES, " ")}000`, "latin1");
  bytes.write(String(checksum(bytes)).padStart(3, "0"), CHECKSUM_AT, "latin1");
  return bytes;
}

function decodeField([name, width, kind, allowed]: Field, text: string): unknown {
  if (kind === "n") {
    if (!/^\d+$/.test(text)) throw invalidArgument(name, `must be ${width} digits, got ${JSON.stringify(text)}`);
    return BIGINT_FIELDS.has(name) ? BigInt(text) : Number(text);
  }
  const value = text.trimEnd();
  if (allowed !== undefined && (value.length !== 1 || !allowed.includes(value))) throw invalidArgument(name, `must be one of ${allowed}`);
  return value;
}

/** One record from exactly 96 bytes; a torn, corrupted or unknown record is an invalid_argument DomainError. */
export function decode(bytes: Uint8Array): LegacyRecord {
  if (bytes.length !== RECORD_BYTES) throw invalidArgument("record", `must be ${RECORD_BYTES} bytes, got ${bytes.length}`);
  const text = Buffer.from(bytes).toString("latin1");
  if (!PRINTABLE.test(text)) throw invalidArgument("record", "must be printable ASCII");
  if (text.slice(CHECKSUM_AT) !== String(checksum(bytes)).padStart(3, "0")) throw invalidArgument("checksum", "does not match the record");
  const type = text.slice(0, 2);
  const fields = BODIES[type as LegacyRecord["type"]];
  if (fields === undefined) throw invalidArgument("type", `unknown record type ${JSON.stringify(type)}`);
  const record: Record<string, unknown> = { type };
  const seq = decodeField(["seq", 10, "n"], text.slice(2, HEAD_BYTES)) as number;
  if ((type === "NO" || type === "ER") !== seq > 0) throw invalidArgument("seq", `must be positive on NO and ER only, got ${seq}`);
  if (seq > 0) record["seq"] = seq;
  let at = HEAD_BYTES;
  for (const field of fields) {
    record[field[0]] = decodeField(field, text.slice(at, at + field[1]));
    at += field[1];
  }
  if (text.slice(at, CHECKSUM_AT).trim() !== "") throw invalidArgument("record", "filler must be spaces");
  return record as unknown as LegacyRecord;
}

/** Cuts a byte stream into whole records; a partial record waits for the rest of its bytes. */
export class RecordReader {
  #buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const bytes = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const whole = bytes.length - (bytes.length % RECORD_BYTES);
    const records: Buffer[] = [];
    for (let at = 0; at < whole; at += RECORD_BYTES) records.push(bytes.subarray(at, at + RECORD_BYTES));
    this.#buffered = bytes.subarray(whole);
    return records;
  }
}
