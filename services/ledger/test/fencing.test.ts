// The redlock-fenced guard's last line of defence, in PostgreSQL itself: a
// balance write carrying an older fencing token than the last writer's is
// refused even at the current version, and one at a stale version is
// refused whatever its token (ADR 0008). Against the real PostgreSQL.

import { createLogger, createPool, migrate, withTransaction } from "@kuku/platform";
import { createTestDatabase } from "@kuku/testkit";
import t from "tap";
import * as store from "../src/store/ledger-store.js";
import { MIGRATIONS_DIR } from "./support/ledger.js";

const logger = createLogger("ledger-fencing-test", "warn");
const database = await createTestDatabase("fencing");
const pool = createPool(
  { connectionString: database.url, poolSizeMax: 4, statementTimeoutMs: 10_000, applicationName: "fencing-test" },
  logger,
);
t.teardown(async () => {
  await pool.end();
  await database.drop();
});
await migrate(pool, MIGRATIONS_DIR, logger);

t.test("fencing tokens order the writes to a balance", async (t) => {
  const { accountId } = await store.openAccount(pool, "fenced", "KRW", "user");
  const tokens = [await store.nextFence(pool), await store.nextFence(pool), await store.nextFence(pool)];
  t.ok(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!, "each token is larger than the ones before");

  const write = (token: bigint, heldMinor: bigint) =>
    withTransaction(pool, async (db) => {
      const read = (await store.readBalances(db, [accountId])).get(accountId)!;
      return store.writeBalances(db, [{ ...read, heldMinor, totalMinor: heldMinor, version: read.version + 1n }], token);
    });
  t.equal(await write(tokens[1]!, 5n), 1, "the holder of token 2 writes");
  t.equal(await write(tokens[0]!, 7n), 0, "token 1 (a holder whose lock expired) is refused at the current version");
  t.equal(await write(tokens[2]!, 9n), 1, "token 3 writes after token 2");

  const read = (await store.readBalances(pool, [accountId])).get(accountId)!;
  t.equal(read.heldMinor, 9n, "the refused write left no trace");
  const stale = await withTransaction(pool, (db) => store.writeBalances(db, [{ ...read, version: read.version }], tokens[2]! + 100n));
  t.equal(stale, 0, "a larger token at a stale version is refused too: the version check covers overlapping holders");
});
