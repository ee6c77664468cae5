import { randomUUID } from "node:crypto";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { BalanceDelta } from "../domain/balance-guard.js";
import type { Account, AccountKind, Balance, Entry, Hold } from "../domain/model.js";
import {
  ACCOUNT_KIND_CODE,
  type AccountRow,
  BALANCE_COLUMNS,
  type BalanceRow,
  ENTRY_KIND_CODE,
  type EntryRow,
  HOLD_COLUMNS,
  type HoldRow,
  toAccount,
  toBalance,
  toEntry,
  toHold,
} from "./rows.js";

type Queryable = pg.Pool | pg.PoolClient;

/**
 * A named statement: parsed and planned once per connection, not per call
 * (+34 % transfers/s in `kuku-bench ledger engines`, see ADR 0004).
 */
function prepared(name: string, text: string, values: unknown[]): pg.QueryConfig {
  return { name, text, values };
}

export type RequestClaim =
  /** `at`: the transaction's now(), which every row it writes carries. */
  | { readonly kind: "new"; readonly at: Date }
  | { readonly kind: "replay"; readonly response: Uint8Array }
  | { readonly kind: "conflict"; readonly operation: string };

/**
 * Claims a request id for this transaction. A concurrent claim of the same
 * id waits on the primary key until this transaction ends, then sees it.
 */
export async function claimRequest(
  db: pg.PoolClient,
  requestId: string,
  operation: string,
  payloadHash: Uint8Array,
): Promise<RequestClaim> {
  const inserted = await db.query<{ created_at: Date }>(
    prepared(
      "claim_request",
      `INSERT INTO requests (request_id, operation, payload_hash) VALUES ($1, $2, $3)
       ON CONFLICT (request_id) DO NOTHING RETURNING created_at`,
      [requestId, operation, payloadHash],
    ),
  );
  const claimed = inserted.rows[0];
  if (claimed !== undefined) return { kind: "new", at: claimed.created_at };
  const { rows } = await db.query<{ operation: string; payload_hash: Buffer; response: Buffer | null }>(
    "SELECT operation, payload_hash, response FROM requests WHERE request_id = $1",
    [requestId],
  );
  const row = rows[0];
  assert(row !== undefined, `request ${requestId} conflicted but cannot be read`);
  assert(row.response !== null, `request ${requestId} committed without a response`);
  if (row.operation !== operation || !row.payload_hash.equals(payloadHash)) {
    return { kind: "conflict", operation: row.operation };
  }
  return { kind: "replay", response: row.response };
}

export async function saveResponse(db: pg.PoolClient, requestId: string, response: Uint8Array): Promise<void> {
  const result = await db.query(
    prepared("save_response", "UPDATE requests SET response = $2 WHERE request_id = $1", [requestId, response]),
  );
  assert(result.rowCount === 1, `request ${requestId} was claimed in this transaction`);
}

export async function findAccount(db: Queryable, ownerId: string, asset: string): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>(
    "SELECT account_id, owner_id, asset, kind, created_at FROM accounts WHERE owner_id = $1 AND asset = $2",
    [ownerId, asset],
  );
  return rows[0] === undefined ? undefined : toAccount(rows[0]);
}

/** Opens the account unless it exists; returns the account either way. */
export async function openAccount(db: Queryable, ownerId: string, asset: string, kind: AccountKind): Promise<Account> {
  const accountId = randomUUID();
  const { rows } = await db.query<AccountRow>(
    `WITH opened AS (
       INSERT INTO accounts (account_id, owner_id, asset, kind) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner_id, asset) DO NOTHING
       RETURNING account_id, owner_id, asset, kind, created_at),
     balance AS (
       INSERT INTO balances (account_id, kind) SELECT account_id, kind FROM opened)
     SELECT * FROM opened`,
    [accountId, ownerId, asset, ACCOUNT_KIND_CODE[kind]],
  );
  if (rows[0] !== undefined) return toAccount(rows[0]);
  const existing = await findAccount(db, ownerId, asset);
  assert(existing !== undefined, `account of ${ownerId} in ${asset} conflicted but cannot be read`);
  return existing;
}

/**
 * Locks the balances in account id order, so that two transactions touching
 * the same accounts always queue in the same order and never deadlock.
 */
export async function lockBalances(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
  const ids = [...new Set(accountIds)].sort();
  const { rows } = await db.query<BalanceRow>(
    prepared(
      "lock_balances",
      `SELECT ${BALANCE_COLUMNS} FROM balances b JOIN accounts a USING (account_id)
     WHERE b.account_id = ANY($1::uuid[]) ORDER BY b.account_id FOR UPDATE OF b`,
      [ids],
    ),
  );
  return new Map(rows.map((r) => [r.account_id, toBalance(r)]));
}

/** Reads balances without locking them: the guard's write checks what the read assumed. */
export async function readBalances(db: Queryable, accountIds: readonly string[]): Promise<Map<string, Balance>> {
  const { rows } = await db.query<BalanceRow>(
    prepared(
      "read_balances",
      `SELECT ${BALANCE_COLUMNS} FROM balances b JOIN accounts a USING (account_id)
     WHERE b.account_id = ANY($1::uuid[])`,
      [[...new Set(accountIds)]],
    ),
  );
  return new Map(rows.map((r) => [r.account_id, toBalance(r)]));
}

// A planned balance is written only over the version it was planned from
// (compare-and-set) and, when the writer holds a Redlock lock, only if no
// holder with a newer fencing token wrote since ($fence NULL: no token).
const AT_VERSION = (fence: string) => `b.account_id = v.account_id AND b.version = v.version - 1
  AND (${fence}::bigint IS NULL OR b.fence < ${fence}::bigint)`;

/**
 * Writes balances computed from the ones read (version = read + 1); returns
 * how many rows took the write. Fewer than given means the guard's check
 * refused some: the caller decides what that means.
 */
export async function writeBalances(db: pg.PoolClient, balances: readonly Balance[], fence: bigint | undefined): Promise<number> {
  const result = await db.query(
    prepared(
      "write_balances",
      `UPDATE balances AS b SET total_minor = v.total, held_minor = v.held, version = v.version,
       fence = coalesce($5::bigint, b.fence)
     FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(account_id, total, held, version)
     WHERE ${AT_VERSION("$5")}`,
      [
        balances.map((b) => b.accountId),
        balances.map((b) => b.totalMinor.toString()),
        balances.map((b) => b.heldMinor.toString()),
        balances.map((b) => b.version.toString()),
        fence?.toString() ?? null,
      ],
    ),
  );
  return result.rowCount ?? 0;
}

/**
 * Adds each change to the CURRENT balance, only where a user account stays
 * covered (total - held >= 0) after it: the row lock lasts this statement
 * to the commit, and no read before it needs to be right. Returns the
 * balances after, for the accounts that took it.
 */
export async function applyBalanceDeltas(db: pg.PoolClient, deltas: readonly BalanceDelta[]): Promise<Map<string, Balance>> {
  const { rows } = await db.query<BalanceRow>(
    prepared(
      "apply_balance_deltas",
      `UPDATE balances AS b
       SET total_minor = b.total_minor + v.total_delta, held_minor = b.held_minor + v.held_delta, version = b.version + 1
     FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS v(account_id, total_delta, held_delta), accounts a
     WHERE b.account_id = v.account_id AND a.account_id = b.account_id
       AND (b.kind <> ${ACCOUNT_KIND_CODE.user} OR b.total_minor + v.total_delta - (b.held_minor + v.held_delta) >= 0)
     RETURNING ${BALANCE_COLUMNS}`,
      [deltas.map((d) => d.accountId), deltas.map((d) => d.totalDeltaMinor.toString()), deltas.map((d) => d.heldDeltaMinor.toString())],
    ),
  );
  return new Map(rows.map((r) => [r.account_id, toBalance(r)]));
}

/** A fencing token: larger than every token taken before it. */
export async function nextFence(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ token: string }>(prepared("next_fence", "SELECT nextval('balance_fence')::text AS token", []));
  const token = rows[0]?.token;
  assert(token !== undefined, "nextval returns a row");
  return BigInt(token);
}

/**
 * Writes one posting mutation in ONE statement: the balances (at the
 * version they were read at, see writeBalances), the holds it debits, the
 * entry with its postings, and the response stored for replays of the
 * request. Returns how many balances took the write.
 */
export async function writeEntry(
  db: pg.PoolClient,
  write: { entry: Entry; balances: readonly Balance[]; holds: readonly Hold[]; response: Uint8Array; fence: bigint | undefined },
): Promise<number> {
  const { entry, balances, holds } = write;
  const { rows } = await db.query<{ balances: number; holds: number; responses: number }>(
    prepared(
      "write_entry",
      `WITH written_balances AS (
         UPDATE balances AS b SET total_minor = v.total, held_minor = v.held, version = v.version,
           fence = coalesce($17::bigint, b.fence)
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(account_id, total, held, version)
         WHERE ${AT_VERSION("$17")}
         RETURNING 1),
       written_holds AS (
         UPDATE holds AS h SET settled_minor = v.settled, released_minor = v.released
         FROM unnest($5::uuid[], $6::bigint[], $7::bigint[]) AS v(hold_id, settled, released)
         WHERE h.hold_id = v.hold_id
         RETURNING 1),
       written_entry AS (
         INSERT INTO entries (entry_id, request_id, kind, metadata, created_at) VALUES ($8, $9, $10, $11, $12)),
       written_postings AS (
         INSERT INTO postings (entry_id, account_id, asset, amount_minor)
         SELECT $8, account_id, asset, amount_minor FROM unnest($13::uuid[], $14::text[], $15::bigint[]) AS p(account_id, asset, amount_minor)),
       written_response AS (
         UPDATE requests SET response = $16 WHERE request_id = $9 RETURNING 1)
       SELECT (SELECT count(*) FROM written_balances)::int AS balances, (SELECT count(*) FROM written_holds)::int AS holds,
              (SELECT count(*) FROM written_response)::int AS responses`,
      [
        balances.map((b) => b.accountId),
        balances.map((b) => b.totalMinor.toString()),
        balances.map((b) => b.heldMinor.toString()),
        balances.map((b) => b.version.toString()),
        holds.map((h) => h.holdId),
        holds.map((h) => h.settledMinor.toString()),
        holds.map((h) => h.releasedMinor.toString()),
        entry.entryId,
        entry.requestId,
        ENTRY_KIND_CODE[entry.kind],
        entry.metadata,
        entry.createdAt,
        entry.postings.map((p) => p.accountId),
        entry.postings.map((p) => p.asset),
        entry.postings.map((p) => p.amountMinor.toString()),
        write.response,
        write.fence?.toString() ?? null,
      ],
    ),
  );
  const counts = rows[0];
  assert(counts !== undefined, "the write returns its counts");
  assert(counts.holds === holds.length, "every debited hold exists");
  assert(counts.responses === 1, `request ${entry.requestId} was claimed in this transaction`);
  return counts.balances;
}

export async function insertHold(
  db: pg.PoolClient,
  hold: { accountId: string; asset: string; amountMinor: bigint; reference: string },
): Promise<Hold> {
  const holdId = randomUUID();
  const { rows } = await db.query<{ created_at: Date }>(
    prepared(
      "insert_hold",
      `INSERT INTO holds (hold_id, account_id, amount_minor, reference) VALUES ($1, $2, $3, $4) RETURNING created_at`,
      [holdId, hold.accountId, hold.amountMinor.toString(), hold.reference],
    ),
  );
  const createdAt = rows[0]?.created_at;
  assert(createdAt !== undefined, "hold insert returns its time");
  return { holdId, ...hold, settledMinor: 0n, releasedMinor: 0n, createdAt };
}

export async function lockHolds(db: pg.PoolClient, holdIds: readonly string[]): Promise<Map<string, Hold>> {
  const { rows } = await db.query<HoldRow>(
    prepared(
      "lock_holds",
      `SELECT ${HOLD_COLUMNS} FROM holds h JOIN accounts a USING (account_id)
     WHERE h.hold_id = ANY($1::uuid[]) ORDER BY h.hold_id FOR UPDATE OF h`,
      [[...new Set(holdIds)].sort()],
    ),
  );
  return new Map(rows.map((r) => [r.hold_id, toHold(r)]));
}

/** Writes holds whole: what they reserve (a top-up grows it), settled and released. */
export async function writeHolds(db: pg.PoolClient, holds: readonly Hold[]): Promise<void> {
  const result = await db.query(
    prepared(
      "write_holds",
      `UPDATE holds AS h SET amount_minor = v.amount, settled_minor = v.settled, released_minor = v.released
     FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(hold_id, amount, settled, released)
     WHERE h.hold_id = v.hold_id`,
      [
        holds.map((h) => h.holdId),
        holds.map((h) => h.amountMinor.toString()),
        holds.map((h) => h.settledMinor.toString()),
        holds.map((h) => h.releasedMinor.toString()),
      ],
    ),
  );
  assert(result.rowCount === holds.length, "every written hold exists");
}

export async function getHold(db: Queryable, holdId: string): Promise<Hold | undefined> {
  const { rows } = await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM holds h JOIN accounts a USING (account_id) WHERE h.hold_id = $1`, [
    holdId,
  ]);
  return rows[0] === undefined ? undefined : toHold(rows[0]);
}

export async function balancesOf(db: Queryable, selector: { accountIds: readonly string[] } | { ownerId: string }): Promise<Balance[]> {
  const [where, param] =
    "ownerId" in selector ? ["a.owner_id = $1", selector.ownerId] : ["b.account_id = ANY($1::uuid[])", selector.accountIds];
  const { rows } = await db.query<BalanceRow>(
    `SELECT ${BALANCE_COLUMNS} FROM balances b JOIN accounts a USING (account_id) WHERE ${where} ORDER BY a.asset, b.account_id`,
    [param],
  );
  return rows.map(toBalance);
}

/** The balances of these accounts and of these owners' accounts, in one query (the coalesced reads of GetBalances). */
export async function balancesOfAny(db: Queryable, accountIds: readonly string[], ownerIds: readonly string[]): Promise<Balance[]> {
  const { rows } = await db.query<BalanceRow>(
    prepared(
      "balances_of_any",
      `SELECT ${BALANCE_COLUMNS} FROM balances b JOIN accounts a USING (account_id)
     WHERE b.account_id = ANY($1::uuid[]) OR a.owner_id = ANY($2::text[])`,
      [accountIds, ownerIds],
    ),
  );
  return rows.map(toBalance);
}

/**
 * One page of an account's entries, newest first. The cursor is the last
 * posting id seen: stable under concurrent inserts, unlike an offset.
 */
export async function entriesOf(
  db: Queryable,
  accountId: string,
  beforePostingId: bigint | undefined,
  pageSize: number,
): Promise<{ entries: Entry[]; lastPostingId: bigint | undefined }> {
  const { rows } = await db.query<EntryRow & { posting_id: string }>(
    `WITH page AS (
       SELECT posting_id, entry_id FROM postings
       WHERE account_id = $1 AND posting_id < $2
       ORDER BY posting_id DESC LIMIT $3)
     SELECT page.posting_id, e.entry_id, e.request_id, e.kind, e.created_at, e.metadata,
       (SELECT json_agg(json_build_object('account_id', p.account_id, 'asset', p.asset,
                 'amount_minor', p.amount_minor::text) ORDER BY p.posting_id)
          FROM postings p WHERE p.entry_id = e.entry_id) AS postings
     FROM page JOIN entries e USING (entry_id)
     ORDER BY page.posting_id DESC`,
    [accountId, (beforePostingId ?? 2n ** 63n - 1n).toString(), pageSize],
  );
  const last = rows.at(-1);
  return { entries: rows.map(toEntry), lastPostingId: last === undefined ? undefined : BigInt(last.posting_id) };
}

export interface IntegrityReport {
  entriesChecked: bigint;
  postingsChecked: bigint;
  accountsChecked: bigint;
  discrepancies: {
    kind: "unbalanced_entry" | "balance_mismatch" | "held_mismatch";
    entryId: string;
    accountId: string;
    asset: string;
    expectedMinor: bigint;
    actualMinor: bigint;
  }[];
}

const DISCREPANCIES_MAX = 1000;

/**
 * Recomputes every balance from the postings and every held amount from the
 * open holds, and checks every entry sums to zero per asset, all in one
 * snapshot (the caller runs it in a REPEATABLE READ transaction).
 */
export async function verifyIntegrity(db: pg.PoolClient): Promise<IntegrityReport> {
  const counts = await db.query<{ entries: string; postings: string; accounts: string }>(
    `SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM postings) AS postings,
            (SELECT count(*) FROM balances) AS accounts`,
  );
  const { rows } = await db.query<{
    kind: IntegrityReport["discrepancies"][number]["kind"];
    entry_id: string;
    account_id: string;
    asset: string;
    expected: string;
    actual: string;
  }>(
    `(SELECT 'unbalanced_entry' AS kind, entry_id::text, '' AS account_id, asset, '0' AS expected, sum(amount_minor)::text AS actual
        FROM postings GROUP BY entry_id, asset HAVING sum(amount_minor) <> 0)
     UNION ALL
     (SELECT 'balance_mismatch', '', b.account_id::text, a.asset, coalesce(p.total, 0)::text, b.total_minor::text
        FROM balances b JOIN accounts a USING (account_id)
        LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM postings GROUP BY account_id) p USING (account_id)
        WHERE b.total_minor <> coalesce(p.total, 0))
     UNION ALL
     (SELECT 'held_mismatch', '', b.account_id::text, a.asset, coalesce(h.held, 0)::text, b.held_minor::text
        FROM balances b JOIN accounts a USING (account_id)
        LEFT JOIN (SELECT account_id, sum(amount_minor - settled_minor - released_minor) AS held
                     FROM holds GROUP BY account_id) h USING (account_id)
        WHERE b.held_minor <> coalesce(h.held, 0))
     LIMIT ${DISCREPANCIES_MAX}`,
  );
  const c = counts.rows[0];
  assert(c !== undefined, "counts query returns one row");
  return {
    entriesChecked: BigInt(c.entries),
    postingsChecked: BigInt(c.postings),
    accountsChecked: BigInt(c.accounts),
    discrepancies: rows.map((r) => ({
      kind: r.kind,
      entryId: r.entry_id,
      accountId: r.account_id,
      asset: r.asset,
      expectedMinor: BigInt(r.expected),
      actualMinor: BigInt(r.actual),
    })),
  };
}
