// kuku-bench gateway hop: what the TypeScript gateway adds to a user's read
// (ADR 0012). The same read, in the same run, straight to the service that
// answers it and through the gateway with a user's token: the portfolio
// (ledger GetBalances by owner vs gateway GetPortfolio) and the order list
// (order ListOrders vs gateway ListOrders); on request PlaceOrder, a market
// buy of one share (order PlaceOrder vs gateway PlaceOrder, issue 16: the
// gateway's CPU per order call). Latency and rate from one client;
// CPU per call from each process's own counters, so the hop's price is the
// gateway's CPU per call and the latency it adds.
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as gateway from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { OrderService } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { identityClientInterceptor, OPERATOR } from "@kuku/platform";
import { type ServiceName, startTradingStack, type TradingStack, testIdentity } from "@kuku/testkit";
import { choiceList, command, duration, int, text } from "../lib/command.js";
import { closedLoop, ms } from "../lib/load.js";
import { cpuSeconds } from "../lib/proc.js";
import { table } from "../lib/stats.js";

const READS = ["portfolio", "orders", "place"] as const;
type Read = (typeof READS)[number];
/** Who answers each call behind the gateway. */
const DOWNSTREAM: Record<Read, ServiceName> = { portfolio: "ledger", orders: "order", place: "order" };
/** Enough for every market buy of a run (a 1-share hold is at most the daily upper limit, ~0.1 M won), under the paper cash cap. */
const FUNDING_KRW = 5_000_000_000n;
const PATHS = ["direct", "gateway-grpc", "gateway-connect-json"] as const;
type Path = (typeof PATHS)[number];
const PATH_WORDS: Record<Path, string> = {
  direct: "service directly (gRPC)",
  "gateway-grpc": "gateway (gRPC), token",
  "gateway-connect-json": "gateway (Connect JSON, HTTP/1.1), token",
};

/** The gateway with limits no benchmark reaches: the buckets are still checked in Redis on every call. */
const UNLIMITED_GATEWAY = {
  GATEWAY_RATE_USER_BURST: "1000000",
  GATEWAY_RATE_USER_PER_SECOND: "1000000",
  GATEWAY_RATE_IP_BURST: "1000000",
  GATEWAY_RATE_IP_PER_SECOND: "1000000",
  GATEWAY_ACCESS_TOKEN_TTL_SECONDS: "3600",
};

interface User {
  readonly userId: string;
  readonly headers: Record<string, string>;
}

/** A user signed up at the gateway, with cash deposited: the portfolio has a balance to read. */
async function signedUpUser(stack: TradingStack): Promise<User> {
  const transport = createConnectTransport({ baseUrl: stack.url("gateway"), httpVersion: "1.1" });
  const email = `hop-${process.pid}-${Date.now()}@bench.kuku.test`;
  const { userId, tokens } = await createClient(gateway.AuthService, transport).signUp({
    email,
    password: "correct horse battery",
    displayName: "hop",
  });
  const headers = { authorization: `Bearer ${tokens!.accessToken}` };
  await createClient(gateway.TradingService, transport).depositCash({ requestId: "hop-funding", amountKrw: FUNDING_KRW }, { headers });
  return { userId, headers };
}

function transportOf(stack: TradingStack, path: Path, read: Read): Transport {
  const baseUrl = stack.url(path === "direct" ? DOWNSTREAM[read] : "gateway");
  if (path === "gateway-connect-json") return createConnectTransport({ baseUrl, httpVersion: "1.1" });
  // Straight to the service as the operator (ADR 0021), as the gateway itself calls it with its own identity.
  return createGrpcTransport({ baseUrl, interceptors: path === "direct" ? [identityClientInterceptor(testIdentity(OPERATOR))] : [] });
}

/** A market buy of one share under a fresh idempotency key: accepted at once (ADR 0020), settled behind the answer. */
const marketBuy = () => ({
  idempotencyKey: `hop-${randomUUID()}`,
  symbol: "005930",
  side: Side.BUY,
  type: OrderType.MARKET,
  timeInForce: TimeInForce.IOC,
  quantity: 1n,
});

/** One call of the read on the path. */
function callOf(stack: TradingStack, user: User, read: Read, path: Path): () => Promise<unknown> {
  const transport = transportOf(stack, path, read);
  const client = <S extends DescService>(service: S): Client<S> => createClient(service, transport);
  if (path === "direct") {
    const ledger = client(LedgerService);
    const orders = client(OrderService);
    if (read === "place") return () => orders.placeOrder({ userId: user.userId, ...marketBuy() });
    return read === "portfolio"
      ? () => ledger.getBalances({ ownerId: user.userId })
      : () => orders.listOrders({ userId: user.userId, pageSize: 20 });
  }
  const trading = client(gateway.TradingService);
  if (read === "place") return () => trading.placeOrder(marketBuy(), { headers: user.headers });
  return read === "portfolio"
    ? () => trading.getPortfolio({}, { headers: user.headers })
    : () => trading.listOrders({ pageSize: 20 }, { headers: user.headers });
}

interface Figures {
  readonly read: Read;
  readonly path: Path;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** CPU µs per answered call, by process. */
  readonly cpuMicros: Record<"gateway" | "downstream", number>;
  readonly load: number;
}

async function measure(stack: TradingStack, user: User, read: Read, path: Path, settings: Settings): Promise<Figures> {
  const call = callOf(stack, user, read, path);
  let errors = 0;
  let firstError: string | undefined;
  const once = () =>
    call().then(
      () => true,
      (error: unknown) => {
        errors++;
        firstError ??= String(error);
        return false;
      },
    );
  await closedLoop(settings.concurrency, settings.warmupMs, once);
  errors = 0;
  const pids = { gateway: stack.process("gateway").child.pid!, downstream: stack.process(DOWNSTREAM[read]).child.pid! };
  const before = { gateway: cpuSeconds(pids.gateway), downstream: cpuSeconds(pids.downstream) };
  const load = await closedLoop(settings.concurrency, settings.durationMs, once);
  const perCall = (key: "gateway" | "downstream") =>
    load.latency.count === 0 ? Number.NaN : Math.round(((cpuSeconds(pids[key]) - before[key]) / load.latency.count) * 1e6);
  const figures = {
    read,
    path,
    perSecond: load.perSecond,
    p50Ms: ms(load.latency, 50),
    p99Ms: ms(load.latency, 99),
    errors,
    firstError,
    cpuMicros: { gateway: perCall("gateway"), downstream: perCall("downstream") },
    load: loadavg()[0]!,
  };
  console.error(`  ${read} ${path}: ${figures.perSecond}/s`);
  return figures;
}

interface Settings {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

function report(figures: readonly Figures[], settings: Settings, loadBefore: number): void {
  console.log(
    `gateway hop — ${settings.concurrency} calls in flight from one client, ${settings.durationMs / 1000} s per row after ${settings.warmupMs / 1000} s of warm-up; Node ${process.version}`,
  );
  const rows = figures.map((f) => [
    f.read,
    PATH_WORDS[f.path],
    f.perSecond,
    f.p50Ms.toFixed(2),
    f.p99Ms.toFixed(2),
    f.errors,
    f.path === "direct" ? "-" : f.cpuMicros.gateway,
    `${f.cpuMicros.downstream} (${DOWNSTREAM[f.read]})`,
    f.load.toFixed(2),
  ]);
  console.log(
    table(["read", "path", "calls/s", "p50 ms", "p99 ms", "errors", "gateway CPU µs/call", "service CPU µs/call", "load 1m"], rows),
  );
  for (const read of READS) {
    const direct = figures.find((f) => f.read === read && f.path === "direct");
    const hop = figures.find((f) => f.read === read && f.path === "gateway-grpc");
    if (direct === undefined || hop === undefined) continue;
    console.log(
      `${read}: the gateway hop adds ${(hop.p50Ms - direct.p50Ms).toFixed(2)} ms at p50, ${(hop.p99Ms - direct.p99Ms).toFixed(2)} ms at p99 ` +
        `and ${hop.cpuMicros.gateway} µs of gateway CPU per call (${DOWNSTREAM[read]} ${direct.cpuMicros.downstream} µs direct, ${hop.cpuMicros.downstream} µs behind it)`,
    );
  }
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; ` +
      "CPU: user+system time of each service process over the window per answered call (the gateway's Redis round trip is in its latency, Redis' CPU is not counted)",
  );
  for (const f of figures)
    if (f.firstError !== undefined) console.log(`errors in ${f.read} ${f.path}: ${f.errors}, first: ${f.firstError}`);
}

export const gatewayHop = command({
  name: "gateway hop",
  summary: "what the gateway hop adds to a read: p50/p99 and CPU per call through the gateway vs the service directly (ADR 0012)",
  options: {
    reads: choiceList(
      READS,
      "portfolio (ledger GetBalances vs gateway GetPortfolio), orders (order vs gateway ListOrders), place (PlaceOrder, a market buy of 1 share, order vs gateway)",
      "portfolio,orders",
    ),
    paths: choiceList(PATHS, "direct to the service, through the gateway over gRPC, through it as the console calls (Connect JSON)"),
    duration: duration("measured time per row", "5s"),
    warmup: duration("time per row before measuring (JIT, connections), not counted", "1s"),
    concurrency: int("calls in flight", 16),
    "cpu-prof-dir": text("write a V8 CPU profile of the gateway process here (node bin/cpuprofile-top.mjs reads it)"),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const settings: Settings = { concurrency: values.concurrency, durationMs: values.duration, warmupMs: values.warmup };
    const profileDir = values["cpu-prof-dir"];
    // The stack starts services with their environment only: the profile is asked for through NODE_OPTIONS.
    const profile: Record<string, string> = profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` };
    const stack = await startTradingStack({
      services: ["ledger", "exchange", "order", "gateway"],
      envOf: { gateway: { ...UNLIMITED_GATEWAY, ...profile } },
    });
    try {
      const user = await signedUpUser(stack);
      const figures: Figures[] = [];
      for (const read of values.reads) for (const path of values.paths) figures.push(await measure(stack, user, read, path, settings));
      report(figures, settings, loadBefore);
      if (figures.some((f) => f.errors > 0 || f.perSecond === 0)) process.exitCode = 1;
    } finally {
      await stack.stop();
    }
  },
});
