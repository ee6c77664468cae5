import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { startTradingStack } from "@kuku/testkit";
import { choiceList, command, duration, int, intList } from "../lib/command.js";
import { fundedAccounts } from "../lib/ledger.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const MODES = ["acceptance", "settled"] as const;
type Mode = (typeof MODES)[number];

/** What a mode's latency runs to: PlaceOrder's answer at acceptance, or (asked to wait) at SETTLED, the old answer. */
const ANSWERED: Record<Mode, ReadonlySet<api.OrderState>> = {
  acceptance: new Set([api.OrderState.FILLED, api.OrderState.SETTLED]),
  settled: new Set([api.OrderState.SETTLED]),
};

/** Market buys of one share by `users` from `concurrency` callers for `durationMs`: one row of figures. */
export async function ordersAt(
  mode: Mode,
  concurrency: number,
  durationMs: number,
  client: Client<typeof api.OrderService>,
  users: readonly string[],
): Promise<(string | number)[]> {
  const latency = new Histogram();
  const notSettled = new Map<string, number>();
  const endAt = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; Date.now() < endAt; n++) {
        const t0 = process.hrtime.bigint();
        const { order } = await client.placeOrder(
          create(api.PlaceOrderRequestSchema, {
            idempotencyKey: `bench-${randomUUID()}`,
            userId: users[(worker + n * concurrency) % users.length]!,
            symbol: "005930",
            side: Side.BUY,
            type: OrderType.MARKET,
            timeInForce: TimeInForce.IOC,
            quantity: 1n,
            waitSettledMs: mode === "settled" ? 30_000 : 0,
          }),
        );
        if (ANSWERED[mode].has(order!.state)) latency.record(microsSince(t0));
        else notSettled.set(api.OrderState[order!.state], (notSettled.get(api.OrderState[order!.state]) ?? 0) + 1);
      }
    }),
  );
  const seconds = microsSince(started) / 1e6;
  return [
    mode,
    concurrency,
    latency.count,
    Math.round(latency.count / seconds),
    (latency.percentile(50) / 1000).toFixed(1),
    (latency.percentile(99) / 1000).toFixed(1),
    [...notSettled].map(([s, n]) => `${s} ${n}`).join(", ") || "none",
  ];
}

export const orders = command({
  name: "orders",
  summary: "orders/s and latency of PlaceOrder answered at acceptance and asked to wait for SETTLED, through ledger, exchange and order",
  options: {
    modes: choiceList(MODES, "answers measured: at acceptance (FILLED), and waited for until SETTLED (the old answer)"),
    concurrency: intList("orders in flight, comma-separated", "4,16,64"),
    duration: duration("measured time per concurrency", "10s"),
    users: int("funded users placing orders", 50),
  },
  async run({ modes, concurrency: concurrencies, duration: durationMs, users: userCount }) {
    // The services as the tests run them, each on a fresh database, with the stack's own topics and consumer group.
    const stack = await startTradingStack({ services: ["ledger", "exchange", "order"], env: { LOG_LEVEL: "info" } });
    try {
      const ledgerClient = createServiceClient(ledger.LedgerService, { baseUrl: stack.url("ledger"), timeoutMs: 30_000 });
      const client = createServiceClient(api.OrderService, { baseUrl: stack.url("order"), timeoutMs: 30_000 });
      // fundedAccounts opens KRW accounts owned by "<prefix>-<n>": those owners are the users.
      await fundedAccounts(ledgerClient, userCount, 1_000_000_000_000n, "bench-orders");
      const users = Array.from({ length: userCount }, (_, i) => `bench-orders-${i}`);
      const rows: (string | number)[][] = [];
      // The modes in turn at each concurrency: the two answers compared under the same conditions.
      for (const concurrency of concurrencies) {
        for (const mode of modes) rows.push(await ordersAt(mode, concurrency, durationMs, client, users));
      }
      const integrity = await ledgerClient.verifyIntegrity({});
      console.log(
        `orders — market buys of 1 share by ${userCount} users, ${durationMs / 1000} s per row, closed loop; latency = PlaceOrder until its answer: ` +
          "acceptance = FILLED (settlement follows from the executions consumer), settled = asked to wait until SETTLED",
      );
      console.log(table(["mode", "concurrency", "answered", "orders/s", "p50 ms", "p99 ms", "answered otherwise"], rows));
      console.log(
        `ledger integrity: ${integrity.discrepancies.length === 0 ? "clean" : `${integrity.discrepancies.length} DISCREPANCIES`} (${integrity.entriesChecked} entries)`,
      );
      console.log("goal: >= 1,000 orders/s at p99 < 50 ms");
      if (integrity.discrepancies.length > 0) process.exitCode = 1;
    } finally {
      await stack.stop();
    }
  },
});
