import type pg from "pg";
import { withTransaction, type Isolation as PgIsolation, type Logger } from "@kuku/platform";

export type Isolation = "read_committed" | "repeatable_read" | "serializable";

const PG_ISOLATION: Record<Isolation, PgIsolation> = {
  read_committed: "read committed",
  repeatable_read: "repeatable read",
  serializable: "serializable",
};

// serialization_failure and deadlock_detected: the transaction did nothing
// and may simply run again.
const RETRYABLE = new Set(["40001", "40P01"]);

export interface TransactionOptions {
  readonly isolation: Isolation;
  readonly attemptsMax: number;
  readonly backoffBaseMs: number;
}

export interface TransactionStats {
  retries: number;
  exhausted: number;
}

export class RetriesExhaustedError extends Error {
  override name = "RetriesExhaustedError";
}

/**
 * Runs fn in a transaction at the configured isolation level and runs it
 * again (bounded, with jittered exponential backoff) when PostgreSQL aborts
 * it for a serialization failure or a deadlock.
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
      const code = (error as { code?: string }).code;
      if (code === undefined || !RETRYABLE.has(code)) throw error;
      if (attempt >= options.attemptsMax) {
        stats.exhausted += 1;
        throw new RetriesExhaustedError(`gave up after ${attempt} attempts: ${(error as Error).message}`, { cause: error });
      }
      stats.retries += 1;
      logger.debug({ code, attempt }, "transaction conflict, retrying");
    }
    const backoffMs = options.backoffBaseMs * 2 ** (attempt - 1);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * backoffMs));
  }
}
