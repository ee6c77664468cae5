import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type BenchCommand, intOption } from "../lib/command.js";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { analyze, type BulkEntry, derivedBalance, insertBatch, postingCount } from "../lib/ledger-bulk-store.js";
import { benchPool } from "../lib/pool.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const FUNDING_MINOR = 1_000_000_000_000n;

async function sample(count: number, fn: () => Promise<unknown>): Promise<Histogram> {
  const histogram = new Histogram();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    histogram.record(microsSince(t0));
  }
  return histogram;
}

const ms = (micros: number) => (micros / 1000).toFixed(2);

export const ledgerBulk: BenchCommand = {
  name: "ledger bulk",
  summary: "load N journal entries in batches, VerifyIntegrity over them, then reads on a hot account",
  options: {
    entries: { type: "string", default: "1000000", description: "journal entries to load (two postings each)" },
    accounts: { type: "string", default: "10000", description: "accounts the entries touch" },
    "hot-share": { type: "string", default: "15", description: "percent of entries that touch the one hot account" },
    batch: { type: "string", default: "5000", description: "entries per transaction" },
    loaders: { type: "string", default: "2", description: "batches loading in parallel" },
    samples: { type: "string", default: "200", description: "timed calls per read kind" },
  },
  async run(values) {
    const entryCount = intOption(values, "entries");
    const accountCount = intOption(values, "accounts", 2);
    const hotPercent = intOption(values, "hot-share", 0);
    const batchSize = intOption(values, "batch");
    const loaders = intOption(values, "loaders");
    const samples = intOption(values, "samples");
    const ledger = await startLedger({ LEDGER_STATEMENT_TIMEOUT_MS: "60000" });
    const pool = benchPool(ledger.database.url, loaders + 1);
    try {
      const { client } = ledger;
      const accounts = await fundedAccounts(client, accountCount, FUNDING_MINOR, "bench-bulk");
      const hot = accounts[0]!;
      const pick = () => accounts[1 + Math.floor(Math.random() * (accounts.length - 1))]!;

      let next = 0;
      const makeBatch = (): BulkEntry[] => {
        const batch: BulkEntry[] = [];
        while (batch.length < batchSize && next < entryCount) {
          const from = Math.random() * 100 < hotPercent ? hot : pick();
          let to = pick();
          while (to === from) to = pick();
          const amountMinor = BigInt(1 + Math.floor(Math.random() * 10_000));
          batch.push({
            requestId: `bulk-${next++}`,
            postings: [
              { accountId: from, amountMinor: -amountMinor },
              { accountId: to, amountMinor },
            ],
          });
        }
        return batch;
      };
      const loadStarted = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: loaders }, async () => {
          for (let batch = makeBatch(); batch.length > 0; batch = makeBatch()) await insertBatch(pool, batch, "KRW");
        }),
      );
      const loadS = microsSince(loadStarted) / 1e6;
      await analyze(pool);

      const verifyStarted = process.hrtime.bigint();
      const report = await client.verifyIntegrity({}, { timeoutMs: 60_000 });
      const verifyS = microsSince(verifyStarted) / 1e6;

      const hotPostings = await postingCount(pool, hot);
      const materialised = await sample(samples, () => client.getBalances({ accountIds: [hot] }));
      const derived = await sample(Math.min(samples, 50), () => derivedBalance(pool, hot));
      const firstPage = await sample(samples, () =>
        client.listEntries(create(api.ListEntriesRequestSchema, { accountId: hot, pageSize: 50 })),
      );
      // A deep page: follow the cursor 100 pages in, then time the next page.
      let token = "";
      for (let i = 0; i < 100; i++) token = (await client.listEntries({ accountId: hot, pageSize: 50, pageToken: token })).nextPageToken;
      const deepPage = await sample(samples, () => client.listEntries({ accountId: hot, pageSize: 50, pageToken: token }));
      const [balance] = (await client.getBalances({ accountIds: [hot] })).balances;
      const derivedTotal = await derivedBalance(pool, hot);

      console.log(
        `ledger bulk — ${entryCount} entries (${entryCount * 2} postings) over ${accountCount} accounts, batches of ${batchSize}, ${loaders} loaders`,
      );
      console.log(
        table(
          ["step", "seconds", "rate"],
          [
            ["load", loadS.toFixed(1), `${Math.round(entryCount / loadS)} entries/s`],
            ["VerifyIntegrity", verifyS.toFixed(1), `${Math.round(Number(report.postingsChecked) / verifyS)} postings/s`],
            ["load + verify", (loadS + verifyS).toFixed(1), ""],
          ],
        ),
      );
      console.log(
        `integrity: ${report.discrepancies.length === 0 ? "clean" : `${report.discrepancies.length} DISCREPANCIES`} ` +
          `(${report.entriesChecked} entries, ${report.postingsChecked} postings, ${report.accountsChecked} accounts)`,
      );
      console.log(`\nreads on the hot account (${hotPostings} postings), ${samples} sequential calls each:`);
      console.log(
        table(
          ["read", "p50 ms", "p99 ms"],
          [
            ["GetBalances (materialised row, gRPC)", ms(materialised.percentile(50)), ms(materialised.percentile(99))],
            ["sum of postings (derive-on-read, SQL only)", ms(derived.percentile(50)), ms(derived.percentile(99))],
            ["ListEntries first page of 50 (gRPC)", ms(firstPage.percentile(50)), ms(firstPage.percentile(99))],
            ["ListEntries page 101 of 50 (gRPC)", ms(deepPage.percentile(50)), ms(deepPage.percentile(99))],
          ],
        ),
      );
      const agrees = balance?.totalMinor === derivedTotal;
      console.log(`materialised balance ${agrees ? "equals" : "DIFFERS FROM"} the sum of postings (${derivedTotal})`);
      if (report.discrepancies.length > 0 || !agrees) process.exitCode = 1;
    } finally {
      await pool.end();
      await ledger.stop();
    }
  },
};
