import pg from "pg";

/**
 * A pool for a benchmark's own database. An idle connection that PostgreSQL
 * closes (the database is dropped WITH (FORCE) at the end) emits 'error' on
 * the pool, which without a listener would crash the run after the figures.
 */
export function benchPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on("error", (error) => console.error(`idle connection closed: ${error.message}`));
  return pool;
}
