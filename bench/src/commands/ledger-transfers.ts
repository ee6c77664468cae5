import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { BALANCE_GUARDS, type BalanceGuardName, DEFAULT_BALANCE_GUARD } from "@kuku/ledger/balance-guard";
import { choiceList, command, duration, int, intList, text, UsageError } from "../lib/command.js";
import { type CpuMeters, cpuMeters, fundedAccounts, type LedgerUnderTest, startLedger } from "../lib/ledger.js";
import { closedLoop } from "../lib/load.js";
import { pgbenchSimpleUpdateTps } from "../lib/pgbench.js";
import { table } from "../lib/stats.js";

const FUNDING_MINOR = 1_000_000_000_000n;
/**
 * The ledger's LEDGER_BATCH_WRITERS default. A batch writer holding its
 * transaction's connection opens a new asset's external account on a second
 * one (services/ledger/src/app/batch/writer.ts, #openExternals), so a pool no
 * larger than the writers can deadlock on the first deposits: measured with
 * --pool-size 2, the ledger hung with two connections idle in transaction.
 */
const BATCH_WRITERS = 4;

type LedgerClient = LedgerUnderTest["client"];

/** A random transfer between two different accounts. */
function randomTransfer(accounts: readonly string[], requestId: string): api.TransferRequest {
  const from = accounts[Math.floor(Math.random() * accounts.length)]!;
  let to = from;
  while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)]!;
  const amountMinor = BigInt(1 + Math.floor(Math.random() * 10_000));
  return create(api.TransferRequestSchema, {
    requestId,
    legs: [
      { accountId: from, asset: "KRW", amountMinor: -amountMinor },
      { accountId: to, asset: "KRW", amountMinor },
    ],
  });
}

/** One call: a unary Transfer (batch 1) or a SubmitBatch of `batch` transfers; how many transfers were applied. */
async function call(client: LedgerClient, accounts: readonly string[], batch: number, requestId: () => string): Promise<number> {
  if (batch === 1) {
    await client.transfer(randomTransfer(accounts, requestId()));
    return 1;
  }
  const operations = Array.from({ length: batch }, () =>
    create(api.BatchOperationSchema, { operation: { case: "transfer", value: randomTransfer(accounts, requestId()) } }),
  );
  const { results } = await client.submitBatch({ batchId: requestId(), operations });
  return results.filter((r) => r.result.case === "transfer").length;
}

/** Random transfers between `accounts` from `concurrency` callers for `durationMs`: one row of figures. */
async function transfersAt(
  concurrency: number,
  durationMs: number,
  run: { client: LedgerClient; accounts: readonly string[]; batch: number; requestId: () => string; cpu: CpuMeters },
): Promise<(string | number)[]> {
  let failed = 0;
  let applied = 0;
  const cpuBefore = await run.cpu.read();
  // Latency counts the calls that were answered; the rate counts transfers, a batch call applying many.
  const { latency, seconds } = await closedLoop(concurrency, durationMs, async () => {
    try {
      const ok = await call(run.client, run.accounts, run.batch, run.requestId);
      applied += ok;
      failed += run.batch - ok;
      return true;
    } catch {
      failed += run.batch;
      return false;
    }
  });
  const cpuAfter = await run.cpu.read();
  // CPU per transfer holds still on a shared machine where rates do not: where the time goes, per process.
  const perTransfer = (key: keyof typeof cpuAfter) => ((1000 * (cpuAfter[key] - cpuBefore[key])) / Math.max(applied, 1)).toFixed(3);
  return [
    concurrency,
    applied,
    failed,
    Math.round(applied / seconds),
    (latency.percentile(50) / 1000).toFixed(2),
    (latency.percentile(99) / 1000).toFixed(2),
    perTransfer("ledger"),
    perTransfer("postgres"),
    perTransfer("client"),
  ];
}

/** Every row of one guard's ledger, then its integrity line; false when the balances are not exact. */
async function measureGuard(
  guard: BalanceGuardName,
  values: {
    concurrency: number[];
    duration: number;
    accounts: number;
    batch: number;
    isolation: string;
    poolSize: number;
    profileDir?: string;
  },
  rows: (string | number)[][],
): Promise<boolean> {
  const ledger = await startLedger(
    { LEDGER_BALANCE_GUARD: guard, LEDGER_ISOLATION: values.isolation, LEDGER_POOL_SIZE_MAX: String(values.poolSize) },
    values.profileDir,
  );
  try {
    const { client } = ledger;
    const accounts = await fundedAccounts(client, values.accounts, FUNDING_MINOR, "bench-transfers");
    const before = await client.verifyIntegrity({});
    let sequence = 0;
    const run = { client, accounts, batch: values.batch, requestId: () => `bench-transfer-${sequence++}`, cpu: cpuMeters(ledger) };
    // The guard and the pool last: the first column stays the in-flight count, as before there was a choice.
    for (const concurrency of values.concurrency) {
      rows.push([...(await transfersAt(concurrency, values.duration, run)), guard, values.poolSize]);
    }
    // Exact balances: every balance equals its postings, and money is conserved.
    const after = await client.verifyIntegrity({});
    let totalMinor = 0n;
    // GetBalances takes at most 100 ids; one call per chunk, not thousands of streams at once.
    for (let i = 0; i < accounts.length; i += 100) {
      const { balances } = await client.getBalances({ accountIds: accounts.slice(i, i + 100) });
      totalMinor += balances.reduce((sum, b) => sum + b.totalMinor, 0n);
    }
    const expectedMinor = FUNDING_MINOR * BigInt(values.accounts);
    console.log(
      `${guard} (pool ${values.poolSize}) integrity: ${after.discrepancies.length === 0 ? "clean" : `${after.discrepancies.length} DISCREPANCIES`} ` +
        `(${after.entriesChecked} entries, was ${before.entriesChecked}); ` +
        `sum of balances ${totalMinor === expectedMinor ? "conserved" : `NOT conserved: ${totalMinor} != ${expectedMinor}`}`,
    );
    return after.discrepancies.length === 0 && totalMinor === expectedMinor;
  } finally {
    await ledger.stop();
  }
}

/** Of a pool sweep, per guard and in-flight count: the smallest pool within 5 % of the best rate, the knee of the curve. */
// Where a row keeps its figures (see the table's headers).
const [RATE, P99, GUARD, POOL] = [3, 5, 9, 10];

function knees(rows: readonly (string | number)[][]): string[] {
  const lines: string[] = [];
  for (const guard of new Set(rows.map((r) => r[GUARD]))) {
    for (const inFlight of new Set(rows.map((r) => r[0]))) {
      const sweep = rows.filter((r) => r[GUARD] === guard && r[0] === inFlight).sort((a, b) => Number(a[POOL]) - Number(b[POOL]));
      const best = Math.max(...sweep.map((r) => Number(r[RATE])));
      const knee = sweep.find((r) => Number(r[RATE]) >= 0.95 * best)!;
      const curve = sweep.map((r) => `${r[POOL]}: ${r[RATE]}/s p99 ${r[P99]} ms`).join(", ");
      lines.push(
        `pool knee, ${guard}, ${inFlight} in flight: pool ${knee[POOL]} (${knee[RATE]}/s, within 5 % of the best ${best}/s) — ${curve}`,
      );
    }
  }
  return lines;
}

export const ledgerTransfers = command({
  name: "ledger transfers",
  summary: "transfers/s and latency through gRPC at several concurrencies, per balance guard, beside pgbench's ceiling",
  options: {
    concurrency: intList("in-flight calls, comma-separated", "8,32,128"),
    duration: duration("measured time per concurrency", "10s"),
    accounts: int("accounts transfers pick from at random", 1000, 2),
    guard: choiceList(BALANCE_GUARDS, "LEDGER_BALANCE_GUARD of the service, a list is measured guard after guard", DEFAULT_BALANCE_GUARD),
    batch: int("transfers per call: 1 is the unary Transfer, more is one SubmitBatch of that many", 1),
    isolation: text("LEDGER_ISOLATION of the service", "read_committed"),
    "pool-size": intList("LEDGER_POOL_SIZE_MAX of the service; a list is a sweep, a fresh ledger per size", "24"),
    "pgbench-clients": int("pgbench -N clients for the ceiling", 24),
    "profile-dir": text("write a V8 CPU profile of the ledger process here"),
  },
  async run(values) {
    const tooSmall = values["pool-size"].filter((size) => size <= BATCH_WRITERS);
    if (values.guard.includes("batched") && tooSmall.length > 0) {
      throw new UsageError(
        `--pool-size ${tooSmall.join(",")}: the batched guard needs more connections than its ${BATCH_WRITERS} batch writers (it can deadlock otherwise)`,
      );
    }
    const rows: (string | number)[][] = [];
    let exact = true;
    const options = {
      concurrency: values.concurrency,
      duration: values.duration,
      accounts: values.accounts,
      batch: values.batch,
      isolation: values.isolation,
      ...(values["profile-dir"] === undefined ? {} : { profileDir: values["profile-dir"] }),
    };
    for (const guard of values.guard) {
      for (const poolSize of values["pool-size"]) exact = (await measureGuard(guard, { ...options, poolSize }, rows)) && exact;
    }
    const call = values.batch === 1 ? "unary Transfer" : `SubmitBatch of ${values.batch}`;
    console.log(
      `ledger transfers — ${values.accounts} accounts, ${values.duration / 1000} s per row, ${call}, isolation ${values.isolation}`,
    );
    console.log(
      table(
        ["in flight", "ok", "failed", "transfers/s", "p50 ms", "p99 ms", "ledger cpu ms", "pg cpu ms", "client cpu ms", "guard", "pool"],
        rows,
      ),
    );
    console.log("cpu ms: CPU time per applied transfer of the ledger process, its PostgreSQL backends, and this client");
    if (values["pool-size"].length > 1) for (const line of knees(rows)) console.log(line);
    const clients = values["pgbench-clients"];
    const tps = await pgbenchSimpleUpdateTps({ clients, durationS: Math.max(5, Math.round(values.duration / 1000)) });
    for (const guard of values.guard) {
      const best = Math.max(...rows.filter((r) => r[9] === guard).map((r) => Number(r[3])));
      console.log(
        `pgbench -N -c ${clients} on the same server: ${Math.round(tps)} tps; best ${guard} rate is ${((best / tps) * 100).toFixed(1)} % of it`,
      );
    }
    if (!exact) process.exitCode = 1;
  },
});
