// Each balance guard (LEDGER_BALANCE_GUARD) in the ledger started as a real
// process, against the real PostgreSQL and, for redlock-fenced, the three
// real Redis servers: concurrent withdrawals and holds on one hot account
// never overdraw it, money is conserved, and every balance equals the sum
// of its postings (VerifyIntegrity). Callers retry ABORTED with the SAME
// request id, which is what makes a retry safe.
import { fileURLToPath } from "node:url";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, startServiceProcess } from "@kuku/testkit";
import t from "tap";
import { BALANCE_GUARDS } from "../src/domain/balance-guard.js";
import { fundedAccount, retryUntilAnswered, rid } from "./support/ledger.js";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));
const CLIENT_ATTEMPTS_MAX = 30;

const withRetry = <T>(call: () => Promise<T>) => retryUntilAnswered(call, CLIENT_ATTEMPTS_MAX);

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
}

async function balanceOf(client: Client<typeof LedgerService>, accountId: string) {
  const [balance] = (await client.getBalances({ accountIds: [accountId] })).balances;
  if (balance === undefined) throw new Error(`no balance for ${accountId}`);
  return balance;
}

for (const guard of BALANCE_GUARDS) {
  t.test(`LEDGER_BALANCE_GUARD=${guard}`, async (t) => {
    const database = await createTestDatabase(`guard_${guard.replace("-", "_")}`);
    const service = await startServiceProcess({
      cwd: SERVICE_DIR,
      env: {
        LEDGER_PORT: "0",
        LEDGER_DATABASE_URL: database.url,
        LOG_LEVEL: "info",
        LEDGER_BALANCE_GUARD: guard,
        LEDGER_POOL_SIZE_MAX: "16",
        LEDGER_TX_ATTEMPTS_MAX: "30",
        // As the in-process tests: a queue on one row on a shared 2-core machine can pass the 10 s default.
        LEDGER_STATEMENT_TIMEOUT_MS: "30000",
      },
    });
    t.teardown(async () => {
      await service.stop("SIGTERM");
      await database.drop();
    });
    const client = createServiceClient(LedgerService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 30_000 });

    t.test("200 withdrawals and holds on one account, 32 at a time: exactly the affordable number succeed", async (t) => {
      const accountId = await fundedAccount(client, "hot", "KRW", 10_000n);
      const kinds = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? "withdraw" : "hold"));
      // 32 in flight at a time, twice the service's pool: a queue on the one balance row.
      const codes: string[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < kinds.length; i = next++) {
          const requestId = rid(kinds[i]);
          codes[i] = await codeOf(
            withRetry<unknown>(() =>
              kinds[i] === "withdraw"
                ? client.withdraw({ requestId, accountId, amountMinor: 70n })
                : client.placeHold({ requestId, accountId, amountMinor: 70n, reference: requestId }),
            ),
          );
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      const ok = (kind: string) => codes.filter((c, i) => c === "OK" && kinds[i] === kind).length;
      const byCode = Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length]));
      t.same(
        byCode,
        { OK: 142, FailedPrecondition: 58 },
        "10,000 / 70 = 142 are affordable; the rest fail cleanly with insufficient funds",
      );
      const balance = await balanceOf(client, accountId);
      t.equal(balance.totalMinor, 10_000n - 70n * BigInt(ok("withdraw")), "total lost exactly the withdrawals");
      t.equal(balance.heldMinor, 70n * BigInt(ok("hold")), "held is exactly the holds placed");
      t.equal(balance.availableMinor, 60n, "never overdrawn: 60 left");
      const report = await client.verifyIntegrity({});
      t.same(report.discrepancies, [], "every balance equals its postings, every held amount its open holds");
    });

    t.test("concurrent releases and settlements of holds on one account keep it exact", async (t) => {
      const accountId = await fundedAccount(client, "holder", "KRW", 5_000n);
      const buyer = await fundedAccount(client, "seller", "KRW", 0n);
      const holds = await Promise.all(
        Array.from({ length: 20 }, () => {
          const requestId = rid("h");
          return withRetry(() => client.placeHold({ requestId, accountId, amountMinor: 100n, reference: requestId }));
        }),
      );
      await Promise.all(
        holds.map(({ hold }, i) => {
          const requestId = rid(i % 2 === 0 ? "release" : "settle");
          const holdId = hold!.holdId;
          return withRetry<unknown>(() =>
            i % 2 === 0
              ? client.releaseHold({ requestId, holdId })
              : client.settleHold({ requestId, debits: [{ holdId, amountMinor: 100n }], legs: [{ accountId: buyer, amountMinor: 100n }] }),
          );
        }),
      );
      const balance = await balanceOf(client, accountId);
      t.equal(balance.heldMinor, 0n, "every hold is closed");
      t.equal(balance.totalMinor, 5_000n - 10n * 100n, "ten holds were paid out");
      t.equal((await balanceOf(client, buyer)).totalMinor, 1_000n, "to the other account");
      t.same((await client.verifyIntegrity({})).discrepancies, []);
    });

    t.test("16 workers of random transfers among 20 accounts conserve money", async (t) => {
      const accounts: string[] = [];
      for (let i = 0; i < 20; i++) accounts.push(await fundedAccount(client, `spread-${i}`, "KRW", 10_000n));
      const deadline = Date.now() + 1_500;
      let ok = 0;
      const worker = async () => {
        while (Date.now() < deadline) {
          const from = accounts[Math.floor(Math.random() * accounts.length)]!;
          let to = from;
          while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)]!;
          const amountMinor = BigInt(1 + Math.floor(Math.random() * 3_000));
          const requestId = rid("t");
          const code = await codeOf(
            withRetry(() =>
              client.transfer({
                requestId,
                legs: [
                  { accountId: from, amountMinor: -amountMinor },
                  { accountId: to, amountMinor },
                ],
              }),
            ),
          );
          if (code === "OK") ok++;
          else if (code !== "FailedPrecondition") throw new Error(`transfer failed with ${code}`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      t.ok(ok > 20, `transfers went through (${ok})`);
      const { balances } = await client.getBalances({ accountIds: accounts });
      t.equal(
        balances.reduce((sum, b) => sum + b.totalMinor, 0n),
        20n * 10_000n,
        "cash is conserved",
      );
      t.ok(
        balances.every((b) => b.availableMinor >= 0n),
        "no account is overdrawn",
      );
      t.same((await client.verifyIntegrity({})).discrepancies, []);
    });

    t.test("the service ran with this guard", async (t) => {
      t.ok(
        service.logs.some((line) => line.includes(`"balanceGuard":"${guard}"`)),
        service.logs.find((l) => l.includes("ledger ready")) ?? "no ready line was logged",
      );
    });
  });
}
