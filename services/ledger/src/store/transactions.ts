import { jitteredBackoffMs, type Logger, type Isolation as PgIsolation, withTransaction } from "@kuku/platform";
import { DomainError } from "@kuku/platform/errors";
import type pg from "pg";

export type Isolation = "read_committed" | "repeatable_read" | "serializable";

const PG_ISOLATION: Record<Isolation, PgIsolation> = {
  read_committed: "read committed",
  repeatable_read: "repeatable read",
  serializable: "serializable",
};

// serialization_failure, deadlock_detected and a lost compare-and-set: the
// transaction did nothing and may simply run again.
const RETRYABLE = new Set(["40001", "40P01", "version_conflict"]);

export interface TransactionOptions {
  readonly isolation: Isolation;
  readonly attemptsMax: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/**
 * A compare-and-set write found a newer version than the one read (the
 * optimistic guard): the transaction rolls back and runs again.
 */
export class VersionConflictError extends Error {
  override name = "VersionConflictError";
}

export interface TransactionStats {
  retries: number;
  exhausted: number;
}

/**
 * Runs fn in a transaction at the configured isolation level and runs it
 * again (bounded, with jittered exponential backoff) when PostgreSQL aborts
 * it for a serialization failure or a deadlock, or a compare-and-set lost.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  options: TransactionOptions,
  stats: TransactionStats,
  logger: Logger,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, fn, { isolation: PG_ISOLATION[options.isolation] });
    } catch (error) {
      const code = error instanceof VersionConflictError ? "version_conflict" : (error as { code?: string }).code;
      if (code === undefined || !RETRYABLE.has(code)) throw error;
      if (attempt >= options.attemptsMax) {
        stats.exhausted += 1;
        // Nothing was written: the caller may send the same request id again.
        throw new DomainError("aborted", `gave up after ${attempt} attempts: ${(error as Error).message}`, {}, { cause: error });
      }
      stats.retries += 1;
      logger.debug({ code, attempt }, "transaction conflict, retrying");
    }
    await new Promise((resolve) => setTimeout(resolve, jitteredBackoffMs(attempt, options.backoffBaseMs, options.backoffMaxMs)));
  }
}
