// What the service client's own unary path (unary-client.ts) does besides
// carrying the call, against a real grpc-js server: a call given up before it
// starts is never sent, the client span and its trace context, the client's
// duration metric per status, the service token on rpcs that name callers
// only, and a client given Connect interceptors still runs them. Status codes,
// details, metadata, deadlines and cancellation are in grpc-js.test.ts, the
// policies and faults in resilience.test.ts.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { GetPortfolioResponseSchema, TradingService } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { GetBalancesResponseSchema, LedgerService, PlaceHoldResponseSchema } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { parsePrometheusText } from "@kuku/testkit";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { register } from "prom-client";
import t from "tap";
import {
  createLogger,
  createServiceClient,
  faultsFromIstio,
  generateIdentityKeys,
  identityFrom,
  notFound,
  serviceOf,
  startServer,
} from "../src/index.js";

const ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";
const seen: Headers[] = [];

const server = await startServer({
  name: "service-client-test",
  grpcServer: "grpc-js",
  host: "127.0.0.1",
  port: 0,
  logger: createLogger("service-client-test", "silent"),
  services: [
    serviceOf(LedgerService, {
      getBalances(req, ctx: HandlerContext) {
        seen.push(ctx.requestHeader);
        if (req.ownerId === "nobody") throw notFound("owner", req.ownerId);
        return create(GetBalancesResponseSchema, {});
      },
      placeHold(_req, ctx: HandlerContext) {
        seen.push(ctx.requestHeader);
        return create(PlaceHoldResponseSchema, {});
      },
    }),
    serviceOf(TradingService, {
      getPortfolio(_req, ctx: HandlerContext) {
        seen.push(ctx.requestHeader);
        return create(GetPortfolioResponseSchema, {});
      },
    }),
  ],
});
t.teardown(() => server.shutdown());
t.beforeEach(() => {
  seen.length = 0;
});
const baseUrl = `http://127.0.0.1:${server.port}`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

t.test("a call whose signal is aborted before it starts fails CANCELED and is never sent", async (t) => {
  const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 5_000 });
  const error = await failure(ledger.getBalances({ ownerId: "alice" }, { signal: AbortSignal.abort() }));
  t.equal(error?.code, Code.Canceled);
  await ledger.getBalances({ ownerId: "alice" });
  t.equal(seen.length, 1, "only the second call reached the server");
});

t.test("each call's duration is recorded per method and status", async (t) => {
  const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 5_000 });
  const count = async (code: string) =>
    parsePrometheusText(await register.metrics()).find(
      (s) => s.name === "kuku_rpc_client_duration_seconds_count" && s.labels["rpc_method"] === "GetBalances" && s.labels["code"] === code,
    )?.value ?? 0;
  const [ok, notFoundBefore] = [await count("OK"), await count("NotFound")];
  await ledger.getBalances({ ownerId: "alice" });
  t.equal((await failure(ledger.getBalances({ ownerId: "nobody" })))?.code, Code.NotFound);
  t.equal(await count("OK"), ok + 1);
  t.equal(await count("NotFound"), notFoundBefore + 1);
});

t.test("the service token goes with rpcs that name their callers, and only with them", async (t) => {
  const { keys, trust } = generateIdentityKeys(["order"]);
  const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 5_000, identity: identityFrom("order", keys["order"]!, trust) });
  await ledger.placeHold({ requestId: "h-1", accountId: ACCOUNT, amountMinor: 1n, reference: "o-1" });
  await ledger.placeHold({ requestId: "h-2", accountId: ACCOUNT, amountMinor: 1n, reference: "o-2" });
  const identity = identityFrom("order", keys["order"]!, trust);
  const trading = createServiceClient(TradingService, { baseUrl, timeoutMs: 5_000, identity });
  await trading.getPortfolio({}, { headers: { authorization: "Bearer a-user's-token" } });
  const [first, second, read] = seen.map((h) => h.get("authorization"));
  t.match(first, /^Bearer ey/, "PlaceHold (callers: order): a service token");
  t.equal(second, first, "the same token for the next call");
  t.equal(read, "Bearer a-user's-token", "GetPortfolio names no callers: the caller's own authorization, untouched");
});

t.test("Connect interceptors given to the client run on its unary calls", async (t) => {
  const ran: string[] = [];
  const ledger = createServiceClient(LedgerService, {
    baseUrl,
    timeoutMs: 5_000,
    interceptors: [
      (next) => (req) => {
        ran.push(req.method.name);
        req.header.set("x-from-interceptor", "yes");
        return next(req);
      },
    ],
  });
  await ledger.getBalances({ ownerId: "alice" });
  t.same(ran, ["GetBalances"]);
  t.equal(seen[0]?.get("x-from-interceptor"), "yes");
});

t.test("without policies, an injected delay longer than the deadline ends the call at the deadline, unsent", async (t) => {
  const faults = faultsFromIstio(
    `
kind: VirtualService
spec:
  hosts: [ledger]
  http:
    - fault: { delay: { fixedDelay: 600ms, percentage: { value: 100 } } }
`,
    "ledger",
  );
  const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 150, faults });
  const started = Date.now();
  t.equal((await failure(ledger.getBalances({ ownerId: "alice" })))?.code, Code.DeadlineExceeded);
  t.ok(Date.now() - started < 500, "ended at the deadline, not after the delay");
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal(seen.length, 0, "the delayed request was dropped, not sent late");
});

// Last: it installs a tracing SDK for the rest of this process.
t.test("a CLIENT span per call, its context sent as traceparent", async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  t.teardown(() => provider.shutdown());
  const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 5_000 });
  const parent = trace.getTracer("test").startSpan("caller");
  await context.with(trace.setSpan(context.active(), parent), () => ledger.getBalances({ ownerId: "alice" }));
  parent.end();
  const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
  t.equal(client?.name, "kuku.ledger.v1.LedgerService/GetBalances");
  t.equal(client?.parentSpanContext?.spanId, parent.spanContext().spanId, "a child of the caller's span");
  t.equal(
    seen[0]?.get("traceparent"),
    `00-${client?.spanContext().traceId}-${client?.spanContext().spanId}-01`,
    "the server saw the client span as its parent",
  );
});
