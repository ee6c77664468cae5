// The platform's observability parts that need no other process: the Jaeger
// header format, the Prometheus text parser used by service tests, context
// switches from /proc, and /metrics served by the platform server with RPC
// outcomes counted per method and status.
import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DepositResponseSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { parsePrometheusText } from "@kuku/testkit";
import { ROOT_CONTEXT, type TextMapGetter, type TextMapSetter, TraceFlags, trace } from "@opentelemetry/api";
import t from "tap";
import { createLogger, JaegerPropagator, readContextSwitches, serviceOf, startServer } from "../src/index.js";

const getter: TextMapGetter<Record<string, string>> = { keys: (c) => Object.keys(c), get: (c, k) => c[k] };
const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => (c[k] = v) };
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

t.test("uber-trace-id: inject writes {trace}:{span}:0:{flags}, extract reads it back", async (t) => {
  const jaeger = new JaegerPropagator();
  const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  const carrier: Record<string, string> = {};
  jaeger.inject(ctx, carrier, setter);
  t.same(carrier, { "uber-trace-id": `${TRACE_ID}:${SPAN_ID}:0:01` });
  t.same(trace.getSpanContext(jaeger.extract(ROOT_CONTEXT, carrier, getter)), {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
});

t.test("uber-trace-id from jaeger-client: URL-encoded, 64-bit ids, debug flag", async (t) => {
  const jaeger = new JaegerPropagator();
  const extracted = trace.getSpanContext(jaeger.extract(ROOT_CONTEXT, { "uber-trace-id": "a3ce929d0e0e4736%3Aa902b7%3A0%3A3" }, getter));
  t.same(
    extracted,
    {
      traceId: "0000000000000000a3ce929d0e0e4736",
      spanId: "0000000000a902b7",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    },
    "ids left-padded; debug (2) dropped, sampled (1) kept",
  );
  t.equal(
    trace.getSpanContext(jaeger.extract(ROOT_CONTEXT, { "uber-trace-id": `${TRACE_ID}:${SPAN_ID}:0:0` }, getter))?.traceFlags,
    TraceFlags.NONE,
  );
  for (const bad of [
    "",
    "nonsense",
    `${TRACE_ID}:${SPAN_ID}:0`,
    `00000000000000000000000000000000:${SPAN_ID}:0:1`,
    `${TRACE_ID}:xyz:0:1`,
  ]) {
    t.equal(
      trace.getSpanContext(jaeger.extract(ROOT_CONTEXT, { "uber-trace-id": bad }, getter)),
      undefined,
      `ignored: ${JSON.stringify(bad)}`,
    );
  }
});

t.test("the Prometheus text parser reads samples and labels, and refuses malformed lines", async (t) => {
  const samples = parsePrometheusText(
    '# HELP x_total An x.\n# TYPE x_total counter\nx_total{a="1",b="q\\"uote"} 3\ny 1.5e-3\nz{le="+Inf"} +Inf\n',
  );
  t.same(samples, [
    { name: "x_total", labels: { a: "1", b: 'q"uote' }, value: 3 },
    { name: "y", labels: {}, value: 0.0015 },
    { name: "z", labels: { le: "+Inf" }, value: Infinity },
  ]);
  t.throws(() => parsePrometheusText("x_total 3 oops\n"), /line 1 is not a Prometheus sample/);
  t.throws(() => parsePrometheusText("x_total{a=1} 3\n"), /line 1 has malformed labels/);
});

t.test("context switches come from /proc/self/status", async (t) => {
  const before = await readContextSwitches();
  t.ok(before !== undefined, "Linux /proc is there");
  await new Promise((r) => setTimeout(r, 20)); // sleeping is a voluntary switch
  const after = await readContextSwitches();
  t.ok(after!.voluntary > before!.voluntary, `voluntary ${before!.voluntary} -> ${after!.voluntary}`);
  t.ok(Number.isInteger(after!.involuntary));
  t.match(await readFile("/proc/self/status", "utf8"), /nonvoluntary_ctxt_switches/);
});

t.test("the admin listener serves /metrics with RPC outcomes per method and status code; the public port does not", async (t) => {
  const server = await startServer({
    name: "metrics-test",
    host: "127.0.0.1",
    port: 0,
    admin: { host: "127.0.0.1", port: 0 },
    logger: createLogger("metrics-test", "silent"),
    services: [serviceOf(LedgerService, { deposit: async () => create(DepositResponseSchema, {}) })],
  });
  t.teardown(() => server.shutdown());
  const client = createClient(LedgerService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
  await client.deposit({ requestId: "r1", accountId: "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f", amountMinor: 1n });
  await client.deposit({ requestId: "", accountId: "x", amountMinor: 0n }).catch(() => undefined);
  t.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 404, "not on the public port");
  t.not(server.adminPort, server.port);
  const response = await fetch(`http://127.0.0.1:${server.adminPort}/metrics`);
  t.equal(response.status, 200);
  const samples = parsePrometheusText(await response.text());
  const handled = (code: string) =>
    samples.find((s) => s.name === "kuku_rpc_server_handled_total" && s.labels["rpc_method"] === "Deposit" && s.labels["code"] === code)
      ?.value;
  t.equal(handled("OK"), 1, "the good call");
  t.equal(handled("InvalidArgument"), 1, "the refused one, under its status");
  t.ok(samples.some((s) => s.name === "kuku_rpc_server_duration_seconds_count" && s.labels["rpc_method"] === "Deposit"));
  t.ok(
    samples.every((s) => s.labels["service"] === "metrics-test"),
    "the service label on every series",
  );
});

t.test("the admin listener: /healthz while the process runs, /readyz 200 while serving and 503 once a drain starts", async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = await startServer({
    name: "admin-test",
    host: "127.0.0.1",
    port: 0,
    admin: { host: "127.0.0.1", port: 0 },
    drainTimeoutMs: 5_000,
    logger: createLogger("admin-test", "silent"),
    services: [
      serviceOf(LedgerService, {
        deposit: async () => {
          await held;
          return create(DepositResponseSchema, {});
        },
      }),
    ],
  });
  const admin = `http://127.0.0.1:${server.adminPort}`;
  t.equal((await fetch(`${admin}/healthz`)).status, 200);
  t.equal((await fetch(`${admin}/readyz`)).status, 200);
  t.equal((await fetch(`${admin}/nothing`)).status, 404);
  t.equal((await fetch(`${admin}/metrics`, { method: "POST" })).status, 405);
  const client = createClient(LedgerService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
  const inFlight = client.deposit({ requestId: "r1", accountId: "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f", amountMinor: 1n });
  await new Promise((r) => setTimeout(r, 100));
  const stopped = server.shutdown();
  t.equal((await fetch(`${admin}/readyz`)).status, 503, "not ready while draining");
  t.equal((await fetch(`${admin}/healthz`)).status, 200, "still alive while draining");
  release();
  await inFlight;
  await stopped;
  await t.rejects(fetch(`${admin}/healthz`), "closed once stopped");
});
