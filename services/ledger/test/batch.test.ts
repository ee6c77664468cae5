// The group commit and SubmitBatch (ADR 0017) in a real ledger process on
// the real PostgreSQL: per-item answers in a batch (refusals, replays, an
// invalid operation, one the database refuses), linked chains all or
// nothing, one hot account under 200 concurrent withdrawals, and kill -9 in
// the middle of batches.
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createLogger, createPool, createServiceClient } from "@kuku/platform";
import { createTestDatabase, type ServiceProcess, startServiceProcess } from "@kuku/testkit";
import t from "tap";
import { fundedAccount, rid } from "./support/ledger.js";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));
type LedgerClient = Client<typeof api.LedgerService>;

const database = await createTestDatabase("batch");
const pool = createPool(
  { connectionString: database.url, poolSizeMax: 2, statementTimeoutMs: 30_000, applicationName: "batch-test" },
  createLogger("batch-test", "silent"),
);

async function startLedger(): Promise<{ service: ServiceProcess; client: LedgerClient }> {
  const service = await startServiceProcess({
    cwd: SERVICE_DIR,
    env: { LEDGER_PORT: "0", LEDGER_DATABASE_URL: database.url, LOG_LEVEL: "info", LEDGER_BALANCE_GUARD: "batched" },
  });
  return { service, client: createServiceClient(LedgerService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 30_000 }) };
}
const { LedgerService } = api;

let ledger = await startLedger();
t.teardown(async () => {
  await ledger.service.stop("SIGKILL");
  await pool.end();
  await database.drop();
});

async function balanceOf(accountId: string) {
  const [balance] = (await ledger.client.getBalances({ accountIds: [accountId] })).balances;
  if (balance === undefined) throw new Error(`no balance for ${accountId}`);
  return balance;
}

const op = (operation: api.BatchOperation["operation"], linked = false) => create(api.BatchOperationSchema, { operation, linked });
const errorOf = (r: api.BatchResult | undefined) => (r?.result.case === "error" ? r.result.value : undefined);

t.test("a batch answers every operation: applied, refused, replayed, invalid, and text the database would refuse", async (t) => {
  const accountId = await fundedAccount(ledger.client, "mixed", "KRW", 1_000n);
  const replayed = rid("earlier");
  const earlier = await ledger.client.withdraw({ requestId: replayed, accountId, amountMinor: 100n });
  const twice = rid("twice");
  const { results } = await ledger.client.submitBatch({
    batchId: rid("batch"),
    operations: [
      op({ case: "deposit", value: create(api.DepositRequestSchema, { requestId: rid("d"), accountId, amountMinor: 50n }) }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: rid("w"), accountId, amountMinor: 5_000n }) }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: replayed, accountId, amountMinor: 100n }) }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: twice, accountId, amountMinor: 10n }) }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: twice, accountId, amountMinor: 10n }) }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: rid("bad"), accountId, amountMinor: 0n }) }),
      // jsonb refuses a NUL character: the edge's text check refuses this operation alone, before the database.
      op({
        case: "deposit",
        value: create(api.DepositRequestSchema, { requestId: rid("nul"), accountId, amountMinor: 7n, metadata: { note: "a\u0000b" } }),
      }),
      op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: rid("w"), accountId, amountMinor: 40n }) }),
    ],
  });
  t.equal(results.length, 8, "one result per operation");
  t.equal(results[0]?.result.case, "deposit", "a deposit applied");
  t.equal(errorOf(results[1])?.code, Code.FailedPrecondition, "insufficient funds refuses that operation alone");
  t.match(errorOf(results[1])?.metadata, { "kuku-shortfall-minor": "4050" });
  const replay = results[2]?.result;
  t.equal(
    replay?.case === "withdraw" && replay.value.entry?.entryId,
    earlier.entry?.entryId,
    "a replayed request id answers its first result",
  );
  const [first, second] = [results[3]?.result, results[4]?.result];
  t.ok(
    first?.case === "withdraw" && second?.case === "withdraw" && first.value.entry?.entryId === second.value.entry?.entryId,
    "a request id twice in a batch applies once",
  );
  t.equal(errorOf(results[5])?.code, Code.InvalidArgument, "an invalid operation is its own INVALID_ARGUMENT");
  t.match(errorOf(results[5])?.message, /amount_minor: must be greater than 0/);
  t.equal(errorOf(results[6])?.code, Code.InvalidArgument, "a NUL byte is its operation's own INVALID_ARGUMENT, never INTERNAL");
  t.equal(errorOf(results[6])?.message, 'metadata["note"]: contains a NUL byte');
  t.equal(results[7]?.result.case, "withdraw", "the operations after it are answered");
  t.equal((await balanceOf(accountId)).totalMinor, 1_000n - 100n + 50n - 10n - 40n, "exactly the applied ones moved money");
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM entries e JOIN postings p USING (entry_id) WHERE p.account_id = $1", [
    accountId,
  ]);
  t.equal(rows[0].n, 5, "funding, earlier, deposit, twice (once), the last withdrawal");
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("linked chains succeed or fail together", async (t) => {
  const accountId = await fundedAccount(ledger.client, "chained", "KRW", 1_000n);
  const fees = (await ledger.client.getSystemAccount({ kind: api.AccountKind.FEES, asset: "KRW" })).account!.accountId;
  const hold = (requestId: string, amountMinor: bigint, linked: boolean) =>
    op(
      { case: "placeHold", value: create(api.PlaceHoldRequestSchema, { requestId, accountId, amountMinor, reference: requestId }) },
      linked,
    );
  const fee = (requestId: string, amountMinor: bigint, linked = false) =>
    op(
      {
        case: "transfer",
        value: create(api.TransferRequestSchema, {
          requestId,
          legs: [
            { accountId, amountMinor: -amountMinor },
            { accountId: fees, amountMinor },
          ],
        }),
      },
      linked,
    );
  const { results } = await ledger.client.submitBatch({
    batchId: rid("chains"),
    operations: [hold(rid("h"), 500n, true), fee(rid("f"), 10n), hold(rid("h"), 400n, true), fee(rid("f"), 200n), fee(rid("f"), 1n, true)],
  });
  t.same(
    results.map((r) => r.result.case),
    ["placeHold", "transfer", "error", "error", "error"],
    "the first chain applied, the second failed whole, the open one at the end is refused",
  );
  t.match(errorOf(results[2])?.message, /not applied: operation 1 of its linked chain failed/);
  t.equal(errorOf(results[3])?.code, Code.FailedPrecondition, "the fee the second hold left no room for");
  t.equal(errorOf(results[4])?.code, Code.InvalidArgument, "a batch cannot end in a link");
  const balance = await balanceOf(accountId);
  t.equal(balance.totalMinor, 990n, "only the first fee was paid");
  t.equal(balance.heldMinor, 500n, "only the first hold stands");
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM holds WHERE account_id = $1", [accountId]);
  t.equal(rows[0].n, 1, "the failed chain left no hold behind");
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("an amount that would overflow a balance is that operation's INVALID_ARGUMENT, named by its field", async (t) => {
  // An asset of its own: its outside-world account goes to nearly -2^63 and must not meet the other tests' deposits.
  // Transfers between user accounts conserve their sum, so only a system account (which may go negative) can pay
  // a user account past 2^63 - 1.
  const asset = "900015";
  const int64Max = 2n ** 63n - 1n;
  const rich = await fundedAccount(ledger.client, "overflow-rich", asset, int64Max - 100n);
  const payer = (await ledger.client.getSystemAccount({ kind: api.AccountKind.CLEARING, asset })).account!.accountId;
  const pay = (amountMinor: bigint) =>
    op({
      case: "transfer",
      value: create(api.TransferRequestSchema, {
        requestId: rid("pay"),
        legs: [
          { accountId: payer, amountMinor: -amountMinor },
          { accountId: rich, amountMinor },
        ],
      }),
    });
  const { results } = await ledger.client.submitBatch({
    batchId: rid("overflow"),
    operations: [
      op({ case: "deposit", value: create(api.DepositRequestSchema, { requestId: rid("d"), accountId: rich, amountMinor: 101n }) }),
      pay(101n),
      pay(100n),
      pay(1n),
    ],
  });
  t.same(
    results.map((r) => r.result.case),
    ["error", "error", "transfer", "error"],
  );
  t.equal(errorOf(results[0])?.code, Code.InvalidArgument);
  t.equal(errorOf(results[0])?.message, `amount_minor: balance of ${rich} would overflow a signed 64-bit integer`);
  t.equal(errorOf(results[1])?.message, `legs[1].amount_minor: balance of ${rich} would overflow a signed 64-bit integer`);
  t.equal(
    errorOf(results[3])?.message,
    `legs[1].amount_minor: balance of ${rich} would overflow a signed 64-bit integer`,
    "after the batch's own transfer filled it",
  );
  t.equal((await balanceOf(rich)).totalMinor, int64Max, "filled to the last unit, not past it");
  t.equal((await balanceOf(payer)).totalMinor, -100n);
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("an operation the database refuses is isolated: it alone fails, every other one is answered", async (t) => {
  // A rule only PostgreSQL enforces (as a constraint an operator adds would be): the service's checks all pass, the
  // batch's write fails, and the writer splits the batch until the refused operation stands alone.
  await pool.query("ALTER TABLE entries ADD CONSTRAINT test_refused_by_the_database CHECK (NOT metadata ? 'refused')");
  t.teardown(() => pool.query("ALTER TABLE entries DROP CONSTRAINT IF EXISTS test_refused_by_the_database"));
  const accountId = await fundedAccount(ledger.client, "db-refuses", "KRW", 1_000n);
  const deposit = (amountMinor: bigint, metadata: Record<string, string> = {}) =>
    op({ case: "deposit", value: create(api.DepositRequestSchema, { requestId: rid("dep"), accountId, amountMinor, metadata }) });
  const withdraw = (amountMinor: bigint) =>
    op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: rid("wd"), accountId, amountMinor }) });
  const operations = [
    deposit(1n),
    withdraw(2n),
    deposit(4n),
    deposit(8n, { refused: "yes" }),
    withdraw(16n),
    withdraw(5_000n),
    deposit(32n),
  ];
  const { results } = await ledger.client.submitBatch({ batchId: rid("db-refuses"), operations });
  t.same(
    results.map((r) => r.result.case),
    ["deposit", "withdraw", "deposit", "error", "withdraw", "error", "deposit"],
    "one answer per operation",
  );
  t.same(
    { code: errorOf(results[3])?.code, message: errorOf(results[3])?.message },
    { code: Code.Internal, message: "internal error" },
    "the refused one: INTERNAL, no internals",
  );
  t.equal(errorOf(results[5])?.code, Code.FailedPrecondition, "a business refusal stays that operation's own answer");
  t.equal((await balanceOf(accountId)).totalMinor, 1_000n + 1n - 2n + 4n - 16n + 32n, "every other operation applied, once");
  const refusedId = operations[3]!.operation.value!.requestId;
  const stored = await pool.query("SELECT count(*)::int AS n FROM requests WHERE request_id = $1", [refusedId]);
  t.equal(stored.rows[0].n, 0, "nothing of the refused operation was written: its request id can be sent again");
  await pool.query("ALTER TABLE entries DROP CONSTRAINT test_refused_by_the_database");
  const again = await ledger.client.submitBatch({ batchId: rid("again"), operations: [operations[3]!] });
  t.equal(again.results[0]?.result.case, "deposit", "sent again once the database accepts it, it applies");
  t.equal((await balanceOf(accountId)).totalMinor, 1_000n + 1n - 2n + 4n - 16n + 32n + 8n);
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("a batch's operations apply in their order, whichever writer takes them", async (t) => {
  const accountId = await fundedAccount(ledger.client, "ordered", "KRW", 0n);
  const operations = Array.from({ length: 300 }, (_, i) =>
    i % 2 === 0
      ? op({ case: "deposit", value: create(api.DepositRequestSchema, { requestId: rid("in"), accountId, amountMinor: 5n }) })
      : op({ case: "withdraw", value: create(api.WithdrawRequestSchema, { requestId: rid("out"), accountId, amountMinor: 5n }) }),
  );
  const { results } = await ledger.client.submitBatch({ batchId: rid("ordered"), operations });
  t.equal(results.filter((r) => r.result.case !== "error").length, 300, "each withdrawal found the deposit before it");
  t.equal((await balanceOf(accountId)).totalMinor, 0n);
});

t.test("concurrent first deposits of an asset: every writer locks its outside-world account", async (t) => {
  const opened = await Promise.all(
    Array.from({ length: 64 }, (_, i) => ledger.client.openAccount({ requestId: rid("o"), ownerId: `first-${i}`, asset: "000660" })),
  );
  const deposits = await Promise.allSettled(
    opened.map(({ account }) => ledger.client.deposit({ requestId: rid("first"), accountId: account!.accountId, amountMinor: 3n })),
  );
  t.same(
    deposits.filter((d) => d.status === "rejected").map((d) => String((d as PromiseRejectedResult).reason)),
    [],
    "every deposit applied",
  );
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("one request sent many times at once, affordable once: every copy answers the first result", async (t) => {
  // A copy in a batch that waited for another writer's lock read the answered requests before that writer committed;
  // it must still answer the first result, not refuse for the money the first copy took (found by the order service's
  // settlements, which PlaceOrder and the executions consumer both send).
  const accountId = await fundedAccount(ledger.client, "copies", "KRW", 100n);
  const requestId = rid("copies");
  const answers = await Promise.allSettled(
    Array.from({ length: 24 }, () => ledger.client.withdraw({ requestId, accountId, amountMinor: 100n })),
  );
  const refused = answers.filter((a) => a.status === "rejected").map((a) => ConnectError.from(a.reason).rawMessage);
  t.same(refused, [], "no copy refused");
  const entryIds = new Set(answers.flatMap((a) => (a.status === "fulfilled" ? [a.value.entry?.entryId] : [])));
  t.equal(entryIds.size, 1, "every copy answers the same entry");
  t.equal((await balanceOf(accountId)).totalMinor, 0n, "applied once");
});

t.test("200 concurrent withdrawals on one account: exactly the affordable number", async (t) => {
  const accountId = await fundedAccount(ledger.client, "hot", "KRW", 10_000n);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 200 }, () => ledger.client.withdraw({ requestId: rid("hot"), accountId, amountMinor: 70n })),
  );
  const ok = outcomes.filter((o) => o.status === "fulfilled").length;
  const refused = outcomes.filter((o) => o.status === "rejected" && ConnectError.from(o.reason).code === Code.FailedPrecondition).length;
  t.same({ ok, refused }, { ok: 142, refused: 58 }, "10,000 / 70 = 142; the rest are refused cleanly");
  t.equal((await balanceOf(accountId)).totalMinor, 60n);
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});

t.test("kill -9 in the middle of batches: nothing acknowledged is lost, nothing is applied twice", async (t) => {
  const accountId = await fundedAccount(ledger.client, "killed", "KRW", 1_000_000n);
  const ids = Array.from({ length: 600 }, () => rid("k"));
  const acknowledged = new Map<string, string>();
  let next = 0;
  const worker = async (client: LedgerClient) => {
    for (let i = next++; i < ids.length; i = next++) {
      const requestId = ids[i]!;
      const response = await client.withdraw({ requestId, accountId, amountMinor: 1n }).catch(() => undefined);
      if (response !== undefined) acknowledged.set(requestId, response.entry!.entryId);
    }
  };
  const load = Promise.all(Array.from({ length: 64 }, () => worker(ledger.client)));
  while (acknowledged.size < 100) await new Promise((resolve) => setTimeout(resolve, 5));
  await ledger.service.stop("SIGKILL");
  await load;
  t.ok(acknowledged.size < ids.length, `killed with ${ids.length - acknowledged.size} withdrawals unanswered`);

  ledger = await startLedger();
  const { rows } = await pool.query<{ request_id: string; entry_id: string }>(
    "SELECT request_id, entry_id FROM entries WHERE request_id = ANY($1)",
    [[...acknowledged.keys()]],
  );
  t.same(new Map(rows.map((r) => [r.request_id, r.entry_id])), acknowledged, "every acknowledged withdrawal is in the journal as answered");

  // Every client asks again with the same request ids: each applies at most once.
  const again = await Promise.all(ids.map((requestId) => ledger.client.withdraw({ requestId, accountId, amountMinor: 1n })));
  t.ok(
    again.every((r, i) => !acknowledged.has(ids[i]!) || acknowledged.get(ids[i]!) === r.entry?.entryId),
    "an acknowledged request answers its first result",
  );
  const entries = await pool.query("SELECT count(*)::int AS n FROM entries WHERE request_id = ANY($1)", [ids]);
  t.equal(entries.rows[0].n, ids.length, "one entry per request id");
  t.equal((await balanceOf(accountId)).totalMinor, 1_000_000n - BigInt(ids.length), "each withdrawal taken exactly once");
  t.same((await ledger.client.verifyIntegrity({})).discrepancies, []);
});
