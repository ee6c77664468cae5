// The only SQL of the gateway: users and refresh tokens.
import type pg from "pg";

type Queryable = Pick<pg.Pool, "query">;

export interface User {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
  readonly passwordHash: string;
}

/** Inserts the user; undefined when the e-mail is taken. */
export async function insertUser(db: Queryable, user: User): Promise<User | undefined> {
  const { rows } = await db.query(
    `INSERT INTO users (user_id, email, display_name, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (lower(email)) DO NOTHING RETURNING user_id`,
    [user.userId, user.email, user.displayName, user.passwordHash],
  );
  return rows.length === 1 ? user : undefined;
}

export async function findUserByEmail(db: Queryable, email: string): Promise<User | undefined> {
  const { rows } = await db.query<{ user_id: string; email: string; display_name: string; password_hash: string }>(
    "SELECT user_id, email, display_name, password_hash FROM users WHERE lower(email) = lower($1)",
    [email],
  );
  const row = rows[0];
  return row === undefined
    ? undefined
    : { userId: row.user_id, email: row.email, displayName: row.display_name, passwordHash: row.password_hash };
}

export async function insertRefreshToken(
  db: Queryable,
  token: { digest: Buffer; userId: string; familyId: string; expiresAt: Date },
): Promise<void> {
  await db.query("INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, $4)", [
    token.digest,
    token.userId,
    token.familyId,
    token.expiresAt,
  ]);
}

export type UseOutcome =
  | { kind: "used"; userId: string; familyId: string }
  /** Presented a second time: someone else holds a copy. */
  | { kind: "reused"; familyId: string }
  | { kind: "invalid" };

/** Marks a live refresh token used, atomically: of two concurrent refreshes only one wins. */
export async function useRefreshToken(db: Queryable, digest: Buffer): Promise<UseOutcome> {
  const { rows } = await db.query<{ user_id: string; family_id: string; used: boolean }>(
    `WITH target AS (SELECT token_hash, used_at IS NOT NULL AS was_used FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE),
     marked AS (
       UPDATE refresh_tokens SET used_at = now() FROM target
        WHERE refresh_tokens.token_hash = target.token_hash AND NOT target.was_used
          AND revoked_at IS NULL AND expires_at > now()
       RETURNING refresh_tokens.user_id, refresh_tokens.family_id)
     SELECT user_id, family_id, false AS used FROM marked
     UNION ALL
     SELECT r.user_id, r.family_id, true FROM refresh_tokens r JOIN target t ON t.token_hash = r.token_hash WHERE t.was_used`,
    [digest],
  );
  const row = rows[0];
  if (row === undefined) return { kind: "invalid" };
  return row.used ? { kind: "reused", familyId: row.family_id } : { kind: "used", userId: row.user_id, familyId: row.family_id };
}

export async function findFamily(db: Queryable, digest: Buffer): Promise<{ userId: string; familyId: string } | undefined> {
  const { rows } = await db.query<{ user_id: string; family_id: string }>(
    "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1",
    [digest],
  );
  const row = rows[0];
  return row === undefined ? undefined : { userId: row.user_id, familyId: row.family_id };
}

export async function revokeFamily(db: Queryable, familyId: string): Promise<void> {
  await db.query("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL", [familyId]);
}
