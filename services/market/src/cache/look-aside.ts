// Look-aside caching (ADR 0010): a short in-process cache for hot keys, then
// Redis with a TTL, then the computation. Concurrent misses on one key share
// one computation (single flight), so a burst of cold reads — 1,000 clients
// opening the same chart — costs one database query, not 1,000.

import type { Logger } from "@kuku/platform";
import type { Redis } from "ioredis";
import { Counter } from "prom-client";

export interface LookAsideOptions<T> {
  /** Namespaces the Redis keys and labels the metrics. */
  readonly name: string;
  readonly redisTtlMs: number;
  /** 0 switches the in-process layer off. */
  readonly localTtlMs: number;
  /** Bounds the in-process layer; the oldest entry goes first. */
  readonly localEntriesMax: number;
  readonly encode: (value: T) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => T;
}

const lookups = new Counter({
  name: "kuku_market_cache_lookups_total",
  help: "Look-aside cache lookups by layer that answered (local, redis, computed, coalesced)",
  labelNames: ["cache", "result"] as const,
});

export class LookAsideCache<T> {
  /** Computations run so far (what the stampede test counts). */
  computations = 0;
  private readonly local = new Map<string, { value: T; expiresAtMs: number }>();
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly redis: Redis,
    private readonly options: LookAsideOptions<T>,
    private readonly logger: Logger,
  ) {}

  async get(key: string, compute: () => Promise<T>): Promise<T> {
    const hot = this.local.get(key);
    if (hot !== undefined && hot.expiresAtMs > Date.now()) {
      lookups.inc({ cache: this.options.name, result: "local" });
      return hot.value;
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      lookups.inc({ cache: this.options.name, result: "coalesced" });
      return pending;
    }
    const loading = this.load(key, compute).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }

  private async load(key: string, compute: () => Promise<T>): Promise<T> {
    const redisKey = `kuku:market:${this.options.name}:${key}`;
    let value: T | undefined;
    try {
      const cached = await this.redis.getBuffer(redisKey);
      if (cached !== null) {
        value = this.options.decode(cached);
        lookups.inc({ cache: this.options.name, result: "redis" });
      }
    } catch (error) {
      // Redis is an optimisation: without it every read computes.
      this.logger.warn({ err: error, cache: this.options.name }, "cache read failed; computing");
    }
    if (value === undefined) {
      this.computations += 1;
      lookups.inc({ cache: this.options.name, result: "computed" });
      value = await compute();
      const bytes = Buffer.from(this.options.encode(value));
      this.redis.set(redisKey, bytes, "PX", this.options.redisTtlMs).catch((error: unknown) => {
        this.logger.warn({ err: error, cache: this.options.name }, "cache write failed");
      });
    }
    this.remember(key, value);
    return value;
  }

  private remember(key: string, value: T): void {
    if (this.options.localTtlMs === 0) return;
    this.local.delete(key); // re-inserted last: Map order is the eviction order
    this.local.set(key, { value, expiresAtMs: Date.now() + this.options.localTtlMs });
    if (this.local.size > this.options.localEntriesMax) this.local.delete(this.local.keys().next().value!);
  }
}
