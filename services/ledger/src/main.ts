import { fileURLToPath } from "node:url";
import { connectRedlock, createLogger, initTracing, openDatabase, shutdownOnSignal, startServer } from "@kuku/platform";
import { Ledger } from "./app/ledger.js";
import { loadLedgerConfig } from "./config.js";
import { ledgerHandlers } from "./rpc/handlers.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

const logger = createLogger("ledger");
const config = loadLedgerConfig();
const stopTracing = await initTracing("ledger");
const pool = await openDatabase(config, { applicationName: "kuku-ledger", migrationsDir: MIGRATIONS_DIR }, logger);

// Redis only when the guard needs it: the other guards keep the money path on PostgreSQL alone.
const redis = config.balanceGuard === "redlock-fenced" ? connectRedlock(config.redlockNodes) : undefined;
const ledger = new Ledger({
  pool,
  logger,
  transactions: {
    isolation: config.isolation,
    attemptsMax: config.transactionAttemptsMax,
    backoffBaseMs: config.transactionBackoffBaseMs,
    backoffMaxMs: config.transactionBackoffMaxMs,
  },
  balanceGuard: config.balanceGuard,
  ...(redis === undefined ? {} : { redlock: { redlock: redis.redlock, ttlMs: config.redlockTtlMs } }),
});
const server = await startServer({
  name: "ledger",
  host: config.host,
  port: config.port,
  logger,
  services: [ledgerHandlers(ledger, { pageSizeDefault: config.pageSizeDefault })],
  drainTimeoutMs: config.drainTimeoutMs,
});
logger.info({ isolation: config.isolation, balanceGuard: config.balanceGuard, port: server.port }, "ledger ready");
shutdownOnSignal(server, logger, async () => {
  await redis?.close();
  await pool.end();
  await stopTracing();
});
