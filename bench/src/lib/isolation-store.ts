// SQL of the isolation experiment (kuku-bench ledger isolation): a minimal
// balance table, and the ways an application can debit it. Kept apart from
// the ledger on purpose, so that the wrong ways can be run and seen failing.

import { type Isolation as PgIsolation, withTransaction } from "@kuku/platform";
import type pg from "pg";

export type Isolation = "READ COMMITTED" | "REPEATABLE READ" | "SERIALIZABLE";
export const ISOLATIONS: readonly Isolation[] = ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"];

export async function createSchema(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS experiment_balances (
    account_id int PRIMARY KEY, balance_minor bigint NOT NULL)`);
}

export async function resetBalances(pool: pg.Pool, balances: ReadonlyMap<number, bigint>): Promise<void> {
  await pool.query("TRUNCATE experiment_balances");
  await pool.query("INSERT INTO experiment_balances SELECT * FROM unnest($1::int[], $2::bigint[])", [
    [...balances.keys()],
    [...balances.values()].map(String),
  ]);
}

export async function readBalances(
  db: pg.Pool | pg.PoolClient,
  accountIds: readonly number[],
  lock: boolean,
): Promise<Map<number, bigint>> {
  const { rows } = await db.query<{ account_id: number; balance_minor: string }>(
    `SELECT account_id, balance_minor FROM experiment_balances WHERE account_id = ANY($1::int[])
     ORDER BY account_id ${lock ? "FOR UPDATE" : ""}`,
    [accountIds],
  );
  return new Map(rows.map((r) => [r.account_id, BigInt(r.balance_minor)]));
}

export async function writeBalance(db: pg.PoolClient, accountId: number, balanceMinor: bigint): Promise<void> {
  await db.query("UPDATE experiment_balances SET balance_minor = $2 WHERE account_id = $1", [accountId, balanceMinor.toString()]);
}

/** The check and the write in one statement: true when the debit was made. */
export async function debitIfCovered(db: pg.PoolClient, accountId: number, amountMinor: bigint): Promise<boolean> {
  const result = await db.query(
    "UPDATE experiment_balances SET balance_minor = balance_minor - $2 WHERE account_id = $1 AND balance_minor >= $2",
    [accountId, amountMinor.toString()],
  );
  return result.rowCount === 1;
}

const RETRYABLE = new Set(["40001", "40P01"]);

/** Runs fn in one transaction, again on serialization failure or deadlock; counts the retries. */
export async function transaction<T>(
  pool: pg.Pool,
  isolation: Isolation,
  counters: { retries: number },
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, fn, { isolation: isolation.toLowerCase() as PgIsolation });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === undefined || !RETRYABLE.has(code) || attempt >= 50) throw error;
      counters.retries++;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
  }
}
