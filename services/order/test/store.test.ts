// The order store against the real PostgreSQL: idempotency keys, versioned
// saves with their transition and outbox event in one transaction, fill and
// event dedupe, and an outbox that two relays can drain without overlap.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createLogger, createPool, migrate, withTransaction } from "@kuku/platform";
import { createTestDatabase } from "@kuku/testkit";
import type pg from "pg";
import t from "tap";
import type { Order } from "../src/domain/order.js";
import * as store from "../src/store/order-store.js";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));
const database = await createTestDatabase("order_store");
const logger = createLogger("order-test", "warn");
const pool = createPool(
  { connectionString: database.url, poolSizeMax: 8, statementTimeoutMs: 10_000, applicationName: "order-test" },
  logger,
);
t.teardown(async () => {
  await pool.end();
  await database.drop();
});
t.before(async () => {
  await migrate(pool, MIGRATIONS, logger);
});

const NOW = new Date("2026-11-25T00:00:00Z");
function newOrder(overrides: Partial<Order> = {}): Order {
  return {
    orderId: randomUUID(),
    userId: "u-1",
    symbol: "005930",
    side: "buy",
    type: "limit",
    timeInForce: "day",
    quantity: 10n,
    limitPriceKrw: 70_000n,
    stopPriceKrw: 0n,
    amendsOrderId: "",
    amendsFilledQuantity: 0n,
    filledQuantity: 0n,
    filledNotionalKrw: 0n,
    feesKrw: 0n,
    state: "received",
    rejectReason: "",
    holdId: "",
    holdAmountMinor: 700_105n,
    holdShared: false,
    holdReleased: false,
    version: 0n,
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

const placed = (orderId: string) => ({
  reason: "placed",
  event: { eventId: randomUUID(), topic: "order.events", key: orderId, payload: Buffer.from("placed"), traceHeaders: {} },
});

const inTx = <T>(fn: (db: pg.PoolClient) => Promise<T>) => withTransaction(pool, fn);

t.test("an idempotency key admits one order per user, even when raced", async (t) => {
  const hash = Buffer.from("request-hash");
  const results = await Promise.all(
    Array.from({ length: 16 }, () =>
      inTx((db) => {
        const order = newOrder();
        return store.insertOrder(db, order, "key-race", hash, placed(order.orderId));
      }),
    ),
  );
  t.equal(results.filter((r) => r.kind === "inserted").length, 1, "one insert wins");
  t.equal(new Set(results.map((r) => r.order.orderId)).size, 1, "every caller gets the same order");
  const second = newOrder({ userId: "u-2" });
  const other = await store.insertOrder(pool, second, "key-race", hash, placed(second.orderId));
  t.equal(other.kind, "inserted", "keys are per user");
  const exists = results.find((r) => r.kind === "exists");
  t.same(exists?.kind === "exists" && exists.requestHash, hash, "the stored request hash tells a replay from a conflict");
});

t.test("a save writes the version, the transition and the event together, or nothing", async (t) => {
  const candidate = newOrder();
  const first = await store.insertOrder(pool, candidate, `key-${randomUUID()}`, Buffer.from("h"), placed(candidate.orderId));
  const inserted = first.order;
  const sent: Order = { ...inserted, state: "sent", holdId: randomUUID(), version: 1n };
  await inTx((db) =>
    store.saveOrder(db, inserted, sent, "hold placed", {
      eventId: randomUUID(),
      topic: "order.events",
      key: inserted.orderId,
      payload: Buffer.from("e1"),
      traceHeaders: {},
    }),
  );
  await t.rejects(
    inTx((db) =>
      store.saveOrder(db, inserted, { ...sent, state: "rejected", version: 1n }, "stale writer", {
        eventId: randomUUID(),
        topic: "order.events",
        key: inserted.orderId,
        payload: Buffer.from("e2"),
        traceHeaders: {},
      }),
    ),
    store.VersionConflict,
    "a writer holding an old version is refused",
  );
  const stored = await store.getOrder(pool, inserted.orderId);
  t.equal(stored?.state, "sent");
  t.equal(stored?.version, 1n);
  t.same(
    (await store.transitionsOf(pool, inserted.orderId)).map((x) => [x.from, x.to]),
    [
      [null, "received"],
      ["received", "sent"],
    ],
  );
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox WHERE key = $1", [inserted.orderId]);
  t.equal(rows[0]?.n, "2", "placed and sent: the refused save left no event behind");
});

t.test("fills and consumed events are deduplicated by id", async (t) => {
  const candidate = newOrder();
  const o = (await store.insertOrder(pool, candidate, `key-${randomUUID()}`, Buffer.from("h"), placed(candidate.orderId))).order;
  const fill = {
    orderId: o.orderId,
    fill: { executionId: `x-${randomUUID()}`, quantity: 3n, priceKrw: 70_000n, executedAt: NOW },
    feeKrw: 32n,
    taxKrw: 0n,
  };
  t.equal(await inTx((db) => store.insertFills(db, [fill])), 1, "first delivery recorded");
  t.equal(await inTx((db) => store.insertFills(db, [fill])), 0, "redelivery ignored");
  t.ok(await inTx((db) => store.markProcessed(db, "executions", "evt-1")));
  t.notOk(await inTx((db) => store.markProcessed(db, "executions", "evt-1")));
  t.ok(await inTx((db) => store.markProcessed(db, "another-consumer", "evt-1")), "per consumer");
});

t.test("two relays drain the outbox without publishing an event twice", async (t) => {
  for (let i = 0; i < 40; i++) {
    await pool.query("INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, 'order.events', $2, $3)", [
      randomUUID(),
      `k-${i}`,
      Buffer.from(`p-${i}`),
    ]);
  }
  const seen: string[] = [];
  const relay = async () => {
    for (;;) {
      const batch = await inTx(async (db) => {
        const rows = await store.claimUnpublished(db, 7);
        await new Promise((r) => setTimeout(r, 5)); // hold the row locks while "publishing"
        await store.markPublished(
          db,
          rows.map((r) => r.seq),
        );
        return rows;
      });
      if (batch.length === 0) return;
      seen.push(...batch.map((r) => r.event_id));
    }
  };
  await Promise.all([relay(), relay()]);
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox");
  t.equal(seen.length, Number(rows[0]?.n), "every event published");
  t.equal(new Set(seen).size, seen.length, "none twice");
});
