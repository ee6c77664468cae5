import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { command, duration, int, intList, text } from "../lib/command.js";
import { fundedAccounts, type LedgerUnderTest, startLedger } from "../lib/ledger.js";
import { pgbenchSimpleUpdateTps } from "../lib/pgbench.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const FUNDING_MINOR = 1_000_000_000_000n;

/** Random transfers between `accounts` from `concurrency` callers for `durationMs`: one row of figures. */
async function transfersAt(
  concurrency: number,
  durationMs: number,
  client: LedgerUnderTest["client"],
  accounts: readonly string[],
  requestId: () => string,
): Promise<(string | number)[]> {
  const latency = new Histogram();
  let failed = 0;
  const endAt = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < endAt) {
        const from = accounts[Math.floor(Math.random() * accounts.length)]!;
        let to = from;
        while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)]!;
        const amountMinor = BigInt(1 + Math.floor(Math.random() * 10_000));
        const t0 = process.hrtime.bigint();
        try {
          await client.transfer(
            create(api.TransferRequestSchema, {
              requestId: requestId(),
              legs: [
                { accountId: from, asset: "KRW", amountMinor: -amountMinor },
                { accountId: to, asset: "KRW", amountMinor },
              ],
            }),
          );
          latency.record(microsSince(t0));
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = microsSince(started) / 1e6;
  return [
    concurrency,
    latency.count,
    failed,
    Math.round(latency.count / seconds),
    (latency.percentile(50) / 1000).toFixed(2),
    (latency.percentile(99) / 1000).toFixed(2),
  ];
}

export const ledgerTransfers = command({
  name: "ledger transfers",
  summary: "transfers/s and latency through gRPC at several concurrencies, beside pgbench's ceiling",
  options: {
    concurrency: intList("in-flight transfers, comma-separated", "8,32,128"),
    duration: duration("measured time per concurrency", "10s"),
    accounts: int("accounts transfers pick from at random", 1000, 2),
    isolation: text("LEDGER_ISOLATION of the service", "read_committed"),
    "pool-size": int("LEDGER_POOL_SIZE_MAX of the service", 24),
    "pgbench-clients": int("pgbench -N clients for the ceiling", 24),
    "profile-dir": text("write a V8 CPU profile of the ledger process here"),
  },
  async run(values) {
    const { concurrency: concurrencies, duration: durationMs, accounts: accountCount, "pgbench-clients": pgbenchClients } = values;
    const ledger = await startLedger(
      { LEDGER_ISOLATION: values.isolation, LEDGER_POOL_SIZE_MAX: String(values["pool-size"]) },
      values["profile-dir"],
    );
    try {
      const { client } = ledger;
      const accounts = await fundedAccounts(client, accountCount, FUNDING_MINOR, "bench-transfers");
      const before = await client.verifyIntegrity({});
      const rows: (string | number)[][] = [];
      let sequence = 0;
      for (const concurrency of concurrencies) {
        rows.push(await transfersAt(concurrency, durationMs, client, accounts, () => `bench-transfer-${sequence++}`));
      }
      // Exact balances: every balance equals its postings, and money is conserved.
      const after = await client.verifyIntegrity({});
      const balances = await Promise.all(accounts.map((accountId) => client.getBalances({ accountIds: [accountId] })));
      const totalMinor = balances.reduce((sum, r) => sum + r.balances[0]!.totalMinor, 0n);
      const expectedMinor = FUNDING_MINOR * BigInt(accountCount);

      console.log(`ledger transfers — ${accountCount} accounts, ${durationMs / 1000} s per row, isolation ${values.isolation}`);
      console.log(table(["concurrency", "ok", "failed", "transfers/s", "p50 ms", "p99 ms"], rows));
      console.log(
        `integrity: ${after.discrepancies.length === 0 ? "clean" : `${after.discrepancies.length} DISCREPANCIES`} ` +
          `(${after.entriesChecked} entries, was ${before.entriesChecked}); ` +
          `sum of balances ${totalMinor === expectedMinor ? "conserved" : `NOT conserved: ${totalMinor} != ${expectedMinor}`}`,
      );
      const tps = await pgbenchSimpleUpdateTps({ clients: pgbenchClients, durationS: Math.max(5, Math.round(durationMs / 1000)) });
      const best = Math.max(...rows.map((r) => Number(r[3])));
      console.log(
        `pgbench -N -c ${pgbenchClients} on the same server: ${Math.round(tps)} tps; best ledger rate is ${((best / tps) * 100).toFixed(1)} % of it`,
      );
      if (after.discrepancies.length > 0 || totalMinor !== expectedMinor) process.exitCode = 1;
    } finally {
      await ledger.stop();
    }
  },
});
