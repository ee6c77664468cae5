// Three redis-server processes of the drill's own (temp directory, free
// ports): the ledger's Redlock quorum under the redlock-fenced guard, so
// that the chaos drill may kill all three with -9. Locks only, nothing to
// keep: no snapshot, no append-only file, so a restarted server is empty,
// every lock lost, which is what the fencing token is there for (ADR 0008).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Daemon } from "./daemon.js";
import { freePort } from "./toxiproxy.js";

async function answersPing(port: number): Promise<boolean> {
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on("error", () => undefined); // refused while it starts: the poll asks again
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } finally {
    client.disconnect();
  }
}

export class PrivateRedis {
  private constructor(
    private readonly dir: string,
    private readonly servers: readonly Daemon[],
    readonly ports: readonly number[],
  ) {}

  static async start(count = 3): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), "kuku-drill-redis-"));
    const ports: number[] = [];
    const servers: Daemon[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      ports.push(port);
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"];
      servers.push(new Daemon(`redis on ${port}`, "redis-server", args, join(dir, `redis-${port}.log`), () => answersPing(port), 15_000));
    }
    const redis = new PrivateRedis(dir, servers, ports);
    try {
      for (const s of servers) await s.start();
    } catch (error) {
      await redis.stop();
      throw error;
    }
    return redis;
  }

  /** LEDGER_REDLOCK_NODES */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(",");
  }

  /**
   * kill -9 every server at once (the quorum is gone), down for `downMs`
   * (and as long as `whileDown` takes: what the drill checks during the
   * outage), then all started again, empty.
   */
  async crashAndRestart<T>(downMs: number, whileDown: () => Promise<T>): Promise<T> {
    await Promise.all(this.servers.map((s) => s.kill()));
    const [seen] = await Promise.all([whileDown(), new Promise((r) => setTimeout(r, downMs))]);
    await Promise.all(this.servers.map((s) => s.start()));
    return seen;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
