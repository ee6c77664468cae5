import { createTestDatabase } from "@kuku/testkit";
import { command, duration, int } from "../lib/command.js";
import type { TransferEngine } from "../lib/engines/engine.js";
import { mariadbEngine } from "../lib/engines/mariadb.js";
import { postgresEngine } from "../lib/engines/postgres.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const FUNDING_MINOR = 1_000_000_000n;

async function drive(engine: TransferEngine, accounts: number, concurrency: number, durationMs: number) {
  await engine.setUp(accounts, FUNDING_MINOR);
  const latency = new Histogram();
  let sequence = 0;
  let errors = 0;
  const endAt = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < endAt) {
        const fromId = 1 + Math.floor(Math.random() * accounts);
        let toId = fromId;
        while (toId === fromId) toId = 1 + Math.floor(Math.random() * accounts);
        const t0 = process.hrtime.bigint();
        try {
          await engine.transfer(`t-${sequence++}`, fromId, toId, BigInt(1 + Math.floor(Math.random() * 10_000)));
          latency.record(microsSince(t0));
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = microsSince(started) / 1e6;
  const audit = await engine.audit();
  return { latency, errors, perSecond: Math.round(latency.count / seconds), audit };
}

export const ledgerEngines = command({
  name: "ledger engines",
  summary: "the same double-entry transfer on PostgreSQL and MariaDB (needs deploy/local/mariadb-up.sh)",
  options: {
    concurrency: int("transfers in flight", 32),
    duration: duration("measured time per engine", "10s"),
    accounts: int("accounts transfers pick from", 1000, 2),
    "mariadb-port": int("where mariadb-up.sh started MariaDB", 53306),
    rounds: int("alternating rounds per engine (noise shows as spread)", 2),
  },
  async run(values) {
    const { concurrency, duration: durationMs, accounts, rounds } = values;
    const rows: (string | number)[][] = [];
    let failed = false;
    for (let round = 1; round <= rounds; round++) {
      for (const name of ["PostgreSQL", "PostgreSQL, prepared", "MariaDB"]) {
        const database = name.startsWith("PostgreSQL") ? await createTestDatabase("engines") : undefined;
        const engine = database
          ? postgresEngine(database.url, concurrency, name.endsWith("prepared"))
          : await mariadbEngine({ host: "127.0.0.1", port: values["mariadb-port"], poolSize: concurrency });
        try {
          const r = await drive(engine, accounts, concurrency, durationMs);
          const exact = r.audit.totalMinor === FUNDING_MINOR * BigInt(accounts) && r.audit.mismatches === 0;
          failed ||= !exact || r.errors > 0;
          rows.push([
            round,
            engine.name,
            r.latency.count,
            r.errors,
            r.perSecond,
            (r.latency.percentile(50) / 1000).toFixed(2),
            (r.latency.percentile(99) / 1000).toFixed(2),
            exact ? "exact" : "WRONG",
          ]);
        } finally {
          await engine.close();
          await database?.drop();
        }
      }
    }
    console.log(
      `ledger engines — ${accounts} accounts, ${concurrency} in flight, ${durationMs / 1000} s per run, READ COMMITTED + SELECT ... FOR UPDATE`,
    );
    console.log(table(["round", "engine", "transfers", "errors", "transfers/s", "p50 ms", "p99 ms", "balances"], rows));
    if (failed) process.exitCode = 1;
  },
});
