import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type BenchCommand, durationMsOption, intListOption, intOption } from "../lib/command.js";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { pgbenchSimpleUpdateTps } from "../lib/pgbench.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const FUNDING_MINOR = 1_000_000_000_000n;

export const ledgerTransfers: BenchCommand = {
  name: "ledger transfers",
  summary: "transfers/s and latency through gRPC at several concurrencies, beside pgbench's ceiling",
  options: {
    concurrency: { type: "string", default: "8,32,128", description: "in-flight transfers, comma-separated" },
    duration: { type: "string", default: "10s", description: "measured time per concurrency" },
    accounts: { type: "string", default: "1000", description: "accounts transfers pick from at random" },
    isolation: { type: "string", default: "read_committed", description: "LEDGER_ISOLATION of the service" },
    "pool-size": { type: "string", default: "24", description: "LEDGER_POOL_SIZE_MAX of the service" },
    "pgbench-clients": { type: "string", default: "24", description: "pgbench -N clients for the ceiling" },
    "profile-dir": { type: "string", description: "write a V8 CPU profile of the ledger process here" },
  },
  async run(values) {
    const concurrencies = intListOption(values, "concurrency");
    const durationMs = durationMsOption(values, "duration");
    const accountCount = intOption(values, "accounts", 2);
    const pgbenchClients = intOption(values, "pgbench-clients");
    const ledger = await startLedger(
      {
        LEDGER_ISOLATION: String(values["isolation"]),
        LEDGER_POOL_SIZE_MAX: String(intOption(values, "pool-size")),
      },
      values["profile-dir"] as string | undefined,
    );
    try {
      const { client } = ledger;
      const accounts = await fundedAccounts(client, accountCount, FUNDING_MINOR, "bench-transfers");
      const before = await client.verifyIntegrity({});
      const rows: (string | number)[][] = [];
      let sequence = 0;
      for (const concurrency of concurrencies) {
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
                    requestId: `bench-transfer-${sequence++}`,
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
        rows.push([
          concurrency,
          latency.count,
          failed,
          Math.round(latency.count / seconds),
          (latency.percentile(50) / 1000).toFixed(2),
          (latency.percentile(99) / 1000).toFixed(2),
        ]);
      }
      // Exact balances: every balance equals its postings, and money is conserved.
      const after = await client.verifyIntegrity({});
      const balances = await Promise.all(accounts.map((accountId) => client.getBalances({ accountIds: [accountId] })));
      const totalMinor = balances.reduce((sum, r) => sum + r.balances[0]!.totalMinor, 0n);
      const expectedMinor = FUNDING_MINOR * BigInt(accountCount);

      console.log(`ledger transfers — ${accountCount} accounts, ${durationMs / 1000} s per row, isolation ${String(values["isolation"])}`);
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
};
