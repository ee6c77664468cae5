// The group commit's statements (ADR 0018): a batch of mutations reads what
// it needs in two or three statements and writes everything in ONE, with
// set-based inserts and updates from arrays.
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { Balance, Entry, Hold } from "../domain/model.js";
import { BALANCE_COLUMNS, type BalanceRow, ENTRY_KIND_CODE, toBalance } from "./rows.js";

export interface StoredRequest {
  readonly operation: string;
  readonly payloadHash: Uint8Array;
  readonly response: Uint8Array;
}

/**
 * The transaction's time, the requests already answered among the batch's
 * request ids, the assets of accounts (immutable, so read without a lock),
 * and the balances of `lockIds`, locked in id order: one round trip.
 */
export async function readBatchStart(
  db: pg.PoolClient,
  requestIds: readonly string[],
  assetAccountIds: readonly string[],
  lockIds: readonly string[],
): Promise<{ at: Date; stored: Map<string, StoredRequest>; assets: Map<string, string>; balances: Map<string, Balance> }> {
  const { rows } = await db.query<{
    at: Date;
    requests: { request_id: string; operation: string; payload_hash: string; response: string | null }[];
    assets: { account_id: string; asset: string }[];
    balances: BalanceRow[];
  }>({
    name: "batch_start",
    text: `WITH locked AS (
         SELECT ${BALANCE_COLUMNS} FROM balances b JOIN accounts a USING (account_id)
         WHERE b.account_id = ANY($3::uuid[]) ORDER BY b.account_id FOR UPDATE OF b)
       SELECT now() AS at,
       (SELECT coalesce(json_agg(json_build_object('request_id', request_id, 'operation', operation,
                 'payload_hash', encode(payload_hash, 'base64'), 'response', encode(response, 'base64'))), '[]')
          FROM requests WHERE request_id = ANY($1::text[])) AS requests,
       (SELECT coalesce(json_agg(json_build_object('account_id', account_id, 'asset', asset)), '[]')
          FROM accounts WHERE account_id = ANY($2::uuid[])) AS assets,
       -- As text: a bigint in JSON would lose precision past 2^53.
       (SELECT coalesce(json_agg(json_build_object('account_id', account_id, 'owner_id', owner_id, 'asset', asset, 'kind', kind,
                 'total_minor', total_minor::text, 'held_minor', held_minor::text, 'version', version::text)), '[]')
          FROM locked) AS balances`,
    values: [requestIds, assetAccountIds, [...new Set(lockIds)]],
  });
  const row = rows[0];
  assert(row !== undefined, "the batch start returns one row");
  const stored = new Map<string, StoredRequest>();
  for (const r of row.requests) {
    // Every request row is written with its response in the transaction that claims it.
    assert(r.response !== null, `request ${r.request_id} committed without a response`);
    stored.set(r.request_id, {
      operation: r.operation,
      payloadHash: Buffer.from(r.payload_hash, "base64"),
      response: Buffer.from(r.response, "base64"),
    });
  }
  return {
    at: new Date(row.at),
    stored,
    assets: new Map(row.assets.map((a) => [a.account_id, a.asset])),
    balances: new Map(row.balances.map((b) => [b.account_id, toBalance(b)])),
  };
}

/** The requests among `requestIds` answered so far, read in a statement of its own (so after the batch's locks). */
export async function readRequests(db: pg.PoolClient, requestIds: readonly string[]): Promise<Map<string, StoredRequest>> {
  const { rows } = await db.query<{ request_id: string; operation: string; payload_hash: Buffer; response: Buffer | null }>({
    name: "batch_requests_again",
    text: "SELECT request_id, operation, payload_hash, response FROM requests WHERE request_id = ANY($1::text[])",
    values: [requestIds],
  });
  const stored = new Map<string, StoredRequest>();
  for (const r of rows) {
    assert(r.response !== null, `request ${r.request_id} committed without a response`);
    stored.set(r.request_id, { operation: r.operation, payloadHash: r.payload_hash, response: r.response });
  }
  return stored;
}

export interface BatchWrite {
  readonly at: Date;
  readonly balances: readonly { balance: Balance; readVersion: bigint }[];
  readonly updatedHolds: readonly Hold[];
  readonly placedHolds: readonly Hold[];
  readonly entries: readonly Entry[];
  readonly requests: readonly { requestId: string; operation: string; payloadHash: Uint8Array; response: Uint8Array }[];
}

const str = (v: bigint) => v.toString();

/**
 * Writes a whole batch in ONE statement: every balance at its final value
 * (only over the version locked), every hold, every entry and posting, and
 * every request with its stored response. The zero-sum trigger, the CHECKs
 * and the append-only journal judge the result as they judge a single
 * mutation.
 */
export async function writeBatch(db: pg.PoolClient, w: BatchWrite): Promise<void> {
  const postings = w.entries.flatMap((e) => e.postings.map((p) => ({ entryId: e.entryId, ...p })));
  const { rows } = await db.query<{ balances: number; holds: number }>({
    name: "write_batch",
    text: `WITH written_balances AS (
         UPDATE balances AS b SET total_minor = v.total, held_minor = v.held, version = v.version
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(account_id, total, held, version, read_version)
         WHERE b.account_id = v.account_id AND b.version = v.read_version
         RETURNING 1),
       written_holds AS (
         UPDATE holds AS h SET amount_minor = v.amount, settled_minor = v.settled, released_minor = v.released
         FROM unnest($6::uuid[], $7::bigint[], $8::bigint[], $9::bigint[]) AS v(hold_id, amount, settled, released)
         WHERE h.hold_id = v.hold_id
         RETURNING 1),
       placed_holds AS (
         INSERT INTO holds (hold_id, account_id, amount_minor, settled_minor, released_minor, reference, created_at)
         SELECT v.*, $28::timestamptz FROM unnest($10::uuid[], $11::uuid[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[]) AS v),
       written_entries AS (
         INSERT INTO entries (entry_id, request_id, kind, metadata, created_at)
         SELECT v.entry_id, v.request_id, v.kind, v.metadata::jsonb, $28::timestamptz
         FROM unnest($16::uuid[], $17::text[], $18::smallint[], $19::text[]) AS v(entry_id, request_id, kind, metadata)),
       written_postings AS (
         INSERT INTO postings (entry_id, account_id, asset, amount_minor)
         SELECT v.entry_id, v.account_id, v.asset, v.amount_minor
         FROM unnest($20::uuid[], $21::uuid[], $22::text[], $23::bigint[]) WITH ORDINALITY AS v(entry_id, account_id, asset, amount_minor, n)
         ORDER BY v.n),
       written_requests AS (
         INSERT INTO requests (request_id, operation, payload_hash, response, created_at)
         SELECT v.*, $28::timestamptz FROM unnest($24::text[], $25::text[], $26::bytea[], $27::bytea[]) AS v)
       SELECT (SELECT count(*) FROM written_balances)::int AS balances, (SELECT count(*) FROM written_holds)::int AS holds`,
    values: [
      w.balances.map((b) => b.balance.accountId),
      w.balances.map((b) => str(b.balance.totalMinor)),
      w.balances.map((b) => str(b.balance.heldMinor)),
      w.balances.map((b) => str(b.balance.version)),
      w.balances.map((b) => str(b.readVersion)),
      w.updatedHolds.map((h) => h.holdId),
      w.updatedHolds.map((h) => str(h.amountMinor)),
      w.updatedHolds.map((h) => str(h.settledMinor)),
      w.updatedHolds.map((h) => str(h.releasedMinor)),
      w.placedHolds.map((h) => h.holdId),
      w.placedHolds.map((h) => h.accountId),
      w.placedHolds.map((h) => str(h.amountMinor)),
      w.placedHolds.map((h) => str(h.settledMinor)),
      w.placedHolds.map((h) => str(h.releasedMinor)),
      w.placedHolds.map((h) => h.reference),
      w.entries.map((e) => e.entryId),
      w.entries.map((e) => e.requestId),
      w.entries.map((e) => ENTRY_KIND_CODE[e.kind]),
      w.entries.map((e) => JSON.stringify(e.metadata)),
      postings.map((p) => p.entryId),
      postings.map((p) => p.accountId),
      postings.map((p) => p.asset),
      postings.map((p) => str(p.amountMinor)),
      w.requests.map((r) => r.requestId),
      w.requests.map((r) => r.operation),
      w.requests.map((r) => Buffer.from(r.payloadHash)),
      w.requests.map((r) => Buffer.from(r.response)),
      w.at,
    ],
  });
  const counts = rows[0];
  assert(counts !== undefined, "the write returns its counts");
  // Under the batch's row locks nobody else wrote these rows since they were read.
  assert(counts.balances === w.balances.length, "every balance was written over the version locked");
  assert(counts.holds === w.updatedHolds.length, "every changed hold exists");
}
