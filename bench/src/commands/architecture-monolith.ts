// kuku-bench architecture monolith (ADR 0001): the order path's money and
// venue steps — hold the cash, submit to the exchange, settle the fill —
// driven by the same code against the ledger and the exchange composed in
// this process (lib/monolith.ts) and against the same two services as their
// own processes over gRPC: orders/s, p50/p99 and CPU per order at the same
// concurrency. Then failure isolation in the distributed form: the exchange
// is killed (-9) under load and the ledger's reads are counted meanwhile.
// (In the composed form the exchange's crash is the process's crash: there
// is nothing left to count.)
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as exchangeApi from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledgerApi from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createLogger, createServiceClient } from "@kuku/platform";
import { createTestDatabase, startService } from "@kuku/testkit";
import { command, duration, int } from "../lib/command.js";
import { fundedAccounts } from "../lib/ledger.js";
import { closedLoop, type LoadResult, ms } from "../lib/load.js";
import { startMonolith } from "../lib/monolith.js";
import { cpuSeconds } from "../lib/proc.js";
import { table } from "../lib/stats.js";

interface Services {
  readonly ledger: Client<typeof ledgerApi.LedgerService>;
  readonly exchange: Client<typeof exchangeApi.ExchangeService>;
}

const HOLD_MINOR = 200_000n;

/** One order's path: hold, a market buy of one share, settle what filled to the venue's account. */
async function orderPath(s: Services, account: string, venueAccount: string): Promise<void> {
  const id = randomUUID();
  const { hold } = await s.ledger.placeHold(
    create(ledgerApi.PlaceHoldRequestSchema, { requestId: `h-${id}`, accountId: account, amountMinor: HOLD_MINOR }),
  );
  const answer = await s.exchange.submitOrder(
    create(exchangeApi.SubmitOrderRequestSchema, {
      clientOrderId: id,
      symbol: "005930",
      side: Side.BUY,
      type: OrderType.MARKET,
      timeInForce: TimeInForce.IOC,
      quantity: 1n,
    }),
  );
  const notional = answer.fills.reduce((sum, f) => sum + f.quantity * f.priceKrw, 0n);
  if (notional === 0n) return;
  await s.ledger.settleHold(
    create(ledgerApi.SettleHoldRequestSchema, {
      requestId: `s-${id}`,
      debits: [{ holdId: hold!.holdId, amountMinor: notional }],
      legs: [{ accountId: venueAccount, amountMinor: notional }],
    }),
  );
}

interface Figures {
  readonly load: LoadResult;
  readonly cpuMicrosPerOrder: number;
}

async function measure(
  s: Services,
  pids: number[],
  accounts: string[],
  venue: string,
  concurrency: number,
  durationMs: number,
): Promise<Figures> {
  const cpu = () => {
    const own = process.cpuUsage();
    return (own.user + own.system) / 1e6 + pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  };
  // Warm-up, not counted: JIT, pools, the market maker's book.
  await closedLoop(concurrency, 2_000, async () => {
    await orderPath(s, accounts[0]!, venue);
    return false;
  });
  let next = 0;
  const before = cpu();
  const load = await closedLoop(concurrency, durationMs, async () => {
    await orderPath(s, accounts[next++ % accounts.length]!, venue);
    return true;
  });
  return { load, cpuMicrosPerOrder: Math.round(((cpu() - before) / load.latency.count) * 1e6) };
}

/** Kills the exchange and counts the ledger's answers to GetBalances for `windowMs` after. */
async function isolation(s: Services, kill: () => Promise<unknown>, account: string, windowMs: number) {
  await kill();
  let ok = 0;
  let failed = 0;
  const endAt = Date.now() + windowMs;
  while (Date.now() < endAt) {
    await s.ledger.getBalances({ accountIds: [account] }).then(
      () => ok++,
      () => failed++,
    );
    const order = await orderPath(s, account, account).then(
      () => "ok",
      () => "failed",
    );
    if (order === "ok") throw new Error("an order went through with the exchange dead");
    await sleep(50);
  }
  return { ok, failed };
}

export const architectureMonolith = command({
  name: "architecture monolith",
  summary:
    "hold + submit + settle with the ledger and exchange in this process vs over gRPC in their own processes; then an exchange crash",
  options: {
    concurrency: int("orders in flight", 16),
    duration: duration("load per form", "10s"),
    accounts: int("funded accounts", 200),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const logger = createLogger("bench-monolith", "warn");
    const rows: (string | number)[][] = [];
    let crash = { ok: 0, failed: 0 };
    for (const form of ["one process", "three processes"] as const) {
      const dbs = { ledger: await createTestDatabase("bench_mono_ledger"), exchange: await createTestDatabase("bench_mono_exchange") };
      const stops: (() => Promise<unknown>)[] = [];
      try {
        let services: Services;
        let pids: number[] = [];
        let killExchange = async (): Promise<unknown> => undefined;
        if (form === "one process") {
          const monolith = await startMonolith(
            { ledger: dbs.ledger.url, exchange: dbs.exchange.url },
            `mono-${randomUUID().slice(0, 8)}.`,
            logger,
          );
          stops.push(() => monolith.close());
          services = monolith;
        } else {
          const ledger = await startService("ledger", { database: dbs.ledger.url, env: { LOG_LEVEL: "info" }, startTimeoutMs: 300_000 });
          stops.push(() => ledger.stop("SIGTERM"));
          const exchange = await startService("exchange", {
            database: dbs.exchange.url,
            env: { LOG_LEVEL: "info" },
            startTimeoutMs: 300_000,
          });
          stops.push(() => exchange.stop("SIGKILL"));
          const client = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, port: number) =>
            createServiceClient(desc, { baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5_000 });
          services = { ledger: client(ledgerApi.LedgerService, ledger.port), exchange: client(exchangeApi.ExchangeService, exchange.port) };
          pids = [ledger.child.pid!, exchange.child.pid!];
          killExchange = () => exchange.stop("SIGKILL");
        }
        const accounts = await fundedAccounts(services.ledger, values.accounts, 10n ** 12n, `mono-${form.length}`);
        const [venue] = await fundedAccounts(services.ledger, 1, 1n, `venue-${form.length}`);
        const f = await measure(services, pids, accounts, venue!, values.concurrency, values.duration);
        rows.push([form, f.load.latency.count, f.load.perSecond, ms(f.load.latency, 50), ms(f.load.latency, 99), f.cpuMicrosPerOrder]);
        console.error(`  ${form}: ${f.load.perSecond}/s`);
        if (form === "three processes") crash = await isolation(services, killExchange, accounts[0]!, 3_000);
      } finally {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
        await dbs.ledger.drop();
        await dbs.exchange.drop();
      }
    }
    console.log(
      `architecture monolith — hold + market buy + settle, ${values.concurrency} orders in flight, ${values.duration / 1000} s per form`,
    );
    console.log(table(["form", "orders", "orders/s", "p50 ms", "p99 ms", "CPU µs per order (Node processes)"], rows));
    console.log(
      `exchange killed (-9) in the three-process form: for 3 s the ledger answered ${crash.ok} GetBalances and failed ${crash.failed}; every order tried meanwhile failed at the exchange step, its hold placed and not settled. ` +
        "In the one-process form the same crash ends the ledger with it.",
    );
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; Node ${process.version}; ` +
        "CPU: user+system of the bench process (and of the two service processes in the distributed form); PostgreSQL's and Kafka's are not counted",
    );
  },
});
