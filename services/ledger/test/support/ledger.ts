// Starts the ledger in-process on a fresh database, with a real gRPC client.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createLogger, createPool, createServiceClient, migrate, startServer } from "@kuku/platform";
import { createTestDatabase } from "@kuku/testkit";
import type pg from "pg";
import type { Test } from "tap";
import { Ledger } from "../../src/app/ledger.js";
import { BALANCE_GUARDS, type BalanceGuardName } from "../../src/domain/balance-guard.js";
import { ledgerHandlers } from "../../src/rpc/handlers.js";
import type { Isolation } from "../../src/store/transactions.js";

// The in-process tests run under row-lock unless LEDGER_BALANCE_GUARD names another guard (e.g. batched).
const TEST_GUARD = (BALANCE_GUARDS as readonly string[]).includes(process.env["LEDGER_BALANCE_GUARD"] ?? "")
  ? (process.env["LEDGER_BALANCE_GUARD"] as BalanceGuardName)
  : "row-lock";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

export interface TestLedger {
  readonly client: Client<typeof LedgerService>;
  readonly pool: pg.Pool;
  readonly ledger: Ledger;
  readonly databaseUrl: string;
  close(): Promise<void>;
}

export async function startTestLedger(
  name: string,
  options: { isolation?: Isolation; poolSizeMax?: number; attemptsMax?: number; balanceGuard?: BalanceGuardName } = {},
): Promise<TestLedger> {
  const logger = createLogger(`ledger-test-${name}`, process.env["LOG_LEVEL"] ?? "warn");
  const database = await createTestDatabase(name);
  const pool = createPool(
    { connectionString: database.url, poolSizeMax: options.poolSizeMax ?? 20, statementTimeoutMs: 30_000, applicationName: "ledger-test" },
    logger,
  );
  await migrate(pool, MIGRATIONS_DIR, logger);
  const ledger = new Ledger({
    pool,
    logger,
    transactions: {
      isolation: options.isolation ?? "read_committed",
      attemptsMax: options.attemptsMax ?? 8,
      backoffBaseMs: 2,
      backoffMaxMs: 50,
    },
    balanceGuard: options.balanceGuard ?? TEST_GUARD,
  });
  const server = await startServer({
    name: "ledger",
    grpcServer: "grpc-js",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [ledgerHandlers(ledger, { pageSizeDefault: 50 })],
  });
  const client = createServiceClient(LedgerService, { baseUrl: `http://127.0.0.1:${server.port}`, timeoutMs: 30_000 });
  return {
    client,
    pool,
    ledger,
    databaseUrl: database.url,
    async close() {
      await server.shutdown();
      await pool.end();
      await database.drop();
    },
  };
}

export const rid = (label = "req") => `${label}-${randomUUID()}`;

// Answers after which the outcome is unknown or the race was lost: a well-behaved client asks again
// with the SAME request id, which is what makes the repeat safe and the final count exact.
const ASK_AGAIN = new Set([Code.Aborted, Code.DeadlineExceeded, Code.Unavailable]);

/** Calls until the ledger gives a definite answer, a bounded number of times. */
export async function retryUntilAnswered<T>(call: () => Promise<T>, attemptsMax: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!ASK_AGAIN.has(ConnectError.from(error).code) || attempt >= attemptsMax) throw error;
    }
  }
}

/** Opens a user account and funds it from the outside world. */
export async function fundedAccount(
  client: Client<typeof LedgerService>,
  ownerId: string,
  asset: string,
  amountMinor: bigint,
): Promise<string> {
  const { account } = await client.openAccount({ requestId: rid("open"), ownerId, asset });
  if (account === undefined) throw new Error("OpenAccount returned no account");
  if (amountMinor > 0n) await client.deposit({ requestId: rid("fund"), accountId: account.accountId, amountMinor });
  return account.accountId;
}

export async function countRows(pool: pg.Pool, table: "entries" | "postings" | "holds" | "requests" | "accounts"): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

/** A call that must fail with `code`, its message matching; the error. */
export async function rejects(t: Test, call: Promise<unknown>, code: Code, message: RegExp): Promise<ConnectError> {
  const error = await call.then(
    () => t.fail("expected the call to fail") as never,
    (e: unknown) => ConnectError.from(e),
  );
  t.equal(Code[error.code], Code[code], `status ${Code[code]}`);
  t.match(error.rawMessage, message);
  return error;
}
