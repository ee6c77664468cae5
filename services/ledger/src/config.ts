import {
  adminConfigShape,
  ConfigError,
  databaseConfigShape,
  enumVar,
  hostPortListVar,
  identityConfigShape,
  intVar,
  loadConfig,
  stringVar,
} from "@kuku/platform";
import { BALANCE_GUARDS, DEFAULT_BALANCE_GUARD } from "./domain/balance-guard.js";

export const ledgerConfigShape = {
  host: stringVar("LEDGER_HOST", "127.0.0.1"),
  port: intVar("LEDGER_PORT", 50051, { min: 0, max: 65535 }),
  ...adminConfigShape("LEDGER", 9051),
  ...identityConfigShape("LEDGER"),
  ...databaseConfigShape("LEDGER", { database: "kuku_ledger", poolSizeMax: 24, statementTimeoutMs: 10_000 }),
  isolation: enumVar("LEDGER_ISOLATION", "read_committed", ["read_committed", "repeatable_read", "serializable"]),
  transactionAttemptsMax: intVar("LEDGER_TX_ATTEMPTS_MAX", 8, { min: 1, max: 100 }),
  transactionBackoffBaseMs: intVar("LEDGER_TX_BACKOFF_BASE_MS", 2, { min: 0, max: 1_000 }),
  transactionBackoffMaxMs: intVar("LEDGER_TX_BACKOFF_MAX_MS", 50, { min: 0, max: 10_000 }),
  // How concurrent mutations of one balance are kept apart (ADR 0008).
  balanceGuard: enumVar("LEDGER_BALANCE_GUARD", DEFAULT_BALANCE_GUARD, BALANCE_GUARDS),
  // Only the redlock-fenced guard uses these: three independent Redis servers, a 2-of-3 quorum.
  redlockNodes: hostPortListVar("LEDGER_REDLOCK_NODES", "127.0.0.1:6379,127.0.0.1:6380,127.0.0.1:6381"),
  redlockTtlMs: intVar("LEDGER_REDLOCK_TTL_MS", 2_000, { min: 10, max: 60_000 }),
  // Mutations per group-commit transaction at most (ADR 0018).
  batchItemsMax: intVar("LEDGER_BATCH_ITEMS_MAX", 256, { min: 1, max: 8_190 }),
  // Group-commit transactions in flight at once, each on its own connection.
  batchWriters: intVar("LEDGER_BATCH_WRITERS", 4, { min: 1, max: 64 }),
  pageSizeDefault: intVar("LEDGER_PAGE_SIZE_DEFAULT", 50, { min: 1, max: 500 }),
  drainTimeoutMs: intVar("LEDGER_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadLedgerConfig = (env: Record<string, string | undefined> = process.env) => {
  const config = loadConfig(ledgerConfigShape, env);
  // A batch writer holds its transaction's connection and opens an asset's external account on another:
  // with no connection beyond the writers', every writer waits for one and none comes back.
  if (config.balanceGuard === "batched" && config.poolSizeMax <= config.batchWriters) {
    throw new ConfigError(
      `LEDGER_POOL_SIZE_MAX (${config.poolSizeMax}) must exceed LEDGER_BATCH_WRITERS (${config.batchWriters}) with the batched guard`,
    );
  }
  return config;
};
export type LedgerConfig = ReturnType<typeof loadLedgerConfig>;
