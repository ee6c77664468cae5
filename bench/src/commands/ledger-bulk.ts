import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { choice, command, int } from "../lib/command.js";
import { fundedAccounts, type LedgerUnderTest, startLedger } from "../lib/ledger.js";
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

// Issue 15: a million entries loaded through the service and verified in under two minutes.
const GOAL = { entries: 1_000_000, seconds: 120 };

type Loader = (batch: readonly BulkEntry[]) => Promise<void>;

/** Writes a batch as ONE SubmitBatch of transfers through the service; throws unless every transfer applied. */
function viaService(client: LedgerUnderTest["client"], batchIds: { next: number }): Loader {
  return async (batch) => {
    const operations = batch.map((entry) =>
      create(api.BatchOperationSchema, {
        operation: {
          case: "transfer",
          value: create(api.TransferRequestSchema, {
            requestId: entry.requestId,
            legs: entry.postings.map((p) => ({ accountId: p.accountId, asset: "KRW", amountMinor: p.amountMinor })),
          }),
        },
      }),
    );
    const { results } = await client.submitBatch({ batchId: `bulk-batch-${batchIds.next++}`, operations }, { timeoutMs: 60_000 });
    const failed = results.find((r) => r.result.case !== "transfer");
    if (failed !== undefined || results.length !== batch.length) {
      const why = failed?.result.case === "error" ? failed.result.value.message : `${results.length} results`;
      throw new Error(`SubmitBatch did not apply every transfer: ${why}`);
    }
  };
}

/**
 * Loads `entryCount` two-leg entries, `loaders` batches at a time, a share
 * of them on the hot account (accounts[0]): the seconds it took.
 */
async function bulkLoad(
  accounts: readonly string[],
  load: { entryCount: number; batchSize: number; hotPercent: number; loaders: number },
  write: Loader,
): Promise<number> {
  const hot = accounts[0]!;
  const pick = () => accounts[1 + Math.floor(Math.random() * (accounts.length - 1))]!;
  let next = 0;
  const makeBatch = (): BulkEntry[] => {
    const batch: BulkEntry[] = [];
    while (batch.length < load.batchSize && next < load.entryCount) {
      const from = Math.random() * 100 < load.hotPercent ? hot : pick();
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
    Array.from({ length: load.loaders }, async () => {
      for (let batch = makeBatch(); batch.length > 0; batch = makeBatch()) await write(batch);
    }),
  );
  return microsSince(loadStarted) / 1e6;
}

function goalVerdict(entryCount: number, via: string, seconds: number): string {
  if (entryCount < GOAL.entries || via !== "service") return `(the goal is ${GOAL.entries} entries via the service)`;
  return `goal < ${GOAL.seconds} s: ${seconds < GOAL.seconds ? "met" : "NOT met"}`;
}

/** The sum of every account's balance, read through the service (GetBalances takes 100 ids at a time). */
async function totalBalance(client: LedgerUnderTest["client"], accounts: readonly string[]): Promise<bigint> {
  let total = 0n;
  for (let i = 0; i < accounts.length; i += 100) {
    const { balances } = await client.getBalances({ accountIds: accounts.slice(i, i + 100) });
    total += balances.reduce((sum, b) => sum + b.totalMinor, 0n);
  }
  return total;
}

/** Latencies of the reads of the hot account: its materialised balance, the derived sum, a first and a deep page of entries. */
async function timeReads(client: LedgerUnderTest["client"], pool: ReturnType<typeof benchPool>, hot: string, samples: number) {
  const materialised = await sample(samples, () => client.getBalances({ accountIds: [hot] }));
  const derived = await sample(Math.min(samples, 50), () => derivedBalance(pool, hot));
  const firstPage = await sample(samples, () => client.listEntries(create(api.ListEntriesRequestSchema, { accountId: hot, pageSize: 50 })));
  // A deep page: follow the cursor 100 pages in, then time the next page.
  let token = "";
  for (let i = 0; i < 100; i++) token = (await client.listEntries({ accountId: hot, pageSize: 50, pageToken: token })).nextPageToken;
  const deepPage = await sample(samples, () => client.listEntries({ accountId: hot, pageSize: 50, pageToken: token }));
  return { materialised, derived, firstPage, deepPage };
}

export const ledgerBulk = command({
  name: "ledger bulk",
  summary: "load N journal entries in batches (SubmitBatch, or straight SQL), VerifyIntegrity and balances, then hot-account reads",
  options: {
    entries: int("journal entries to load (two postings each)", 1000000),
    accounts: int("accounts the entries touch", 10000, 2),
    "hot-share": int("percent of entries that touch the one hot account", 15, 0),
    via: choice(
      ["service", "sql"],
      "service: SubmitBatch calls to the ledger; sql: straight into its tables (a trusted backfill)",
      "service",
    ),
    batch: int("entries per SubmitBatch call (service) or per transaction (sql)", 1000),
    loaders: int("batches loading in parallel", 2),
    samples: int("timed calls per read kind", 200),
  },
  async run(values) {
    const { entries: entryCount, accounts: accountCount, "hot-share": hotPercent, batch: batchSize, loaders, samples, via } = values;
    const ledger = await startLedger({ LEDGER_STATEMENT_TIMEOUT_MS: "60000" });
    const pool = benchPool(ledger.database.url, loaders + 1);
    try {
      const { client } = ledger;
      const accounts = await fundedAccounts(client, accountCount, FUNDING_MINOR, "bench-bulk");
      const hot = accounts[0]!;
      const write: Loader = via === "service" ? viaService(client, { next: 0 }) : (batch) => insertBatch(pool, batch, "KRW");
      const loadS = await bulkLoad(accounts, { entryCount, batchSize, hotPercent, loaders }, write);
      await analyze(pool);

      // Verified: every entry balances and every balance equals its postings, and no money appeared or vanished.
      const verifyStarted = process.hrtime.bigint();
      const report = await client.verifyIntegrity({}, { timeoutMs: 60_000 });
      const total = await totalBalance(client, accounts);
      const verifyS = microsSince(verifyStarted) / 1e6;
      const conserved = total === FUNDING_MINOR * BigInt(accountCount);

      const hotPostings = await postingCount(pool, hot);
      const { materialised, derived, firstPage, deepPage } = await timeReads(client, pool, hot, samples);
      const [balance] = (await client.getBalances({ accountIds: [hot] })).balances;
      const derivedTotal = await derivedBalance(pool, hot);

      console.log(
        `ledger bulk — ${entryCount} entries (${entryCount * 2} postings) over ${accountCount} accounts, ` +
          `${via === "service" ? "SubmitBatch calls" : "SQL transactions"} of ${batchSize}, ${loaders} loaders`,
      );
      console.log(
        table(
          ["step", "seconds", "rate"],
          [
            ["load", loadS.toFixed(1), `${Math.round(entryCount / loadS)} entries/s`],
            ["VerifyIntegrity + balances", verifyS.toFixed(1), `${Math.round(Number(report.postingsChecked) / verifyS)} postings/s`],
            ["load + verify", (loadS + verifyS).toFixed(1), goalVerdict(entryCount, via, loadS + verifyS)],
          ],
        ),
      );
      console.log(
        `integrity: ${report.discrepancies.length === 0 ? "clean" : `${report.discrepancies.length} DISCREPANCIES`} ` +
          `(${report.entriesChecked} entries, ${report.postingsChecked} postings, ${report.accountsChecked} accounts); ` +
          `sum of balances ${conserved ? "conserved" : `NOT conserved: ${total}`}`,
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
      if (report.discrepancies.length > 0 || !agrees || !conserved) process.exitCode = 1;
    } finally {
      await pool.end();
      await ledger.stop();
    }
  },
});
