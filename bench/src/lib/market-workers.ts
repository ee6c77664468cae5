// The worker processes of `kuku-bench market fanout` (each runs
// market-clients.ts): forking, spreading the clients over them, asking all
// at once and merging what they report.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpuSeconds } from "./proc.js";

const CLIENTS_SCRIPT = fileURLToPath(new URL("./market-clients.ts", import.meta.url));
function request<T>(child: ChildProcess, message: object, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }) => {
      if (m.type === "error") reject(new Error(`clients process: ${m.message}`));
      else if (m.type === answer) resolve(m as T);
      else return;
      child.off("message", onMessage);
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

export interface WorkerResult {
  delivered: number;
  frames: number;
  gaps: number;
  resyncs: number;
  closed: number;
  slowClosed: number;
  finalReached: number;
  clients: number;
  histogram: [number, number][];
}

export class ClientWorkers {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(processes: number): ClientWorkers {
    return new ClientWorkers(
      Array.from({ length: processes }, () =>
        fork(CLIENTS_SCRIPT, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
      ),
    );
  }

  /** Client `i` follows `symbols[i % symbols.length]` and lives in worker `i % processes`; the slow ones go to the first worker. */
  async connect(url: string, token: string, clients: number, symbols: readonly string[], slowClients: number) {
    const n = this.children.length;
    const ready = await Promise.all(
      this.children.map((child, w) => {
        const mine = Array.from({ length: Math.ceil((clients - w) / n) }, (_, k) => symbols[(w + k * n) % symbols.length]!);
        const slow = w === 0 ? Array.from({ length: slowClients }, (_, k) => symbols[k % symbols.length]!) : [];
        return request<{ connectMs: number; snapshots: number }>(
          child,
          { cmd: "connect", url, token, symbols: mine, concurrency: 100, slow },
          "ready",
        );
      }),
    );
    return { connectMs: Math.max(...ready.map((r) => r.connectMs)), snapshots: ready.reduce((a, r) => a + r.snapshots, 0) };
  }

  tell(message: object): void {
    for (const child of this.children) child.send(message);
  }

  cpuSeconds(): number {
    return this.children.reduce((sum, c) => sum + cpuSeconds(c.pid!), 0);
  }

  /** Waits (up to `waitMs`) for every client to reach `expected`, then merges the workers' figures. */
  async results(expected: Record<string, number>, waitMs: number) {
    const all = await Promise.all(this.children.map((c) => request<WorkerResult>(c, { cmd: "final", expected, waitMs }, "result")));
    const sum = (key: Exclude<keyof WorkerResult, "histogram">) => all.reduce((a, r) => a + r[key], 0);
    const buckets = new Map<number, number>();
    for (const r of all) for (const [ms, count] of r.histogram) buckets.set(ms, (buckets.get(ms) ?? 0) + count);
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((a, [, c]) => a + c, 0);
    const percentile = (p: number) => {
      const rank = Math.ceil((p / 100) * total);
      let seen = 0;
      for (const [ms, count] of sorted) {
        seen += count;
        if (seen >= rank) return ms;
      }
      return Number.NaN;
    };
    return {
      delivered: sum("delivered"),
      frames: sum("frames"),
      gaps: sum("gaps"),
      resyncs: sum("resyncs"),
      closed: sum("closed"),
      slowClosed: sum("slowClosed"),
      finalReached: sum("finalReached"),
      clients: sum("clients"),
      p50Ms: percentile(50),
      p99Ms: percentile(99),
      p999Ms: percentile(99.9),
      maxMs: percentile(100),
    };
  }

  exit(): void {
    this.tell({ cmd: "exit" });
  }
}
