// The bulk loader's SQL: a trusted backfill straight into the ledger's own
// tables (the benchmark owns that database), in batches, with every trigger
// of the schema left on, so a batch that does not balance is refused exactly
// as a service write would be.
import { randomUUID } from "node:crypto";
import { withTransaction } from "@kuku/platform";
import type pg from "pg";

export interface BulkEntry {
  readonly requestId: string;
  readonly postings: readonly { accountId: string; amountMinor: bigint }[];
}

const KIND_TRANSFER = 3;

/** Writes the entries, their postings and the balance deltas in ONE transaction. */
export async function insertBatch(pool: pg.Pool, entries: readonly BulkEntry[], asset: string): Promise<void> {
  const entryIds = entries.map(() => randomUUID());
  const postingEntryIds: string[] = [];
  const postingAccountIds: string[] = [];
  const postingAmounts: string[] = [];
  const deltas = new Map<string, bigint>();
  entries.forEach((entry, i) => {
    for (const p of entry.postings) {
      postingEntryIds.push(entryIds[i]!);
      postingAccountIds.push(p.accountId);
      postingAmounts.push(p.amountMinor.toString());
      deltas.set(p.accountId, (deltas.get(p.accountId) ?? 0n) + p.amountMinor);
    }
  });
  await withTransaction(pool, async (db) => {
    await db.query(
      `INSERT INTO entries (entry_id, request_id, kind)
       SELECT id, request_id, $3 FROM unnest($1::uuid[], $2::text[]) AS e(id, request_id)`,
      [entryIds, entries.map((e) => e.requestId), KIND_TRANSFER],
    );
    await db.query(
      `INSERT INTO postings (entry_id, account_id, asset, amount_minor)
       SELECT entry_id, account_id, $4, amount FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS p(entry_id, account_id, amount)`,
      [postingEntryIds, postingAccountIds, postingAmounts, asset],
    );
    const ids = [...deltas.keys()].sort();
    await db.query(
      `UPDATE balances b SET total_minor = b.total_minor + d.delta, version = b.version + 1
       FROM unnest($1::uuid[], $2::bigint[]) AS d(account_id, delta) WHERE b.account_id = d.account_id`,
      [ids, ids.map((id) => deltas.get(id)!.toString())],
    );
  });
}

/** The balance as the sum of the account's postings: what derive-on-read would cost. */
export async function derivedBalance(pool: pg.Pool, accountId: string): Promise<bigint> {
  const { rows } = await pool.query<{ total: string }>(
    "SELECT coalesce(sum(amount_minor), 0)::text AS total FROM postings WHERE account_id = $1",
    [accountId],
  );
  return BigInt(rows[0]!.total);
}

export async function postingCount(pool: pg.Pool, accountId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM postings WHERE account_id = $1", [accountId]);
  return Number(rows[0]!.n);
}

export async function analyze(pool: pg.Pool): Promise<void> {
  await pool.query("VACUUM ANALYZE entries, postings, balances");
}
