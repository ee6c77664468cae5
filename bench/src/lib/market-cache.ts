// Market processes for the cache benchmark (ADR 0010): candles seeded in the
// service's own database, one or more replicas sharing it and one Redis, and
// the cache's lookup counters read back from each replica's /metrics.
import { randomUUID } from "node:crypto";
import * as api from "@kuku/contracts/kuku/market/v1/market_pb";
import { createServiceClient } from "@kuku/platform";
import { parsePrometheusText, type ServiceProcess, startService } from "@kuku/testkit";
import { Redis } from "ioredis";
import { benchPool } from "./pool.js";

export type MarketClient = ReturnType<typeof createServiceClient<typeof api.MarketDataService>>;

export interface Replica {
  readonly process: ServiceProcess;
  readonly client: MarketClient;
}

/** `perSymbol` one-minute candles for each symbol, ending now (what ListCandles reads). */
export async function seedCandles(databaseUrl: string, symbols: readonly string[], perSymbol: number): Promise<void> {
  const pool = benchPool(databaseUrl, 2);
  try {
    await pool.query(
      `INSERT INTO candles (symbol, start_time, open_price_krw, high_price_krw, low_price_krw, close_price_krw, volume)
       SELECT s, date_trunc('minute', now()) - make_interval(mins => m), 70000, 70500, 69500, 70100 + m, 10 + m
       FROM unnest($1::text[]) s, generate_series(0, $2 - 1) m`,
      [symbols, perSymbol],
    );
    await pool.query("ANALYZE candles");
  } finally {
    await pool.end();
  }
}

/** `count` market processes on one database and one Redis, each consuming topics of a prefix no one publishes to. */
export async function startReplicas(count: number, databaseUrl: string, env: Record<string, string>): Promise<Replica[]> {
  const prefix = `bench-${randomUUID().slice(0, 8)}.`;
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const process = await startService("market", {
      database: databaseUrl,
      env: { KAFKA_TOPIC_PREFIX: prefix, MARKET_CONSUMER_GROUP_PREFIX: "bench-cache", LOG_LEVEL: "info", ...env },
    }).catch(async (error: unknown) => {
      await stopReplicas(replicas); // the ones already serving
      throw error;
    });
    const client = createServiceClient(api.MarketDataService, { baseUrl: `http://127.0.0.1:${process.port}`, timeoutMs: 30_000 });
    replicas.push({ process, client });
  }
  return replicas;
}

export const stopReplicas = (replicas: readonly Replica[]) => Promise.all(replicas.map((r) => r.process.stop("SIGTERM")));

export type Lookups = Record<"local" | "redis" | "computed" | "coalesced", number>;

/** kuku_market_cache_lookups_total of the candle cache, summed over the replicas. */
export async function lookups(replicas: readonly Replica[]): Promise<Lookups> {
  const sum: Lookups = { local: 0, redis: 0, computed: 0, coalesced: 0 };
  for (const { process } of replicas) {
    const samples = parsePrometheusText(await (await fetch(`http://127.0.0.1:${process.adminPort}/metrics`)).text());
    for (const s of samples) {
      if (s.name !== "kuku_market_cache_lookups_total" || s.labels["cache"] !== "candles") continue;
      const result = s.labels["result"] as keyof Lookups;
      if (result in sum) sum[result] += s.value;
    }
  }
  return sum;
}

export const lookupsSince = (before: Lookups, after: Lookups): Lookups => ({
  local: after.local - before.local,
  redis: after.redis - before.redis,
  computed: after.computed - before.computed,
  coalesced: after.coalesced - before.coalesced,
});

/** Deletes the candle cache's Redis keys of these symbols, so a phase starts cold (the keys are the service's own naming). */
export async function forgetCandles(symbols: readonly string[], limit: number): Promise<void> {
  const redis = new Redis(process.env["MARKET_REDIS_URL"] ?? "redis://127.0.0.1:6379");
  try {
    await redis.del(...symbols.map((s) => `kuku:market:candles:${s}:${limit}`));
  } finally {
    redis.disconnect();
  }
}

/** Six-digit symbols unlikely to meet those of tests sharing the Redis: a random block of 9xxxxx. */
export function benchSymbols(count: number): string[] {
  const base = 900_000 + Math.floor(Math.random() * 90) * 1_000;
  return Array.from({ length: count }, (_, i) => String(base + i));
}
