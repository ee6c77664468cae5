// kuku-bench market cache (ADR 0010): ListCandles against real market
// processes with the cache's layers switched off one by one (what each layer
// answers, p99, SQL queries per second), then the cross-replica stampede:
// how many computations one expired key costs with one replica and with two
// sharing the Redis, under a cold burst and under steady load, and what a
// distributed single flight (SET NX PX per miss) would cost in round trips.
import { cpus, loadavg } from "node:os";
import { createTestDatabase } from "@kuku/testkit";
import { Redis } from "ioredis";
import { command, duration, int } from "../lib/command.js";
import { closedLoop, ms } from "../lib/load.js";
import {
  benchSymbols,
  forgetCandles,
  type Lookups,
  lookups,
  lookupsSince,
  type Replica,
  seedCandles,
  startReplicas,
  stopReplicas,
} from "../lib/market-cache.js";
import { cpuSeconds } from "../lib/proc.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const LAYERS = [
  { name: "no cache (Redis TTL 1 ms, no local)", env: { MARKET_CANDLE_CACHE_TTL_MS: "1", MARKET_CANDLE_LOCAL_TTL_MS: "0" } },
  { name: "Redis only (5 s, no local)", env: { MARKET_CANDLE_CACHE_TTL_MS: "5000", MARKET_CANDLE_LOCAL_TTL_MS: "0" } },
  { name: "local 500 ms + Redis 5 s (default)", env: { MARKET_CANDLE_CACHE_TTL_MS: "5000", MARKET_CANDLE_LOCAL_TTL_MS: "500" } },
] as const;

interface Workload {
  readonly symbols: readonly string[];
  readonly hot: number;
  readonly hotPercent: number;
  readonly limit: number;
  readonly concurrency: number;
  readonly durationMs: number;
}

const pct = (part: number, all: Lookups) => `${((100 * part) / (all.local + all.redis + all.computed + all.coalesced)).toFixed(1)} %`;

/** A closed loop of ListCandles spread round-robin over the replicas; hotPercent of the reads go to the first `hot` symbols. */
async function readLoad(replicas: readonly Replica[], w: Workload) {
  let next = 0;
  const pick = () =>
    Math.random() * 100 < w.hotPercent
      ? w.symbols[Math.floor(Math.random() * w.hot)]!
      : w.symbols[w.hot + Math.floor(Math.random() * (w.symbols.length - w.hot))]!;
  const before = await lookups(replicas);
  const serviceCpu = () => replicas.reduce((sum, r) => sum + cpuSeconds(r.process.child.pid!), 0);
  const cpu0 = { service: serviceCpu(), client: process.cpuUsage() };
  const load = await closedLoop(w.concurrency, w.durationMs, async () => {
    const replica = replicas[next++ % replicas.length]!;
    await replica.client.listCandles({ symbol: pick(), limit: w.limit });
    return true;
  });
  const client = process.cpuUsage(cpu0.client);
  const perCall = (seconds: number) => Math.round((seconds * 1e6) / load.latency.count);
  const cpu = { service: perCall(serviceCpu() - cpu0.service), client: perCall((client.user + client.system) / 1e6) };
  return { load, cpu, counted: lookupsSince(before, await lookups(replicas)) };
}

async function layersTable(databaseUrl: string, w: Workload): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const layer of LAYERS) {
    await forgetCandles(w.symbols, w.limit);
    const replicas = await startReplicas(1, databaseUrl, layer.env);
    try {
      const { load, cpu, counted: c } = await readLoad(replicas, w);
      const sqlPerSecond = Math.round(c.computed / load.seconds);
      rows.push([
        layer.name,
        load.perSecond,
        ms(load.latency, 50),
        ms(load.latency, 99),
        pct(c.local, c),
        pct(c.redis, c),
        pct(c.coalesced, c),
        pct(c.computed, c),
        sqlPerSecond,
        cpu.service,
        cpu.client,
        loadavg()[0]!.toFixed(1),
      ]);
    } finally {
      await stopReplicas(replicas);
    }
  }
  const headers = [
    "layers",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "local",
    "redis",
    "coalesced",
    "computed",
    "SQL/s",
    "service CPU µs/call",
    "client CPU µs/call",
    "load",
  ];
  return table(headers, rows);
}

/** `readers` concurrent cold reads of each key at once, round-robin over the replicas: computations per key. */
async function coldBurst(replicas: readonly Replica[], keys: readonly string[], readers: number, limit: number) {
  const latency = new Histogram();
  const before = await lookups(replicas);
  for (const symbol of keys) {
    await Promise.all(
      Array.from({ length: readers }, async (_, i) => {
        const t0 = process.hrtime.bigint();
        await replicas[i % replicas.length]!.client.listCandles({ symbol, limit });
        latency.record(microsSince(t0));
      }),
    );
  }
  const c = lookupsSince(before, await lookups(replicas));
  return { perKey: c.computed / keys.length, p99: ms(latency, 99) };
}

/** Round trips of the lock a distributed single flight adds to every miss: SET NX PX, then DEL once filled. */
async function lockRoundTrip(count: number): Promise<Histogram> {
  const redis = new Redis(process.env["MARKET_REDIS_URL"] ?? "redis://127.0.0.1:6379");
  const latency = new Histogram();
  try {
    for (let i = 0; i < count; i++) {
      const key = `kuku:bench:lock:${i % 16}`;
      const t0 = process.hrtime.bigint();
      await redis.set(key, "1", "PX", 2_000, "NX");
      await redis.del(key);
      latency.record(microsSince(t0));
    }
  } finally {
    redis.disconnect();
  }
  return latency;
}

async function stampedeTable(databaseUrl: string, w: Workload, readers: number, coldKeys: number): Promise<string> {
  const replicas = await startReplicas(2, databaseUrl, {});
  const rows: (string | number)[][] = [];
  try {
    for (const count of [1, 2]) {
      const used = replicas.slice(0, count);
      // Each replica count gets keys of its own: cold ones, then the steady ones.
      const from = (count - 1) * (coldKeys + 2 * w.hot);
      const keys = w.symbols.slice(from, from + coldKeys);
      await forgetCandles(keys, w.limit);
      const burst = await coldBurst(used, keys, readers, w.limit);
      // Steady: hot keys read all the time; each expires once per Redis TTL (5 s).
      const steady = { ...w, symbols: w.symbols.slice(from + coldKeys, from + coldKeys + 2 * w.hot) };
      await forgetCandles(steady.symbols, w.limit);
      const { load, counted } = await readLoad(used, steady);
      const expiries = steady.symbols.length * Math.max(1, Math.floor(load.seconds / 5));
      rows.push([
        count,
        burst.perKey.toFixed(2),
        burst.p99,
        load.perSecond,
        counted.computed,
        (counted.computed / expiries).toFixed(2),
        ms(load.latency, 99),
        loadavg()[0]!.toFixed(1),
      ]);
    }
  } finally {
    await stopReplicas(replicas);
  }
  const headers = [
    "replicas",
    "cold burst: computations/key",
    "burst p99 ms",
    "steady calls/s",
    "steady computations",
    "per expiry",
    "steady p99 ms",
    "load",
  ];
  return table(headers, rows);
}

export const marketCache = command({
  name: "market cache",
  summary: "ListCandles with and without the Redis and local cache layers, and the cross-replica stampede with 1 vs 2 market processes",
  options: {
    symbols: int("symbols with candles (the key space of the layer runs)", 200),
    hot: int("hot symbols, read by --hot-percent of the calls", 10),
    "hot-percent": int("share of calls that go to the hot symbols", 80),
    candles: int("candles per symbol in the database, and the ListCandles limit", 120),
    concurrency: int("calls in flight", 32),
    duration: duration("measured time per configuration", "15s"),
    readers: int("concurrent readers per cold key in the stampede burst", 200),
    "cold-keys": int("cold keys burst per replica count", 20),
  },
  async run(values) {
    const db = await createTestDatabase("bench_market_cache");
    const symbols = benchSymbols(values.symbols + 2 * values["cold-keys"] + 4 * values.hot);
    const w: Workload = {
      symbols: symbols.slice(0, values.symbols),
      hot: values.hot,
      hotPercent: values["hot-percent"],
      limit: values.candles,
      concurrency: values.concurrency,
      durationMs: values.duration,
    };
    const loadBefore = loadavg()[0]!;
    try {
      // The service migrates its database on start; seed after the first one has.
      await stopReplicas(await startReplicas(1, db.url, {}));
      await seedCandles(db.url, symbols, values.candles);
      console.log(
        `ListCandles (limit ${w.limit}) over ${w.symbols.length} symbols, ${w.hotPercent} % of calls to ${w.hot} of them, ${w.concurrency} in flight, ${w.durationMs / 1_000} s each:`,
      );
      console.log(await layersTable(db.url, w));
      const rest = { ...w, symbols: symbols.slice(values.symbols) };
      console.log(
        `\nstampede: ${values.readers} concurrent cold reads of each of ${values["cold-keys"]} keys; then ${w.hot * 2} keys read steadily (${w.concurrency} in flight) for ${w.durationMs / 1_000} s, Redis TTL 5 s, local 500 ms:`,
      );
      console.log(await stampedeTable(db.url, rest, values.readers, values["cold-keys"]));
      const lock = await lockRoundTrip(2_000);
      console.log(
        `\ndistributed single flight's extra cost per miss: SET NX PX + DEL on Redis p50 ${ms(lock, 50)} ms, p99 ${ms(lock, 99)} ms (2,000 sequential)`,
      );
    } finally {
      await db.drop();
    }
    console.log(
      `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
    );
  },
});
