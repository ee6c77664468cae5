// Redlock over independent Redis servers (a majority quorum), as the ledger's
// redlock-fenced balance guard and the lock benchmarks use it. A lock from
// here is never enough on its own to guard a write (ADR 0008): the write
// must also carry a fencing token its database checks.
import { Redlock } from "@sesamecare-oss/redlock";
import { Redis } from "ioredis";

export type { Redlock } from "@sesamecare-oss/redlock";

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export interface RedlockOptions {
  /** Per-command timeout: a stopped (SIGSTOP) server never answers, and Redlock waits for every server's reply. */
  readonly commandTimeoutMs?: number;
  /** Acquisition attempts; contention on a hot key means many, short and jittered. */
  readonly retryCount?: number;
  readonly retryDelayMs?: number;
  readonly retryJitterMs?: number;
}

export function connectRedlock(
  nodes: readonly RedisNode[],
  options: RedlockOptions = {},
): { redlock: Redlock; close: () => Promise<void> } {
  const clients = nodes.map(({ host, port }) => {
    // No offline queue: while a server is down (connection refused) a command fails at once instead of
    // waiting out commandTimeout in the queue; with every server down that made one acquisition
    // take retryCount x commandTimeout (20 s) before the caller heard "not acquired".
    const client = new Redis({
      host,
      port,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 200,
      enableOfflineQueue: false,
    });
    // A server down is a case Redlock handles (it counts the failures toward the quorum); not a crash.
    client.on("error", () => undefined);
    return client;
  });
  const redlock = new Redlock(clients, {
    retryCount: options.retryCount ?? 100,
    retryDelay: options.retryDelayMs ?? 10,
    retryJitter: options.retryJitterMs ?? 10,
    driftFactor: 0.01,
  });
  // quit() fails on a client whose server is down, and the client would go on reconnecting (keeping the process alive): disconnect() ends that.
  const close = async () =>
    void (await Promise.all(
      clients.map((c) =>
        c
          .quit()
          .catch(() => undefined)
          .finally(() => c.disconnect()),
      ),
    ));
  return { redlock, close };
}

/** Redlock gave up: no quorum within its bounded attempts. Nothing was done. */
export class LockNotAcquiredError extends Error {
  override name = "LockNotAcquiredError";
}

/**
 * Runs fn while holding one Redlock lock over every resource (acquired in one
 * step on each server, so two callers with overlapping sets cannot deadlock).
 * The lock is released afterwards; it may have expired meanwhile, which is
 * exactly why the write inside must be fenced.
 */
export async function withRedlock<T>(redlock: Redlock, resources: readonly string[], ttlMs: number, fn: () => Promise<T>): Promise<T> {
  let lock: Awaited<ReturnType<Redlock["acquire"]>>;
  try {
    lock = await redlock.acquire([...new Set(resources)].sort(), ttlMs);
  } catch (error) {
    throw new LockNotAcquiredError(`lock on ${resources.length} resource(s) not acquired: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await fn();
  } finally {
    await lock.release().catch(() => undefined); // expired already: nothing to release
  }
}

/**
 * Exponential backoff with full jitter (uniform in [0, min(cap, base * 2^(attempt-1))]),
 * for bounded retry loops after a conflict.
 */
export function jitteredBackoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));
}
