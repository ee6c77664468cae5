// Fresh databases on the project's PostgreSQL, one per test file or stack.
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The maintenance database of the project's PostgreSQL (see deploy/local). */
export const TEST_PG_ADMIN_URL = process.env["KUKU_TEST_PG_URL"] ?? "postgres://kuku:kuku@127.0.0.1:55432/postgres";

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database per test file, so test files can run in parallel. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `kuku_test_${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
