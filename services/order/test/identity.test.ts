// Service identity on every internal service, as real processes (ADR 0021):
// for each rpc that names its callers, no token is UNAUTHENTICATED, a key the
// services do not trust is UNAUTHENTICATED, a trusted identity that is not
// among the callers is PERMISSION_DENIED, and an allowed caller gets past the
// gate (to validation: the empty requests below are refused there, so nothing
// changes). A service refuses to start without its key outside development.
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as market from "@kuku/contracts/kuku/market/v1/market_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { callersOf, generateIdentityKeys, identityClientInterceptor, identityFrom, OPERATOR, type ServiceIdentity } from "@kuku/platform";
import {
  createTestDatabase,
  envName,
  SERVICE_NAMES,
  type ServiceName,
  startRefused,
  startService,
  startTradingStack,
  testIdentity,
} from "@kuku/testkit";
import t from "tap";

const SERVED: readonly [ServiceName, DescService][] = [
  ["ledger", ledger.LedgerService],
  ["exchange", exchange.ExchangeService],
  ["order", order.OrderService],
  ["market", market.MarketDataService],
];

const stack = await startTradingStack({ services: ["ledger", "exchange", "order", "market"] });
t.teardown(() => stack.stop());

/** One call of `method` with an empty request as `identity` (none: no token); its status code. */
async function codeOf(target: ServiceName, service: DescService, method: DescMethod, identity: ServiceIdentity | undefined) {
  const interceptors: Interceptor[] = identity === undefined ? [] : [identityClientInterceptor(identity)];
  const transport = createGrpcTransport({ baseUrl: stack.url(target), interceptors, defaultTimeoutMs: 10_000 });
  // A generic call by descriptor: the typed client is keyed by the method's local name.
  const client = createClient(service, transport) as unknown as Record<string, (req: object) => unknown>;
  const request = create(method.input);
  try {
    const answer = client[method.localName]!(request);
    if (method.methodKind === "server_streaming") {
      for await (const _ of answer as AsyncIterable<unknown>) break;
    } else await answer;
    return Code[0];
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
}

// A key pair nobody trusts, calling itself "gateway".
const untrusted = (() => {
  const { keys, trust } = generateIdentityKeys(["gateway"]);
  return identityFrom("gateway", keys["gateway"]!, trust);
})();

t.test("every rpc that names its callers: none, untrusted, wrong caller refused; an allowed caller passes the gate", async (t) => {
  for (const [target, service] of SERVED) {
    for (const method of service.methods) {
      const callers = callersOf(method);
      if (callers === undefined) {
        t.fail(`${service.name}.${method.name} names no callers: every internal rpc must`);
        continue;
      }
      const name = `${service.name}.${method.name}`;
      t.equal(await codeOf(target, service, method, undefined), "Unauthenticated", `${name}: no token`);
      t.equal(await codeOf(target, service, method, untrusted), "Unauthenticated", `${name}: a key the services do not trust`);
      const outsider = SERVICE_NAMES.find((s) => !callers.includes(s))!;
      t.equal(await codeOf(target, service, method, testIdentity(outsider)), "PermissionDenied", `${name}: ${outsider} is not a caller`);
      const caller = callers.find((c) => c !== OPERATOR);
      // Administrative rpcs: only the operator passes; the empty request then asks for nothing harmful.
      const allowed = testIdentity((caller ?? OPERATOR) as ServiceName);
      const code = await codeOf(target, service, method, allowed);
      t.not(code, "Unauthenticated", `${name}: ${allowed.name} is authenticated`);
      t.not(code, "PermissionDenied", `${name}: ${allowed.name} may call it`);
    }
  }
});

t.test("health and reflection stay public: grpc health checks need no identity", async (t) => {
  const { Health } = await import("@kuku/contracts/grpc/health/v1/health_pb");
  const health = createClient(Health, createGrpcTransport({ baseUrl: stack.url("ledger") }));
  t.equal((await health.check({ service: "" })).status, 1, "SERVING without a token");
});

t.test("a service without its identity key refuses to start, unless in development mode", async (t) => {
  for (const name of SERVICE_NAMES) {
    const refused = await startRefused(name, { [envName(name, "IDENTITY_KEY")]: "", KUKU_ENV: "" });
    t.match(refused, /needs its identity key and KUKU_IDENTITY_TRUST/, `${name}: refused`);
  }
  const wrongKey = await startRefused("ledger", { LEDGER_IDENTITY_KEY: generateIdentityKeys(["ledger"]).keys["ledger"]! });
  t.match(wrongKey, /KUKU_IDENTITY_TRUST must hold the ledger service's own public key/, "a key the trust list does not name: refused");
  const database = await createTestDatabase("identity_dev");
  t.teardown(() => database.drop());
  const development = await startService("ledger", {
    database: database.url,
    env: { LEDGER_IDENTITY_KEY: "", KUKU_IDENTITY_TRUST: "", KUKU_ENV: "development" },
  });
  t.teardown(() => development.stop());
  t.ok(
    development.logs.some((l) => l.includes("development mode without identity keys")),
    "development mode: starts, and says that it trusts every caller",
  );
});
