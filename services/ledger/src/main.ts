import { fileURLToPath } from "node:url";
import { connectRedlock, runService } from "@kuku/platform";
import { Ledger } from "./app/ledger.js";
import { loadLedgerConfig } from "./config.js";
import { ledgerHandlers } from "./rpc/handlers.js";

await runService({
  name: "ledger",
  loadConfig: () => loadLedgerConfig(),
  migrationsDir: fileURLToPath(new URL("../migrations", import.meta.url)),
  async wire({ config, pool, logger, onStop }) {
    // Redis only when the guard needs it: the other guards keep the money path on PostgreSQL alone.
    const redis = config.balanceGuard === "redlock-fenced" ? connectRedlock(config.redlockNodes) : undefined;
    if (redis !== undefined) onStop(() => redis.close());
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
    return {
      services: [ledgerHandlers(ledger, { pageSizeDefault: config.pageSizeDefault })],
      // Called only by services: gRPC on HTTP/2 served by grpc-js (ADR 0002).
      server: { grpcServer: "grpc-js" },
      ready: { isolation: config.isolation, balanceGuard: config.balanceGuard },
    };
  },
});
