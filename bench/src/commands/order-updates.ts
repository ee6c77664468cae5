// kuku-bench order-updates: the gateway's order update stream (ADR 0022).
// What a connected user costs the gateway, against what the console's old
// ListOrders poll every 1.5 s cost it (and the order service behind it), and
// how long an order event takes from its commit in the order service to a
// client's stream: real gateway, order, exchange and ledger processes.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { startTradingStack, type TradingStack } from "@kuku/testkit";
import { Redis } from "ioredis";
import { command, duration, int, text } from "../lib/command.js";
import { Histogram, table } from "../lib/stats.js";

const POLL_MS = 1_500;
const CLOCK_TICKS_PER_S = 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** CPU seconds and resident memory of a process, from /proc. */
function usage(pid: number): { cpuS: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S, rssKb: Number(rss?.[1] ?? 0) };
}

/** CPU seconds per second of `pids` while `during` runs. */
async function cpuDuring(pids: readonly number[], during: () => Promise<void>): Promise<number[]> {
  const before = pids.map((p) => usage(p).cpuS);
  const t0 = performance.now();
  await during();
  const seconds = (performance.now() - t0) / 1e3;
  return pids.map((p, i) => (usage(p).cpuS - before[i]!) / seconds);
}

type Trading = Client<typeof api.TradingService>;

async function users(stack: TradingStack, count: number): Promise<Trading[]> {
  const baseUrl = stack.url("gateway");
  const auth = createClient(api.AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const clients: Trading[] = [];
  for (let i = 0; i < count; i++) {
    const { tokens } = await auth.signUp({
      email: `bench-${randomUUID()}@example.com`,
      password: "correct horse battery",
      displayName: "b",
    });
    const bearer = `Bearer ${tokens!.accessToken}`;
    const trading = createClient(
      api.TradingService,
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", bearer);
            return next(req);
          },
        ],
      }),
    );
    await trading.depositCash({ requestId: randomUUID(), amountKrw: 100_000_000n });
    clients.push(trading);
  }
  return clients;
}

/** Opens one stream per user; resolves once every stream has sent its cursor. Received updates' push latency goes to `latency`. */
async function openStreams(clients: readonly Trading[], signal: AbortSignal, latency: Histogram): Promise<void> {
  let ready = 0;
  for (const trading of clients) {
    void (async () => {
      let first = true;
      try {
        for await (const m of trading.streamOrderUpdates({}, { signal })) {
          if (first) ready += 1;
          first = false;
          if (m.update?.occurredAt !== undefined) latency.record(Date.now() - timestampMs(m.update.occurredAt));
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      }
    })();
  }
  while (ready < clients.length) await sleep(50);
}

/** `orders` market buys of one share, `concurrency` at a time, over the users. */
async function placeOrders(clients: readonly Trading[], orders: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = next++; n < orders; n = next++) {
        await clients[n % clients.length]!.placeOrder({
          idempotencyKey: `bench-${randomUUID()}`,
          symbol: "005930",
          side: Side.BUY,
          type: OrderType.MARKET,
          timeInForce: TimeInForce.IOC,
          quantity: 1n,
        });
      }
    }),
  );
}

/** Bytes Redis holds per logged update: the users' streams and one remembered event id. */
async function redisBytes(redisUrl: string, keyPrefix: string): Promise<{ perEntry: number; perSeenId: number; entries: number }> {
  const redis = new Redis(redisUrl);
  try {
    const streams = await redis.keys(`${keyPrefix}:order-updates:*`);
    let bytes = 0;
    let entries = 0;
    for (const key of streams) {
      bytes += (await redis.memory("USAGE", key)) ?? 0;
      entries += await redis.xlen(key);
    }
    const [seen] = await redis.keys(`${keyPrefix}:order-update-seen:*`);
    return {
      perEntry: entries === 0 ? 0 : bytes / entries,
      perSeenId: seen === undefined ? 0 : ((await redis.memory("USAGE", seen)) ?? 0),
      entries,
    };
  } finally {
    redis.disconnect();
  }
}

export const orderUpdates = command({
  name: "order-updates",
  summary: "the order update stream (ADR 0022): push latency, and the cost of a connected user against polling ListOrders",
  options: {
    users: int("users, each with one open stream (or one ListOrders poller)", 200),
    orders: int("market buys placed while the streams are open", 300),
    concurrency: int("orders in flight", 4),
    idle: duration("how long each cost phase lasts", "20s"),
    "redis-url": text("the Redis the gateway uses", "redis://127.0.0.1:6379"),
  },
  async run(values) {
    const keyPrefix = `kuku:bench-updates-${randomUUID().slice(0, 8)}`;
    const unlimited = { GATEWAY_RATE_IP_BURST: "1000000", GATEWAY_RATE_IP_PER_SECOND: "1000000", GATEWAY_RATE_USER_BURST: "1000000" };
    const stack = await startTradingStack({
      services: ["ledger", "exchange", "order", "gateway"],
      envOf: { gateway: { ...unlimited, GATEWAY_REDIS_KEY_PREFIX: keyPrefix, GATEWAY_REDIS_URL: values["redis-url"] } },
    });
    const abort = new AbortController();
    try {
      const clients = await users(stack, values.users);
      const pids = [stack.process("gateway").child.pid!, stack.process("order").child.pid!];
      const idle = () => sleep(values.idle);
      const [gwIdle, orderIdle] = await cpuDuring(pids, idle);
      const rssBefore = usage(pids[0]!).rssKb;
      const latency = new Histogram();
      await openStreams(clients, abort.signal, latency);
      await sleep(2_000);
      const rssPerStreamKb = (usage(pids[0]!).rssKb - rssBefore) / clients.length;
      const [gwStreams, orderStreams] = await cpuDuring(pids, idle);
      await placeOrders(clients, values.orders, values.concurrency);
      await sleep(3_000);
      abort.abort();
      const memory = await redisBytes(values["redis-url"], keyPrefix);
      // The users now have orders to list, as the console's users had.
      const [gwPoll, orderPoll] = await cpuDuring(pids, () => pollFor(clients, values.idle));
      console.log(`${values.users} users; each phase ${values.idle / 1000} s; CPU as a share of one core`);
      const row = (phase: string, gw: number, order: number) => [
        phase,
        pct(gw),
        pct(order),
        (((gw - gwIdle!) * 1_000) / clients.length).toFixed(3),
      ];
      console.log(
        table(
          ["phase", "gateway CPU", "order CPU", "gateway CPU ms/s per user"],
          [
            ["nobody connected", pct(gwIdle!), pct(orderIdle!), "-"],
            row(`each user polls ListOrders every ${POLL_MS} ms (the console before)`, gwPoll!, orderPoll!),
            row("each user holds an idle stream (the console now)", gwStreams!, orderStreams!),
          ],
        ),
      );
      console.log(`gateway memory per open stream: ${rssPerStreamKb.toFixed(1)} kB (RSS delta / streams)`);
      console.log(
        `Redis per logged update: ${memory.perEntry.toFixed(0)} B in the stream + ${memory.perSeenId} B for its remembered event id (${memory.entries} entries)`,
      );
      const ms = (p: number) => latency.percentile(p).toFixed(0);
      console.log(table(["updates received", "push latency p50 ms", "p99 ms", "max ms"], [[latency.count, ms(50), ms(99), ms(100)]]));
      console.log("push latency: from the event's commit in the order service (occurred_at) to its arrival on the client's stream");
    } finally {
      abort.abort();
      await stack.stop();
    }
  },
});

/** Every user calls ListOrders every POLL_MS for `ms`, as the console did. */
async function pollFor(clients: readonly Trading[], ms: number): Promise<void> {
  const endAt = Date.now() + ms;
  await Promise.all(
    clients.map(async (trading, i) => {
      await sleep((POLL_MS * i) / clients.length); // spread, as independent browsers are
      while (Date.now() < endAt) {
        const t0 = Date.now();
        await trading.listOrders({ pageSize: 100 });
        await sleep(Math.max(0, POLL_MS - (Date.now() - t0)));
      }
    }),
  );
}
