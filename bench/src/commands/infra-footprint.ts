// kuku-bench infra footprint (ADR 0003): what the local infrastructure costs
// while it runs — resident and proportional memory of each server's process
// tree, found by its listening port — how long the warm status check takes,
// and the cold start of the two servers a throwaway copy can be started of
// without touching the shared ones (a PostgreSQL cluster from initdb to ready,
// a Redis server to its first PONG). `make infra` itself is not re-run here:
// on a shared machine it would restart what others are using.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { command, int } from "../lib/command.js";
import { startPrivatePostgres } from "../lib/private-pg.js";
import { rssBytes } from "../lib/proc.js";
import { table } from "../lib/stats.js";

const SERVERS = [
  { name: "postgres", port: 55432 },
  { name: "redis", port: 6379 },
  { name: "redis", port: 6380 },
  { name: "redis", port: 6381 },
  { name: "kafka (java)", port: 9092 },
  { name: "zipkin (java)", port: 9411 },
] as const;
const STATUS_SCRIPT = fileURLToPath(new URL("../../../deploy/local/infra-status.sh", import.meta.url));

/** The pid listening on a TCP port (ss -ltnp). */
function listener(port: number): number | undefined {
  const out = execFileSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  const match = /pid=(\d+)/.exec(out);
  return match === null ? undefined : Number(match[1]);
}

/** The pid and all its descendants (postgres forks a backend per connection). */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]!) ?? []));
  return all;
}

/** Proportional set size: shared pages (postgres' shared buffers) split among the processes mapping them. */
function pssBytes(pid: number): number {
  const line = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return Number(line![1]) * 1024;
}

const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
const sumOver = (pids: number[], f: (pid: number) => number) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + f(pid);
    } catch {
      return sum;
    }
  }, 0);

async function redisColdStartMs(port: number): Promise<number> {
  const started = performance.now();
  const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], {
    stdio: "ignore",
  });
  try {
    for (;;) {
      try {
        if (execFileSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8", stdio: "pipe" }).trim() === "PONG") break;
      } catch {
        await sleep(5);
      }
    }
    return Math.round(performance.now() - started);
  } finally {
    server.kill("SIGTERM");
  }
}

export const infraFootprint = command({
  name: "infra footprint",
  summary: "memory of each running infrastructure server, the warm status check, cold starts of a throwaway PostgreSQL and Redis",
  options: { repeat: int("cold starts of each throwaway server", 3) },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const memory = SERVERS.map(({ name, port }) => {
      const pid = listener(port);
      if (pid === undefined) return [name, port, "down", "-", "-"];
      const pids = tree(pid);
      return [name, port, pids.length, mb(sumOver(pids, rssBytes)), mb(sumOver(pids, pssBytes))];
    });
    const statusStarted = performance.now();
    execFileSync("bash", [STATUS_SCRIPT], { stdio: "pipe" });
    const statusMs = Math.round(performance.now() - statusStarted);
    const cold: (string | number)[][] = [];
    for (let i = 0; i < values.repeat; i++) {
      const pgStarted = performance.now();
      const pg = await startPrivatePostgres({});
      const pgMs = Math.round(performance.now() - pgStarted);
      pg.stop();
      cold.push([i + 1, pgMs, await redisColdStartMs(46_379 + i)]);
    }
    console.log("infra footprint — the servers `make infra` started, as they run now");
    console.log(table(["server", "port", "processes", "RSS MB", "PSS MB"], memory));
    console.log(`warm check (deploy/local/infra-status.sh, all up): ${statusMs} ms`);
    console.log(table(["cold start", "PostgreSQL initdb + start to ready ms", "Redis start to PONG ms"], cold));
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; Node ${process.version}`,
    );
  },
});
