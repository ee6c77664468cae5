import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { Fill, Order } from "../domain/order.js";
import type { OrderState } from "../domain/state-machine.js";

type Queryable = pg.Pool | pg.PoolClient;

interface OrderRow {
  order_id: string;
  user_id: string;
  symbol: string;
  side: Order["side"];
  type: Order["type"];
  time_in_force: Order["timeInForce"];
  quantity: string;
  limit_price_krw: string;
  stop_price_krw: string;
  amends_order_id: string | null;
  amends_filled_quantity: string | null;
  filled_quantity: string;
  filled_notional_krw: string;
  fees_krw: string;
  state: OrderState;
  reject_reason: string;
  hold_id: string | null;
  hold_amount_minor: string;
  hold_shared: boolean;
  hold_released: boolean;
  version: string;
  created_at: Date;
  updated_at: Date;
}

const ORDER_COLUMNS = `order_id, user_id, symbol, side, type, time_in_force, quantity, limit_price_krw, stop_price_krw, amends_order_id,
  amends_filled_quantity, filled_quantity, filled_notional_krw, fees_krw, state, reject_reason, hold_id, hold_amount_minor, hold_shared,
  hold_released, version, created_at, updated_at`;

const toOrder = (r: OrderRow): Order => ({
  orderId: r.order_id,
  userId: r.user_id,
  symbol: r.symbol,
  side: r.side,
  type: r.type,
  timeInForce: r.time_in_force,
  quantity: BigInt(r.quantity),
  limitPriceKrw: BigInt(r.limit_price_krw),
  stopPriceKrw: BigInt(r.stop_price_krw),
  amendsOrderId: r.amends_order_id ?? "",
  amendsFilledQuantity: BigInt(r.amends_filled_quantity ?? 0),
  filledQuantity: BigInt(r.filled_quantity),
  filledNotionalKrw: BigInt(r.filled_notional_krw),
  feesKrw: BigInt(r.fees_krw),
  state: r.state,
  rejectReason: r.reject_reason,
  holdId: r.hold_id ?? "",
  holdAmountMinor: BigInt(r.hold_amount_minor),
  holdShared: r.hold_shared,
  holdReleased: r.hold_released,
  version: BigInt(r.version),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export type InsertResult = { kind: "inserted"; order: Order } | { kind: "exists"; order: Order; requestHash: Buffer };

/**
 * Inserts a new order under its idempotency key with its first transition
 * and its outbox event (`insertOrders` for one order): one statement, one
 * round trip. A concurrent insert of the same key waits on the unique index
 * and then finds the winner's order.
 */
export async function insertOrder(
  db: Queryable,
  order: Order,
  idempotencyKey: string,
  requestHash: Uint8Array,
  placed: { readonly reason: string; readonly event: OutboxEvent },
): Promise<InsertResult> {
  const [result] = await insertOrders(db, [{ order, idempotencyKey, requestHash, ...placed }]);
  return result!;
}

/** An order to insert under its key, with its first transition's reason and its outbox event. */
export interface NewOrder {
  readonly order: Order;
  readonly idempotencyKey: string;
  readonly requestHash: Uint8Array;
  readonly reason: string;
  readonly event: OutboxEvent;
}

/**
 * Inserts orders under their idempotency keys in ONE statement: each with its
 * transition and its outbox event, or (its key used, by another request or
 * an earlier order of the same batch) answered with the order first entered
 * under its key. Keys are taken in one order, so two batches sharing keys
 * wait on each other rather than deadlock.
 */
export async function insertOrders(db: Queryable, orders: readonly NewOrder[]): Promise<InsertResult[]> {
  const sorted = [...orders].sort((a, b) => compareKeys(a.order.userId, a.idempotencyKey, b.order.userId, b.idempotencyKey));
  const column = <T>(f: (o: NewOrder) => T) => sorted.map(f);
  const { rows } = await db.query<OrderRow>(
    `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[],
         $9::bigint[], $10::bigint[], $11::text[], $12::bigint[], $13::timestamptz[], $14::bigint[], $15::uuid[], $16::text[],
         $17::uuid[], $18::text[], $19::text[], $20::bytea[], $21::jsonb[], $22::bigint[], $23::uuid[], $24::boolean[])
         WITH ORDINALITY AS v(order_id, user_id, idempotency_key, request_hash, symbol, side, type, time_in_force, quantity,
           limit_price_krw, state, hold_amount_minor, created_at, stop_price_krw, amends_order_id, reason,
           event_id, topic, key, payload, trace_headers, amends_filled_quantity, hold_id, hold_shared, n)),
     o AS (
       INSERT INTO orders (order_id, user_id, idempotency_key, request_hash, symbol, side, type, time_in_force, quantity,
         limit_price_krw, state, hold_amount_minor, created_at, updated_at, stop_price_krw, amends_order_id,
         amends_filled_quantity, hold_id, hold_shared)
       SELECT order_id, user_id, idempotency_key, request_hash, symbol, side, type, time_in_force, quantity,
         limit_price_krw, state, hold_amount_minor, created_at, created_at, stop_price_krw, amends_order_id,
         amends_filled_quantity, hold_id, hold_shared FROM v ORDER BY n
       ON CONFLICT (user_id, idempotency_key) DO NOTHING
       RETURNING ${ORDER_COLUMNS}),
     t AS (
       INSERT INTO order_transitions (order_id, from_state, to_state, reason, occurred_at)
       SELECT o.order_id, NULL, o.state, v.reason, o.created_at FROM o JOIN v USING (order_id)),
     e AS (
       INSERT INTO outbox (event_id, topic, key, payload, trace_headers)
       SELECT v.event_id, v.topic, v.key, v.payload, v.trace_headers FROM o JOIN v USING (order_id))
     SELECT * FROM o`,
    [
      column((o) => o.order.orderId),
      column((o) => o.order.userId),
      column((o) => o.idempotencyKey),
      column((o) => Buffer.from(o.requestHash)),
      column((o) => o.order.symbol),
      column((o) => o.order.side),
      column((o) => o.order.type),
      column((o) => o.order.timeInForce),
      column((o) => o.order.quantity.toString()),
      column((o) => o.order.limitPriceKrw.toString()),
      column((o) => o.order.state),
      column((o) => o.order.holdAmountMinor.toString()),
      column((o) => o.order.createdAt),
      column((o) => o.order.stopPriceKrw.toString()),
      column((o) => (o.order.amendsOrderId === "" ? null : o.order.amendsOrderId)),
      column((o) => o.reason),
      ...eventColumns(sorted.map((o) => o.event)),
      column((o) => (o.order.amendsOrderId === "" ? null : o.order.amendsFilledQuantity.toString())),
      column((o) => (o.order.holdId === "" ? null : o.order.holdId)),
      column((o) => o.order.holdShared),
    ],
  );
  const inserted = new Map(rows.map((r) => [r.order_id, toOrder(r)]));
  const missing = orders.filter((o) => !inserted.has(o.order.orderId));
  const existing = await ordersByKeys(db, missing);
  return orders.map((o): InsertResult => {
    const order = inserted.get(o.order.orderId);
    if (order !== undefined) return { kind: "inserted", order };
    const first = existing.get(keyOf(o.order.userId, o.idempotencyKey));
    assert(first !== undefined, `key ${o.idempotencyKey} conflicted but cannot be read`);
    return { kind: "exists", ...first };
  });
}

const keyOf = (userId: string, idempotencyKey: string) => JSON.stringify([userId, idempotencyKey]);
const compareKeys = (userA: string, keyA: string, userB: string, keyB: string) =>
  userA < userB ? -1 : userA > userB ? 1 : keyA < keyB ? -1 : keyA > keyB ? 1 : 0;

/** The orders entered under these users' keys, by `keyOf`. */
async function ordersByKeys(
  db: Queryable,
  keys: readonly { readonly order: Order; readonly idempotencyKey: string }[],
): Promise<Map<string, { order: Order; requestHash: Buffer }>> {
  if (keys.length === 0) return new Map();
  const { rows } = await db.query<OrderRow & { request_hash: Buffer; idempotency_key: string }>(
    `SELECT ${ORDER_COLUMNS}, request_hash, idempotency_key FROM orders
     WHERE (user_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [keys.map((k) => k.order.userId), keys.map((k) => k.idempotencyKey)],
  );
  return new Map(rows.map((r) => [keyOf(r.user_id, r.idempotency_key), { order: toOrder(r), requestHash: r.request_hash }]));
}

/** Outbox events as five parallel columns (NULLs for none). */
const eventColumns = (events: readonly (OutboxEvent | undefined)[]) => {
  const values = events.map(outboxValues);
  return [0, 1, 2, 3, 4].map((i) => values.map((v) => v[i] ?? null));
};

/** The order entered under a user's idempotency key, with its request's hash. */
export async function orderByKey(
  db: Queryable,
  userId: string,
  idempotencyKey: string,
): Promise<{ order: Order; requestHash: Buffer } | undefined> {
  const { rows } = await db.query<OrderRow & { request_hash: Buffer }>(
    `SELECT ${ORDER_COLUMNS}, request_hash FROM orders WHERE user_id = $1 AND idempotency_key = $2`,
    [userId, idempotencyKey],
  );
  const row = rows[0];
  return row === undefined ? undefined : { order: toOrder(row), requestHash: row.request_hash };
}

/** An outbox row's insert from the CTE `source` (nothing when it has no row), its five values from $`first`; a NULL event id inserts nothing. */
const outboxValues = (event: OutboxEvent | undefined) =>
  event === undefined
    ? [null, null, null, null, null]
    : [
        event.eventId,
        event.topic,
        event.key,
        event.payload,
        Object.keys(event.traceHeaders).length === 0 ? null : JSON.stringify(event.traceHeaders),
      ];

export async function getOrder(db: Queryable, orderId: string, options: { forUpdate?: boolean } = {}): Promise<Order | undefined> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = $1${options.forUpdate === true ? " FOR UPDATE" : ""}`,
    [orderId],
  );
  return rows[0] === undefined ? undefined : toOrder(rows[0]);
}

/** Those of `orderIds` that are orders here. */
export async function existingOrderIds(db: Queryable, orderIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ order_id: string }>("SELECT order_id FROM orders WHERE order_id = ANY($1::uuid[])", [orderIds]);
  return rows.map((r) => r.order_id);
}

/**
 * Writes the order's new version, its transition and its outbox event in
 * ONE statement (`saveOrders` for one order, in the caller's transaction or
 * alone: its parts commit together). The version check turns a concurrent
 * writer's change into a VersionConflict instead of a lost update, and then
 * nothing is written.
 */
export async function saveOrder(db: Queryable, before: Order, after: Order, reason: string, event: OutboxEvent | undefined): Promise<void> {
  const written = await saveOrders(db, [{ before, after, reason, event }]);
  if (!written.has(before.orderId)) throw new VersionConflict(before.orderId, before.version);
}

/** One order's change for `saveOrders`, as `saveOrder` takes it. */
export interface OrderChangeRow {
  readonly before: Order;
  readonly after: Order;
  readonly reason: string;
  readonly event: OutboxEvent | undefined;
}

/**
 * Writes many orders' changes (as `saveOrder` describes) in ONE statement. Each row is written only if
 * its order is still at its version; returns the ids of the orders written
 * (the others met a concurrent writer, and nothing of theirs was written).
 * Rows are locked in order id order, as every multi-row writer here does.
 */
export async function saveOrders(db: Queryable, changes: readonly OrderChangeRow[]): Promise<Set<string>> {
  const sorted = [...changes].sort((a, b) => (a.before.orderId < b.before.orderId ? -1 : 1));
  const column = <T>(f: (c: OrderChangeRow) => T) => sorted.map(f);
  const { rows } = await db.query<{ order_id: string }>(
    `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::uuid[],
         $9::boolean[], $10::bigint[], $11::timestamptz[], $12::text[], $13::text[],
         $14::uuid[], $15::text[], $16::text[], $17::bytea[], $18::jsonb[], $19::bigint[])
         AS v(order_id, before_version, filled_quantity, filled_notional_krw, fees_krw, state, reject_reason, hold_id,
           hold_released, version, updated_at, from_state, reason, event_id, topic, key, payload, trace_headers, quantity)),
     u AS (
       UPDATE orders o SET quantity = v.quantity, filled_quantity = v.filled_quantity, filled_notional_krw = v.filled_notional_krw, fees_krw = v.fees_krw,
         state = v.state, reject_reason = v.reject_reason, hold_id = v.hold_id, hold_released = v.hold_released,
         version = v.version, updated_at = v.updated_at
       FROM v WHERE o.order_id = v.order_id AND o.version = v.before_version
       RETURNING o.order_id),
     t AS (
       INSERT INTO order_transitions (order_id, from_state, to_state, reason, occurred_at)
       SELECT v.order_id, v.from_state, v.state, v.reason, v.updated_at FROM u JOIN v USING (order_id) WHERE v.from_state <> v.state),
     e AS (
       INSERT INTO outbox (event_id, topic, key, payload, trace_headers)
       SELECT v.event_id, v.topic, v.key, v.payload, v.trace_headers FROM u JOIN v USING (order_id) WHERE v.event_id IS NOT NULL)
     SELECT order_id FROM u`,
    [
      column((c) => c.before.orderId),
      column((c) => c.before.version.toString()),
      column((c) => c.after.filledQuantity.toString()),
      column((c) => c.after.filledNotionalKrw.toString()),
      column((c) => c.after.feesKrw.toString()),
      column((c) => c.after.state),
      column((c) => c.after.rejectReason),
      column((c) => (c.after.holdId === "" ? null : c.after.holdId)),
      column((c) => c.after.holdReleased),
      column((c) => c.after.version.toString()),
      column((c) => c.after.updatedAt),
      column((c) => c.before.state),
      column((c) => c.reason),
      ...eventColumns(sorted.map((c) => c.event)),
      column((c) => c.after.quantity.toString()),
    ],
  );
  return new Set(rows.map((r) => r.order_id));
}

export class VersionConflict extends Error {
  override name = "VersionConflict";
  constructor(orderId: string, version: bigint) {
    super(`order ${orderId} changed since version ${version}`);
  }
}

/** An event for Kafka, written in the same transaction as the change it reports. */
export interface OutboxEvent {
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  readonly payload: Uint8Array;
  /** The writer's trace context as Kafka headers; empty when tracing is off. */
  readonly traceHeaders: Readonly<Record<string, string>>;
}

export async function transitionsOf(db: Queryable, orderId: string) {
  const { rows } = await db.query<{ from_state: OrderState | null; to_state: OrderState; reason: string; occurred_at: Date }>(
    "SELECT from_state, to_state, reason, occurred_at FROM order_transitions WHERE order_id = $1 ORDER BY transition_id",
    [orderId],
  );
  return rows.map((r) => ({ from: r.from_state, to: r.to_state, reason: r.reason, occurredAt: r.occurred_at }));
}

/** A fill to record with its commission and tax. */
export interface NewFill {
  readonly orderId: string;
  readonly fill: Fill & { readonly executedAt: Date };
  readonly feeKrw: bigint;
  readonly taxKrw: bigint;
}

/** Records the fills whose execution ids are not known yet, in one statement; how many were new. */
export async function insertFills(db: Queryable, fills: readonly NewFill[]): Promise<number> {
  if (fills.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO fills (execution_id, order_id, quantity, price_krw, fee_krw, tax_krw, executed_at)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::timestamptz[])
     ON CONFLICT (execution_id) DO NOTHING`,
    [
      fills.map((f) => f.fill.executionId),
      fills.map((f) => f.orderId),
      fills.map((f) => f.fill.quantity.toString()),
      fills.map((f) => f.fill.priceKrw.toString()),
      fills.map((f) => f.feeKrw.toString()),
      fills.map((f) => f.taxKrw.toString()),
      fills.map((f) => f.fill.executedAt),
    ],
  );
  return rowCount ?? 0;
}

/** Which of these executions are recorded fills. */
export async function existingFills(db: Queryable, executionIds: readonly string[]): Promise<ReadonlySet<string>> {
  if (executionIds.length === 0) return new Set();
  const { rows } = await db.query<{ execution_id: string }>("SELECT execution_id FROM fills WHERE execution_id = ANY($1::text[])", [
    executionIds,
  ]);
  return new Set(rows.map((r) => r.execution_id));
}

/** True the first time a consumer sees an event id, in the caller's transaction. */
export async function markProcessed(db: pg.PoolClient, consumer: string, eventId: string): Promise<boolean> {
  const result = await db.query("INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
    consumer,
    eventId,
  ]);
  return result.rowCount === 1;
}

export async function claimUnpublished(db: pg.PoolClient, limit: number) {
  const { rows } = await db.query<{
    seq: string;
    event_id: string;
    topic: string;
    key: string;
    payload: Buffer;
    trace_headers: Record<string, string> | null;
  }>(
    `SELECT seq, event_id, topic, key, payload, trace_headers FROM outbox WHERE published_at IS NULL
     ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

export async function markPublished(db: pg.PoolClient, seqs: readonly string[]): Promise<void> {
  await db.query("UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])", [seqs]);
}

/** A user's orders, newest first, after the (created_at, order_id) cursor, within the filter (none: all). */
export async function listOrders(
  db: Queryable,
  userId: string,
  before: { createdAt: Date; orderId: string } | undefined,
  pageSize: number,
  filter: OrderFilter = { states: [], createdFrom: undefined, createdBefore: undefined },
): Promise<Order[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders
     WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, order_id) < ($2, $3::uuid))
       AND (cardinality($5::text[]) = 0 OR state = ANY($5::text[]))
       AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
     ORDER BY created_at DESC, order_id DESC LIMIT $4`,
    [
      userId,
      before?.createdAt ?? null,
      before?.orderId ?? null,
      pageSize,
      filter.states,
      filter.createdFrom ?? null,
      filter.createdBefore ?? null,
    ],
  );
  return rows.map(toOrder);
}

/** Orders that sat in one of `states` since before `updatedBefore`: work for the reconciler. */
export async function ordersStuckIn(db: Queryable, states: readonly OrderState[], updatedBefore: Date, limit: number): Promise<Order[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE state = ANY($1::text[]) AND updated_at < $2 ORDER BY updated_at LIMIT $3`,
    [states, updatedBefore, limit],
  );
  return rows.map(toOrder);
}

/**
 * Originals still working by our record whose replacement (an amendment)
 * the venue has answered, untouched since `updatedBefore`: the venue has
 * cancelled them, or refused the amendment (then they stay as they are).
 */
export async function amendedOriginals(
  db: Queryable,
  workingStates: readonly OrderState[],
  updatedBefore: Date,
  limit: number,
): Promise<Order[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE state = ANY($1::text[]) AND updated_at < $2 AND order_id IN (
       SELECT amends_order_id FROM orders
        WHERE amends_order_id IS NOT NULL AND state NOT IN ('received', 'sent', 'unknown', 'rejected'))
     ORDER BY updated_at LIMIT $3`,
    [workingStates, updatedBefore, limit],
  );
  return rows.map(toOrder);
}

/**
 * Orders with unsettled fills, or in a state after which their leftover hold
 * can go, untouched since `quietSince`: work the executions consumer should
 * have done by then (younger work is its own, not to be done twice). An
 * order whose settlement the ledger refused waits as long again after each
 * refusal before it is tried again. An order on a shared hold (an amendment
 * chain) has no release to do until every order on that hold is done.
 */
export async function ordersWithLedgerWork(
  db: Queryable,
  releasableStates: readonly OrderState[],
  quietSince: Date,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ order_id: string }>(
    `SELECT DISTINCT f.order_id FROM fills f JOIN orders o USING (order_id)
       WHERE f.settled_at IS NULL AND f.executed_at < $2 AND (o.settlement_refused_at IS NULL OR o.settlement_refused_at < $2)
     UNION
     SELECT order_id FROM orders o
       WHERE hold_id IS NOT NULL AND NOT hold_released AND state = ANY($1::text[]) AND updated_at < $2
         AND (settlement_refused_at IS NULL OR settlement_refused_at < $2)
         AND NOT (hold_shared AND EXISTS (
           SELECT 1 FROM orders m WHERE m.hold_shared AND m.hold_id = o.hold_id AND m.state <> ALL($1::text[])))
     LIMIT $3`,
    [releasableStates, quietSince, limit],
  );
  return rows.map((r) => r.order_id);
}

/** The orders on these shared holds (an amendment chain's, ADR 0019). */
export async function sharedHoldMembers(db: Queryable, holdIds: readonly string[]): Promise<Order[]> {
  if (holdIds.length === 0) return [];
  const { rows } = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE hold_shared AND hold_id = ANY($1::uuid[])`, [
    holdIds,
  ]);
  return rows.map(toOrder);
}

/** An original whose hold a replacement joins, in the transaction that enters the replacement (under the original's row lock). */
export async function markHoldShared(db: pg.PoolClient, orderId: string): Promise<void> {
  const result = await db.query("UPDATE orders SET hold_shared = true WHERE order_id = $1", [orderId]);
  assert(result.rowCount === 1, `order ${orderId} vanished`);
}

/** `forUpdate`: read under the rows' locks, taken in order id order (as every multi-row writer here takes them). */
export async function getOrders(db: Queryable, orderIds: readonly string[], options: { forUpdate?: boolean } = {}): Promise<Order[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id = ANY($1::uuid[])${options.forUpdate === true ? " ORDER BY order_id FOR UPDATE" : ""}`,
    [orderIds],
  );
  return rows.map(toOrder);
}

export interface StoredFill extends Fill {
  /** The commission; commission and tax together when `taxKrw` is undefined (a fill recorded before the split). */
  readonly feeKrw: bigint;
  readonly taxKrw: bigint | undefined;
}

interface FillRow {
  order_id: string;
  execution_id: string;
  quantity: string;
  price_krw: string;
  fee_krw: string;
  tax_krw: string | null;
}

const toStoredFill = (r: FillRow): StoredFill => ({
  executionId: r.execution_id,
  quantity: BigInt(r.quantity),
  priceKrw: BigInt(r.price_krw),
  feeKrw: BigInt(r.fee_krw),
  taxKrw: r.tax_krw === null ? undefined : BigInt(r.tax_krw),
});

/** The unsettled fills of these orders, per order, in the order they were executed. */
export async function unsettledFillsOf(db: Queryable, orderIds: readonly string[]): Promise<Map<string, StoredFill[]>> {
  const { rows } = await db.query<FillRow>(
    `SELECT order_id, execution_id, quantity, price_krw, fee_krw, tax_krw FROM fills
     WHERE order_id = ANY($1::uuid[]) AND settled_at IS NULL ORDER BY executed_at, execution_id`,
    [orderIds],
  );
  const byOrder = new Map<string, StoredFill[]>();
  for (const r of rows) {
    const fill = toStoredFill(r);
    const list = byOrder.get(r.order_id);
    if (list === undefined) byOrder.set(r.order_id, [fill]);
    else list.push(fill);
  }
  return byOrder;
}

/**
 * Marks these fills settled and forgets the settlement refusals of these
 * orders (the ledger took their work), in one statement. Returns the
 * settlement lag (execution to settlement) in seconds of each fill not
 * settled before.
 */
export async function markSettled(db: Queryable, executionIds: readonly string[], orderIds: readonly string[]): Promise<number[]> {
  const { rows } = await db.query<{ lag_s: string }>(
    `WITH r AS (
       UPDATE orders SET settlement_refusal = NULL, settlement_refused_at = NULL
       WHERE order_id = ANY($2::uuid[]) AND settlement_refusal IS NOT NULL)
     UPDATE fills SET settled_at = now() WHERE execution_id = ANY($1::text[]) AND settled_at IS NULL
     RETURNING extract(epoch FROM settled_at - executed_at) AS lag_s`,
    [executionIds, orderIds],
  );
  return rows.map((r) => Number(r.lag_s));
}

/** Records what the ledger refused of each order's settlement (one statement for all). */
export async function recordSettlementRefusals(db: Queryable, refusals: readonly { orderId: string; reason: string }[]): Promise<void> {
  await db.query(
    `UPDATE orders o SET settlement_refusal = r.reason, settlement_refused_at = now(), settlement_refusals = o.settlement_refusals + 1
     FROM unnest($1::uuid[], $2::text[]) AS r(order_id, reason) WHERE o.order_id = r.order_id`,
    [refusals.map((r) => r.orderId), refusals.map((r) => r.reason)],
  );
}

/** Orders whose settlement the ledger refused and that are not settled since (for the gauge). */
export async function countSettlementRefused(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE settlement_refusal IS NOT NULL");
  return rows[0]?.n ?? 0;
}

/** How many orders are in each state (for the orders-by-state gauge). */
export async function countOrdersByState(db: Queryable): Promise<Map<OrderState, number>> {
  const { rows } = await db.query<{ state: OrderState; n: string }>("SELECT state, count(*) AS n FROM orders GROUP BY state");
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}

/** A fill with its order's owner, symbol and side, as the read side shows it. */
export interface UserFill extends StoredFill {
  readonly orderId: string;
  readonly symbol: string;
  readonly side: Order["side"];
  readonly executedAt: Date;
  readonly settled: boolean;
}

interface UserFillRow extends FillRow {
  symbol: string;
  side: Order["side"];
  executed_at: Date;
  settled: boolean;
}

const USER_FILL_COLUMNS =
  "f.order_id, f.execution_id, f.quantity, f.price_krw, f.fee_krw, f.tax_krw, o.symbol, o.side, f.executed_at, f.settled_at IS NOT NULL AS settled";

const toUserFill = (r: UserFillRow): UserFill => ({
  ...toStoredFill(r),
  orderId: r.order_id,
  symbol: r.symbol,
  side: r.side,
  executedAt: r.executed_at,
  settled: r.settled,
});

export interface FillFilter {
  readonly orderId: string | undefined;
  readonly executedFrom: Date | undefined;
  readonly executedBefore: Date | undefined;
}

/** A user's fills, newest first, after the (executed_at, execution_id) cursor. */
export async function listFills(
  db: Queryable,
  userId: string,
  filter: FillFilter,
  before: { executedAt: Date; executionId: string } | undefined,
  pageSize: number,
): Promise<UserFill[]> {
  const { rows } = await db.query<UserFillRow>(
    `SELECT ${USER_FILL_COLUMNS} FROM fills f JOIN orders o USING (order_id)
     WHERE o.user_id = $1 AND ($2::uuid IS NULL OR f.order_id = $2)
       AND ($3::timestamptz IS NULL OR f.executed_at >= $3) AND ($4::timestamptz IS NULL OR f.executed_at < $4)
       AND ($5::timestamptz IS NULL OR (f.executed_at, f.execution_id) < ($5, $6::text))
     ORDER BY f.executed_at DESC, f.execution_id DESC LIMIT $7`,
    [
      userId,
      filter.orderId ?? null,
      filter.executedFrom ?? null,
      filter.executedBefore ?? null,
      before?.executedAt ?? null,
      before?.executionId ?? null,
      pageSize,
    ],
  );
  return rows.map(toUserFill);
}

/** Every settled fill of a user (since `settledFrom`, if given), in execution order: what the ledger's shares and cash have taken. */
export async function settledFillsOfUser(db: Queryable, userId: string, settledFrom?: Date): Promise<UserFill[]> {
  const { rows } = await db.query<UserFillRow>(
    `SELECT ${USER_FILL_COLUMNS} FROM fills f JOIN orders o USING (order_id)
     WHERE o.user_id = $1 AND f.settled_at IS NOT NULL AND ($2::timestamptz IS NULL OR f.settled_at >= $2)
     ORDER BY f.executed_at, f.execution_id`,
    [userId, settledFrom ?? null],
  );
  return rows.map(toUserFill);
}

/** The tax within each of these orders' fees: the sum of their fills' (0 for fills from before the split). */
export async function taxesOf(db: Queryable, orderIds: readonly string[]): Promise<Map<string, bigint>> {
  const { rows } = await db.query<{ order_id: string; tax_krw: string }>(
    "SELECT order_id, coalesce(sum(tax_krw), 0) AS tax_krw FROM fills WHERE order_id = ANY($1::uuid[]) GROUP BY order_id",
    [orderIds],
  );
  return new Map(rows.map((r) => [r.order_id, BigInt(r.tax_krw)]));
}

export interface OrderFilter {
  readonly states: readonly OrderState[];
  readonly createdFrom: Date | undefined;
  readonly createdBefore: Date | undefined;
}
