// An order placed through the gateway, the way the web console places it
// (Connect over HTTP/1.1), yields ONE trace in the project's Zipkin holding
// spans of gateway, order, ledger, exchange and the order service's Kafka
// consumer; the gateway's /metrics parses.
import { randomBytes, randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { parsePrometheusText, REPO_ROOT, run } from "@kuku/testkit";
import t from "tap";
import { eventually, marketOrder, signUp, startStack, untilSettled } from "./support/stack.js";

const ZIPKIN_URL = `http://127.0.0.1:${process.env["KUKU_ZIPKIN_PORT"] ?? "9411"}`;
const started = await run("bash", [`${REPO_ROOT}deploy/local/tracing-up.sh`]);
if (started.code !== 0) throw new Error(`make tracing failed:\n${started.stdout}${started.stderr}`);

const stack = await startStack({
  env: { OTEL_TRACES_EXPORTER: "zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${ZIPKIN_URL}/api/v2/spans`, OTEL_BSP_SCHEDULE_DELAY: "200" },
});
t.teardown(() => stack.stop());

interface ZipkinSpan {
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  localEndpoint?: { serviceName?: string };
}

/** The trace's spans once Zipkin has those `complete` asks for. */
async function traceOf(traceId: string, complete: (has: SpanFinder) => boolean) {
  let spans: ZipkinSpan[] = [];
  const has: SpanFinder = (service, kind, name) =>
    spans.find((s) => s.localEndpoint?.serviceName === service && s.kind === kind && name.test(s.name));
  await eventually(
    "Zipkin has the whole trace",
    async () => {
      const response = await fetch(`${ZIPKIN_URL}/api/v2/trace/${traceId}`);
      spans = response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
      return complete(has);
    },
    30_000,
  );
  return { spans, has };
}
type SpanFinder = (service: string, kind: string, name: RegExp) => ZipkinSpan | undefined;

t.test("one trace from the gateway to the order service's Kafka consumer", async (t) => {
  const user = await signUp(stack);
  await user.trading.depositCash({ requestId: "deposit-1", amountKrw: 10_000_000n });
  const traceId = randomBytes(16).toString("hex");
  const callerSpanId = randomBytes(8).toString("hex");
  const { order: placed } = await user.trading.placeOrder(
    {
      idempotencyKey: `key-${randomUUID()}`,
      symbol: "005930",
      side: Side.BUY,
      type: OrderType.MARKET,
      timeInForce: TimeInForce.IOC,
      quantity: 3n,
    },
    { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } },
  );
  t.equal((await untilSettled(user.trading, placed!.orderId)).state, order.OrderState.SETTLED);

  const { spans, has } = await traceOf(traceId, (has) =>
    [
      has("gateway", "SERVER", /tradingservice\/placeorder/i),
      has("order", "SERVER", /orderservice\/placeorder/i),
      has("ledger", "SERVER", /ledgerservice\/submitbatch/i), // the hold, batched (and the settlement)
      has("exchange", "SERVER", /submitorders/i),
      has("order", "CONSUMER", /executions process/),
    ].every((s) => s !== undefined),
  );
  const gateway = has("gateway", "SERVER", /tradingservice\/placeorder/i)!;
  t.equal(gateway.parentId, callerSpanId, "the gateway continued the browser's span");
  const orderServer = has("order", "SERVER", /orderservice\/placeorder/i)!;
  const byId = new Map(spans.map((s) => [s.id, s]));
  t.equal(
    byId.get(orderServer.parentId ?? "")?.localEndpoint?.serviceName,
    "gateway",
    "the order service is called by the gateway's client span",
  );
  const consumer = has("order", "CONSUMER", /executions process/)!;
  t.equal(byId.get(consumer.parentId ?? "")?.kind, "PRODUCER", "the consumer continues the exchange's publish");
  t.same(
    ["gateway", "order", "ledger", "exchange"].filter((s) => !spans.some((x) => x.localEndpoint?.serviceName === s)),
    [],
    "spans from gateway, order, ledger and exchange",
  );
});

t.test("a native gRPC caller's traceparent (metadata, through grpc-js) is continued the same way", async (t) => {
  const user = await signUp(stack);
  const trading = createClient(api.TradingService, createGrpcTransport({ baseUrl: stack.gatewayUrl }));
  const headers = { authorization: `Bearer ${user.tokens.accessToken}` };
  await trading.depositCash({ requestId: "deposit-grpc", amountKrw: 10_000_000n }, { headers });
  const traceId = randomBytes(16).toString("hex");
  const callerSpanId = randomBytes(8).toString("hex");
  await trading.placeOrder(marketOrder(Side.BUY, 1n), { headers: { ...headers, traceparent: `00-${traceId}-${callerSpanId}-01` } });
  const { spans, has } = await traceOf(
    traceId,
    (has) =>
      has("gateway", "SERVER", /tradingservice\/placeorder/i) !== undefined &&
      has("order", "SERVER", /orderservice\/placeorder/i) !== undefined,
  );
  t.equal(has("gateway", "SERVER", /tradingservice\/placeorder/i)!.parentId, callerSpanId, "the gateway continued the caller's span");
  const orderServer = has("order", "SERVER", /orderservice\/placeorder/i)!;
  t.equal(
    spans.find((s) => s.id === orderServer.parentId)?.localEndpoint?.serviceName,
    "gateway",
    "and the order service continued the gateway's",
  );
});

t.test("the gateway's /metrics parses and counts its RPCs", async (t) => {
  // The public port hands unknown paths to the console's files: whatever it answers, never the metrics.
  t.notMatch(await (await fetch(`${stack.gatewayUrl}/metrics`)).text(), /kuku_rpc_server_handled_total/, "never on the public port");
  const response = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/metrics`);
  t.equal(response.status, 200);
  const samples = parsePrometheusText(await response.text());
  t.ok(
    samples.some(
      (s) => s.name === "kuku_rpc_server_handled_total" && s.labels["rpc_method"] === "PlaceOrder" && s.labels["service"] === "gateway",
    ),
  );
  t.ok(
    samples.some((s) => s.name === "kuku_rpc_client_duration_seconds_count" && s.labels["rpc_method"] === "PlaceOrder"),
    "and its calls to the order service",
  );
  t.ok(
    samples.some((s) => s.name === "kuku_redis_command_duration_seconds_count" && s.labels["client"] === "gateway"),
    "and its rate-limit and revocation commands to Redis",
  );
  t.ok(samples.some((s) => s.name === "nodejs_eventloop_lag_p99_seconds"));
});
