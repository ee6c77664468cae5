// Ledger, exchange, order and gateway as real processes on fresh databases,
// with a Redis key prefix of their own (the Redis on 6379 is shared).
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, startServiceProcess, type ServiceProcess, type TestDatabase } from "@kuku/platform/testing";

const SERVICES = fileURLToPath(new URL("../../../", import.meta.url));

export interface Stack {
  readonly gatewayUrl: string;
  readonly gateway: ServiceProcess;
  readonly ledger: Client<typeof ledger.LedgerService>;
  /** For fault injection (SetFaultMode). */
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly gatewayDbUrl: string;
  auth(): Client<typeof api.AuthService>;
  /** A TradingService client that sends this access token (or none). */
  trading(accessToken?: string): Client<typeof api.TradingService>;
  stop(): Promise<void>;
}

/** `env` goes to every service (e.g. the tracing exporter); `gatewayEnv` to the gateway only. */
export async function startStack(options: { gatewayEnv?: Record<string, string>; env?: Record<string, string> } = {}): Promise<Stack> {
  const env = options.env ?? {};
  const ledgerDb = await createTestDatabase("gw_ledger");
  const orderDb = await createTestDatabase("gw_order");
  const marketDb = await createTestDatabase("gw_market");
  const gatewayDb = await createTestDatabase("gw_gateway");
  const exchangeDb = await createTestDatabase("gw_exchange");
  const databases: TestDatabase[] = [ledgerDb, orderDb, marketDb, gatewayDb, exchangeDb];
  const processes: ServiceProcess[] = [];
  // Kafka topics of this stack's own: other tests' trades never reach our market service.
  const KAFKA_TOPIC_PREFIX = `gwtest-${randomUUID().slice(0, 8)}.`;
  try {
    const ledgerProcess = await startServiceProcess({ cwd: `${SERVICES}ledger`, env: { ...env, LEDGER_PORT: "0", LEDGER_DATABASE_URL: ledgerDb.url } });
    processes.push(ledgerProcess);
    const exchangeProcess = await startServiceProcess({ cwd: `${SERVICES}exchange`, env: { ...env, EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: exchangeDb.url, KAFKA_TOPIC_PREFIX } });
    processes.push(exchangeProcess);
    const orderProcess = await startServiceProcess({
      cwd: `${SERVICES}order`,
      env: {
        ...env,
        ORDER_PORT: "0",
        ORDER_DATABASE_URL: orderDb.url,
        ORDER_LEDGER_URL: `http://127.0.0.1:${ledgerProcess.port}`,
        ORDER_EXCHANGE_URL: `http://127.0.0.1:${exchangeProcess.port}`,
        ORDER_CONSUMER_GROUP: `kuku-order-gwtest-${randomUUID()}`,
        KAFKA_TOPIC_PREFIX,
      },
    });
    processes.push(orderProcess);
    const marketProcess = await startServiceProcess({
      cwd: `${SERVICES}market`,
      env: { ...env, MARKET_PORT: "0", MARKET_DATABASE_URL: marketDb.url, MARKET_CONSUMER_GROUP: `kuku-market-gwtest-${randomUUID()}`, KAFKA_TOPIC_PREFIX },
    });
    processes.push(marketProcess);
    const gateway = await startServiceProcess({
      cwd: `${SERVICES}gateway`,
      env: {
        ...env,
        GATEWAY_PORT: "0",
        GATEWAY_DATABASE_URL: gatewayDb.url,
        GATEWAY_LEDGER_URL: `http://127.0.0.1:${ledgerProcess.port}`,
        GATEWAY_ORDER_URL: `http://127.0.0.1:${orderProcess.port}`,
        GATEWAY_EXCHANGE_URL: `http://127.0.0.1:${exchangeProcess.port}`,
        GATEWAY_MARKET_URL: `http://127.0.0.1:${marketProcess.port}`,
        GATEWAY_REDIS_KEY_PREFIX: `kuku:gwtest:${randomUUID()}`,
        // Tests sign many users up: a cheaper scrypt keeps them fast; production keeps 17.
        GATEWAY_SCRYPT_LOG2_N: "14",
        ...options.gatewayEnv,
      },
    });
    processes.push(gateway);
    const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
    const transport = (interceptors: Interceptor[]) => createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1", interceptors });
    return {
      gatewayUrl,
      gateway,
      gatewayDbUrl: gatewayDb.url,
      ledger: createServiceClient(ledger.LedgerService, { baseUrl: `http://127.0.0.1:${ledgerProcess.port}`, timeoutMs: 10_000 }),
      exchange: createServiceClient(exchange.ExchangeService, { baseUrl: `http://127.0.0.1:${exchangeProcess.port}`, timeoutMs: 10_000 }),
      auth: () => createClient(api.AuthService, transport([])),
      trading: (accessToken) =>
        createClient(
          api.TradingService,
          transport(accessToken === undefined ? [] : [(next) => (req) => { req.header.set("authorization", `Bearer ${accessToken}`); return next(req); }]),
        ),
      async stop() {
        for (const p of processes.reverse()) await p.stop("SIGTERM");
        for (const d of databases) await d.drop();
      },
    };
  } catch (error) {
    for (const p of processes.reverse()) await p.stop("SIGKILL");
    for (const d of databases) await d.drop();
    throw error;
  }
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

export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
