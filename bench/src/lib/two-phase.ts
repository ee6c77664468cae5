// The two-database transfer of kuku-bench orders 2pc (ADR 0007): an
// order-like database (orders) and a ledger-like one (balances and holds).
// Placing an order writes both: by two-phase commit, PREPARE TRANSACTION on
// each and COMMIT PREPARED on each, coordinated from here; or by the saga the
// order service runs, three local commits with the order PENDING (UNKNOWN to
// the customer) between them and a reconciler that settles what a crash left.
import pg from "pg";

export const ACCOUNT_BALANCE = 1_000_000_000n;

export interface Transfer {
  readonly orderId: string;
  readonly account: string;
  readonly amount: bigint;
}

export async function createSchemas(orderUrl: string, ledgerUrl: string, accounts: number): Promise<void> {
  const order = new pg.Client({ connectionString: orderUrl });
  const ledger = new pg.Client({ connectionString: ledgerUrl });
  await Promise.all([order.connect(), ledger.connect()]);
  try {
    await order.query(
      "CREATE TABLE orders (id text PRIMARY KEY, account text NOT NULL, amount bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    );
    await ledger.query("CREATE TABLE balances (account text PRIMARY KEY, available bigint NOT NULL CHECK (available >= 0))");
    await ledger.query("CREATE TABLE holds (order_id text PRIMARY KEY, account text NOT NULL, amount bigint NOT NULL)");
    await ledger.query("INSERT INTO balances SELECT 'a' || g, $1 FROM generate_series(1, $2) g", [ACCOUNT_BALANCE.toString(), accounts]);
  } finally {
    await Promise.all([order.end(), ledger.end()]);
  }
}

const HOLD = "INSERT INTO holds (order_id, account, amount) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING";
const DEBIT = "UPDATE balances SET available = available - $2 WHERE account = $1 AND available >= $2";

/** Both branches' work, then PREPARE TRANSACTION on each; the global id is the order id. */
export async function prepareBoth(order: pg.ClientBase, ledger: pg.ClientBase, t: Transfer): Promise<void> {
  await Promise.all([order.query("BEGIN"), ledger.query("BEGIN")]);
  await order.query("INSERT INTO orders (id, account, amount, status) VALUES ($1, $2, $3, 'ACCEPTED')", [t.orderId, t.account, t.amount]);
  await ledger.query(DEBIT, [t.account, t.amount]);
  await ledger.query(HOLD, [t.orderId, t.account, t.amount]);
  await Promise.all([order.query(`PREPARE TRANSACTION 'o-${t.orderId}'`), ledger.query(`PREPARE TRANSACTION 'l-${t.orderId}'`)]);
}

export async function commitBoth(order: pg.ClientBase, ledger: pg.ClientBase, t: Transfer): Promise<void> {
  await Promise.all([order.query(`COMMIT PREPARED 'o-${t.orderId}'`), ledger.query(`COMMIT PREPARED 'l-${t.orderId}'`)]);
}

/** The saga's first two steps: the order PENDING (committed), then the ledger's hold (committed, keyed by the order). */
export async function sagaHold(order: pg.ClientBase, ledger: pg.ClientBase, t: Transfer): Promise<void> {
  await order.query("INSERT INTO orders (id, account, amount, status) VALUES ($1, $2, $3, 'PENDING')", [t.orderId, t.account, t.amount]);
  await ledger.query("BEGIN");
  await ledger.query(DEBIT, [t.account, t.amount]);
  await ledger.query(HOLD, [t.orderId, t.account, t.amount]);
  await ledger.query("COMMIT");
}

export async function sagaAccept(order: pg.ClientBase, t: Transfer): Promise<void> {
  await order.query("UPDATE orders SET status = 'ACCEPTED' WHERE id = $1 AND status = 'PENDING'", [t.orderId]);
}

/** The saga's reconciler: each PENDING order older than `olderThanMs` becomes ACCEPTED when the ledger holds it. */
export async function reconcile(order: pg.ClientBase, ledger: pg.ClientBase, olderThanMs: number): Promise<number> {
  const pending = await order.query<{ id: string }>(
    "SELECT id FROM orders WHERE status = 'PENDING' AND created_at < now() - $1 * interval '1 ms'",
    [olderThanMs],
  );
  if (pending.rowCount === 0) return 0;
  const ids = pending.rows.map((r) => r.id);
  const held = await ledger.query<{ order_id: string }>("SELECT order_id FROM holds WHERE order_id = ANY($1)", [ids]);
  const accepted = held.rows.map((r) => r.order_id);
  // A PENDING order the ledger never held: the hold did not happen and never will (the coordinator is gone).
  await order.query(
    "UPDATE orders SET status = CASE WHEN id = ANY($2) THEN 'ACCEPTED' ELSE 'REJECTED' END WHERE id = ANY($1) AND status = 'PENDING'",
    [ids, accepted],
  );
  return ids.length;
}

/** The prepared transactions a coordinator left, by global id. */
export async function inDoubt(client: pg.ClientBase): Promise<string[]> {
  const rows = await client.query<{ gid: string }>("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()");
  return rows.rows.map((r) => r.gid);
}

/**
 * The locks prepared transactions hold, cluster-wide, by kind: no backend holds
 * them (pid is null); a locked row waits on its writer's transaction id.
 */
export async function inDoubtLocks(client: pg.ClientBase): Promise<string> {
  const rows = await client.query<{ kind: string; n: string }>(
    "SELECT locktype || ' ' || mode AS kind, count(*) AS n FROM pg_locks WHERE pid IS NULL AND granted GROUP BY 1 ORDER BY 1",
  );
  return rows.rows.map((r) => `${r.n} ${r.kind}`).join(", ") || "none";
}
