import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import pg from "pg";
import type { Logger } from "pino";
import { type Config, intVar, urlVar } from "./config.js";
import { observePool, pgMetrics } from "./metrics.js";
import { inSpan, insideTrace } from "./tracing.js";

export interface PoolOptions {
  readonly connectionString: string;
  readonly poolSizeMax: number;
  readonly statementTimeoutMs: number;
  readonly applicationName: string;
}

export function createPool(options: PoolOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSizeMax,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName,
  });
  // An idle client losing its connection must not crash the process: the
  // pool drops it and the next checkout opens a new one.
  pool.on("error", (error: Error & { code?: string }) =>
    logger.warn({ code: error.code, message: error.message }, "idle PostgreSQL client failed"),
  );
  // pool.query runs on a client with pg's callback form, which the client
  // wrapper leaves alone: each query is observed once, in its caller's
  // context. (@opentelemetry/instrumentation-pg patches pg only when
  // registered before pg is first imported, i.e. from a --import preload:
  // measured in ADR 0015.)
  pool.query = observed(pool.query.bind(pool), options.applicationName) as typeof pool.query;
  pool.on("connect", (client) => {
    client.query = observed(client.query.bind(client), options.applicationName) as typeof client.query;
  });
  observePool(options.applicationName, pool);
  return pool;
}

const STATEMENT_CHARS_MAX = 500;

/** Times a query function's promise form and, inside a trace, gives each query a CLIENT span. */
function observed(query: (...args: unknown[]) => unknown, poolName: string): (...args: unknown[]) => unknown {
  return (...args) => {
    // The callback and Submittable (cursor) forms are passed through: the platform uses promises only.
    if (args.some((a) => typeof a === "function") || typeof (args[0] as { submit?: unknown } | undefined)?.submit === "function") {
      return query(...args);
    }
    const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? "");
    const run = async () => {
      const started = process.hrtime.bigint();
      try {
        return await (query(...args) as Promise<unknown>);
      } finally {
        pgMetrics.queryDuration.observe({ pool: poolName }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
    if (!insideTrace()) return run();
    const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
    return inSpan(
      `pg ${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system": "postgresql",
          "db.statement": text.slice(0, STATEMENT_CHARS_MAX),
          "db.client.connection.pool.name": poolName,
        },
      },
      run,
    );
  };
}

export type Isolation = "read committed" | "repeatable read" | "serializable";

export interface TransactionOptions {
  /** PostgreSQL's default (read committed) when unset. */
  readonly isolation?: Isolation;
  readonly readOnly?: boolean;
}

/**
 * Runs fn in one transaction on a pooled client: COMMIT when it returns,
 * ROLLBACK when it throws (the error goes on to the caller). A client whose
 * ROLLBACK fails too is destroyed instead of going back to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (db: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const begin = [
    "BEGIN",
    options.isolation === undefined ? "" : ` ISOLATION LEVEL ${options.isolation.toUpperCase()}`,
    options.readOnly === true ? " READ ONLY" : "",
  ].join("");
  const db = await pool.connect();
  let broken = false;
  // A checked-out client has no error listener of the pool's: a connection
  // lost between two queries (the server crashed) would be an unhandled
  // 'error' event and end the process. The next query fails with the cause.
  const lost = () => {
    broken = true;
  };
  db.on("error", lost);
  try {
    await db.query(begin);
    const result = await fn(db);
    await db.query("COMMIT");
    return result;
  } catch (error) {
    await db.query("ROLLBACK").catch(() => (broken = true));
    throw error;
  } finally {
    db.off("error", lost);
    db.release(broken);
  }
}

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
// Any constant works; it only has to be the same for every runner.
const MIGRATION_LOCK_KEY = 4_242_001;

/**
 * Applies numbered SQL files (0001_name.sql, ...) in order, each in its own
 * transaction, once. An applied file whose content changed is an error: a
 * migration is history and is never edited, a new one is added instead.
 * Concurrent runners serialise on an advisory lock.
 */
export async function migrate(pool: pg.Pool, directory: string, logger: Logger): Promise<string[]> {
  const names = (await readdir(directory)).filter((name) => MIGRATION_FILE.test(name)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map<string, string>(
      (await client.query<{ name: string; checksum: string }>("SELECT name, checksum FROM schema_migrations")).rows.map((row) => [
        row.name,
        row.checksum,
      ]),
    );
    for (const name of names) {
      const sql = await readFile(join(directory, name), "utf8");
      const checksum = createHash("sha256").update(sql).digest("hex");
      const previous = done.get(name);
      if (previous !== undefined) {
        if (previous !== checksum) throw new Error(`migration ${name} was edited after it was applied`);
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", [name, checksum]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(name);
      logger.info({ migration: name }, "migration applied");
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
  return applied;
}

/** Every service's own database settings, named `<PREFIX>_DATABASE_URL`, `<PREFIX>_POOL_SIZE_MAX`, `<PREFIX>_STATEMENT_TIMEOUT_MS`. */
export function databaseConfigShape(
  prefix: string,
  defaults: { readonly database: string; readonly poolSizeMax: number; readonly statementTimeoutMs: number },
) {
  return {
    databaseUrl: urlVar(`${prefix}_DATABASE_URL`, `postgres://kuku:kuku@127.0.0.1:55432/${defaults.database}`, [
      "postgres:",
      "postgresql:",
    ]),
    poolSizeMax: intVar(`${prefix}_POOL_SIZE_MAX`, defaults.poolSizeMax, { min: 1, max: 500 }),
    statementTimeoutMs: intVar(`${prefix}_STATEMENT_TIMEOUT_MS`, defaults.statementTimeoutMs, { min: 100, max: 600_000 }),
  };
}

export type DatabaseConfig = Config<ReturnType<typeof databaseConfigShape>>;

/** A service's pool on its own database, with the service's migrations applied before anything is served. */
export async function openDatabase(
  config: DatabaseConfig,
  options: { readonly applicationName: string; readonly migrationsDir: string },
  logger: Logger,
): Promise<pg.Pool> {
  const pool = createPool(
    {
      connectionString: config.databaseUrl,
      poolSizeMax: config.poolSizeMax,
      statementTimeoutMs: config.statementTimeoutMs,
      applicationName: options.applicationName,
    },
    logger,
  );
  await migrate(pool, options.migrationsDir, logger);
  return pool;
}
