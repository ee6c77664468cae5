// The order service's business metrics read the database at scrape time:
// with the database gone, the scrape still answers, without those series.

import { createLogger, createPool, registry } from "@kuku/platform";
import { createTestDatabase, parsePrometheusText } from "@kuku/testkit";
import t from "tap";
import { createOrderMetrics } from "../src/app/metrics.js";

t.test("orders by state while the database is up, and a scrape that survives its loss", async (t) => {
  const db = await createTestDatabase("order_metrics");
  const pool = createPool(
    { connectionString: db.url, poolSizeMax: 2, statementTimeoutMs: 5_000, applicationName: "order-metrics-test" },
    createLogger("test", "silent"),
  );
  t.teardown(() => pool.end());
  await pool.query("CREATE TABLE orders (state text NOT NULL)");
  await pool.query("INSERT INTO orders VALUES ('settled'), ('settled'), ('unknown')");
  createOrderMetrics(pool);
  const orders = async () => parsePrometheusText(await registry.metrics()).filter((s) => s.name === "kuku_orders");
  const counts = Object.fromEntries((await orders()).map((s) => [s.labels["state"], s.value]));
  t.same([counts["settled"], counts["unknown"], counts["received"]], [2, 1, 0], "every state, zero included");
  t.equal(Object.keys(counts).length, 12, "all twelve states (WAITING included)");

  await db.drop();
  t.same(await orders(), [], "no kuku_orders series without the database");
  t.ok(
    parsePrometheusText(await registry.metrics()).some((s) => s.name === "kuku_pg_pool_waiting"),
    "the rest of the scrape is there",
  );
});
