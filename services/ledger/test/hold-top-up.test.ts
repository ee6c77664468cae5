// PlaceHold with hold_id (issue 22, an amendment's top-up): the hold grows
// instead of a new one opening, through the unary path of each guard and the
// group commit (SubmitBatch, and every unary call under the batched guard),
// against the real PostgreSQL; VerifyIntegrity stays clean after all of it.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t, { type Test } from "tap";
import type { BalanceGuardName } from "../src/domain/balance-guard.js";
import { countRows, fundedAccount, rejects, rid, startTestLedger, type TestLedger } from "./support/ledger.js";

const MISSING = "00000000-0000-4000-8000-000000000000";

/** Every table and balance that a refused call must leave as it was. */
async function snapshot(env: TestLedger) {
  const counts = await Promise.all((["entries", "postings", "holds", "requests"] as const).map((x) => countRows(env.pool, x)));
  const balances = await env.pool.query("SELECT account_id, total_minor, held_minor, version FROM balances ORDER BY account_id");
  const holds = await env.pool.query("SELECT hold_id, amount_minor, settled_minor, released_minor FROM holds ORDER BY hold_id");
  return { counts, balances: balances.rows, holds: holds.rows };
}

async function heldOf(env: TestLedger, accountId: string) {
  const [balance] = (await env.client.getBalances({ accountIds: [accountId] })).balances;
  return balance?.heldMinor;
}

// The unary paths: row-lock, optimistic and atomic plan and write in #mutate; batched goes through the group commit.
const GUARDS: readonly BalanceGuardName[] = ["row-lock", "optimistic", "atomic", "batched"];

for (const guard of GUARDS) {
  t.test(`LEDGER_BALANCE_GUARD=${guard}`, async (t) => {
    const env = await startTestLedger(`top_up_${guard.replace("-", "_")}`, { balanceGuard: guard });
    t.teardown(() => env.close());
    await t.test("a top-up grows the hold, settles across both parts, releases exactly the rest", (t) => grows(t, env));
    await t.test("refusals name their cause and change nothing", (t) => refusals(t, env));
    await t.test("a replayed top-up answers the first answer and holds once", (t) => replays(t, env));
    await t.test("through SubmitBatch, beside other items, each answered on its own", (t) => batched(t, env));
    await t.test("a release sized by what it keeps: down to it, or nothing", (t) => keeps(t, env));
    t.same((await env.client.verifyIntegrity({})).discrepancies, [], "held balances equal the open holds' remainders");
  });
}

async function grows(t: Test, env: TestLedger) {
  const { client } = env;
  const cash = await fundedAccount(client, `grow-${rid()}`, "KRW", 1_000_000n);
  const seller = await fundedAccount(client, `grow-seller-${rid()}`, "KRW", 0n);
  const placed = await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 300_000n, reference: "order-1" });
  const holdId = placed.hold!.holdId;
  const holdsBefore = await countRows(env.pool, "holds");

  const topped = await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 200_000n, reference: "order-2", holdId });
  t.equal(topped.hold?.holdId, holdId, "the same hold answers");
  t.equal(topped.hold?.amountMinor, 500_000n);
  t.equal(topped.hold?.remainingMinor, 500_000n);
  t.equal(topped.hold?.reference, "order-1", "the reference stays the first one");
  t.equal(topped.balance?.heldMinor, 500_000n);
  t.equal(topped.balance?.availableMinor, 500_000n);
  t.equal(await countRows(env.pool, "holds"), holdsBefore, "no new hold");
  t.equal((await client.getHold({ holdId })).hold?.amountMinor, 500_000n, "the grown amount is stored");
  t.same((await client.verifyIntegrity({})).discrepancies, []);

  // More than the first 300,000, within the grown 500,000.
  const settled = await client.settleHold({
    requestId: rid(),
    debits: [{ holdId, amountMinor: 400_000n }],
    legs: [{ accountId: seller, amountMinor: 400_000n }],
  });
  t.equal(settled.holds[0]?.remainingMinor, 100_000n);
  await rejects(
    t,
    client.settleHold({
      requestId: rid(),
      debits: [{ holdId, amountMinor: 100_001n }],
      legs: [{ accountId: seller, amountMinor: 100_001n }],
    }),
    Code.FailedPrecondition,
    /has 100000 remaining, 100001 requested/,
  );

  const released = await client.releaseHold({ requestId: rid(), holdId });
  t.equal(released.hold?.releasedMinor, 100_000n, "the release frees exactly what is left");
  t.equal(released.hold?.status, api.HoldStatus.CLOSED);
  t.equal(released.balance?.heldMinor, 0n);
  t.equal(released.balance?.availableMinor, 600_000n);
  t.same((await client.verifyIntegrity({})).discrepancies, []);
}

async function refusals(t: Test, env: TestLedger) {
  const { client } = env;
  const mine = await fundedAccount(client, `refused-${rid()}`, "KRW", 1_000n);
  const theirs = await fundedAccount(client, `refused-other-${rid()}`, "KRW", 1_000n);
  const seller = await fundedAccount(client, `refused-seller-${rid()}`, "KRW", 0n);
  const open = (await client.placeHold({ requestId: rid(), accountId: mine, amountMinor: 100n })).hold!.holdId;
  const released = (await client.placeHold({ requestId: rid(), accountId: mine, amountMinor: 100n })).hold!.holdId;
  await client.releaseHold({ requestId: rid(), holdId: released });
  const settled = (await client.placeHold({ requestId: rid(), accountId: mine, amountMinor: 100n })).hold!.holdId;
  await client.settleHold({
    requestId: rid(),
    debits: [{ holdId: settled, amountMinor: 100n }],
    legs: [{ accountId: seller, amountMinor: 100n }],
  });
  const other = (await client.placeHold({ requestId: rid(), accountId: theirs, amountMinor: 100n })).hold!.holdId;
  const before = await snapshot(env);

  const topUp = (holdId: string, amountMinor = 1n) => client.placeHold({ requestId: rid(), accountId: mine, amountMinor, holdId });
  await rejects(t, topUp(released), Code.FailedPrecondition, new RegExp(`^hold ${released} is closed`));
  await rejects(t, topUp(settled), Code.FailedPrecondition, new RegExp(`^hold ${settled} is closed`));
  await rejects(t, topUp(other), Code.InvalidArgument, new RegExp(`^hold_id: hold ${other} belongs to account ${theirs}, not ${mine}`));
  await rejects(t, topUp(MISSING), Code.NotFound, /^hold_id: /);
  await rejects(
    t,
    client.placeHold({ requestId: rid(), accountId: MISSING, amountMinor: 1n, holdId: open }),
    Code.NotFound,
    /^account_id: /,
  );
  // Available is 1,000 - 100 (open) - 100 (settled) = 800: the top-up is refused as a new hold of 801 is.
  const asNew = await rejects(
    t,
    client.placeHold({ requestId: rid(), accountId: mine, amountMinor: 801n }),
    Code.FailedPrecondition,
    /shortfall 1$/,
  );
  const asTopUp = await rejects(t, topUp(open, 801n), Code.FailedPrecondition, /shortfall 1$/);
  t.equal(asTopUp.rawMessage, asNew.rawMessage, "the same refusal as a new hold's");
  t.same(asTopUp.metadata.get("kuku-shortfall-minor"), "1");
  t.same(await snapshot(env), before, "nothing moved");

  const grown = await topUp(open, 800n);
  t.equal(grown.hold?.amountMinor, 900n, "all of available can still be added");
  t.equal(grown.balance?.availableMinor, 0n);
  t.equal(await heldOf(env, theirs), 100n, "the other account is untouched");
}

async function replays(t: Test, env: TestLedger) {
  const { client } = env;
  const cash = await fundedAccount(client, `replay-${rid()}`, "KRW", 1_000n);
  const holdId = (await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 100n })).hold!.holdId;
  const request = { requestId: rid("top-up"), accountId: cash, amountMinor: 50n, holdId };
  const first = await client.placeHold(request);
  const before = await snapshot(env);
  const again = await client.placeHold(request);
  t.same(again, first, "the first answer");
  t.same(await snapshot(env), before, "nothing moved twice");
  t.equal(await heldOf(env, cash), 150n);
  await rejects(
    t,
    client.placeHold({ ...request, amountMinor: 51n }),
    Code.AlreadyExists,
    /different kuku.ledger.v1.PlaceHoldRequest payload/,
  );
  // The same new request twice at once: one applies, the other answers its answer.
  const concurrent = { ...request, requestId: rid("concurrent") };
  const [one, two] = await Promise.all([client.placeHold(concurrent), client.placeHold(concurrent)]);
  t.same(two, one);
  t.equal(one.hold?.amountMinor, 200n);
  t.equal(await heldOf(env, cash), 200n, "held once");
}

async function batched(t: Test, env: TestLedger) {
  const { client } = env;
  const cash = await fundedAccount(client, `batch-${rid()}`, "KRW", 1_000n);
  const theirs = await fundedAccount(client, `batch-other-${rid()}`, "KRW", 1_000n);
  const seller = await fundedAccount(client, `batch-seller-${rid()}`, "KRW", 0n);
  const holdId = (await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 100n, reference: "order-1" })).hold!.holdId;
  const closed = (await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 100n })).hold!.holdId;
  await client.releaseHold({ requestId: rid(), holdId: closed });
  const other = (await client.placeHold({ requestId: rid(), accountId: theirs, amountMinor: 100n })).hold!.holdId;
  const earlier = rid("earlier-top-up");
  await client.placeHold({ requestId: earlier, accountId: cash, amountMinor: 50n, holdId });

  const hold = (requestId: string, amountMinor: bigint, holdId = "", accountId = cash) =>
    create(api.BatchOperationSchema, {
      operation: { case: "placeHold", value: create(api.PlaceHoldRequestSchema, { requestId, accountId, amountMinor, holdId }) },
    });
  const settle = create(api.BatchOperationSchema, {
    operation: {
      case: "settleHold",
      value: create(api.SettleHoldRequestSchema, {
        requestId: rid("settle"),
        debits: [{ holdId, amountMinor: 300n }],
        legs: [{ accountId: seller, amountMinor: 300n }],
      }),
    },
  });
  const { results } = await client.submitBatch({
    batchId: rid("batch"),
    operations: [
      hold(rid("new"), 10n),
      hold(rid("grow"), 200n, holdId),
      settle, // 300 of the 350 the hold now has: more than it had before this batch
      hold(rid("closed"), 1n, closed),
      hold(rid("other"), 1n, other),
      hold(rid("missing"), 1n, MISSING),
      hold(rid("short"), 641n, holdId), // available by then: 640 (below)
      hold(earlier, 50n, holdId),
    ],
  });
  const errorOf = (i: number) => (results[i]?.result.case === "error" ? results[i].result.value : undefined);
  t.equal(results.length, 8, "one result per operation");
  t.equal(results[0]?.result.case, "placeHold", "a new hold beside the top-ups");
  const grown = results[1]?.result;
  t.ok(grown?.case === "placeHold" && grown.value.hold?.holdId === holdId && grown.value.hold.amountMinor === 350n, "the hold grew to 350");
  const settled = results[2]?.result;
  t.ok(settled?.case === "settleHold" && settled.value.holds[0]?.remainingMinor === 50n, "the settlement debits the grown hold");
  t.equal(errorOf(3)?.code, Code.FailedPrecondition, "a closed hold is refused");
  t.match(errorOf(3)?.message, /is closed/);
  t.equal(errorOf(4)?.code, Code.InvalidArgument, "another account's hold is refused");
  t.match(errorOf(4)?.message, /^hold_id: /);
  t.equal(errorOf(5)?.code, Code.NotFound, "an unknown hold is refused");
  t.match(errorOf(5)?.message, /^hold_id: /);
  // Total 1,000 - 300 settled = 700; held 10 (new) + 50 (left of the grown hold) = 60; available 640.
  t.equal(errorOf(6)?.code, Code.FailedPrecondition, "a top-up beyond available is refused");
  t.match(errorOf(6)?.metadata, { "kuku-shortfall-minor": "1" });
  const replayed = results[7]?.result;
  t.ok(replayed?.case === "placeHold" && replayed.value.hold?.amountMinor === 150n, "a replay answers its first answer (the hold at 150)");

  const [balance] = (await client.getBalances({ accountIds: [cash] })).balances;
  t.equal(balance?.totalMinor, 700n);
  t.equal(balance?.heldMinor, 60n, "the new hold and what is left of the grown one");
  t.equal((await client.getHold({ holdId })).hold?.amountMinor, 350n, "the grown amount is stored");
  t.equal(await heldOf(env, theirs), 100n);
  t.same((await client.verifyIntegrity({})).discrepancies, []);
}

async function keeps(t: Test, env: TestLedger) {
  const { client } = env;
  const cash = await fundedAccount(client, `keep-${rid()}`, "KRW", 1_000_000n);
  const { hold } = await client.placeHold({ requestId: rid(), accountId: cash, amountMinor: 500_000n, reference: "order-1" });
  const holdId = hold!.holdId;
  const resized = await client.releaseHold({ requestId: rid(), holdId, keepMinor: 200_000n });
  t.same([resized.hold?.remainingMinor, resized.hold?.releasedMinor, resized.balance?.heldMinor], [200_000n, 300_000n, 200_000n]);
  const before = await snapshot(env);
  const idle = await client.releaseHold({ requestId: rid(), holdId, keepMinor: 250_000n });
  t.same([idle.hold?.remainingMinor, idle.balance?.heldMinor], [200_000n, 200_000n], "keeping more than remains releases nothing");
  const after = await snapshot(env);
  t.same([after.balances, after.holds], [before.balances, before.holds], "and writes no balance or hold");
  const request = { requestId: rid(), holdId, keepMinor: 0n };
  t.equal((await client.releaseHold(request)).hold?.status, api.HoldStatus.CLOSED, "keeping nothing closes it");
  t.equal((await client.releaseHold(request)).hold?.releasedMinor, 500_000n, "a replay answers the first answer");
  await rejects(t, client.releaseHold({ requestId: rid(), holdId, amountMinor: 1n, keepMinor: 1n }), Code.InvalidArgument, /one of/);
  const [item] = (
    await client.submitBatch({
      batchId: rid(),
      operations: [{ operation: { case: "releaseHold", value: { requestId: rid(), holdId, keepMinor: 0n } } }],
    })
  ).results;
  t.equal(item?.result.case, "releaseHold", "a closed hold kept at 0 is no error in a batch either");
  t.same((await client.verifyIntegrity({})).discrepancies, []);
}
