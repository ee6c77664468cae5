import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { createTestDatabase, startServiceProcess } from "@kuku/platform/testing";
import { type BenchCommand, durationMsOption, intListOption, intOption } from "../lib/command.js";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const SERVICES_DIR = fileURLToPath(new URL("../../../services/", import.meta.url));

export const orders: BenchCommand = {
  name: "orders",
  summary: "orders/s and latency from PlaceOrder to SETTLED through ledger, exchange and order services",
  options: {
    concurrency: { type: "string", default: "4,16,64", description: "orders in flight, comma-separated" },
    duration: { type: "string", default: "10s", description: "measured time per concurrency" },
    users: { type: "string", default: "50", description: "funded users placing orders" },
  },
  async run(values) {
    const concurrencies = intListOption(values, "concurrency");
    const durationMs = durationMsOption(values, "duration");
    const userCount = intOption(values, "users");
    const ledger = await startLedger();
    const orderDb = await createTestDatabase("bench_orders");
    const exchangeDb = await createTestDatabase("bench_exchange");
    const exchangeProcess = await startServiceProcess({
      cwd: `${SERVICES_DIR}exchange`,
      env: { EXCHANGE_PORT: "0", EXCHANGE_DATABASE_URL: exchangeDb.url, LOG_LEVEL: "info" },
    });
    const orderProcess = await startServiceProcess({
      cwd: `${SERVICES_DIR}order`,
      env: {
        ORDER_PORT: "0",
        LOG_LEVEL: "info",
        ORDER_DATABASE_URL: orderDb.url,
        ORDER_LEDGER_URL: `http://127.0.0.1:${ledger.service.port}`,
        ORDER_EXCHANGE_URL: `http://127.0.0.1:${exchangeProcess.port}`,
        ORDER_CONSUMER_GROUP: `kuku-order-bench-${randomUUID()}`,
      },
    });
    try {
      const client = createServiceClient(api.OrderService, { baseUrl: `http://127.0.0.1:${orderProcess.port}`, timeoutMs: 30_000 });
      // fundedAccounts opens KRW accounts owned by "<prefix>-<n>": those owners are the users.
      await fundedAccounts(ledger.client, userCount, 1_000_000_000_000n, "bench-orders");
      const users = Array.from({ length: userCount }, (_, i) => `bench-orders-${i}`);
      const rows: (string | number)[][] = [];
      for (const concurrency of concurrencies) {
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
                }),
              );
              if (order?.state === api.OrderState.SETTLED) latency.record(microsSince(t0));
              else notSettled.set(api.OrderState[order!.state], (notSettled.get(api.OrderState[order!.state]) ?? 0) + 1);
            }
          }),
        );
        const seconds = microsSince(started) / 1e6;
        rows.push([
          concurrency,
          latency.count,
          Math.round(latency.count / seconds),
          (latency.percentile(50) / 1000).toFixed(1),
          (latency.percentile(99) / 1000).toFixed(1),
          [...notSettled].map(([s, n]) => `${s} ${n}`).join(", ") || "none",
        ]);
      }
      const integrity = await ledger.client.verifyIntegrity({});
      console.log(
        `orders — market buys of 1 share by ${userCount} users, ${durationMs / 1000} s per row; latency = PlaceOrder until SETTLED`,
      );
      console.log(table(["concurrency", "settled", "orders/s", "p50 ms", "p99 ms", "answered not settled"], rows));
      console.log(
        `ledger integrity: ${integrity.discrepancies.length === 0 ? "clean" : `${integrity.discrepancies.length} DISCREPANCIES`} (${integrity.entriesChecked} entries)`,
      );
      console.log("goal: >= 1,000 orders/s at p99 < 50 ms");
      if (integrity.discrepancies.length > 0) process.exitCode = 1;
    } finally {
      await orderProcess.stop("SIGTERM");
      await exchangeProcess.stop("SIGTERM");
      await orderDb.drop();
      await exchangeDb.drop();
      await ledger.stop();
    }
  },
};
