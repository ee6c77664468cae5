// The three independent Redis servers `make infra` starts, as a Redlock quorum.
import { readFileSync } from "node:fs";
import { Redlock } from "@sesamecare-oss/redlock";
import { Redis } from "ioredis";
import { REPO_ROOT } from "@kuku/platform/testing";

export const REDIS_PORTS = (process.env["REDIS_PORTS"] ?? "6379,6380,6381").split(",").map(Number);

export function connectRedlock(): { redlock: Redlock; close: () => Promise<void> } {
  // commandTimeout: a stopped (SIGSTOP) server never answers, and Redlock waits for every server's reply.
  const clients = REDIS_PORTS.map((port) => {
    const client = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1, commandTimeout: 200 });
    client.on("error", () => undefined); // a server down is what the drill is about; Redlock counts the failures
    return client;
  });
  // Contention on a hot account means many attempts: short, jittered, bounded (~2 s).
  const redlock = new Redlock(clients, { retryCount: 100, retryDelay: 10, retryJitter: 10, driftFactor: 0.01 });
  return { redlock, close: async () => void (await Promise.all(clients.map((c) => c.quit().catch(() => undefined)))) };
}

/** The pid of the Redis server on `port`, as infra-up.sh recorded it. */
export function redisPid(port: number): number {
  return Number(readFileSync(`${REPO_ROOT}.run/redis-${port}/redis.pid`, "utf8").trim());
}
