// createPool's query spans and latency on the real PostgreSQL, with the real
// OpenTelemetry SDK in this process: pool.query and transactions on a
// checked-out client each give one span per query, in the caller's trace.

import { parsePrometheusText, TEST_PG_ADMIN_URL } from "@kuku/testkit";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { type ReadableSpan, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import t from "tap";
import { createLogger, createPool, registry, withTransaction } from "../src/index.js";

const ended: ReadableSpan[] = [];
const collect: SpanProcessor = {
  onStart: () => {},
  onEnd: (span) => void ended.push(span),
  forceFlush: async () => {},
  shutdown: async () => {},
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [collect] }));

const pool = createPool(
  { connectionString: TEST_PG_ADMIN_URL, poolSizeMax: 2, statementTimeoutMs: 5_000, applicationName: "pg-observability-test" },
  createLogger("test", "silent"),
);
t.teardown(() => pool.end());

t.test("one CLIENT span per query under the caller's span; none outside a trace", async (t) => {
  await pool.query("SELECT 1"); // outside any trace
  t.equal(ended.length, 0, "no span outside a trace");
  await trace.getTracer("test").startActiveSpan("caller", async (caller) => {
    // Three at once on a pool of two: the third waits for a client released by another caller.
    await Promise.all([
      pool.query("SELECT pg_sleep(0.05)"),
      pool.query("SELECT pg_sleep(0.05)"),
      pool.query({ text: "SELECT $1::int AS n", values: [7] }),
    ]);
    await withTransaction(pool, (db) => db.query("SELECT 2"));
    await pool.query("SELECT nonsense_column").catch(() => undefined);
    caller.end();
  });
  const caller = ended.find((s) => s.name === "caller")!;
  const queries = ended.filter((s) => s.name.startsWith("pg "));
  t.same(
    queries.map((s) => s.attributes["db.statement"]).sort(),
    ["BEGIN", "COMMIT", "SELECT $1::int AS n", "SELECT 2", "SELECT nonsense_column", "SELECT pg_sleep(0.05)", "SELECT pg_sleep(0.05)"],
    "each query once, pool.query and client queries alike",
  );
  t.ok(
    queries.every((s) => s.parentSpanContext?.spanId === caller.spanContext().spanId),
    "all under the caller, also the one that waited",
  );
  t.equal(
    queries.find((s) => s.attributes["db.statement"] === "SELECT nonsense_column")?.status.code,
    2,
    "the failed query's span says so",
  );
});

t.test("query latency and pool state per pool", async (t) => {
  const samples = parsePrometheusText(await registry.metrics()).filter((s) => s.labels["pool"] === "pg-observability-test");
  t.equal(samples.find((s) => s.name === "kuku_pg_query_duration_seconds_count")?.value, 8, "every query timed, outside traces too");
  t.ok(samples.some((s) => s.name === "kuku_pg_pool_connections" && s.labels["state"] === "idle"));
  t.equal(samples.find((s) => s.name === "kuku_pg_pool_waiting")?.value, 0);
});
