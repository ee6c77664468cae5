// Ledger, exchange, order, market and gateway as real processes on fresh
// databases, with Kafka topics and Redis keys of their own.
import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as accountsApi from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, type Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { eventually, type ServiceProcess, startService, startTradingStack } from "@kuku/testkit";
import pg from "pg";

export { eventually } from "@kuku/testkit";

export interface Stack {
  readonly gatewayUrl: string;
  readonly gateway: ServiceProcess;
  readonly ledger: Client<typeof ledger.LedgerService>;
  /** For fault injection (SetFaultMode). */
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly gatewayDbUrl: string;
  /** The Kafka topic prefix of this stack (its order.events is `${prefix}order.events`). */
  readonly kafkaTopicPrefix: string;
  /** SIGKILLs the gateway and starts it again on the same port, Redis keys and consumer group; `meanwhile` runs while it is down. */
  restartGateway(meanwhile?: () => Promise<void>): Promise<void>;
  /** The same for the order service. */
  restartOrder(meanwhile?: () => Promise<void>): Promise<void>;
  auth(): Client<typeof api.AuthService>;
  /** A TradingService client that sends this access token (or none). */
  trading(accessToken?: string): Client<typeof api.TradingService>;
  /** An AccountService client that sends this access token (or none). */
  accounts(accessToken?: string): Client<typeof accountsApi.AccountService>;
  stop(): Promise<void>;
}

/** `env` goes to every service (e.g. the tracing exporter); `gatewayEnv` to the gateway only. */
export async function startStack(options: { gatewayEnv?: Record<string, string>; env?: Record<string, string> } = {}): Promise<Stack> {
  const stack = await startTradingStack({
    services: ["ledger", "exchange", "order", "market", "gateway"],
    env: options.env,
    envOf: { gateway: options.gatewayEnv ?? {} },
  });
  const gatewayUrl = stack.url("gateway");
  const restart = async (service: "gateway" | "order", meanwhile?: () => Promise<void>) => {
    await stack.process(service).stop("SIGKILL");
    await meanwhile?.();
    await stack.restart(service);
  };
  const transport = (interceptors: Interceptor[]) => createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1", interceptors });
  const bearer = (accessToken: string | undefined): Interceptor[] =>
    accessToken === undefined
      ? []
      : [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${accessToken}`);
            return next(req);
          },
        ];
  return {
    gatewayUrl,
    gatewayDbUrl: stack.databaseUrl("gateway"),
    kafkaTopicPrefix: stack.kafkaTopicPrefix,
    get gateway() {
      return stack.process("gateway");
    },
    restartGateway: (meanwhile) => restart("gateway", meanwhile),
    restartOrder: (meanwhile) => restart("order", meanwhile),
    ledger: createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 10_000 }),
    exchange: createServiceClient(exchange.ExchangeService, { baseUrl: stack.url("exchange"), timeoutMs: 10_000 }),
    auth: () => createClient(api.AuthService, transport([])),
    trading: (accessToken) => createClient(api.TradingService, transport(bearer(accessToken))),
    accounts: (accessToken) => createClient(accountsApi.AccountService, transport(bearer(accessToken))),
    stop: () => stack.stop(),
  };
}

let counter = 0;
/** A signed-up user with a unique e-mail. */
export async function signUp(stack: Stack, name = "user") {
  counter += 1;
  const email = `${name}-${counter}-${randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery";
  const res = await stack.auth().signUp({ email, password, displayName: name });
  return { email, password, userId: res.userId, tokens: res.tokens!, trading: stack.trading(res.tokens!.accessToken) };
}

/** PlaceOrder answers at acceptance: the order as the user's list shows it once it is SETTLED. */
export async function untilSettled(trading: Client<typeof api.TradingService>, orderId: string): Promise<api.Order> {
  let settled: api.Order | undefined;
  await eventually("the order settles", async () => {
    settled = (await trading.listOrders({})).orders.find((o) => o.orderId === orderId && o.state === order.OrderState.SETTLED);
    return settled !== undefined;
  });
  return settled!;
}

/** Everything a stray call could change: the user's money and orders, and the user and session counts. */
export async function stateOf(stack: Stack, user: { userId: string; trading: Client<typeof api.TradingService> }) {
  const db = new pg.Client({ connectionString: stack.gatewayDbUrl });
  await db.connect();
  const users = (await db.query("SELECT count(*)::int AS n FROM users")).rows[0].n as number;
  const tokens = (await db.query("SELECT count(*)::int AS n FROM refresh_tokens")).rows[0].n as number;
  await db.end();
  const { balances } = await stack.ledger.getBalances({ ownerId: user.userId });
  const { orders } = await user.trading.listOrders({});
  return { users, tokens, balances: balances.map((b) => [b.asset, b.totalMinor, b.heldMinor, b.version]), orders: orders.length };
}

/**
 * A gateway process on its own, on `databaseUrl` (its auth needs no downstream), with Redis keys of its own and no
 * market; `env` over those. Stopped when the test ends.
 */
export async function startGatewayAlone(t: { teardown(fn: () => unknown): void }, databaseUrl: string, env: Record<string, string> = {}) {
  const gateway = await startService("gateway", {
    database: databaseUrl,
    env: { GATEWAY_REDIS_KEY_PREFIX: `kuku:gwtest:${randomUUID()}`, GATEWAY_MARKET_URL: "none", ...env },
  });
  t.teardown(() => gateway.stop());
  return gateway;
}

/** A market IOC order of `quantity` shares, with a fresh idempotency key. */
export const marketOrder = (side: Side, quantity: bigint, symbol = "005930"): MessageInitShape<typeof api.PlaceOrderRequestSchema> => ({
  idempotencyKey: `key-${randomUUID()}`,
  symbol,
  side,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity,
});
