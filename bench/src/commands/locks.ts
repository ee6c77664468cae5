import { writeFileSync } from "node:fs";
import { BALANCE_GUARDS } from "@kuku/ledger/balance-guard";
import { createTestDatabase } from "@kuku/testkit";
import { svgChart } from "../lib/chart.js";
import { choice, command, duration, int, intList, text, UsageError } from "../lib/command.js";
import { closedLoop, loadFigures } from "../lib/load.js";
import { type Counters, GaveUp, STRATEGY_NAMES, type StrategyName, strategy } from "../lib/lock-strategies.js";
import * as sql from "../lib/locks-store.js";
import { benchPool } from "../lib/pool.js";
import { connectRedlock } from "../lib/redis.js";
import { table } from "../lib/stats.js";
import { runThroughLedger } from "./locks-ledger.js";

const START_MINOR = 1_000_000_000n;
const VIAS = ["direct", "ledger"] as const;
const LEDGER_POOL_SIZE = 24;
const LEDGER_ATTEMPTS_MAX = 50;

function strategiesOption<N extends string>(text: string, allowed: readonly N[], via: string): N[] {
  if (text === "all") return [...allowed];
  const names = text.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`--strategy: unknown ${unknown.join(", ")} for --via ${via}; choose from all, ${allowed.join(", ")}`);
  }
  return names as N[];
}

/** Throughput and p99 against concurrency, one line per strategy, one pair of panels per account count. */
function lockChart(results: readonly Record<string, string | number>[], accountCounts: readonly number[]): string {
  const panels = accountCounts.flatMap((accounts) => {
    const mine = results.filter((r) => r["accounts"] === accounts);
    const names = [...new Set(mine.map((r) => String(r["strategy"])))];
    const series = (metric: string) =>
      names.map((name) => ({
        name,
        points: mine.filter((r) => r["strategy"] === name).map((r) => [Number(r["concurrency"]), Number(r[metric])] as const),
      }));
    return [
      { title: `${accounts} account(s): operations/s`, yLabel: "ops/s", series: series("opsPerSecond") },
      { title: `${accounts} account(s): p99 latency`, yLabel: "ms", series: series("p99Ms") },
    ];
  });
  return svgChart(panels);
}

/** --json: the figures, and the chart next to them. */
function writeJson(
  jsonPath: string | undefined,
  figures: { results: Record<string, string | number>[]; [key: string]: unknown },
  accountCounts: readonly number[],
) {
  if (jsonPath === undefined) return;
  writeFileSync(jsonPath, JSON.stringify(figures, null, 2));
  const svgPath = `${jsonPath.replace(/\.json$/, "")}.svg`;
  writeFileSync(svgPath, lockChart(figures.results, accountCounts));
  console.log(`figures written to ${jsonPath}, chart to ${svgPath}`);
}

/** The columns of each run, in order: [heading, field of the figures]. */
const LEDGER_COLUMNS = [
  ["strategy", "strategy"],
  ["accounts", "accounts"],
  ["conc.", "concurrency"],
  ["holds/s", "opsPerSecond"],
  ["p50 ms", "p50Ms"],
  ["p95 ms", "p95Ms"],
  ["p99 ms", "p99Ms"],
  ["aborted", "aborted"],
  ["errors", "errors"],
  ["overdrawn", "overdrawn"],
  ["held mismatch", "heldMismatch"],
  ["discrepancies", "discrepancies"],
] as const;
const DIRECT_COLUMNS = [
  ["strategy", "strategy"],
  ["accounts", "accounts"],
  ["conc.", "concurrency"],
  ["debits/s", "opsPerSecond"],
  ["p50 ms", "p50Ms"],
  ["p95 ms", "p95Ms"],
  ["p99 ms", "p99Ms"],
  ["retries", "retries"],
  ["lock fail", "lockFailures"],
  ["fenced", "fenced"],
  ["errors", "errors"],
  ["overdrawn", "overdrawn"],
  ["lost/doubled", "lostOrDoubled"],
] as const;

const figuresTable = (columns: readonly (readonly [string, string])[], results: readonly Record<string, string | number>[]) =>
  table(
    columns.map(([heading]) => heading),
    results.map((r) => columns.map(([, field]) => r[field]!)),
  );

/** Debits of the bare balance table by one strategy, at one account count and concurrency: the run's figures. */
async function directRun(
  name: StrategyName,
  debit: ReturnType<typeof strategy>,
  pool: ReturnType<typeof benchPool>,
  run: { accounts: number; concurrency: number; durationMs: number },
): Promise<Record<string, string | number>> {
  const { accounts, concurrency, durationMs } = run;
  await sql.setUp(pool, accounts, START_MINOR);
  const counters: Counters = { retries: 0, lockFailures: 0, fenced: 0 };
  let errors = 0;
  process.stderr.write(`  ${name}, ${accounts} accounts, ${concurrency} in flight ...`);
  const load = await closedLoop(concurrency, durationMs, async () => {
    try {
      return (await debit.debit(1 + Math.floor(Math.random() * accounts), 1n, counters)) === "debited";
    } catch (error) {
      if (!(error instanceof GaveUp)) throw error;
      errors++;
      return false;
    }
  });
  const audit = await sql.audit(pool, START_MINOR);
  process.stderr.write(` ${load.perSecond}/s\n`);
  return {
    strategy: name,
    accounts,
    concurrency,
    ...loadFigures(load),
    retries: counters.retries,
    lockFailures: counters.lockFailures,
    fenced: counters.fenced,
    errors,
    overdrawn: audit.overdrawn,
    lostOrDoubled: audit.mismatched,
  };
}

interface Runs {
  readonly accountCounts: readonly number[];
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly lockTtlMs: number;
}

/** --via direct: every strategy against a bare table in PostgreSQL and the three Redis servers. */
async function direct(names: readonly StrategyName[], runs: Runs): Promise<Record<string, string | number>[]> {
  const database = await createTestDatabase("locks");
  const pool = benchPool(database.url, Math.max(...runs.concurrencies) + 4);
  const { redlock, close } = connectRedlock();
  const results: Record<string, string | number>[] = [];
  try {
    for (const name of names) {
      const debit = strategy(name, pool, redlock, runs.lockTtlMs);
      for (const accounts of runs.accountCounts) {
        for (const concurrency of runs.concurrencies) {
          results.push(await directRun(name, debit, pool, { accounts, concurrency, durationMs: runs.durationMs }));
        }
      }
    }
    return results;
  } finally {
    await close();
    await pool.end();
    await database.drop();
  }
}

export const locks = command({
  name: "locks",
  summary: "guarding a balance: row lock vs optimistic vs atomic update vs Redlock, on a bare table or through the ledger",
  options: {
    via: choice(
      VIAS,
      "direct: debits of a bare balance table in PostgreSQL; ledger: PlaceHold through a ledger service per strategy (LEDGER_BALANCE_GUARD)",
      "direct",
    ),
    strategy: text(`all or a list; direct: ${STRATEGY_NAMES.join(", ")}; ledger: ${BALANCE_GUARDS.join(", ")}`, "all"),
    accounts: intList("accounts the operations spread over (1 = one hot account)", "1,1000"),
    concurrency: intList("operations in flight", "1,16,64"),
    duration: duration("measured time per run", "5s"),
    "lock-ttl-ms": int("Redlock lock TTL (ledger: LEDGER_REDLOCK_TTL_MS)", 2000),
    "pool-size": int(`--via ledger only: LEDGER_POOL_SIZE_MAX of the service (default: ${LEDGER_POOL_SIZE})`),
    "attempts-max": int(
      `--via ledger only: LEDGER_TX_ATTEMPTS_MAX, the optimistic guard's bound on compare-and-set attempts (default: ${LEDGER_ATTEMPTS_MAX}; direct: fixed at 50)`,
    ),
    json: text("also write every run's figures to this JSON file, and a chart (.svg) next to it"),
  },
  async run(values) {
    const { via, accounts: accountCounts, concurrency: concurrencies, duration: durationMs, "lock-ttl-ms": lockTtlMs } = values;
    const runs = { accountCounts, concurrencies, durationMs, lockTtlMs };
    const ledgerOnly = (["pool-size", "attempts-max"] as const).filter((flag) => values[flag] !== undefined);
    if (via !== "ledger" && ledgerOnly.length > 0) throw new UsageError(`--${ledgerOnly[0]} applies to --via ledger only`);
    if (via === "ledger") {
      const poolSize = values["pool-size"] ?? LEDGER_POOL_SIZE;
      const attemptsMax = values["attempts-max"] ?? LEDGER_ATTEMPTS_MAX;
      const guards = strategiesOption(values.strategy, BALANCE_GUARDS, via);
      const results = await runThroughLedger(guards, { ...runs, poolSize, attemptsMax });
      console.log(
        `locks --via ledger — PlaceHold of 1 won through the ledger's gRPC path, ${durationMs / 1000} s per run; ` +
          "integrity is checked after each run, anomalies are never hidden",
      );
      console.log(figuresTable(LEDGER_COLUMNS, results));
      const anomalies = results.filter((r) => Number(r["overdrawn"]) + Number(r["heldMismatch"]) + Number(r["discrepancies"]) > 0);
      if (anomalies.length > 0) {
        console.log(`ANOMALIES in ${anomalies.length} run(s): see the last three columns`);
        process.exitCode = 1;
      }
      writeJson(values.json, { via, durationMs, lockTtlMs, poolSize, attemptsMax, results }, accountCounts);
      return;
    }
    const results = await direct(strategiesOption(values.strategy, STRATEGY_NAMES, via), runs);
    console.log(`locks — debits of 1 won, ${durationMs / 1000} s per run; anomalies are counted after each run, never hidden`);
    console.log(figuresTable(DIRECT_COLUMNS, results));
    const anomalies = results.filter((r) => Number(r["overdrawn"]) + Number(r["lostOrDoubled"]) > 0);
    if (anomalies.length > 0) console.log(`ANOMALIES in ${anomalies.length} run(s): see the last two columns`);
    writeJson(values.json, { via, durationMs, lockTtlMs, results }, accountCounts);
  },
});
