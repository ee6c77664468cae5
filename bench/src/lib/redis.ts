// The three independent Redis servers `make infra` starts, as a Redlock quorum.
import { readFileSync } from "node:fs";
import { connectRedlock as connect, type Redlock } from "@kuku/platform";
import { REPO_ROOT } from "@kuku/testkit";

export const REDIS_PORTS = (process.env["REDIS_PORTS"] ?? "6379,6380,6381").split(",").map(Number);

export function connectRedlock(): { redlock: Redlock; close: () => Promise<void> } {
  return connect(REDIS_PORTS.map((port) => ({ host: "127.0.0.1", port })));
}

/** The pid of the Redis server on `port`, as infra-up.sh recorded it. */
export function redisPid(port: number): number {
  return Number(readFileSync(`${REPO_ROOT}.run/redis-${port}/redis.pid`, "utf8").trim());
}
