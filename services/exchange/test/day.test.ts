// The KRX schedule in a real process on a set venue clock: the pre-open
// auction uncrosses at 09:00 by itself, a kill -9 resumes in the right phase,
// and the closing auction ends the day at 15:30: DAY orders expire, GTC
// orders stay, the close becomes the reference and the market is closed.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, eventually, type ServiceProcess, startServiceProcess, type TestDatabase } from "@kuku/testkit";
import t from "tap";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));

async function venueAt(t: { teardown(fn: () => Promise<void>): void }, clockStart: string) {
  const db: TestDatabase = await createTestDatabase("exchange_day");
  let service: ServiceProcess | undefined;
  const start = async () => {
    service = await startServiceProcess({
      cwd: SERVICE_DIR,
      env: { EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: db.url, EXCHANGE_SESSION_SCHEDULE: "krx", EXCHANGE_CLOCK_START: clockStart },
    });
    return createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 10_000 });
  };
  t.teardown(async () => {
    await service?.stop("SIGTERM");
    await db.drop();
  });
  return { start, kill: () => service!.stop("SIGKILL") };
}

const id = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const limit = (clientOrderId: string, side: Side, priceKrw: bigint, timeInForce = TimeInForce.DAY) =>
  create(api.SubmitOrderRequestSchema, {
    clientOrderId,
    symbol: "005930",
    side,
    type: OrderType.LIMIT,
    timeInForce,
    quantity: 10n,
    priceKrw,
  });
const samsung = async (client: ReturnType<typeof createServiceClient<typeof api.ExchangeService>>) =>
  (await client.listInstruments({})).instruments.find((i) => i.symbol === "005930")!;

t.test("the pre-open auction uncrosses at 09:00 by itself; a restart resumes in continuous trading", async (t) => {
  const venue = await venueAt(t, "2026-12-01T08:59:55+09:00");
  let client = await venue.start();
  t.equal((await samsung(client)).phase, api.TradingPhase.PRE_OPEN_AUCTION);
  const buyer = id("pre");
  const collected = await client.submitOrder(limit(buyer, Side.BUY, 70_200n));
  t.same([collected.status, collected.fills.length], [api.ExchangeOrderStatus.ACCEPTED, 0], "collected, not matched");
  const ioc = await client.submitOrder(
    create(api.SubmitOrderRequestSchema, { ...limit(id("ioc"), Side.BUY, 70_200n), timeInForce: TimeInForce.IOC }),
  );
  t.match(ioc.rejectReason, /not accepted in a single-price auction/);
  await eventually(
    "the opening auction",
    async () => (await client.orderStatus({ clientOrderId: buyer })).status === api.ExchangeOrderStatus.FILLED,
  );
  const { fills } = await client.orderStatus({ clientOrderId: buyer });
  t.ok(
    fills.every((f) => timestampDate(f.executedAt!).toISOString() === "2026-12-01T00:00:00.000Z"),
    "every fill at 09:00:00 KST",
  );
  t.equal(new Set(fills.map((f) => f.priceKrw)).size, 1, "at one price");
  const open = await samsung(client);
  t.same([open.phase, open.lastPriceKrw, open.tradingDay], [api.TradingPhase.CONTINUOUS, fills[0]!.priceKrw, "2026-12-01"]);
  await venue.kill();
  client = await venue.start();
  t.equal((await samsung(client)).phase, api.TradingPhase.CONTINUOUS, "resumed in continuous trading");
  t.same((await client.orderStatus({ clientOrderId: buyer })).fills, fills, "with the same fills");
});

t.test("the closing auction ends the day at 15:30: DAY orders expire, GTC stays, the close is the new reference", async (t) => {
  const venue = await venueAt(t, "2026-12-01T15:29:55+09:00");
  const client = await venue.start();
  t.equal((await samsung(client)).phase, api.TradingPhase.CLOSING_AUCTION);
  const buyer = id("close");
  const gtc = id("gtc");
  await client.submitOrder(limit(buyer, Side.BUY, 70_200n));
  await client.submitOrder(limit(gtc, Side.BUY, 69_000n, TimeInForce.GTC));
  await eventually("the close", async () => (await samsung(client)).phase === api.TradingPhase.CLOSED);
  const closed = await client.orderStatus({ clientOrderId: buyer });
  t.equal(closed.status, api.ExchangeOrderStatus.FILLED, "filled in the closing auction");
  const after = await samsung(client);
  t.equal(after.referencePriceKrw, closed.fills[0]!.priceKrw, "the closing price is the next reference");
  t.equal((await client.orderStatus({ clientOrderId: gtc })).status, api.ExchangeOrderStatus.ACCEPTED, "GTC survives the close");
  t.equal((await client.orderStatus({ clientOrderId: "mm-005930-1" })).status, api.ExchangeOrderStatus.EXPIRED, "DAY quotes expired");
  const late = await client.submitOrder(limit(id("late"), Side.BUY, 70_000n));
  t.same([late.status, late.rejectReason], [api.ExchangeOrderStatus.REJECTED, "the market is closed"]);
});
