// Ledger, exchange and order services as real processes on fresh databases:
// what the flow tests and the UNKNOWN drill run against.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { type ServiceProcess, startTradingStack } from "@kuku/testkit";

export { eventually } from "@kuku/testkit";

export interface Stack {
  readonly ledger: ReturnType<typeof createServiceClient<typeof ledger.LedgerService>>;
  readonly exchange: ReturnType<typeof createServiceClient<typeof exchange.ExchangeService>>;
  /** The order service; valid across restartOrders (same port). */
  readonly orders: ReturnType<typeof createServiceClient<typeof api.OrderService>>;
  readonly orderProcess: ServiceProcess;
  readonly ports: { readonly ledger: number; readonly exchange: number };
  /** Their admin listeners (/metrics); the order service's is orderProcess.adminPort. */
  readonly adminPorts: { readonly ledger: number; readonly exchange: number };
  /** For raw HTTP requests (hostile bodies no client would encode). */
  readonly urls: { readonly ledger: string; readonly order: string };
  /** The stack's Kafka topics are "<prefix>order.events" and so on. */
  readonly kafkaTopicPrefix: string;
  /** The order service's own database (a test plays a crash or an operator's mistake on it). */
  readonly orderDatabaseUrl: string;
  /** Kills the order service (SIGKILL: no drain) and starts it again on the same database. */
  restartOrders(): Promise<void>;
  stop(): Promise<void>;
}

/** `env` goes to all three services (e.g. the tracing exporter). */
export async function startStack(options: {
  exchangeTimeoutMs: number;
  reconcileIntervalMs: number;
  env?: Record<string, string>;
  /** More environment for the order service alone. */
  orderEnv?: Record<string, string>;
}): Promise<Stack> {
  const stack = await startTradingStack({
    services: ["ledger", "exchange", "order"],
    env: options.env,
    envOf: {
      order: {
        ORDER_EXCHANGE_TIMEOUT_MS: String(options.exchangeTimeoutMs),
        ORDER_RECONCILE_INTERVAL_MS: String(options.reconcileIntervalMs),
        ...options.orderEnv,
      },
    },
  });
  return {
    ledger: createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 10_000 }),
    exchange: createServiceClient(exchange.ExchangeService, { baseUrl: stack.url("exchange"), timeoutMs: 10_000 }),
    orders: createServiceClient(api.OrderService, { baseUrl: stack.url("order"), timeoutMs: 10_000 }),
    get orderProcess() {
      return stack.process("order");
    },
    ports: { ledger: stack.process("ledger").port, exchange: stack.process("exchange").port },
    adminPorts: { ledger: stack.process("ledger").adminPort!, exchange: stack.process("exchange").adminPort! },
    urls: { ledger: stack.url("ledger"), order: stack.url("order") },
    kafkaTopicPrefix: stack.kafkaTopicPrefix,
    orderDatabaseUrl: stack.databaseUrl("order"),
    restartOrders: async () => void (await stack.restart("order", "SIGKILL")),
    stop: () => stack.stop(),
  };
}

/** A user with `cashKrw` won deposited through the ledger. */
export async function newUser(stack: Stack, cashKrw: bigint): Promise<string> {
  const userId = `user-${randomUUID().slice(0, 8)}`;
  const { account } = await stack.ledger.openAccount({ requestId: `open-${userId}-KRW`, ownerId: userId, asset: "KRW" });
  await stack.ledger.deposit({ requestId: `deposit-${userId}`, accountId: account!.accountId, amountMinor: cashKrw });
  return userId;
}

export type OrderOverrides = Omit<Partial<api.PlaceOrderRequest>, "$typeName" | "$unknown">;

/** A market buy of 10 shares of 005930 under a fresh key, unless `overrides` say otherwise. */
export const orderRequest = (userId: string, overrides: OrderOverrides = {}) =>
  create(api.PlaceOrderRequestSchema, {
    idempotencyKey: `key-${randomUUID()}`,
    userId,
    symbol: "005930",
    side: Side.BUY,
    type: OrderType.MARKET,
    timeInForce: TimeInForce.IOC,
    quantity: 10n,
    limitPriceKrw: 0n,
    ...overrides,
  });
