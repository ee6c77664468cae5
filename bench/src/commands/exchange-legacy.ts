// kuku-bench exchange legacy: orders through the legacy link of ADR 0025 (the
// member's spool, a relay that loses records, the exchange-side gateway and
// the simulator behind it) against SubmitOrder called directly: orders/s,
// latency from submit to the execution report, what the session layer did
// about the losses, and a run whose gateway crashes and restarts mid-way.
// Every row ends by checking that each order was answered exactly once and
// that a sample of reports agrees with the venue's OrderStatus.
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { termsToProto } from "@kuku/contracts/order-terms";
import { type ExecutionReport, FaultyLink, LegacyGateway, LegacyMember, type NewOrder, simulatorVenue } from "@kuku/exchange/legacy";
import { createLogger, createServiceClient } from "@kuku/platform";
import { createTestDatabase, startService } from "@kuku/testkit";
import { command, duration, int, intList } from "../lib/command.js";
import { closedLoop, type LoadResult, ms } from "../lib/load.js";
import { table } from "../lib/stats.js";
import { orderFlow } from "./exchange-matching.js";

type Client = ReturnType<typeof createServiceClient<typeof api.ExchangeService>>;
type Order = Omit<NewOrder, "type" | "seq">;

const SAMPLE = 200;
const WARMUP_MS = 3_000;
const logger = createLogger("bench-legacy", "warn");

function legacyOrders(count: number): Order[] {
  return orderFlow(count, 11).map((o) => ({
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side === "buy" ? "B" : "S",
    orderType: o.type === "market" ? "M" : "L",
    timeInForce: o.timeInForce === "ioc" ? "I" : "D",
    quantity: BigInt(o.quantity),
    priceKrw: o.priceKrw,
  }));
}

interface Row {
  readonly path: string;
  readonly load: LoadResult;
  readonly session?: { gaps: number; resendRequests: number; resent: number; duplicates: number; lost: number };
  /**
   * Orders answered, of those sent; reports repeated (a gateway crash between
   * answering and saving its cursor answers again: the member keeps the first);
   * reports that agree with OrderStatus, of those sampled.
   */
  readonly checks?: { answered: number; sent: number; repeats: number; agree: number; sampled: number };
}

/**
 * Whether the sampled reports say what OrderStatus says. A report is the
 * order's state when the venue answered: a final one (F, C, R) has the venue's
 * fill; a resting order (A, P) may have filled more since, never less.
 */
async function agreement(client: Client, reports: Map<string, ExecutionReport>): Promise<{ agree: number; sampled: number }> {
  const all = [...reports.values()];
  const sample = Array.from({ length: Math.min(SAMPLE, all.length) }, (_, i) => all[Math.floor((i * all.length) / SAMPLE)]!);
  let same = 0;
  for (const report of sample) {
    const truth = await client.orderStatus({ clientOrderId: report.clientOrderId });
    const filled = truth.fills.reduce((sum, f) => sum + f.quantity, 0n);
    if ("FCR".includes(report.status) ? filled === report.filledQuantity : filled >= report.filledQuantity) same++;
  }
  return { agree: same, sampled: sample.length };
}

async function direct(client: Client, orders: Order[], prefix: string, concurrency: number, durationMs: number): Promise<Row> {
  let next = 0;
  const load = await closedLoop(concurrency, durationMs, async () => {
    const o = orders[next++ % orders.length]!;
    const terms = {
      side: o.side === "B" ? "buy" : "sell",
      type: o.orderType === "M" ? "market" : "limit",
      timeInForce: o.timeInForce === "I" ? "ioc" : "day",
    } as const;
    await client.submitOrder(create(api.SubmitOrderRequestSchema, { ...o, clientOrderId: `${prefix}${next}`, ...termsToProto(terms) }));
    return true;
  });
  return { path: "SubmitOrder over gRPC, no link", load };
}

interface LinkRun {
  readonly lossPercent: number;
  /** Crash the gateway (no drain) at half time and start it again on its spool after this long; 0 = no crash. */
  readonly crashDownMs: number;
}

async function throughLink(
  client: Client,
  orders: Order[],
  prefix: string,
  run: LinkRun,
  settings: { concurrency: number; durationMs: number },
) {
  const dir = await mkdtemp(join(tmpdir(), "kuku-bench-legacy-"));
  const venue = simulatorVenue(client);
  let gateway = await LegacyGateway.start({ dir: join(dir, "gateway"), port: 0, venue, logger, heartbeatMs: 100 });
  const gatewayPort = gateway.port;
  const link = await FaultyLink.start(gatewayPort, run.lossPercent, 7);
  const reports = new Map<string, ExecutionReport>();
  const copies = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const member = await LegacyMember.start({
    dir: join(dir, "member"),
    port: link.port,
    logger,
    heartbeatMs: 100,
    onReport(report) {
      copies.set(report.clientOrderId, (copies.get(report.clientOrderId) ?? 0) + 1);
      reports.set(report.clientOrderId, report);
      waiting.get(report.clientOrderId)?.();
    },
  });
  const crash = async () => {
    await sleep(settings.durationMs / 2);
    await gateway.close(true);
    link.cut();
    await sleep(run.crashDownMs);
    gateway = await LegacyGateway.start({ dir: join(dir, "gateway"), port: gatewayPort, venue, logger, heartbeatMs: 100 });
  };
  const crashed = run.crashDownMs > 0 ? crash() : Promise.resolve();
  let next = 0;
  let sent = 0;
  const load = await closedLoop(settings.concurrency, settings.durationMs, async () => {
    const order = { ...orders[next++ % orders.length]!, clientOrderId: `${prefix}${next}` };
    const answered = new Promise<void>((resolve) => waiting.set(order.clientOrderId, resolve));
    await member.submit(order);
    sent++;
    await answered;
    waiting.delete(order.clientOrderId);
    return true;
  });
  await crashed;
  const stats = [member.stats, gateway.stats];
  const sum = (key: keyof (typeof stats)[0]) => stats.reduce((total, s) => total + s[key], 0);
  const repeats = [...copies.values()].reduce((sum, n) => sum + n - 1, 0);
  const row: Row = {
    path: `legacy link, ${run.lossPercent} % lost${run.crashDownMs > 0 ? `, gateway crash + ${run.crashDownMs / 1000} s down` : ""}`,
    load,
    session: {
      gaps: sum("gaps"),
      resendRequests: sum("resendRequests"),
      resent: sum("resent"),
      duplicates: sum("duplicates"),
      lost: link.dropped,
    },
    checks: { answered: copies.size, sent, repeats, ...(await agreement(client, reports)) },
  };
  await member.close();
  await link.close();
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
  return row;
}

export const exchangeLegacy = command({
  name: "exchange legacy",
  summary:
    "orders through the legacy fixed-length link (spool, lossy relay, gateway, simulator) vs SubmitOrder direct; a gateway crash mid-run",
  options: {
    loss: intList("percent of sequenced records the relay loses, one row each besides the lossless row", "1,5"),
    concurrency: int("orders in flight", 16),
    duration: duration("load per row", "10s"),
    down: duration("how long the gateway stays down in the crash row", "2s"),
  },
  async run(values) {
    const { concurrency, duration: durationMs, down } = values;
    const settings = { concurrency, durationMs };
    const loadBefore = loadavg()[0]!;
    const db = await createTestDatabase("bench_exchange_legacy");
    const exchange = await startService("exchange", { database: db.url, env: { LOG_LEVEL: "info" }, startTimeoutMs: 300_000 });
    const client = createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${exchange.port}`, timeoutMs: 30_000 });
    const orders = legacyOrders(100_000);
    const rows: Row[] = [];
    try {
      await direct(client, orders, "w-", concurrency, WARMUP_MS); // the exchange's JIT and pools, not measured
      rows.push(await direct(client, orders, "d-", concurrency, durationMs));
      for (const [i, lossPercent] of [0, ...values.loss].entries()) {
        rows.push(await throughLink(client, orders, `l${i}-`, { lossPercent, crashDownMs: 0 }, settings));
        console.error(`  ${rows.at(-1)!.path}: ${rows.at(-1)!.load.perSecond}/s`);
      }
      rows.push(await throughLink(client, orders, "c-", { lossPercent: values.loss[0] ?? 0, crashDownMs: down }, settings));
    } finally {
      await exchange.stop("SIGTERM");
      await db.drop();
    }
    console.log(`exchange legacy — ${concurrency} orders in flight, ${durationMs / 1000} s per row; latency is submit to execution report`);
    const headers = [
      "path",
      "orders",
      "orders/s",
      "p50 ms",
      "p99 ms",
      "lost",
      "gaps",
      "resend req",
      "resent",
      "dups dropped",
      "answered",
      "ER repeats",
      "= OrderStatus",
    ];
    const cells = rows.map((r) => {
      const s = r.session;
      const session = s === undefined ? ["-", "-", "-", "-", "-"] : [s.lost, s.gaps, s.resendRequests, s.resent, s.duplicates];
      const c = r.checks;
      const checks = c === undefined ? ["-", "-", "-"] : [`${c.answered}/${c.sent}`, c.repeats, `${c.agree}/${c.sampled}`];
      return [r.path, r.load.latency.count, r.load.perSecond, ms(r.load.latency, 50), ms(r.load.latency, 99), ...session, ...checks];
    });
    console.log(table(headers, cells));
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; Node ${process.version}`,
    );
    const bad = rows.filter((r) => r.checks !== undefined && (r.checks.answered !== r.checks.sent || r.checks.agree !== r.checks.sampled));
    if (bad.length > 0) {
      console.log(`rows with an order not answered or a report that disagrees with OrderStatus: ${bad.map((r) => r.path).join("; ")}`);
      process.exitCode = 1;
    }
  },
});
