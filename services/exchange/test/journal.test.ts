// The exchange's journal against the real PostgreSQL: a killed exchange comes
// back with every order, fill and id it ever answered, and a journal write
// whose fate is unknown is settled by rebuilding from the journal.
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, type ServiceProcess, startServiceProcess, type TestDatabase } from "@kuku/testkit";
import pg from "pg";
import t from "tap";
import { id, kiaAt95000, order } from "./support/orders.js";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));

let db: TestDatabase;
let service: ServiceProcess;
let client: ReturnType<typeof createServiceClient<typeof api.ExchangeService>>;

async function start(): Promise<void> {
  service = await startServiceProcess({ cwd: SERVICE_DIR, env: { EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: db.url, LOG_LEVEL: "info" } });
  client = createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 10_000 });
}

t.before(async () => {
  db = await createTestDatabase("exchange_journal");
  await start();
});
t.teardown(async () => {
  await service.stop("SIGTERM");
  await db.drop();
});

/** What OrderStatus says, as plain values to compare across restarts. */
async function truth(clientOrderId: string) {
  const s = await client.orderStatus({ clientOrderId });
  return {
    status: api.ExchangeOrderStatus[s.status],
    filled: s.filledQuantity,
    remaining: s.remainingQuantity,
    quantity: s.quantity,
    fills: s.fills.map((f) => [f.executionId, f.quantity, f.priceKrw, f.executedAt?.seconds, f.executedAt?.nanos]),
  };
}

t.test("kill -9: the exchange comes back with every order, fill and id it answered", async (t) => {
  const filled = id("filled");
  const resting = id("resting");
  const partial = id("partial");
  const cancelled = id("cancelled");
  const first = await client.submitOrder(order(filled));
  t.equal(first.status, api.ExchangeOrderStatus.FILLED);
  await client.submitOrder(order(resting, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 60_000n }));
  // Takes the market maker's best ask and rests the rest: partially filled and still working.
  const taken = await client.submitOrder(
    order(partial, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 70_100n, quantity: 100_000n }),
  );
  t.equal(taken.status, api.ExchangeOrderStatus.PARTIALLY_FILLED);
  await client.submitOrder(order(cancelled, { type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, priceKrw: 60_000n }));
  await client.cancelOrder({ clientOrderId: cancelled });
  const fenced = id("fenced");
  t.equal((await client.cancelOrder({ clientOrderId: fenced })).status, api.ExchangeOrderStatus.REJECTED);
  // An amendment capped by its original's fills meanwhile (Kia at 95,000, between the market maker's quotes): 8 asked, 3 filled since.
  const original = id("original");
  await client.submitOrder(kiaAt95000(original, Side.BUY, 10n));
  await client.submitOrder(kiaAt95000(id("seller"), Side.SELL, 3n, { timeInForce: TimeInForce.IOC }));
  const amended = id("amended");
  await client.submitOrder(kiaAt95000(amended, Side.BUY, 8n, { amendsClientOrderId: original, amendsFilledQuantity: 0n }));
  const ids = [filled, resting, partial, cancelled, fenced, original, amended];
  const before = await Promise.all(ids.map(truth));
  const instrumentsBefore = await client.listInstruments({});

  await service.stop("SIGKILL");
  await start();

  t.same(await Promise.all(ids.map(truth)), before, "OrderStatus is the same, fill for fill, id for id");
  t.same([before[6]!.quantity, before[6]!.remaining], [5n, 5n], "the replayed amendment is capped as it was");
  t.same(await client.listInstruments({}), instrumentsBefore);
  t.ok(
    service.logs.some((l) => l.includes("venue rebuilt from the journal")),
    "rebuilt by replay",
  );
  const again = await client.submitOrder(order(filled));
  t.same(
    again.fills.map((f) => f.executionId),
    first.fills.map((f) => f.executionId),
    "a resubmission still does not trade again",
  );
  t.equal((await client.submitOrder(order(fenced))).status, api.ExchangeOrderStatus.REJECTED, "the fence held across the restart");
  const cancel = await client.cancelOrder({ clientOrderId: partial });
  t.equal(cancel.status, api.ExchangeOrderStatus.CANCELLED);
  t.equal(cancel.cancelledQuantity, before[2]!.remaining, "what was working before the kill is what is cancelled now");
  // The resting order is still in the book: a seller sweeping every bid reaches it.
  const sweep = await client.submitOrder(order(id("sweep"), { side: Side.SELL, quantity: 1_000_000n }));
  t.ok(
    sweep.fills.some((f) => f.priceKrw === 60_000n),
    "the resting buy at 60,000 traded after the restart",
  );
  t.equal((await truth(resting)).status, "FILLED");
  const next = await client.submitOrder(order(id("next"), { quantity: 1n }));
  const session = first.fills[0]!.executionId.split("-")[0];
  t.equal(next.fills[0]!.executionId.split("-")[0], session, "the same session: trade numbers go on, ids never repeat");
  const allIds = [
    ...before.flatMap((b) => b.fills.map((f) => f[0])),
    ...sweep.fills.map((f) => f.executionId),
    ...next.fills.map((f) => f.executionId),
  ];
  t.equal(new Set(allIds).size, allIds.length, "no execution id was handed out twice");
});

t.test("a journal write that fails is settled by the journal: the venue is rebuilt from it", async (t) => {
  // Another writer takes the next sequence, as a write whose commit was not acknowledged would have.
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  t.teardown(() => admin.end());
  const ghost = id("ghost");
  await admin.query(
    `INSERT INTO exchange_commands (session, sequence, kind, payload, entered_at)
     SELECT session, (SELECT max(sequence) + 1 FROM exchange_commands), 'submit', $1, now() FROM exchange_sessions`,
    [
      JSON.stringify({
        clientOrderId: ghost,
        symbol: "005930",
        side: "buy",
        type: "limit",
        timeInForce: "day",
        quantity: 5,
        priceKrw: "60000",
      }),
    ],
  );
  const refused = id("refused");
  await t.rejects(client.submitOrder(order(refused)), { code: Code.Unavailable }, "the write failed, so nothing was answered");
  let placed: api.SubmitOrderResponse | undefined;
  for (let waited = 0; placed === undefined; waited += 100) {
    placed = await client.submitOrder(order(refused)).catch((error: unknown) => {
      if (waited > 15_000) throw error;
      return new Promise<undefined>((r) => setTimeout(() => r(undefined), 100));
    });
  }
  t.equal(placed.status, api.ExchangeOrderStatus.FILLED, "the same order, asked again once the venue was rebuilt, trades once");
  const ghostStatus = await truth(ghost);
  t.same([ghostStatus.status, ghostStatus.remaining], ["ACCEPTED", 5n], "the journal's command is in the venue");
  t.ok(service.logs.some((l) => l.includes("rebuilding the venue from the journal")));
});
