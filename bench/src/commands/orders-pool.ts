// kuku-bench orders pool (week 15): the order service's PostgreSQL pool
// (ORDER_POOL_SIZE_MAX) swept on the whole order path — a fresh ledger,
// exchange and order service per size, market buys answered at acceptance
// from a closed loop — with the knee named: the smallest pool within 5 % of
// the best rate. The ledger's sweep is `ledger transfers --pool-size`.
import { cpus, loadavg } from "node:os";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { createServiceClient } from "@kuku/platform";
import { startTradingStack } from "@kuku/testkit";
import { command, duration, int, intList } from "../lib/command.js";
import { fundedAccounts } from "../lib/ledger.js";
import { table } from "../lib/stats.js";
import { ordersAt } from "./orders.js";

/** One pool size: a fresh stack, funded users, then `concurrency` callers for `durationMs`; the row and the ledger's verdict. */
async function atPoolSize(pool: number, concurrency: number, durationMs: number, userCount: number) {
  const stack = await startTradingStack({
    services: ["ledger", "exchange", "order"],
    env: { LOG_LEVEL: "info" },
    envOf: { order: { ORDER_POOL_SIZE_MAX: String(pool) } },
  });
  try {
    const ledgerClient = createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 30_000 });
    const client = createServiceClient(api.OrderService, { baseUrl: stack.url("order"), timeoutMs: 30_000 });
    await fundedAccounts(ledgerClient, userCount, 1_000_000_000_000n, "bench-pool");
    const users = Array.from({ length: userCount }, (_, i) => `bench-pool-${i}`);
    // A short unmeasured run first: connections, JIT, the exchange's book.
    await ordersAt("acceptance", concurrency, Math.min(3_000, durationMs), client, users);
    const row = await ordersAt("acceptance", concurrency, durationMs, client, users);
    const integrity = await ledgerClient.verifyIntegrity({});
    return { row, clean: integrity.discrepancies.length === 0, load: loadavg()[0]! };
  } finally {
    await stack.stop();
  }
}

export const ordersPool = command({
  name: "orders pool",
  summary: "the order service's PostgreSQL pool size swept (ORDER_POOL_SIZE_MAX): orders/s and p99 per size, the knee named",
  options: {
    "pool-size": intList("ORDER_POOL_SIZE_MAX values, one fresh stack each (24 is the default)", "4,8,16,24,48"),
    concurrency: int("orders in flight", 32),
    duration: duration("measured time per size", "10s"),
    users: int("funded users placing orders", 50),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const rows: (string | number)[][] = [];
    const rates: number[] = [];
    let clean = true;
    for (const pool of values["pool-size"]) {
      const r = await atPoolSize(pool, values.concurrency, values.duration, values.users);
      // ordersAt's row: mode, concurrency, answered, orders/s, p50, p99, answered otherwise.
      const [, , answered, perSecond, p50, p99, otherwise] = r.row;
      rates.push(Number(perSecond));
      clean &&= r.clean;
      rows.push([pool, answered!, perSecond!, p50!, p99!, otherwise!, r.clean ? "clean" : "DISCREPANCIES", r.load.toFixed(1)]);
      console.error(`  pool ${pool}: ${perSecond} orders/s`);
    }
    console.log(
      `orders pool — market buys of 1 share answered at acceptance, ${values.concurrency} in flight, ${values.duration / 1000} s per pool size after 3 s unmeasured, a fresh ledger, exchange and order service per size`,
    );
    console.log(
      table(["ORDER_POOL_SIZE_MAX", "answered", "orders/s", "p50 ms", "p99 ms", "answered otherwise", "ledger", "load 1m"], rows),
    );
    const best = Math.max(...rates);
    const knee = values["pool-size"][rates.findIndex((r) => r >= 0.95 * best)];
    console.log(`pool knee (smallest within 5 % of the best, ${best} orders/s): ${knee}`);
    console.log(
      `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
    );
    if (!clean) process.exitCode = 1;
  },
});
