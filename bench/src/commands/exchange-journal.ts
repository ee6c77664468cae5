// kuku-bench exchange journal: what the exchange's journal costs and buys.
// Per group size: a real exchange process on a fresh database takes SubmitOrder
// calls from `concurrency` clients (orders/s, latency), then is killed (-9)
// and started again: how long the replay takes, and whether every order
// sampled before the kill reads back the same after it.
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { termsToProto } from "@kuku/contracts/order-terms";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, type ServiceProcess, startService } from "@kuku/testkit";
import pg from "pg";
import { command, duration, int, intList } from "../lib/command.js";
import { closedLoop, ms } from "../lib/load.js";
import { table } from "../lib/stats.js";
import { orderFlow } from "./exchange-matching.js";

const SAMPLE = 500;

type Client = ReturnType<typeof createServiceClient<typeof api.ExchangeService>>;

async function startExchange(databaseUrl: string, groupMax: number): Promise<{ process: ServiceProcess; client: Client; readyMs: number }> {
  const startedAt = Date.now();
  const process = await startService("exchange", {
    database: databaseUrl,
    env: { EXCHANGE_JOURNAL_GROUP_MAX: String(groupMax), LOG_LEVEL: "info" },
    startTimeoutMs: 300_000,
  });
  const client = createServiceClient(api.ExchangeService, { baseUrl: `http://127.0.0.1:${process.port}`, timeoutMs: 30_000 });
  return { process, client, readyMs: Date.now() - startedAt };
}

/** The replay's own figure, from the exchange's log. */
function replayMs(process: ServiceProcess): number {
  const line = process.logs.find((l) => l.includes("venue rebuilt from the journal"));
  return line === undefined ? Number.NaN : (JSON.parse(line) as { replayMs: number }).replayMs;
}

const statusOf = async (client: Client, clientOrderId: string) => {
  const s = await client.orderStatus({ clientOrderId });
  return `${s.status}/${s.filledQuantity}/${s.remainingQuantity}/${s.fills.map((f) => `${f.executionId}:${f.quantity}@${f.priceKrw}`).join(",")}`;
};

/** SubmitOrder from the flow by `concurrency` callers for `durationMs`; the client order ids answered. */
async function submitLoad(client: Client, flow: ReturnType<typeof orderFlow>, run: number, concurrency: number, durationMs: number) {
  let next = 0;
  const placed: string[] = [];
  const load = await closedLoop(concurrency, durationMs, async () => {
    const input = flow[next++ % flow.length]!;
    const clientOrderId = `r${run}-${next}`;
    await client.submitOrder(
      create(api.SubmitOrderRequestSchema, {
        clientOrderId,
        symbol: input.symbol,
        quantity: BigInt(input.quantity),
        priceKrw: input.priceKrw,
        ...termsToProto(input),
      }),
    );
    placed.push(clientOrderId);
    return true;
  });
  return { load, placed };
}

/** Commands journaled, and the writes that committed them: one transaction id per journal write. */
async function journalCounts(databaseUrl: string): Promise<{ commands: number; writes: number }> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const counts = await admin
    .query<{ commands: string; writes: string }>("SELECT count(*) AS commands, count(DISTINCT xmin::text) AS writes FROM exchange_commands")
    .finally(() => admin.end());
  return { commands: Number(counts.rows[0]!.commands), writes: Number(counts.rows[0]!.writes) };
}

export const exchangeJournal = command({
  name: "exchange journal",
  summary: "SubmitOrder through the exchange's journal (group commit vs one write per command), then kill -9 and the replay",
  options: {
    group: intList("EXCHANGE_JOURNAL_GROUP_MAX values, comma-separated", "1,500"),
    concurrency: int("calls in flight", 64),
    duration: duration("load per group size", "10s"),
  },
  async run(values) {
    const { group: groups, concurrency, duration: durationMs } = values;
    const flow = orderFlow(2_000_000, 7);
    const rows: (string | number)[][] = [];
    let mismatches = 0;
    for (const [run, groupMax] of groups.entries()) {
      const db = await createTestDatabase("bench_exchange_journal");
      let exchange = await startExchange(db.url, groupMax);
      try {
        const { load, placed } = await submitLoad(exchange.client, flow, run, concurrency, durationMs);
        const counts = await journalCounts(db.url);
        const sample = Array.from({ length: Math.min(SAMPLE, placed.length) }, (_, i) => placed[Math.floor((i * placed.length) / SAMPLE)]!);
        const before = await Promise.all(sample.map((id) => statusOf(exchange.client, id)));
        await exchange.process.stop("SIGKILL");
        exchange = await startExchange(db.url, groupMax);
        const after = await Promise.all(sample.map((id) => statusOf(exchange.client, id)));
        const differ = after.filter((a, i) => a !== before[i]).length;
        mismatches += differ;
        rows.push([
          groupMax,
          load.latency.count,
          load.perSecond,
          ms(load.latency, 50),
          ms(load.latency, 99),
          counts.commands,
          counts.writes,
          replayMs(exchange.process),
          exchange.readyMs,
          `${sample.length - differ}/${sample.length}`,
        ]);
      } finally {
        await exchange.process.stop("SIGTERM");
        await db.drop();
      }
    }
    console.log(`exchange journal — SubmitOrder, ${concurrency} in flight, ${durationMs / 1000} s per row; then kill -9 and a restart`);
    console.log(
      table(
        [
          "group max",
          "orders",
          "orders/s",
          "p50 ms",
          "p99 ms",
          "commands",
          "commits",
          "replay ms",
          "restart to ready ms",
          "same after restart",
        ],
        rows,
      ),
    );
    if (mismatches > 0) {
      console.log(`${mismatches} sampled orders read back differently after the restart`);
      process.exitCode = 1;
    }
  },
});
