// The WebSocket clients of `kuku-bench market fanout`, in a process of their
// own (forked by the command) so that they do not share the benchmark's or
// the service's event loop. Driven over the IPC channel:
//   connect {url, token, clients, symbols} -> ready {connectMs, snapshots}
//   start -> (counters reset)      stop -> result {...}      exit

// The subpath alone: these client processes stay small (no tracing, no logger).
import { forEachConcurrently } from "@kuku/platform/concurrency";
import WebSocket from "ws";

type Command =
  | { cmd: "connect"; url: string; token: string; clients: number; symbols: readonly string[]; concurrency: number }
  | { cmd: "start" }
  | { cmd: "stop" }
  | { cmd: "exit" };

/** Latency counts per whole millisecond (the frames carry epoch ms), up to 60 s. */
const BUCKETS_MAX = 60_000;
let buckets = new Uint32Array(BUCKETS_MAX + 1);
let updates = 0;
let framesIn = 0;
let gaps = 0;
let closed = 0;
let snapshots = 0;
const sockets: WebSocket[] = [];

function percentile(p: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let ms = 0; ms <= BUCKETS_MAX; ms++) {
    seen += buckets[ms]!;
    if (seen >= rank) return ms;
  }
  return BUCKETS_MAX;
}

function open(url: string, token: string, symbol: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${token}`, { perMessageDeflate: false });
    let lastSeq = -1n;
    ws.once("open", () => {
      ws.send(JSON.stringify({ v: 1, type: "subscribe", symbols: [symbol] }));
      sockets.push(ws);
    });
    ws.once("error", reject);
    ws.once("close", () => (closed += 1));
    ws.on("message", (data: Buffer) => {
      framesIn += 1;
      const frame = JSON.parse(data.toString()) as { type: string; seq?: string; trade?: { at: number } };
      if (frame.type === "snapshot") {
        lastSeq = BigInt(frame.seq!);
        snapshots += 1;
        resolve();
      } else if (frame.type === "update") {
        const seq = BigInt(frame.seq!);
        if (seq !== lastSeq + 1n) gaps += 1;
        lastSeq = seq;
        updates += 1;
        if (frame.trade !== undefined) buckets[Math.min(BUCKETS_MAX, Math.max(0, Date.now() - frame.trade.at))]! += 1;
      }
    });
  });
}

process.on("message", (message: Command) => {
  void (async () => {
    if (message.cmd === "connect") {
      const started = Date.now();
      const clients = Array.from({ length: message.clients }, (_, i) => message.symbols[i % message.symbols.length]!);
      await forEachConcurrently(clients, message.concurrency, (symbol) => open(message.url, message.token, symbol));
      process.send!({ type: "ready", connectMs: Date.now() - started, snapshots });
    } else if (message.cmd === "start") {
      buckets = new Uint32Array(BUCKETS_MAX + 1);
      updates = framesIn = gaps = closed = 0;
    } else if (message.cmd === "stop") {
      process.send!({
        type: "result",
        updates,
        framesIn,
        gaps,
        closed,
        p50Ms: percentile(50),
        p99Ms: percentile(99),
        p999Ms: percentile(99.9),
        maxMs: percentile(100),
      });
    } else {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  })().catch((error: unknown) => {
    process.send!({ type: "error", message: String(error) });
  });
});
