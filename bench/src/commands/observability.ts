// What the platform's instrumentation costs per call (ADR 0015): the same
// unary RPC through connect-node with the platform's other interceptors
// (validation, unexpected errors) vs. the platform server and client (plus
// tracing and metrics), and the same query through a bare
// pg.Pool vs. createPool's, first with tracing off, then with the SDK
// exporting to Zipkin. Bare and platform alternate in rounds, so load from
// other processes falls on both.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { DepositResponseSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import {
  createLogger,
  createPool,
  createServiceClient,
  errorMappingInterceptor,
  initTracing,
  serviceOf,
  startServer,
  validationInterceptor,
} from "@kuku/platform";
import { TEST_PG_ADMIN_URL } from "@kuku/testkit";
import { trace } from "@opentelemetry/api";
import pg from "pg";
import { command, int } from "../lib/command.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";

async function timed(calls: number, call: () => Promise<unknown>): Promise<Histogram> {
  const latency = new Histogram();
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    latency.record(microsSince(t0));
  }
  return latency;
}

/** [call, variant, one call]. */
type Variant = readonly [string, string, () => Promise<unknown>];

/** Every variant, `rounds` times in turn, `calls` calls each: a row per variant, with its p50 per round. */
async function phase(
  variants: readonly Variant[],
  options: { calls: number; rounds: number; tracing: string; inTrace: boolean },
): Promise<(string | number)[][]> {
  const samples = new Map<string, Histogram[]>();
  for (let round = 0; round < options.rounds; round++) {
    for (const [kind, variant, call] of variants) {
      // Inside a caller's span, as a handler's calls are: the instrumented variants record child spans.
      const run = () =>
        options.inTrace
          ? trace.getTracer("bench").startActiveSpan("caller", async (s) => {
              try {
                return await timed(options.calls, call);
              } finally {
                s.end();
              }
            })
          : timed(options.calls, call);
      const h = await run();
      samples.set(`${kind}|${variant}`, [...(samples.get(`${kind}|${variant}`) ?? []), h]);
    }
  }
  return [...samples].map(([key, histograms]) => {
    const [kind, variant] = key.split("|");
    const p50s = histograms.map((h) => h.percentile(50));
    return [
      options.tracing,
      kind!,
      variant!,
      (p50s.reduce((a, b) => a + b, 0) / p50s.length).toFixed(1),
      p50s.map((p) => p.toFixed(0)).join(" / "),
    ];
  });
}

export const observability = command({
  name: "observability",
  summary: "per-call cost of the platform's tracing and metrics: RPC and PostgreSQL query, bare vs. instrumented, tracing off and on",
  options: {
    calls: int("sequential calls per round and variant", 3000),
    rounds: int("alternating rounds per phase", 3),
  },
  async run(values) {
    const { calls, rounds } = values;
    const logger = createLogger("bench-observability", "silent");
    const handlers = serviceOf(LedgerService, { deposit: async () => create(DepositResponseSchema, {}) });

    // The platform server's interceptors that are not observability: the difference is what tracing and metrics cost.
    const bareServer = http2.createServer(
      connectNodeAdapter({
        routes: (router) => handlers.register(router),
        interceptors: [errorMappingInterceptor(logger), validationInterceptor()],
      }),
    );
    await new Promise<void>((resolve) => bareServer.listen(0, "127.0.0.1", resolve));
    const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;
    const bareClient = createClient(LedgerService, createGrpcTransport({ baseUrl: bareUrl }));
    const platformServer = await startServer({ name: "bench", host: "127.0.0.1", port: 0, logger, services: [handlers] });
    const platformClient = createServiceClient(LedgerService, { baseUrl: `http://127.0.0.1:${platformServer.port}`, timeoutMs: 10_000 });
    const barePool = new pg.Pool({ connectionString: TEST_PG_ADMIN_URL, max: 1 });
    const platformPool = createPool(
      { connectionString: TEST_PG_ADMIN_URL, poolSizeMax: 1, statementTimeoutMs: 10_000, applicationName: "bench-observability" },
      logger,
    );
    const deposit = (client: typeof bareClient) => () => client.deposit({ requestId: "r", accountId: ACCOUNT, amountMinor: 1n });

    const variants: readonly Variant[] = [
      ["RPC", "without observability", deposit(bareClient)],
      ["RPC", "platform", deposit(platformClient)],
      ["query", "bare pg.Pool", () => barePool.query("SELECT 1")],
      ["query", "createPool", () => platformPool.query("SELECT 1")],
    ];
    try {
      await timed(500, deposit(bareClient)); // warm-up: JIT, connections
      await timed(500, deposit(platformClient));
      const rows = await phase(variants, { calls, rounds, tracing: "off", inTrace: false });
      await initTracing("bench-observability", { OTEL_TRACES_EXPORTER: "zipkin" });
      rows.push(...(await phase(variants, { calls, rounds, tracing: "zipkin", inTrace: true })));
      console.log(`observability — ${calls} sequential calls per variant and round, ${rounds} rounds alternating; p50 in µs`);
      console.log(table(["tracing", "call", "variant", "mean p50 µs", "p50 per round"], rows));
      console.log("RPC: unary Deposit to a handler that does nothing; query: SELECT 1 on one connection");
    } finally {
      await platformServer.shutdown();
      bareServer.close();
      await barePool.end();
      await platformPool.end();
    }
  },
});
