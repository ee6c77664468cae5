// withTransaction when the server drops the connection between two queries
// (a crash or a failover): the caller gets the error, the process lives on,
// the broken client is not reused.

import { createTestDatabase } from "@kuku/testkit";
import t from "tap";
import { createLogger, createPool, withTransaction } from "../src/index.js";

t.test("a connection lost inside a transaction fails the transaction, not the process", async (t) => {
  const database = await createTestDatabase("tx_lost");
  const pool = createPool(
    { connectionString: database.url, poolSizeMax: 2, statementTimeoutMs: 10_000, applicationName: "tx-lost-test" },
    createLogger("tx-test", "silent"),
  );
  t.teardown(async () => {
    await pool.end();
    await database.drop();
  });
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  t.teardown(() => void process.off("uncaughtException", onUncaught));

  const failed = withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    // Killed from another connection while this one waits between queries.
    await pool.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
    await new Promise((r) => setTimeout(r, 200));
    await db.query("SELECT 1");
  });
  await t.rejects(failed, "the transaction fails");
  t.same(uncaught, [], "no unhandled 'error' event");
  const { rows } = await pool.query<{ one: number }>("SELECT 1 AS one");
  t.equal(rows[0]!.one, 1, "the pool serves on with a new connection");
});
