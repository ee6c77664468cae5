// The ledger's concurrency proofs against the real PostgreSQL, under each
// isolation level with the chosen locking (balance rows locked FOR UPDATE in
// account id order). Callers retry ABORTED with the SAME request id, which
// is what makes a retry safe.

import { Code, ConnectError } from "@connectrpc/connect";
import t from "tap";
import type { Isolation } from "../src/store/transactions.js";
import { fundedAccount, retryUntilAnswered, rid, startTestLedger, type TestLedger } from "./support/ledger.js";

const ISOLATIONS: Isolation[] = ["read_committed", "repeatable_read", "serializable"];
const CLIENT_ATTEMPTS_MAX = 20;

const withRetry = <T>(call: () => Promise<T>) => retryUntilAnswered(call, CLIENT_ATTEMPTS_MAX);

async function settledCodes(calls: Promise<unknown>[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const result of await Promise.allSettled(calls)) {
    const code = result.status === "fulfilled" ? "OK" : Code[ConnectError.from(result.reason).code];
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return counts;
}

for (const isolation of ISOLATIONS) {
  t.test(isolation, async (t) => {
    const env: TestLedger = await startTestLedger(`conc_${isolation.slice(0, 2)}`, { isolation, poolSizeMax: 20, attemptsMax: 30 });
    t.teardown(() => env.close());
    const { client } = env;

    t.test("200 concurrent withdrawals: exactly the affordable number succeed", async (t) => {
      const accountId = await fundedAccount(client, "hot", "KRW", 10_000n);
      const calls = Array.from({ length: 200 }, () => {
        const requestId = rid("w");
        return withRetry(() => client.withdraw({ requestId, accountId, amountMinor: 70n }));
      });
      const codes = await settledCodes(calls);
      t.equal(codes.get("OK"), 142, "10,000 / 70 = 142 withdrawals are affordable");
      t.equal(codes.get("FailedPrecondition"), 58, "the rest fail cleanly with insufficient funds");
      const [balance] = (await client.getBalances({ accountIds: [accountId] })).balances;
      t.equal(balance?.totalMinor, 60n);
      t.same((await client.verifyIntegrity({})).discrepancies, []);
    });

    t.test("32 workers of random transfers among 100 accounts conserve every asset", async (t) => {
      const accounts: string[] = [];
      for (let i = 0; i < 100; i++) accounts.push(await fundedAccount(client, `acct-${i}`, "KRW", 100_000n));
      // A fixed number of transfers, not a time window: speed is the benchmarks' business, and a
      // loaded machine must not fail a correctness test.
      const transfersPerWorker = 20;
      const outcome = { ok: 0, insufficient: 0 };
      const worker = async () => {
        for (let i = 0; i < transfersPerWorker; i++) {
          const from = accounts[Math.floor(Math.random() * accounts.length)]!;
          let to = from;
          while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)]!;
          const amountMinor = BigInt(1 + Math.floor(Math.random() * 30_000));
          const requestId = rid("t");
          try {
            await withRetry(() =>
              client.transfer({
                requestId,
                legs: [
                  { accountId: from, amountMinor: -amountMinor },
                  { accountId: to, amountMinor },
                ],
              }),
            );
            outcome.ok += 1;
          } catch (error) {
            if (ConnectError.from(error).code !== Code.FailedPrecondition) throw error;
            outcome.insufficient += 1;
          }
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      t.equal(outcome.ok + outcome.insufficient, 32 * transfersPerWorker, "every transfer got an answer");
      t.ok(outcome.ok > 100, `transfers went through (${outcome.ok} ok, ${outcome.insufficient} refused)`);
      const { balances } = await client.getBalances({ accountIds: accounts });
      t.equal(
        balances.reduce((sum, b) => sum + b.totalMinor, 0n),
        100n * 100_000n,
        "cash is conserved",
      );
      t.ok(
        balances.every((b) => b.availableMinor >= 0n),
        "no account is overdrawn",
      );
      const report = await client.verifyIntegrity({});
      t.same(report.discrepancies, [], "every balance equals the sum of its postings");
    });

    t.test("concurrent replays of one request id have one effect", async (t) => {
      const accountId = await fundedAccount(client, "replay", "KRW", 1_000n);
      const requestId = rid("same");
      const results = await Promise.all(
        Array.from({ length: 25 }, () => withRetry(() => client.withdraw({ requestId, accountId, amountMinor: 100n }))),
      );
      t.equal(new Set(results.map((r) => r.entry?.entryId)).size, 1, "every replay returns the one entry");
      const holdRequestId = rid("hold");
      const holds = await Promise.all(
        Array.from({ length: 25 }, () => withRetry(() => client.placeHold({ requestId: holdRequestId, accountId, amountMinor: 300n }))),
      );
      t.equal(new Set(holds.map((h) => h.hold?.holdId)).size, 1, "one hold");
      const [balance] = (await client.getBalances({ accountIds: [accountId] })).balances;
      t.equal(balance?.totalMinor, 900n, "debited once");
      t.equal(balance?.heldMinor, 300n, "held once");
    });
  });
}
