import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase } from "@kuku/testkit";
import { command, int } from "../lib/command.js";
import { type Counters, type StrategyName, strategy } from "../lib/lock-strategies.js";
import * as sql from "../lib/locks-store.js";
import { benchPool } from "../lib/pool.js";
import { connectRedlock, REDIS_PORTS, redisPid } from "../lib/redis.js";
import { table } from "../lib/stats.js";

const START_MINOR = 100n;

type Case = { rows: (string | number)[][]; failed: boolean };

/** 1. A holder pauses past its TTL; a second client takes the lock and debits; the first wakes and writes. */
async function pausedHolder(pool: ReturnType<typeof benchPool>, redlock: ReturnType<typeof connectRedlock>["redlock"], ttlMs: number) {
  const result: Case = { rows: [], failed: false };
  for (const name of ["redlock", "redlock-fenced"] as StrategyName[]) {
    await sql.setUp(pool, 1, START_MINOR);
    const debit = strategy(name, pool, redlock, ttlMs);
    const counters: Counters = { retries: 0, lockFailures: 0, fenced: 0 };
    const paused = debit.debit(1, 10n, counters, ttlMs * 3);
    paused.catch(() => undefined); // awaited below; not unhandled meanwhile
    await sleep(ttlMs * 1.5);
    const second = await debit.debit(1, 10n, counters);
    const first = await paused;
    const audit = await sql.audit(pool, START_MINOR);
    const { balanceMinor } = await sql.read(pool, 1);
    result.rows.push([
      name,
      `paused holder: ${first}, second: ${second}`,
      `${audit.debits} debits logged, balance ${balanceMinor}`,
      audit.mismatched === 0 ? "none" : "LOST UPDATE",
    ]);
    if (name === "redlock-fenced" && (audit.mismatched !== 0 || first !== "fenced")) result.failed = true;
    if (name === "redlock" && audit.mismatched === 0) result.failed = true; // the drill must show the hazard
  }
  return result;
}

/** 2. Quorum: one of three Redis servers stopped still locks; two stopped do not. */
async function redisQuorum(redlock: ReturnType<typeof connectRedlock>["redlock"]) {
  const result: Case = { rows: [], failed: false };
  const pids = REDIS_PORTS.map(redisPid);
  // Whatever happens to this process, the servers it stopped must run again.
  const resumeAll = () =>
    pids.forEach((pid) => {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        /* already gone */
      }
    });
  process.once("exit", resumeAll);
  for (const stopped of [1, 2]) {
    for (const pid of pids.slice(0, stopped)) process.kill(pid, "SIGSTOP");
    let outcome: string;
    try {
      const lock = await redlock.acquire([`kuku:lock:drill:${stopped}`], 1_000, { retryCount: 3, retryDelay: 50 });
      await lock.release().catch(() => undefined);
      outcome = "acquired";
    } catch {
      outcome = "refused";
    } finally {
      for (const pid of pids.slice(0, stopped)) process.kill(pid, "SIGCONT");
    }
    const expected = stopped === 1 ? "acquired" : "refused";
    result.rows.push([`${stopped} of 3 Redis stopped`, `lock ${outcome}`, "", outcome === expected ? "as expected" : "UNEXPECTED"]);
    if (outcome !== expected) result.failed = true;
  }
  return result;
}

export const locksDrill = command({
  name: "locks drill",
  summary: "Redlock's failure modes: a paused lock holder (with and without fencing), Redis instances down",
  options: {
    "lock-ttl-ms": int("lock TTL; the paused holder sleeps 3x this", 200, 50),
  },
  async run(values) {
    const { "lock-ttl-ms": ttlMs } = values;
    const database = await createTestDatabase("locks_drill");
    const pool = benchPool(database.url, 8);
    const { redlock, close } = connectRedlock();
    const rows: (string | number)[][] = [];
    try {
      const paused = await pausedHolder(pool, redlock, ttlMs);
      const quorum = await redisQuorum(redlock);
      rows.push(...paused.rows, ...quorum.rows);
      console.log(`locks drill — lock TTL ${ttlMs} ms; the paused holder sleeps ${ttlMs * 3} ms between read and write`);
      console.log(table(["case", "what happened", "ledger", "anomaly"], rows));
      if (paused.failed || quorum.failed) process.exitCode = 1;
    } finally {
      await close();
      await pool.end();
      await database.drop();
    }
  },
});
