import { writeFileSync } from "node:fs";
import { createTestDatabase } from "@kuku/platform/testing";
import { durationMsOption, intListOption, intOption, UsageError, type BenchCommand } from "../lib/command.js";
import { GaveUp, STRATEGY_NAMES, strategy, type Counters, type StrategyName } from "../lib/lock-strategies.js";
import * as sql from "../lib/locks-store.js";
import { benchPool } from "../lib/pool.js";
import { connectRedlock } from "../lib/redis.js";
import { Histogram, microsSince, table } from "../lib/stats.js";
import { svgChart } from "../lib/chart.js";

const START_MINOR = 1_000_000_000n;

function strategiesOption(value: unknown): StrategyName[] {
  const text = String(value);
  if (text === "all") return [...STRATEGY_NAMES];
  const names = text.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !(STRATEGY_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new UsageError(`--strategy: unknown ${unknown.join(", ")}; choose from all, ${STRATEGY_NAMES.join(", ")}`);
  return names as StrategyName[];
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
      { title: `${accounts} account(s): debits/s`, yLabel: "debits/s", series: series("debitsPerSecond") },
      { title: `${accounts} account(s): p99 latency`, yLabel: "ms", series: series("p99Ms") },
    ];
  });
  return svgChart(panels);
}

export const locks: BenchCommand = {
  name: "locks",
  summary: "guarding a balance: row lock vs optimistic vs atomic update vs Redlock (with/without fencing)",
  options: {
    strategy: { type: "string", default: "all", description: `all or a list of ${STRATEGY_NAMES.join(", ")}` },
    accounts: { type: "string", default: "1,1000", description: "accounts the debits spread over (1 = one hot account)" },
    concurrency: { type: "string", default: "1,16,64", description: "debits in flight" },
    duration: { type: "string", default: "5s", description: "measured time per run" },
    "lock-ttl-ms": { type: "string", default: "2000", description: "Redlock lock TTL" },
    json: { type: "string", description: "also write every run's figures to this JSON file, and a chart (.svg) next to it" },
  },
  async run(values) {
    const names = strategiesOption(values["strategy"]);
    const accountCounts = intListOption(values, "accounts");
    const concurrencies = intListOption(values, "concurrency");
    const durationMs = durationMsOption(values, "duration");
    const lockTtlMs = intOption(values, "lock-ttl-ms");
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
            const latency = new Histogram();
            let errors = 0;
            const endAt = Date.now() + durationMs;
            const started = process.hrtime.bigint();
            process.stderr.write(`  ${name}, ${accounts} accounts, ${concurrency} in flight ...`);
            await Promise.all(
              Array.from({ length: concurrency }, async () => {
                while (Date.now() < endAt) {
                  const t0 = process.hrtime.bigint();
                  try {
                    if ((await debit.debit(1 + Math.floor(Math.random() * accounts), 1n, counters)) === "debited") latency.record(microsSince(t0));
                  } catch (error) {
                    if (!(error instanceof GaveUp)) throw error;
                    errors++;
                  }
                }
              }),
            );
            const seconds = microsSince(started) / 1e6;
            const audit = await sql.audit(pool, START_MINOR);
            process.stderr.write(` ${Math.round(latency.count / seconds)}/s\n`);
            results.push({
              strategy: name, accounts, concurrency, debitsPerSecond: Math.round(latency.count / seconds),
              p50Ms: +(latency.percentile(50) / 1000).toFixed(2), p95Ms: +(latency.percentile(95) / 1000).toFixed(2),
              p99Ms: +(latency.percentile(99) / 1000).toFixed(2), retries: counters.retries, lockFailures: counters.lockFailures,
              fenced: counters.fenced, errors, overdrawn: audit.overdrawn, lostOrDoubled: audit.mismatched,
            });
          }
        }
      }
      console.log(`locks — debits of 1 won, ${durationMs / 1000} s per run; anomalies are counted after each run, never hidden`);
      console.log(table(
        ["strategy", "accounts", "conc.", "debits/s", "p50 ms", "p95 ms", "p99 ms", "retries", "lock fail", "fenced", "errors", "overdrawn", "lost/doubled"],
        results.map((r) => [r["strategy"]!, r["accounts"]!, r["concurrency"]!, r["debitsPerSecond"]!, r["p50Ms"]!, r["p95Ms"]!, r["p99Ms"]!,
          r["retries"]!, r["lockFailures"]!, r["fenced"]!, r["errors"]!, r["overdrawn"]!, r["lostOrDoubled"]!]),
      ));
      const anomalies = results.filter((r) => Number(r["overdrawn"]) + Number(r["lostOrDoubled"]) > 0);
      if (anomalies.length > 0) console.log(`ANOMALIES in ${anomalies.length} run(s): see the last two columns`);
      if (values["json"] !== undefined) {
        const jsonPath = String(values["json"]);
        writeFileSync(jsonPath, JSON.stringify({ durationMs, lockTtlMs, results }, null, 2));
        const svgPath = jsonPath.replace(/\.json$/, "") + ".svg";
        writeFileSync(svgPath, lockChart(results, accountCounts));
        console.log(`figures written to ${jsonPath}, chart to ${svgPath}`);
      }
    } finally {
      await close();
      await pool.end();
      await database.drop();
    }
  },
};
