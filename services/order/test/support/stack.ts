// Ledger, exchange and order services as real processes on fresh databases:
// what the flow tests and the UNKNOWN drill run against.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, startServiceProcess, type ServiceProcess, type TestDatabase } from "@kuku/platform/testing";

const SERVICES = fileURLToPath(new URL("../../../", import.meta.url));

export interface Stack {
  ledger: ReturnType<typeof createServiceClient<typeof ledger.LedgerService>>;
  exchange: ReturnType<typeof createServiceClient<typeof exchange.ExchangeService>>;
  orders: ReturnType<typeof createServiceClient<typeof api.OrderService>>;
  orderProcess: ServiceProcess;
  readonly ports: { readonly ledger: number; readonly exchange: number };
  /** Kills the order service (SIGKILL: no drain) and starts it again on the same database. */
  restartOrders(): Promise<void>;
  stop(): Promise<void>;
}

/** `env` goes to all three services (e.g. the tracing exporter). */
export async function startStack(options: { exchangeTimeoutMs: number; reconcileIntervalMs: number; env?: Record<string, string> }): Promise<Stack> {
  const env = options.env ?? {};
  const ledgerDb = await createTestDatabase("stack_ledger");
  const orderDb = await createTestDatabase("stack_order");
  const exchangeDb = await createTestDatabase("stack_exchange");
  const databases: TestDatabase[] = [ledgerDb, orderDb, exchangeDb];
  const ledgerProcess = await startServiceProcess({ cwd: `${SERVICES}ledger`, env: { ...env, LEDGER_PORT: "0", LEDGER_DATABASE_URL: ledgerDb.url } });
  const exchangeProcess = await startServiceProcess({ cwd: `${SERVICES}exchange`, env: { ...env, EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: exchangeDb.url } });
  const consumerGroup = `kuku-order-test-${randomUUID()}`;
  const startOrders = async () => {
    const started = await startServiceProcess({
      cwd: `${SERVICES}order`,
      env: {
        ...env,
        ORDER_PORT: "0",
        ORDER_DATABASE_URL: orderDb.url,
        ORDER_LEDGER_URL: `http://127.0.0.1:${ledgerProcess.port}`,
        ORDER_EXCHANGE_URL: `http://127.0.0.1:${exchangeProcess.port}`,
        ORDER_EXCHANGE_TIMEOUT_MS: String(options.exchangeTimeoutMs),
        ORDER_RECONCILE_INTERVAL_MS: String(options.reconcileIntervalMs),
        ORDER_CONSUMER_GROUP: consumerGroup,
      },
    });
    // A new group reads from the topic's end: wait until it has joined.
    await eventually("the order service joins its consumer group", async () => started.logs.some((l) => l.includes("executions consumer joined")), 30_000);
    return started;
  };
  const ordersClient = (p: ServiceProcess) => createServiceClient(api.OrderService, { baseUrl: `http://127.0.0.1:${p.port}`, timeoutMs: 10_000 });
  const orderProcess = await startOrders();
  const stack: Stack = {
    ledger: createServiceClient(ledger.LedgerService, { baseUrl: `http://127.0.0.1:${ledgerProcess.port}`, timeoutMs: 10_000 }),
    exchange: createServiceClient(exchange.ExchangeService, { baseUrl: `http://127.0.0.1:${exchangeProcess.port}`, timeoutMs: 10_000 }),
    orders: ordersClient(orderProcess),
    orderProcess,
    ports: { ledger: ledgerProcess.port, exchange: exchangeProcess.port },
    async restartOrders() {
      await stack.orderProcess.stop("SIGKILL");
      stack.orderProcess = await startOrders();
      stack.orders = ordersClient(stack.orderProcess);
    },
    async stop() {
      for (const p of [stack.orderProcess, exchangeProcess, ledgerProcess]) await p.stop("SIGTERM");
      for (const d of databases) await d.drop();
    },
  };
  return stack;
}

/** A user with `cashKrw` won deposited through the ledger. */
export async function newUser(stack: Stack, cashKrw: bigint): Promise<string> {
  const userId = `user-${randomUUID().slice(0, 8)}`;
  const { account } = await stack.ledger.openAccount({ requestId: `open-${userId}-KRW`, ownerId: userId, asset: "KRW" });
  await stack.ledger.deposit({ requestId: `deposit-${userId}`, accountId: account!.accountId, amountMinor: cashKrw });
  return userId;
}

export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
