import { Code, ConnectError } from "@connectrpc/connect";
import { AccountKind, HoldStatus } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t from "tap";
import { countRows, fundedAccount, rejects, rid, startTestLedger, type TestLedger } from "./support/ledger.js";

let env: TestLedger;
t.before(async () => {
  env = await startTestLedger("api");
});
t.teardown(() => env.close());

/** Every table that a failed call must leave untouched. */
async function snapshot() {
  const counts = await Promise.all((["entries", "postings", "holds", "requests", "accounts"] as const).map((x) => countRows(env.pool, x)));
  const { rows } = await env.pool.query("SELECT account_id, total_minor, held_minor, version FROM balances ORDER BY account_id");
  return { counts, balances: rows };
}

t.test("deposit and withdraw move cash from and to the outside world", async (t) => {
  const { client } = env;
  const accountId = await fundedAccount(client, "alice", "KRW", 1_000_000n);
  const out = await client.withdraw({ requestId: rid(), accountId, amountMinor: 250_000n });
  t.equal(out.balance?.totalMinor, 750_000n);
  t.equal(out.balance?.availableMinor, 750_000n);
  t.equal(out.entry?.postings.length, 2);
  t.equal(
    out.entry!.postings.reduce((s, p) => s + p.amountMinor, 0n),
    0n,
    "the entry balances",
  );
  const external = await client.getSystemAccount({ kind: AccountKind.EXTERNAL, asset: "KRW" });
  const [balance] = (await client.getBalances({ accountIds: [external.account!.accountId] })).balances;
  t.ok(balance!.totalMinor < 0n, "the outside world's account mirrors what came in");
});

t.test("opening an account twice returns the same account", async (t) => {
  const first = await env.client.openAccount({ requestId: rid(), ownerId: "bob", asset: "005930" });
  const second = await env.client.openAccount({ requestId: rid(), ownerId: "bob", asset: "005930" });
  t.equal(second.account?.accountId, first.account?.accountId);
  await rejects(t, env.client.openAccount({ requestId: rid(), ownerId: "system:fees", asset: "KRW" }), Code.InvalidArgument, /^owner_id: /);
});

t.test("insufficient funds: FAILED_PRECONDITION with the shortfall, nothing written", async (t) => {
  const accountId = await fundedAccount(env.client, "carol", "KRW", 100n);
  const before = await snapshot();
  const error = await rejects(
    t,
    env.client.withdraw({ requestId: rid(), accountId, amountMinor: 130n }),
    Code.FailedPrecondition,
    /requested 130 KRW, available 100, shortfall 30/,
  );
  t.equal(error.metadata.get("kuku-shortfall-minor"), "30");
  t.same(await snapshot(), before);
});

t.test("a replayed request id returns the original result and changes nothing", async (t) => {
  const accountId = await fundedAccount(env.client, "dave", "KRW", 1_000n);
  const requestId = rid();
  const first = await env.client.withdraw({ requestId, accountId, amountMinor: 300n });
  const before = await snapshot();
  const again = await env.client.withdraw({ requestId, accountId, amountMinor: 300n });
  t.equal(again.entry?.entryId, first.entry?.entryId);
  t.equal(again.balance?.totalMinor, 700n);
  t.same(await snapshot(), before);
  await rejects(
    t,
    env.client.withdraw({ requestId, accountId, amountMinor: 301n }),
    Code.AlreadyExists,
    /^request_id: .* different kuku.ledger.v1.WithdrawRequest payload/,
  );
  await rejects(t, env.client.deposit({ requestId, accountId, amountMinor: 300n }), Code.AlreadyExists, /request_id/);
  t.same(await snapshot(), before);
});

t.test("bad input: INVALID_ARGUMENT naming the field, nothing written", async (t) => {
  const accountId = await fundedAccount(env.client, "erin", "KRW", 1_000n);
  const shares = await fundedAccount(env.client, "erin", "000660", 10n);
  const before = await snapshot();
  await rejects(
    t,
    env.client.deposit({ requestId: rid(), accountId, amountMinor: 0n }),
    Code.InvalidArgument,
    /amount_minor: must be greater than 0/,
  );
  await rejects(t, env.client.deposit({ requestId: rid(), accountId, amountMinor: -5n }), Code.InvalidArgument, /amount_minor/);
  await rejects(t, env.client.deposit({ requestId: "", accountId, amountMinor: 5n }), Code.InvalidArgument, /request_id/);
  await rejects(
    t,
    env.client.deposit({ requestId: rid(), accountId: "nope", amountMinor: 5n }),
    Code.InvalidArgument,
    /account_id: must be a valid UUID/,
  );
  await rejects(t, env.client.openAccount({ requestId: rid(), ownerId: "x", asset: "USD" }), Code.InvalidArgument, /asset/);
  await rejects(
    t,
    env.client.deposit({ requestId: rid(), accountId, amountMinor: 2n ** 63n - 1n }),
    Code.InvalidArgument,
    /would overflow/,
  );
  await rejects(
    t,
    env.client.transfer({
      requestId: rid(),
      legs: [
        { accountId, amountMinor: -10n },
        { accountId: shares, amountMinor: 10n },
      ],
    }),
    Code.InvalidArgument,
    /^legs: legs must sum to zero per asset: KRW sums to -10, 000660 sums to 10/,
  );
  await rejects(
    t,
    env.client.transfer({
      requestId: rid(),
      legs: [
        { accountId, amountMinor: -10n },
        { accountId: shares, amountMinor: 10n, asset: "KRW" },
      ],
    }),
    Code.InvalidArgument,
    /^legs\[1\]\.asset: account .* holds 000660, not KRW/,
  );
  await rejects(t, env.client.transfer({ requestId: rid(), legs: [{ accountId, amountMinor: -10n }] }), Code.InvalidArgument, /legs/);
  t.same(await snapshot(), before);
});

t.test("unknown accounts and holds: NOT_FOUND naming the field", async (t) => {
  const missing = "00000000-0000-4000-8000-000000000000";
  await rejects(t, env.client.deposit({ requestId: rid(), accountId: missing, amountMinor: 1n }), Code.NotFound, /^account_id: /);
  await rejects(t, env.client.releaseHold({ requestId: rid(), holdId: missing }), Code.NotFound, /^hold_id: /);
  await rejects(t, env.client.getBalances({ accountIds: [missing] }), Code.NotFound, /^account_ids: /);
});

t.test("a multi-leg transfer posts one balanced entry", async (t) => {
  const a = await fundedAccount(env.client, "t-a", "KRW", 1_000n);
  const b = await fundedAccount(env.client, "t-b", "KRW", 0n);
  const c = await fundedAccount(env.client, "t-c", "KRW", 0n);
  const out = await env.client.transfer({
    requestId: rid(),
    legs: [
      { accountId: a, amountMinor: -600n },
      { accountId: b, amountMinor: 400n },
      { accountId: c, amountMinor: 200n, asset: "KRW" },
    ],
    metadata: { memo: "split" },
  });
  t.same(
    out.balances.map((x) => [x.accountId, x.totalMinor]).sort(),
    [
      [a, 400n],
      [b, 400n],
      [c, 200n],
    ].sort(),
  );
  t.equal(out.entry?.metadata["memo"], "split");
});

t.test("holds: reserve, release part, settle a trade in one entry with fees", async (t) => {
  const { client } = env;
  const buyerCash = await fundedAccount(client, "buyer", "KRW", 1_000_000n);
  const buyerShares = await fundedAccount(client, "buyer", "005930", 0n);
  const sellerCash = await fundedAccount(client, "seller", "KRW", 0n);
  const sellerShares = await fundedAccount(client, "seller", "005930", 10n);
  const fees = (await client.getSystemAccount({ kind: AccountKind.FEES, asset: "KRW" })).account!.accountId;

  const cashHold = await client.placeHold({ requestId: rid(), accountId: buyerCash, amountMinor: 721_000n, reference: "order-1" });
  t.equal(cashHold.balance?.heldMinor, 721_000n);
  t.equal(cashHold.balance?.availableMinor, 279_000n);
  await rejects(
    t,
    client.withdraw({ requestId: rid(), accountId: buyerCash, amountMinor: 279_001n }),
    Code.FailedPrecondition,
    /shortfall 1$/,
  );
  const shareHold = await client.placeHold({ requestId: rid(), accountId: sellerShares, amountMinor: 10n, reference: "order-2" });
  await rejects(
    t,
    client.placeHold({ requestId: rid(), accountId: sellerShares, amountMinor: 1n }),
    Code.FailedPrecondition,
    /shortfall 1$/,
  );

  // 10 shares at 72,000 won: buyer pays 720,000 + 100 fee, seller receives 720,000 - 150 fee.
  const settled = await client.settleHold({
    requestId: rid(),
    debits: [
      { holdId: cashHold.hold!.holdId, amountMinor: 720_100n },
      { holdId: shareHold.hold!.holdId, amountMinor: 10n },
    ],
    legs: [
      { accountId: sellerCash, amountMinor: 719_850n },
      { accountId: fees, amountMinor: 250n },
      { accountId: buyerShares, amountMinor: 10n },
    ],
  });
  t.equal(settled.entry?.postings.length, 5, "one entry carries cash, shares and fees");
  const byAccount = new Map(settled.balances.map((b) => [b.accountId, b]));
  t.equal(byAccount.get(buyerCash)?.totalMinor, 279_900n);
  t.equal(byAccount.get(buyerCash)?.heldMinor, 900n, "the unfilled rest stays held");
  t.equal(byAccount.get(buyerShares)?.totalMinor, 10n);
  t.equal(byAccount.get(sellerShares)?.totalMinor, 0n);
  t.equal(byAccount.get(sellerCash)?.totalMinor, 719_850n);

  await rejects(
    t,
    client.settleHold({
      requestId: rid(),
      debits: [{ holdId: cashHold.hold!.holdId, amountMinor: 901n }],
      legs: [{ accountId: sellerCash, amountMinor: 901n }],
    }),
    Code.FailedPrecondition,
    /has 900 remaining, 901 requested/,
  );
  const released = await client.releaseHold({ requestId: rid(), holdId: cashHold.hold!.holdId });
  t.equal(released.hold?.status, HoldStatus.CLOSED);
  t.equal(released.hold?.releasedMinor, 900n);
  t.equal(released.balance?.heldMinor, 0n);
  t.equal(released.balance?.availableMinor, 279_900n);
  await rejects(
    t,
    client.releaseHold({ requestId: rid(), holdId: cashHold.hold!.holdId, amountMinor: 1n }),
    Code.FailedPrecondition,
    /has 0 remaining/,
  );
  const integrity = await client.verifyIntegrity({});
  t.same(integrity.discrepancies, []);
});

t.test("history pages newest first with a stable cursor", async (t) => {
  const accountId = await fundedAccount(env.client, "history", "KRW", 0n);
  for (let i = 1; i <= 7; i++) await env.client.deposit({ requestId: rid(), accountId, amountMinor: BigInt(i) });
  const seen: bigint[] = [];
  let pageToken = "";
  let pages = 0;
  do {
    const page = await env.client.listEntries({ accountId, pageSize: 3, pageToken });
    seen.push(...page.entries.map((e) => e.postings.find((p) => p.accountId === accountId)!.amountMinor));
    pageToken = page.nextPageToken;
    pages += 1;
  } while (pageToken !== "" && pages < 10);
  t.same(seen, [7n, 6n, 5n, 4n, 3n, 2n, 1n]);
  t.equal(pages, 3);
  await rejects(t, env.client.listEntries({ accountId, pageToken: "bogus" }), Code.InvalidArgument, /^page_token: /);
  // Past PostgreSQL's bigint: refused before the cast could fail as INTERNAL.
  const overflow = Buffer.from("p9999999999999999999").toString("base64url");
  await rejects(t, env.client.listEntries({ accountId, pageToken: overflow }), Code.InvalidArgument, /^page_token: /);
});

t.test("PostgreSQL itself refuses unbalanced entries, history edits and overdrafts", async (t) => {
  const accountId = await fundedAccount(env.client, "db-guard", "KRW", 500n);
  const db = await env.pool.connect();
  try {
    const entryId = "11111111-1111-4111-8111-111111111111";
    await t.rejects(
      (async () => {
        await db.query("BEGIN");
        try {
          await db.query("INSERT INTO entries (entry_id, request_id, kind) VALUES ($1, 'manual', 3)", [entryId]);
          await db.query("INSERT INTO postings (entry_id, account_id, asset, amount_minor) VALUES ($1, $2, 'KRW', 10)", [
            entryId,
            accountId,
          ]);
          await db.query("COMMIT");
        } finally {
          await db.query("ROLLBACK");
        }
      })(),
      /does not balance: KRW sums to 10/,
    );
    await t.rejects(db.query("UPDATE postings SET amount_minor = amount_minor * 2"), /postings is append-only: UPDATE refused/);
    await t.rejects(db.query("DELETE FROM entries"), /entries is append-only: DELETE refused/);
    await t.rejects(db.query("UPDATE balances SET total_minor = -1 WHERE account_id = $1", [accountId]), /user_never_overdrawn/);
  } finally {
    db.release();
  }
});

t.test("VerifyIntegrity finds a balance that disagrees with its postings", async (t) => {
  const accountId = await fundedAccount(env.client, "tamper", "KRW", 500n);
  t.same((await env.client.verifyIntegrity({})).discrepancies, []);
  await env.pool.query("UPDATE balances SET total_minor = total_minor + 7 WHERE account_id = $1", [accountId]);
  const report = await env.client.verifyIntegrity({});
  t.equal(report.discrepancies.length, 1);
  t.match(report.discrepancies[0], { kind: "balance_mismatch", accountId, expectedMinor: 500n, actualMinor: 507n });
  await env.pool.query("UPDATE balances SET total_minor = total_minor - 7 WHERE account_id = $1", [accountId]);
  t.same((await env.client.verifyIntegrity({})).discrepancies, []);
});

t.test("concurrent GetBalances share queries and each answers its own selector, after every finished write", async (t) => {
  const { client } = env;
  const owners = Array.from({ length: 8 }, (_, i) => `reads-${i}`);
  const cash = await Promise.all(owners.map((owner, i) => fundedAccount(client, owner, "KRW", 1_000n * BigInt(i + 1))));
  const shares = await Promise.all(owners.map((owner, i) => fundedAccount(client, owner, "005930", BigInt(i + 1))));
  const missing = "00000000-0000-4000-8000-000000000000";
  const started = env.ledger.balanceReads.queries;
  // 96 calls at once: by owner, by one account, by two accounts (one given twice), and one unknown account among them.
  const calls = owners.flatMap((owner, i) => [
    client.getBalances({ ownerId: owner }).then((r) => ({ kind: "owner", i, r })),
    client.getBalances({ accountIds: [cash[i]!] }).then((r) => ({ kind: "one", i, r })),
    client.getBalances({ accountIds: [shares[i]!, cash[i]!, shares[i]!] }).then((r) => ({ kind: "two", i, r })),
  ]);
  const unknown = client.getBalances({ accountIds: [cash[0]!, missing] }).then(
    () => "answered",
    (e: unknown) => ConnectError.from(e).code,
  );
  const answers = await Promise.all([...calls, ...calls, ...calls, ...calls]);
  t.equal(await unknown, Code.NotFound, "an unknown account among known ones is NOT_FOUND for that call only");
  for (const { kind, i, r } of answers) {
    const got = r.balances.map((b) => [b.asset, b.accountId, b.totalMinor]);
    const krw = ["KRW", cash[i]!, 1_000n * BigInt(i + 1)];
    const stock = ["005930", shares[i]!, BigInt(i + 1)];
    // Sorted by asset, then account: "005930" before "KRW".
    t.same(got, kind === "one" ? [krw] : [stock, krw], `${kind} ${i}`);
  }
  const queries = env.ledger.balanceReads.queries - started;
  t.ok(queries < answers.length, `${answers.length + 1} calls took ${queries} queries`);

  // A call made after a write finished sees it (or later writes), however reads are grouped.
  const reads = Array.from({ length: 20 }, async (_, k) => {
    const written = await client.deposit({ requestId: rid(), accountId: cash[k % owners.length]!, amountMinor: 1n });
    const read = await client.getBalances({ accountIds: [cash[k % owners.length]!] });
    return { written: written.balance!.totalMinor, read: read.balances[0]!.totalMinor };
  });
  for (const [k, { written, read }] of (await Promise.all(reads)).entries()) {
    t.ok(read >= written, `read ${k} sees its own deposit (${read} >= ${written})`);
  }
});
