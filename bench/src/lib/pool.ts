import { createLogger, createPool } from "@kuku/platform";
import type pg from "pg";

const logger = createLogger("bench", "warn");

/**
 * A pool for a benchmark's own database, from the platform (whose idle-error
 * listener matters here: the database is dropped WITH (FORCE) at the end).
 * No practical statement timeout: bulk loads and VACUUM run long.
 */
export function benchPool(connectionString: string, max: number): pg.Pool {
  return createPool({ connectionString, poolSizeMax: max, statementTimeoutMs: 600_000, applicationName: "kuku-bench" }, logger);
}
