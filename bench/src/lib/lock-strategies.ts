// Ways to guard "debit this account if it is covered", behind one interface.
import { setTimeout as sleep } from "node:timers/promises";
import { jitteredBackoffMs, LockNotAcquiredError, type Redlock, withRedlock, withTransaction } from "@kuku/platform";
import type pg from "pg";
import * as sql from "./locks-store.js";

/** "fenced": the write came from a lock holder whose lock had passed to another. */
export type Outcome = "debited" | "insufficient" | "fenced";

export interface Counters {
  /** Optimistic compare-and-set misses that were retried. */
  retries: number;
  /** Redlock acquisitions that failed (quorum not reached in time). */
  lockFailures: number;
  /** Writes a fencing token refused: a stale lock holder caught. */
  fenced: number;
}

export interface DebitStrategy {
  readonly name: StrategyName;
  debit(accountId: number, amountMinor: bigint, counters: Counters, pauseMs?: number): Promise<Outcome>;
}

export const STRATEGY_NAMES = ["pessimistic", "optimistic", "atomic", "redlock", "redlock-fenced"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export class GaveUp extends Error {
  override name = "GaveUp";
}

const OPTIMISTIC_ATTEMPTS_MAX = 50;

export function strategy(name: StrategyName, pool: pg.Pool, redlock: Redlock, lockTtlMs: number): DebitStrategy {
  switch (name) {
    case "pessimistic":
      return {
        name,
        debit: (accountId, amountMinor) =>
          withTransaction(pool, async (db) => {
            const { balanceMinor } = await sql.read(db, accountId, true);
            if (balanceMinor < amountMinor) return "insufficient";
            await sql.write(db, accountId, balanceMinor - amountMinor, { kind: "none" });
            await sql.logDebit(db, accountId, amountMinor);
            return "debited";
          }),
      };
    case "optimistic":
      return {
        name,
        async debit(accountId, amountMinor, counters) {
          for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS_MAX; attempt++) {
            const { balanceMinor, version } = await sql.read(pool, accountId);
            if (balanceMinor < amountMinor) return "insufficient";
            const done = await withTransaction(pool, async (db) => {
              if (!(await sql.write(db, accountId, balanceMinor - amountMinor, { kind: "version", version }))) return false;
              await sql.logDebit(db, accountId, amountMinor);
              return true;
            });
            if (done) return "debited";
            counters.retries++;
            await sleep(jitteredBackoffMs(attempt, 2, 50));
          }
          throw new GaveUp(`compare-and-set lost ${OPTIMISTIC_ATTEMPTS_MAX} times`);
        },
      };
    case "atomic":
      return {
        name,
        debit: (accountId, amountMinor) =>
          withTransaction(pool, async (db) => {
            if (!(await sql.debitIfCovered(db, accountId, amountMinor))) return "insufficient";
            await sql.logDebit(db, accountId, amountMinor);
            return "debited";
          }),
      };
    case "redlock":
    case "redlock-fenced":
      return {
        name,
        async debit(accountId, amountMinor, counters, pauseMs = 0) {
          try {
            return await withRedlock(redlock, [`kuku:lock:account:${accountId}`], lockTtlMs, async () => {
              // The token is taken right after the lock: later holders get larger tokens.
              const token = name === "redlock-fenced" ? await sql.nextFence(pool) : 0n;
              const { balanceMinor } = await sql.read(pool, accountId);
              if (pauseMs > 0) await sleep(pauseMs); // a GC pause, a stalled VM: the lock may expire meanwhile
              if (balanceMinor < amountMinor) return "insufficient";
              const guard = name === "redlock-fenced" ? ({ kind: "fence", token } as const) : ({ kind: "none" } as const);
              return await withTransaction(pool, async (db) => {
                if (!(await sql.write(db, accountId, balanceMinor - amountMinor, guard))) {
                  counters.fenced++;
                  return "fenced" as const;
                }
                await sql.logDebit(db, accountId, amountMinor);
                return "debited" as const;
              });
            });
          } catch (error) {
            if (!(error instanceof LockNotAcquiredError)) throw error;
            counters.lockFailures++;
            throw new GaveUp(error.message);
          }
        },
      };
  }
}
