// A ledger service started as a real process on a fresh database (log level
// info: the harness waits for its "serving" line), with
// funded accounts: what the ledger benchmarks run against.
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, type ServiceProcess, startService, type TestDatabase } from "@kuku/testkit";
import { benchPool } from "./pool.js";
import { cpuSeconds } from "./proc.js";

export interface LedgerUnderTest {
  readonly database: TestDatabase;
  readonly service: ServiceProcess;
  readonly client: Client<typeof api.LedgerService>;
  stop(): Promise<void>;
}

export async function startLedger(env: Record<string, string> = {}, profileDir?: string): Promise<LedgerUnderTest> {
  const database = await createTestDatabase("bench");
  const service = await startService("ledger", {
    database: database.url,
    env: { LOG_LEVEL: "info", ...env },
    // A V8 CPU profile of the service, written when it exits (open it in Chrome DevTools).
    nodeArgs: profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
  }).catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  const client = createServiceClient(api.LedgerService, { baseUrl: `http://127.0.0.1:${service.port}`, timeoutMs: 30_000 });
  return {
    database,
    service,
    client,
    async stop() {
      await service.stop("SIGTERM");
      await database.drop();
    },
  };
}

/** Opens `count` KRW accounts and deposits `amountMinor` into each. */
export async function fundedAccounts(
  client: Client<typeof api.LedgerService>,
  count: number,
  amountMinor: bigint,
  prefix: string,
): Promise<string[]> {
  const ids: string[] = [];
  const batch = 32;
  for (let start = 0; start < count; start += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, i) => {
        const owner = `${prefix}-${start + i}`;
        const { account } = await retryAborted(() =>
          client.openAccount(create(api.OpenAccountRequestSchema, { requestId: `open-${owner}`, ownerId: owner, asset: "KRW" })),
        );
        const accountId = account!.accountId;
        await retryAborted(() => client.deposit(create(api.DepositRequestSchema, { requestId: `fund-${owner}`, accountId, amountMinor })));
        return accountId;
      }),
    );
    ids.push(...opened);
  }
  return ids;
}

/**
 * ABORTED means the ledger gave up on conflicts and did nothing: the same
 * request id may be sent again (every deposit hits the one external account,
 * a hot row under REPEATABLE READ and SERIALIZABLE).
 */
async function retryAborted<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.Aborted) || attempt >= 20) throw error;
    }
  }
}

export interface CpuMeters {
  /** CPU seconds so far of the ledger process, of its database's PostgreSQL backends, and of this process. */
  read(): Promise<{ ledger: number; postgres: number; client: number }>;
}

/**
 * CPU meters of a ledger under test. PostgreSQL runs on this machine: its
 * backends serving the ledger's database are read from /proc (a backend
 * that ends between two reads takes its CPU time with it).
 */
export function cpuMeters(ledger: LedgerUnderTest): CpuMeters {
  const pid = ledger.service.child.pid!;
  return {
    async read() {
      const pool = benchPool(ledger.database.url, 1);
      try {
        const { rows } = await pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        const postgres = rows.reduce((sum, r) => sum + cpuSeconds(r.pid), 0);
        const { user, system } = process.cpuUsage();
        return { ledger: cpuSeconds(pid), postgres, client: (user + system) / 1e6 };
      } finally {
        await pool.end();
      }
    },
  };
}
