// A closed-loop load: `concurrency` workers each run `op` back to back until
// the time is up. Latency is recorded for the operations that count.
import { Histogram, microsSince } from "./stats.js";

export interface LoadResult {
  readonly latency: Histogram;
  readonly seconds: number;
  readonly perSecond: number;
}

/** `op` resolves true when the operation counts toward throughput and latency. */
export async function closedLoop(concurrency: number, durationMs: number, op: () => Promise<boolean>): Promise<LoadResult> {
  const latency = new Histogram();
  const endAt = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < endAt) {
        const t0 = process.hrtime.bigint();
        if (await op()) latency.record(microsSince(t0));
      }
    }),
  );
  const seconds = microsSince(started) / 1e6;
  return { latency, seconds, perSecond: Math.round(latency.count / seconds) };
}

/** Milliseconds with two decimals, from the histogram's microseconds. */
export const ms = (latency: Histogram, p: number) => +(latency.percentile(p) / 1000).toFixed(2);

/** What every run of the locks benchmarks reports of its load: the rate and the latency percentiles in ms. */
export const loadFigures = (load: LoadResult) => ({
  opsPerSecond: load.perSecond,
  p50Ms: ms(load.latency, 50),
  p95Ms: ms(load.latency, 95),
  p99Ms: ms(load.latency, 99),
});
