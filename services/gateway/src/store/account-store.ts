// The paper accounts of users (migrations/0002_paper_accounts.sql).
import type pg from "pg";

type Queryable = Pick<pg.Pool, "query">;

export interface PaperAccountRow {
  readonly accountId: string;
  readonly userId: string;
  readonly name: string;
  readonly startingCashKrw: bigint;
  readonly createdAt: Date;
  readonly resetAt: Date | undefined;
}

interface Row {
  account_id: string;
  user_id: string;
  name: string;
  starting_cash_krw: string;
  created_at: Date;
  reset_at: Date | null;
}

const COLUMNS = "account_id, user_id, name, starting_cash_krw, created_at, reset_at";

const fromRow = (row: Row): PaperAccountRow => ({
  accountId: row.account_id,
  userId: row.user_id,
  name: row.name,
  startingCashKrw: BigInt(row.starting_cash_krw),
  createdAt: row.created_at,
  resetAt: row.reset_at ?? undefined,
});

/** The user's first account (id = the user's), recorded on first sight: it exists since sign-up. */
export async function ensurePrimary(db: Queryable, userId: string, name: string): Promise<void> {
  await db.query(
    `INSERT INTO paper_accounts (account_id, user_id, name, starting_cash_krw, created_at)
     SELECT user_id, user_id, $2, 0, created_at FROM users WHERE user_id = $1
     ON CONFLICT DO NOTHING`,
    [userId, name],
  );
}

/** The primary first, then by creation. */
export async function listAccounts(db: Queryable, userId: string): Promise<PaperAccountRow[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM paper_accounts WHERE user_id = $1 ORDER BY account_id <> user_id, created_at, account_id`,
    [userId],
  );
  return rows.map(fromRow);
}

export async function findAccount(db: Queryable, userId: string, accountId: string): Promise<PaperAccountRow | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM paper_accounts WHERE account_id = $1 AND user_id = $2`, [accountId, userId]);
  return rows[0] && fromRow(rows[0]);
}

export type InsertOutcome = { kind: "inserted" | "repeated"; account: PaperAccountRow } | { kind: "name_taken" };

/** A new account, or the one this request already created; none when another account has the name. */
export async function insertAccount(
  db: Queryable,
  account: { accountId: string; userId: string; name: string; startingCashKrw: bigint; requestId: string },
): Promise<InsertOutcome> {
  const { rows } = await db.query<Row>(
    `INSERT INTO paper_accounts (account_id, user_id, name, starting_cash_krw, create_request_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [account.accountId, account.userId, account.name, account.startingCashKrw.toString(), account.requestId],
  );
  if (rows[0] !== undefined) return { kind: "inserted", account: fromRow(rows[0]) };
  // A concurrent repeat of the request won the insert: its account.
  const earlier = await findCreated(db, account.userId, account.requestId);
  return earlier === undefined ? { kind: "name_taken" } : { kind: "repeated", account: earlier };
}

/** The account a CreateAccount request made, if it did. */
export async function findCreated(db: Queryable, userId: string, requestId: string): Promise<PaperAccountRow | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM paper_accounts WHERE user_id = $1 AND create_request_id = $2`, [
    userId,
    requestId,
  ]);
  return rows[0] && fromRow(rows[0]);
}

export async function countAccounts(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM paper_accounts WHERE user_id = $1", [userId]);
  return rows[0]?.n ?? 0;
}

export async function markReset(db: Queryable, accountId: string, startingCashKrw: bigint): Promise<PaperAccountRow> {
  const { rows } = await db.query<Row>(
    `UPDATE paper_accounts SET starting_cash_krw = $2, reset_at = now() WHERE account_id = $1 RETURNING ${COLUMNS}`,
    [accountId, startingCashKrw.toString()],
  );
  return fromRow(rows[0]!);
}
