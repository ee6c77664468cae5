// SQL of the lock-strategy experiment (kuku-bench locks): balances with a
// version and a fencing column, and a debit log to check conservation.
// No CHECK on the balance on purpose: an overdraft must be observable.
import type pg from "pg";

export async function setUp(pool: pg.Pool, accounts: number, startMinor: bigint): Promise<void> {
  await pool.query(`
    DROP TABLE IF EXISTS lock_debits, lock_balances;
    DROP SEQUENCE IF EXISTS lock_fence;
    CREATE TABLE lock_balances (account_id int PRIMARY KEY, balance_minor bigint NOT NULL, version bigint NOT NULL DEFAULT 0,
      fence bigint NOT NULL DEFAULT 0);
    CREATE TABLE lock_debits (debit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id int NOT NULL, amount_minor bigint NOT NULL);
    CREATE SEQUENCE lock_fence;`);
  await pool.query("INSERT INTO lock_balances (account_id, balance_minor) SELECT g, $2 FROM generate_series(1, $1) g", [
    accounts,
    startMinor.toString(),
  ]);
}

export async function read(db: pg.Pool | pg.PoolClient, accountId: number, forUpdate = false) {
  const { rows } = await db.query<{ balance_minor: string; version: string }>(
    `SELECT balance_minor, version FROM lock_balances WHERE account_id = $1${forUpdate ? " FOR UPDATE" : ""}`,
    [accountId],
  );
  return { balanceMinor: BigInt(rows[0]!.balance_minor), version: BigInt(rows[0]!.version) };
}

/** Writes a balance computed elsewhere; true when the row was written. */
export async function write(
  db: pg.PoolClient,
  accountId: number,
  balanceMinor: bigint,
  guard: { kind: "none" } | { kind: "version"; version: bigint } | { kind: "fence"; token: bigint },
): Promise<boolean> {
  const where = guard.kind === "version" ? " AND version = $3" : guard.kind === "fence" ? " AND fence < $3" : "";
  const fence = guard.kind === "fence" ? ", fence = $3" : "";
  const params: unknown[] = [accountId, balanceMinor.toString()];
  if (guard.kind === "version") params.push(guard.version.toString());
  if (guard.kind === "fence") params.push(guard.token.toString());
  const result = await db.query(
    `UPDATE lock_balances SET balance_minor = $2, version = version + 1${fence} WHERE account_id = $1${where}`,
    params,
  );
  return result.rowCount === 1;
}

export async function debitIfCovered(db: pg.PoolClient, accountId: number, amountMinor: bigint): Promise<boolean> {
  const result = await db.query(
    "UPDATE lock_balances SET balance_minor = balance_minor - $2, version = version + 1 WHERE account_id = $1 AND balance_minor >= $2",
    [accountId, amountMinor.toString()],
  );
  return result.rowCount === 1;
}

export async function logDebit(db: pg.PoolClient, accountId: number, amountMinor: bigint): Promise<void> {
  await db.query("INSERT INTO lock_debits (account_id, amount_minor) VALUES ($1, $2)", [accountId, amountMinor.toString()]);
}

export async function nextFence(db: pg.Pool): Promise<bigint> {
  const { rows } = await db.query<{ token: string }>("SELECT nextval('lock_fence')::text AS token");
  return BigInt(rows[0]!.token);
}

/** Anomalies: accounts overdrawn, and accounts whose balance does not match start - logged debits. */
export async function audit(pool: pg.Pool, startMinor: bigint): Promise<{ overdrawn: number; mismatched: number; debits: number }> {
  const { rows } = await pool.query<{ overdrawn: string; mismatched: string; debits: string }>(
    `SELECT (SELECT count(*) FROM lock_balances WHERE balance_minor < 0)::text AS overdrawn,
            (SELECT count(*) FROM lock_balances b
               LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM lock_debits GROUP BY account_id) d USING (account_id)
              WHERE b.balance_minor <> $1::bigint - coalesce(d.total, 0))::text AS mismatched,
            (SELECT count(*) FROM lock_debits)::text AS debits`,
    [startMinor.toString()],
  );
  return { overdrawn: Number(rows[0]!.overdrawn), mismatched: Number(rows[0]!.mismatched), debits: Number(rows[0]!.debits) };
}
