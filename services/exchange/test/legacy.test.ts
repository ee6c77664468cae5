// The legacy link (ADR 0023): the fixed-length codec against hand-written
// records, the session's gap detection and resend over real TCP through a
// link that loses records, restarts of either side on their spools, and the
// exchange simulator behind the gateway as a real process.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { createLogger, createServiceClient } from "@kuku/platform";
import { createTestDatabase, eventually, startServiceProcess } from "@kuku/testkit";
import t, { type Test } from "tap";
import {
  decode,
  type ExecutionReport,
  encode,
  FaultyLink,
  LegacyGateway,
  LegacyMember,
  type LegacyVenue,
  type NewOrder,
  RECORD_BYTES,
  RecordReader,
  simulatorVenue,
} from "../src/edge/legacy/index.js";

const logger = createLogger("legacy-test", "silent");
const HEARTBEAT_MS = 50;

// Written out by hand: the checksum is the byte sum of the first 93 bytes mod 256.
const VECTORS: [string, unknown][] = [
  [
    "NO0000000007ORD-0001            005930BLD000000000010000000070000                            226",
    {
      type: "NO",
      seq: 7,
      clientOrderId: "ORD-0001",
      symbol: "005930",
      side: "B",
      orderType: "L",
      timeInForce: "D",
      quantity: 10n,
      priceKrw: 70_000n,
    },
  ],
  [
    "ER0000000003ORD-0001            P000000000004000000000006                                    039",
    { type: "ER", seq: 3, clientOrderId: "ORD-0001", status: "P", filledQuantity: 4n, remainingQuantity: 6n, reason: "" },
  ],
  ["LO00000000000000000042                                                                       065", { type: "LO", nextExpected: 42 }],
  ["RR000000000000000000050000000000                                                             233", { type: "RR", from: 5, to: 0 }],
];

t.test("codec: hand-written records decode to their fields and encode back byte for byte", async (t) => {
  for (const [text, record] of VECTORS) {
    t.equal(text.length, RECORD_BYTES);
    t.same(decode(Buffer.from(text, "latin1")), record, text.slice(0, 2));
    t.equal(encode(record as never).toString("latin1"), text, `${text.slice(0, 2)} encodes to the vector`);
  }
});

t.test("codec: a corrupted, torn or unknown record is refused with the field that is wrong", async (t) => {
  const [good] = VECTORS[0]!;
  const refused = (text: string | Buffer, field: string) =>
    t.throws(
      () => decode(typeof text === "string" ? Buffer.from(text, "latin1") : text),
      { kind: "invalid_argument", message: new RegExp(`^${field}:`) },
      field,
    );
  refused(`${good.slice(0, 40)}X${good.slice(41)}`, "checksum"); // one byte changed
  refused(good.slice(0, 95), "record"); // torn
  refused(`ZZ${good.slice(2, 93)}${good.slice(93)}`, "checksum");
  const retyped = encode({ type: "HB", lastSent: 0 }).toString("latin1");
  refused(
    `XX${retyped.slice(2, 93)}${String(Buffer.from(`XX${retyped.slice(2, 93)}`, "latin1").reduce((a, b) => a + b, 0) % 256).padStart(3, "0")}`,
    "type",
  );
  refused(Buffer.concat([Buffer.from(good.slice(0, 95), "latin1"), Buffer.from([0x07])]), "record");
  const order: NewOrder = { ...(VECTORS[0]![1] as NewOrder) };
  t.throws(() => encode({ ...order, clientOrderId: "x".repeat(21) }), /clientOrderId/);
  t.throws(() => encode({ ...order, quantity: 10n ** 12n }), /quantity/);
  t.throws(() => encode({ ...order, side: "X" as "B" }), /side/);
  t.throws(() => encode({ ...order, clientOrderId: "주문" }), /clientOrderId/);
});

t.test("codec: a byte stream cut anywhere yields the same whole records", async (t) => {
  const stream = Buffer.from(VECTORS.map(([text]) => text).join(""), "latin1");
  for (const cut of [1, 50, 96, 97, 200]) {
    const reader = new RecordReader();
    const records = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    t.same(
      records.map((r) => r.toString("latin1")),
      VECTORS.map(([text]) => text),
      `cut at ${cut}`,
    );
  }
});

/** A venue that answers every order accepted and counts how often it saw each client order id. */
function countingVenue(): LegacyVenue & { seen: Map<string, number> } {
  const seen = new Map<string, number>();
  return {
    seen,
    async submit(order) {
      seen.set(order.clientOrderId, (seen.get(order.clientOrderId) ?? 0) + 1);
      return { clientOrderId: order.clientOrderId, status: "A", filledQuantity: 0n, remainingQuantity: order.quantity, reason: "" };
    },
  };
}

const newOrder = (i: number): Omit<NewOrder, "type" | "seq"> => ({
  clientOrderId: `L-${i}`,
  symbol: "005930",
  side: i % 2 === 0 ? "B" : "S",
  orderType: "L",
  timeInForce: "D",
  quantity: BigInt(1 + i),
  priceKrw: 70_000n,
});

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kuku-legacy-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function reportsBy(reports: ExecutionReport[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of reports) counts.set(r.clientOrderId, (counts.get(r.clientOrderId) ?? 0) + 1);
  return counts;
}

/** A gateway in front of `venue`, a link losing lossPercent % of sequenced records, a member reporting into `reports`. */
async function linkThrough(t: Test, venue: LegacyVenue, lossPercent: number) {
  const dir = await scratch(t);
  const gateway = await LegacyGateway.start({ dir: join(dir, "gw"), port: 0, venue, logger, heartbeatMs: HEARTBEAT_MS });
  const link = await FaultyLink.start(gateway.port, lossPercent);
  const reports: ExecutionReport[] = [];
  const member = await LegacyMember.start({
    dir: join(dir, "member"),
    port: link.port,
    logger,
    heartbeatMs: HEARTBEAT_MS,
    onReport: (r) => reports.push(r),
  });
  t.teardown(async () => {
    await member.close();
    await link.close();
    await gateway.close();
  });
  return { gateway, link, member, reports };
}

t.test("session: records lost on the link are found as gaps and resent; every order is answered once", async (t) => {
  const venue = countingVenue();
  const { gateway, link, member, reports } = await linkThrough(t, venue, 20);
  for (let i = 0; i < 40; i++) await member.submit(newOrder(i));
  await eventually("every order answered", () => reportsBy(reports).size === 40, 20_000);
  t.equal(reportsBy(reports).size, 40, "every order answered");
  t.ok(link.dropped > 0, `the link lost ${link.dropped} records`);
  t.ok(gateway.stats.gaps + member.stats.gaps > 0, "the gaps were seen");
  t.ok(gateway.stats.resent + member.stats.resent > 0, "and resent");
  t.same(
    [...venue.seen.values()].filter((n) => n !== 1),
    [],
    "the venue saw each order once",
  );
  t.same(
    reports.map((r) => r.seq),
    Array.from({ length: reports.length }, (_, i) => i + 1),
    "reports arrive in sequence, without holes",
  );
  t.equal(reports.length, 40, "and none twice");
});

t.test("session: orders taken while the gateway is down go out when it is back; both sides resume on their spools", async (t) => {
  const dir = await scratch(t);
  const venue = countingVenue();
  const reports: ExecutionReport[] = [];
  let gateway = await LegacyGateway.start({ dir: join(dir, "gw"), port: 0, venue, logger, heartbeatMs: HEARTBEAT_MS });
  const port = gateway.port;
  let member = await LegacyMember.start({
    dir: join(dir, "member"),
    port,
    logger,
    heartbeatMs: HEARTBEAT_MS,
    onReport: (r) => reports.push(r),
  });
  for (let i = 0; i < 10; i++) await member.submit(newOrder(i));
  await eventually("the first ten answered", () => reports.length === 10, 10_000);
  t.equal(reports.length, 10, "reports.length");

  await gateway.close(true); // down: the member keeps taking orders into its spool
  for (let i = 10; i < 20; i++) t.equal(await member.submit(newOrder(i)), i + 1, "numbered on, spooled while the link is down");
  gateway = await LegacyGateway.start({ dir: join(dir, "gw"), port, venue, logger, heartbeatMs: HEARTBEAT_MS });
  await eventually("the spooled orders went out after the restart", () => reportsBy(reports).size === 20, 10_000);
  t.equal(reportsBy(reports).size, 20, "the spooled orders went out after the restart");

  await member.close(); // the member restarts too: its numbering and cursor come from disk
  member = await LegacyMember.start({
    dir: join(dir, "member"),
    port,
    logger,
    heartbeatMs: HEARTBEAT_MS,
    onReport: (r) => reports.push(r),
  });
  t.equal(await member.submit(newOrder(20)), 21, "the member's next sequence follows its spool");
  await eventually("the restarted member's order answered", () => reportsBy(reports).size === 21, 10_000);
  t.equal(reportsBy(reports).size, 21, "reportsBy(reports).size");
  t.teardown(async () => {
    await member.close();
    await gateway.close();
  });
  t.equal(reports.length, 21, "no report came twice: the member's cursor survived its restart");
  t.same(
    [...venue.seen.values()].filter((n) => n !== 1),
    [],
    "no order reached the venue twice",
  );
  t.same(
    reports.map((r) => r.seq),
    Array.from({ length: 21 }, (_, i) => i + 1),
    "the gateway numbered its reports on across its restart",
  );
});

t.test(
  "the exchange simulator behind the gateway: orders through the link are matched and the reports agree with OrderStatus",
  async (t) => {
    const db = await createTestDatabase("exchange_legacy");
    const service = await startServiceProcess({
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: db.url, LOG_LEVEL: "info" },
    });
    const client = createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 10_000 });
    t.teardown(async () => {
      await service.stop("SIGTERM");
      await db.drop();
    });
    const { member, reports } = await linkThrough(t, simulatorVenue(client), 10);
    const orders: Omit<NewOrder, "type" | "seq">[] = Array.from({ length: 20 }, (_, i) => ({
      ...newOrder(i),
      orderType: "M" as const,
      timeInForce: "I" as const,
      priceKrw: 0n,
    }));
    orders.push({ ...newOrder(99), symbol: "999999" }); // not listed: the venue refuses it
    for (const order of orders) await member.submit(order);
    await eventually("every order answered", () => reportsBy(reports).size === orders.length, 30_000);
    for (const report of reports.slice(0, 20)) {
      const truth = await client.orderStatus({ clientOrderId: report.clientOrderId });
      const filled = truth.fills.reduce((sum, f) => sum + f.quantity, 0n);
      t.equal(report.filledQuantity, filled, `${report.clientOrderId}: the report's fill is the venue's`);
    }
    t.ok(
      reports.slice(0, 20).some((r) => r.status === "F"),
      "market orders filled against the market maker",
    );
    const refused = reports.find((r) => r.clientOrderId === "L-99");
    t.equal(refused?.status, "R", `an unlisted symbol is answered R (${refused?.reason})`);
  },
);
