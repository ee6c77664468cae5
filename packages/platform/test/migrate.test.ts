import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@kuku/testkit";
import t from "tap";
import { createLogger, createPool, migrate } from "../src/index.js";

t.test("migrations apply in order, once; an edited migration is refused", async (t) => {
  const database = await createTestDatabase("migrate");
  const logger = createLogger("migrate-test", "silent");
  const pool = createPool(
    { connectionString: database.url, poolSizeMax: 4, statementTimeoutMs: 10_000, applicationName: "migrate-test" },
    logger,
  );
  t.teardown(async () => {
    await pool.end();
    await database.drop();
  });
  const dir = await mkdtemp(join(tmpdir(), "kuku-migrations-"));
  await writeFile(join(dir, "0001_first.sql"), "CREATE TABLE things (id int PRIMARY KEY);");
  await writeFile(join(dir, "0002_second.sql"), "INSERT INTO things VALUES (1), (2);");
  await writeFile(join(dir, "README.md"), "not a migration");

  t.same(await migrate(pool, dir, logger), ["0001_first.sql", "0002_second.sql"]);
  const schema = async () =>
    (await pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows;
  const before = { schema: await schema(), rows: (await pool.query("SELECT id FROM things ORDER BY id")).rows };
  t.same(await migrate(pool, dir, logger), [], "the second run applies nothing");
  t.same({ schema: await schema(), rows: (await pool.query("SELECT id FROM things ORDER BY id")).rows }, before, "and changes nothing");

  await writeFile(join(dir, "0002_second.sql"), "INSERT INTO things VALUES (3);");
  await t.rejects(migrate(pool, dir, logger), /migration 0002_second.sql was edited after it was applied/);

  await writeFile(join(dir, "0003_broken.sql"), "CREATE TABLE broken (;");
  await writeFile(join(dir, "0002_second.sql"), "INSERT INTO things VALUES (1), (2);");
  await t.rejects(migrate(pool, dir, logger), /migration 0003_broken.sql failed/);
  t.equal(
    (await pool.query("SELECT count(*)::int AS n FROM schema_migrations WHERE name = '0003_broken.sql'")).rows[0].n,
    0,
    "a failed migration leaves no trace",
  );
});

t.test("concurrent runners apply each migration once", async (t) => {
  const database = await createTestDatabase("migrate_conc");
  const logger = createLogger("migrate-test", "silent");
  const pool = createPool(
    { connectionString: database.url, poolSizeMax: 6, statementTimeoutMs: 10_000, applicationName: "migrate-test" },
    logger,
  );
  t.teardown(async () => {
    await pool.end();
    await database.drop();
  });
  const dir = await mkdtemp(join(tmpdir(), "kuku-migrations-"));
  await writeFile(join(dir, "0001_counter.sql"), "CREATE TABLE counter (n int); INSERT INTO counter VALUES (1);");
  const results = await Promise.all([migrate(pool, dir, logger), migrate(pool, dir, logger), migrate(pool, dir, logger)]);
  t.equal(results.flat().length, 1);
  t.equal((await pool.query("SELECT count(*)::int AS n FROM counter")).rows[0].n, 1);
});
