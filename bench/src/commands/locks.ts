import { writeFileSync } from "node:fs";
import { BALANCE_GUARDS } from "@kuku/ledger/balance-guard";
import { createTestDatabase } from "@kuku/testkit";
import { svgChart } from "../lib/chart.js";
import { type BenchCommand, durationMsOption, intListOption, intOption, UsageError } from "../lib/command.js";
import { closedLoop, ms } from "../lib/load.js";
import { type Counters, GaveUp, STRATEGY_NAMES, strategy } from "../lib/lock-strategies.js";
import * as sql from "../lib/locks-store.js";
import { benchPool } from "../lib/pool.js";
import { connectRedlock } from "../lib/redis.js";
import { table } from "../lib/stats.js";
import { runThroughLedger } from "./locks-ledger.js";

const START_MINOR = 1_000_000_000n;
const VIAS = ["direct", "ledger"] as const;
const LEDGER_POOL_SIZE = 24;
const LEDGER_ATTEMPTS_MAX = 50;

function strategiesOption<N extends string>(value: unknown, allowed: readonly N[], via: string): N[] {
  const text = String(value);
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
  values: Readonly<Record<string, unknown>>,
  figures: { results: Record<string, string | number>[]; [key: string]: unknown },
  accountCounts: readonly number[],
) {
  if (values["json"] === undefined) return;
  const jsonPath = String(values["json"]);
  writeFileSync(jsonPath, JSON.stringify(figures, null, 2));
  const svgPath = `${jsonPath.replace(/\.json$/, "")}.svg`;
  writeFileSync(svgPath, lockChart(figures.results, accountCounts));
  console.log(`figures written to ${jsonPath}, chart to ${svgPath}`);
}

export const locks: BenchCommand = {
  name: "locks",
  summary: "guarding a balance: row lock vs optimistic vs atomic update vs Redlock, on a bare table or through the ledger",
  options: {
    via: {
      type: "string",
      default: "direct",
      description:
        "direct: debits of a bare balance table in PostgreSQL; ledger: PlaceHold through a ledger service per strategy (LEDGER_BALANCE_GUARD)",
    },
    strategy: {
      type: "string",
      default: "all",
      description: `all or a list; direct: ${STRATEGY_NAMES.join(", ")}; ledger: ${BALANCE_GUARDS.join(", ")}`,
    },
    accounts: { type: "string", default: "1,1000", description: "accounts the operations spread over (1 = one hot account)" },
    concurrency: { type: "string", default: "1,16,64", description: "operations in flight" },
    duration: { type: "string", default: "5s", description: "measured time per run" },
    "lock-ttl-ms": { type: "string", default: "2000", description: "Redlock lock TTL (ledger: LEDGER_REDLOCK_TTL_MS)" },
    "pool-size": { type: "string", description: `--via ledger only: LEDGER_POOL_SIZE_MAX of the service (default: ${LEDGER_POOL_SIZE})` },
    "attempts-max": {
      type: "string",
      description: `--via ledger only: LEDGER_TX_ATTEMPTS_MAX, the optimistic guard's bound on compare-and-set attempts (default: ${LEDGER_ATTEMPTS_MAX}; direct: fixed at 50)`,
    },
    json: { type: "string", description: "also write every run's figures to this JSON file, and a chart (.svg) next to it" },
  },
  async run(values) {
    const via = String(values["via"]);
    if (!(VIAS as readonly string[]).includes(via))
      throw new UsageError(`--via must be one of ${VIAS.join(", ")}, got ${JSON.stringify(via)}`);
    const accountCounts = intListOption(values, "accounts");
    const concurrencies = intListOption(values, "concurrency");
    const durationMs = durationMsOption(values, "duration");
    const lockTtlMs = intOption(values, "lock-ttl-ms");
    const ledgerOnly = ["pool-size", "attempts-max"].filter((flag) => values[flag] !== undefined);
    if (via !== "ledger" && ledgerOnly.length > 0) throw new UsageError(`--${ledgerOnly[0]} applies to --via ledger only`);
    const poolSize = intOption({ "pool-size": LEDGER_POOL_SIZE, ...values }, "pool-size");
    const attemptsMax = intOption({ "attempts-max": LEDGER_ATTEMPTS_MAX, ...values }, "attempts-max");
    if (via === "ledger") {
      const guards = strategiesOption(values["strategy"], BALANCE_GUARDS, via);
      const results = await runThroughLedger(guards, { accountCounts, concurrencies, durationMs, lockTtlMs, poolSize, attemptsMax });
      console.log(
        `locks --via ledger — PlaceHold of 1 won through the ledger's gRPC path, ${durationMs / 1000} s per run; ` +
          "integrity is checked after each run, anomalies are never hidden",
      );
      console.log(
        table(
          [
            "strategy",
            "accounts",
            "conc.",
            "holds/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "aborted",
            "errors",
            "overdrawn",
            "held mismatch",
            "discrepancies",
          ],
          results.map((r) => [
            r["strategy"]!,
            r["accounts"]!,
            r["concurrency"]!,
            r["opsPerSecond"]!,
            r["p50Ms"]!,
            r["p95Ms"]!,
            r["p99Ms"]!,
            r["aborted"]!,
            r["errors"]!,
            r["overdrawn"]!,
            r["heldMismatch"]!,
            r["discrepancies"]!,
          ]),
        ),
      );
      const anomalies = results.filter((r) => Number(r["overdrawn"]) + Number(r["heldMismatch"]) + Number(r["discrepancies"]) > 0);
      if (anomalies.length > 0) {
        console.log(`ANOMALIES in ${anomalies.length} run(s): see the last three columns`);
        process.exitCode = 1;
      }
      writeJson(values, { via, durationMs, lockTtlMs, poolSize, attemptsMax, results }, accountCounts);
      return;
    }
    const names = strategiesOption(values["strategy"], STRATEGY_NAMES, via);
    const database = await createTestDatabase("locks");
    const pool = benchPool(database.url, Math.max(...concurrencies) + 4);
    const { redlock, close } = connectRedlock();
    const results: Record<string, string | number>[] = [];
    try {
      for (const name of names) {
        const debit = strategy(name, pool, redlock, lockTtlMs);
        for (const accounts of accountCounts) {
          for (const concurrency of concurrencies) {
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
            results.push({
              strategy: name,
              accounts,
              concurrency,
              opsPerSecond: load.perSecond,
              p50Ms: ms(load.latency, 50),
              p95Ms: ms(load.latency, 95),
              p99Ms: ms(load.latency, 99),
              retries: counters.retries,
              lockFailures: counters.lockFailures,
              fenced: counters.fenced,
              errors,
              overdrawn: audit.overdrawn,
              lostOrDoubled: audit.mismatched,
            });
          }
        }
      }
      console.log(`locks — debits of 1 won, ${durationMs / 1000} s per run; anomalies are counted after each run, never hidden`);
      console.log(
        table(
          [
            "strategy",
            "accounts",
            "conc.",
            "debits/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "retries",
            "lock fail",
            "fenced",
            "errors",
            "overdrawn",
            "lost/doubled",
          ],
          results.map((r) => [
            r["strategy"]!,
            r["accounts"]!,
            r["concurrency"]!,
            r["opsPerSecond"]!,
            r["p50Ms"]!,
            r["p95Ms"]!,
            r["p99Ms"]!,
            r["retries"]!,
            r["lockFailures"]!,
            r["fenced"]!,
            r["errors"]!,
            r["overdrawn"]!,
            r["lostOrDoubled"]!,
          ]),
        ),
      );
      const anomalies = results.filter((r) => Number(r["overdrawn"]) + Number(r["lostOrDoubled"]) > 0);
      if (anomalies.length > 0) console.log(`ANOMALIES in ${anomalies.length} run(s): see the last two columns`);
      writeJson(values, { via, durationMs, lockTtlMs, results }, accountCounts);
    } finally {
      await close();
      await pool.end();
      await database.drop();
    }
  },
};
