import { withTransaction } from "@kuku/platform";
import { benchPool } from "../pool.js";
import { InsufficientFunds, plan, type TransferEngine } from "./engine.js";

/**
 * `prepared`: named statements, parsed and planned once per connection (as
 * mysql2's execute() does) instead of once per call.
 */
export function postgresEngine(url: string, poolSize: number, prepared: boolean): TransferEngine {
  const q = (name: string, text: string, values: unknown[]) => (prepared ? { name, text, values } : { text, values });
  const pool = benchPool(url, poolSize);
  let fundedMinor = 0n;
  return {
    name: prepared ? "PostgreSQL, prepared" : "PostgreSQL",
    async setUp(accounts, fundingMinor) {
      fundedMinor = fundingMinor;
      await pool.query(`
        CREATE TABLE balances (account_id bigint PRIMARY KEY, total_minor bigint NOT NULL CHECK (total_minor >= 0));
        CREATE TABLE entries (entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, request_id varchar(64) NOT NULL UNIQUE,
          created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE postings (posting_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          entry_id bigint NOT NULL REFERENCES entries (entry_id), account_id bigint NOT NULL REFERENCES balances (account_id),
          amount_minor bigint NOT NULL);
        CREATE INDEX postings_by_account ON postings (account_id, posting_id);`);
      await pool.query("INSERT INTO balances SELECT g, $2 FROM generate_series(1, $1) g", [accounts, fundingMinor.toString()]);
    },
    async transfer(requestId, fromId, toId, amountMinor) {
      try {
        return await withTransaction(
          pool,
          async (db) => {
            const { rows } = await db.query<{ account_id: string; total_minor: string }>(
              q("lock", "SELECT account_id, total_minor FROM balances WHERE account_id IN ($1, $2) ORDER BY account_id FOR UPDATE", [
                fromId,
                toId,
              ]),
            );
            const next = plan(new Map(rows.map((r) => [Number(r.account_id), BigInt(r.total_minor)])), fromId, toId, amountMinor);
            await db.query(q("update", "UPDATE balances SET total_minor = $2 WHERE account_id = $1", [fromId, next.fromMinor.toString()]));
            await db.query(q("update", "UPDATE balances SET total_minor = $2 WHERE account_id = $1", [toId, next.toMinor.toString()]));
            const entry = await db.query<{ entry_id: string }>(
              q("entry", "INSERT INTO entries (request_id) VALUES ($1) RETURNING entry_id", [requestId]),
            );
            await db.query(
              q("postings", "INSERT INTO postings (entry_id, account_id, amount_minor) VALUES ($1, $2, $3), ($1, $4, $5)", [
                entry.rows[0]!.entry_id,
                fromId,
                (-amountMinor).toString(),
                toId,
                amountMinor.toString(),
              ]),
            );
            return true;
          },
          { isolation: "read committed" },
        );
      } catch (error) {
        if (error instanceof InsufficientFunds) return false;
        throw error;
      }
    },
    async audit() {
      const { rows } = await pool.query<{ total: string; mismatches: string; entries: string }>(
        `
        SELECT (SELECT sum(total_minor) FROM balances)::text AS total,
               (SELECT count(*) FROM balances b LEFT JOIN (SELECT account_id, sum(amount_minor) s FROM postings GROUP BY account_id) p
                  USING (account_id) WHERE b.total_minor <> $1::bigint + coalesce(p.s, 0))::text AS mismatches,
               (SELECT count(*) FROM entries)::text AS entries`,
        [fundedMinor.toString()],
      );
      return { totalMinor: BigInt(rows[0]!.total), mismatches: Number(rows[0]!.mismatches), entries: Number(rows[0]!.entries) };
    },
    close: () => pool.end(),
  };
}
