import { createTestDatabase } from "@kuku/testkit";
import type pg from "pg";
import { command, int } from "../lib/command.js";
import {
  createSchema,
  debitIfCovered,
  ISOLATIONS,
  type Isolation,
  readBalances,
  resetBalances,
  transaction,
  writeBalance,
} from "../lib/isolation-store.js";
import { benchPool } from "../lib/pool.js";
import { microsSince, table } from "../lib/stats.js";

// Strategies for "debit one account if it is covered".
type DebitStrategy = "read, then write" | "SELECT ... FOR UPDATE" | "one conditional UPDATE";
const DEBIT_STRATEGIES: readonly DebitStrategy[] = ["read, then write", "SELECT ... FOR UPDATE", "one conditional UPDATE"];

// Strategies for "withdraw from one of two accounts if their SUM stays >= 0".
type PairStrategy = "lock the debited row only" | "lock both rows";
const PAIR_STRATEGIES: readonly PairStrategy[] = ["lock the debited row only", "lock both rows"];

/** Lost updates: many workers debit 1 won from one account. */
async function hotDebits(pool: pg.Pool, isolation: Isolation, strategy: DebitStrategy, workers: number, perWorker: number) {
  const startMinor = BigInt(workers * perWorker);
  await resetBalances(pool, new Map([[1, startMinor]]));
  const counters = { retries: 0 };
  let committed = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < perWorker; i++) {
        try {
          const debited = await transaction(pool, isolation, counters, async (db) => {
            if (strategy === "one conditional UPDATE") return debitIfCovered(db, 1, 1n);
            const balance = (await readBalances(db, [1], strategy === "SELECT ... FOR UPDATE")).get(1)!;
            if (balance < 1n) return false;
            await writeBalance(db, 1, balance - 1n);
            return true;
          });
          if (debited) committed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = microsSince(started) / 1e6;
  const finalMinor = (await readBalances(pool, [1], false)).get(1)!;
  return {
    committed,
    failed,
    retries: counters.retries,
    lostUpdates: Number(finalMinor - (startMinor - BigInt(committed))),
    perSecond: Math.round((committed + failed) / seconds),
  };
}

/** Write skew: two withdrawals, one from each account, whose checks both read A + B. */
async function pairWithdrawals(pool: pg.Pool, isolation: Isolation, strategy: PairStrategy, trials: number) {
  const counters = { retries: 0 };
  let skewed = 0;
  let failed = 0;
  for (let trial = 0; trial < trials; trial++) {
    await resetBalances(
      pool,
      new Map([
        [1, 100n],
        [2, 100n],
      ]),
    );
    // Both transactions read before either writes (bounded wait: with
    // "lock both rows" the second one blocks on the first, by design).
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const meet = async () => {
      if (++arrived === 2) release();
      await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 20))]);
    };
    const withdraw = (accountId: number) =>
      transaction(pool, isolation, counters, async (db) => {
        const both = await readBalances(db, [1, 2], strategy === "lock both rows");
        if (strategy === "lock the debited row only") await readBalances(db, [accountId], true);
        await meet();
        const sumMinor = both.get(1)! + both.get(2)!;
        if (sumMinor - 150n < 0n) return false;
        await writeBalance(db, accountId, (await readBalances(db, [accountId], false)).get(accountId)! - 150n);
        return true;
      }).catch(() => {
        failed++;
        return false;
      });
    await Promise.all([withdraw(1), withdraw(2)]);
    const after = await readBalances(pool, [1, 2], false);
    if (after.get(1)! + after.get(2)! < 0n) skewed++;
  }
  return { skewed, failed, retries: counters.retries };
}

export const ledgerIsolation = command({
  name: "ledger isolation",
  summary: "which anomalies each isolation level and locking strategy lets through, and the retries it costs",
  options: {
    workers: int("concurrent debits of the one hot account", 32),
    debits: int("debits per worker", 50),
    trials: int("write-skew trials (pairs of withdrawals)", 100),
  },
  async run(values) {
    const { workers, debits: perWorker, trials } = values;
    const database = await createTestDatabase("isolation");
    const pool = benchPool(database.url, workers + 2);
    try {
      await createSchema(pool);
      const lostRows: (string | number)[][] = [];
      for (const isolation of ISOLATIONS) {
        for (const strategy of DEBIT_STRATEGIES) {
          const r = await hotDebits(pool, isolation, strategy, workers, perWorker);
          lostRows.push([isolation, strategy, r.committed, r.lostUpdates, r.retries, r.failed, r.perSecond]);
        }
      }
      const skewRows: (string | number)[][] = [];
      for (const isolation of ISOLATIONS) {
        for (const strategy of PAIR_STRATEGIES) {
          const r = await pairWithdrawals(pool, isolation, strategy, trials);
          skewRows.push([isolation, strategy, `${r.skewed}/${trials}`, r.retries, r.failed]);
        }
      }
      console.log(`ledger isolation — lost updates: ${workers} workers x ${perWorker} debits of 1 won from one account`);
      console.log(table(["isolation", "strategy", "committed", "lost updates", "retries", "gave up", "tx/s"], lostRows));
      console.log(`\nwrite skew: accounts A=100, B=100, rule A+B >= 0; withdraw 150 from A and from B at once, ${trials} trials`);
      console.log(table(["isolation", "strategy", "rule broken", "retries", "gave up"], skewRows));
    } finally {
      await pool.end();
      await database.drop();
    }
  },
});
