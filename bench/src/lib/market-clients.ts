// The WebSocket clients of `kuku-bench market fanout`, in worker processes of
// their own (forked by the command, several of them) so that the load
// generator shares neither the benchmark's nor the service's event loop, nor
// one core. Driven over the IPC channel:
//   connect {url, token, symbols, concurrency, slow} -> ready {connectMs, snapshots}
//   start {t0, t1} -> (counters reset)      final {expected} -> result {...}      exit
// A trade counts when its timestamp falls in [t0, t1), whenever its frame arrives.

// The subpath alone: these client processes stay small (no tracing, no logger).
import { forEachConcurrently } from "@kuku/platform/concurrency";
import WebSocket from "ws";

type Command =
  | { cmd: "connect"; url: string; token: string; symbols: readonly string[]; concurrency: number; slow: readonly string[] }
  | { cmd: "start"; t0: number; t1: number }
  | { cmd: "final"; expected: Record<string, number>; waitMs: number }
  | { cmd: "exit" };

interface Update {
  symbol: string;
  from: string;
  seq: string;
  trades: { at: number }[];
}
type Frame = { type: "snapshot"; seq: string } | { type: "tick"; updates: Update[] } | { type: string };
/** The per-update frame of the hub before issue 17, read too so that both hubs run on this bench (docs/benchmarks/market.md). */
type LegacyUpdate = { type: "update"; symbol: string; seq: string; trade?: { at: number } };

/** Latency counts per whole millisecond (the frames carry epoch ms), up to 60 s. */
const BUCKETS_MAX = 60_000;
let buckets = new Uint32Array(BUCKETS_MAX + 1);
let delivered = 0;
let frames = 0;
let gaps = 0;
let resyncs = 0;
let closed = 0;
let slowClosed = 0;
let snapshots = 0;
let t0 = Number.POSITIVE_INFINITY;
let t1 = Number.POSITIVE_INFINITY;

interface Client {
  readonly ws: WebSocket;
  readonly symbol: string;
  lastSeq: number;
}
const clients: Client[] = [];
const slowSockets: WebSocket[] = [];

function onFrame(client: Client, data: Buffer): void {
  frames += 1;
  const frame = JSON.parse(data.toString()) as Frame;
  if (frame.type === "snapshot") {
    if (client.lastSeq >= 0) resyncs += 1;
    client.lastSeq = Number((frame as { seq: string }).seq);
    snapshots += 1;
    return;
  }
  let updates: Update[];
  if (frame.type === "tick") updates = (frame as { updates: Update[] }).updates;
  else if (frame.type === "update") {
    const u = frame as LegacyUpdate;
    updates = [{ symbol: u.symbol, from: u.seq, seq: u.seq, trades: u.trade === undefined ? [] : [u.trade] }];
  } else return;
  const now = Date.now();
  for (const u of updates) {
    if (Number(u.from) !== client.lastSeq + 1) gaps += 1;
    client.lastSeq = Number(u.seq);
    for (const trade of u.trades) {
      if (trade.at < t0 || trade.at >= t1) continue;
      delivered += 1;
      buckets[Math.min(BUCKETS_MAX, Math.max(0, now - trade.at))]! += 1;
    }
  }
}

/** Resolves at the client's first snapshot. A slow client stops reading right after it. */
function open(url: string, token: string, symbol: string, slow: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${token}`, { perMessageDeflate: false });
    const client: Client = { ws, symbol, lastSeq: -1 };
    ws.once("open", () => ws.send(JSON.stringify({ v: 1, type: "subscribe", symbols: [symbol] })));
    ws.once("error", reject);
    ws.once("close", () => {
      if (slow) slowClosed += 1;
      else closed += 1;
    });
    if (slow) {
      slowSockets.push(ws);
      ws.once("message", () => {
        ws.pause();
        resolve();
      });
      return;
    }
    clients.push(client);
    ws.on("message", (data: Buffer) => {
      onFrame(client, data);
      if (client.lastSeq >= 0) resolve();
    });
  });
}

/** Nonzero buckets only: [ms, count] pairs. */
function histogram(): [number, number][] {
  const out: [number, number][] = [];
  for (let ms = 0; ms <= BUCKETS_MAX; ms++) if (buckets[ms]! > 0) out.push([ms, buckets[ms]!]);
  return out;
}

/** Waits until every client has its symbol's final sequence, or `waitMs`; counts those that have. */
async function atFinal(expected: Record<string, number>, waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  const count = () => clients.filter((c) => c.lastSeq === expected[c.symbol]).length;
  while (count() < clients.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return count();
}

process.on("message", (message: Command) => {
  void (async () => {
    if (message.cmd === "connect") {
      const started = Date.now();
      const all = [...message.symbols.map((s) => ({ s, slow: false })), ...message.slow.map((s) => ({ s, slow: true }))];
      await forEachConcurrently(all, message.concurrency, ({ s, slow }) => open(message.url, message.token, s, slow));
      process.send!({ type: "ready", connectMs: Date.now() - started, snapshots });
    } else if (message.cmd === "start") {
      buckets = new Uint32Array(BUCKETS_MAX + 1);
      delivered = frames = gaps = resyncs = closed = slowClosed = 0;
      t0 = message.t0;
      t1 = message.t1;
    } else if (message.cmd === "final") {
      const finalReached = await atFinal(message.expected, message.waitMs);
      process.send!({
        type: "result",
        delivered,
        frames,
        gaps,
        resyncs,
        closed,
        slowClosed,
        finalReached,
        clients: clients.length,
        histogram: histogram(),
      });
    } else {
      for (const c of clients) c.ws.terminate();
      for (const ws of slowSockets) ws.terminate();
      process.exit(0);
    }
  })().catch((error: unknown) => {
    process.send!({ type: "error", message: String(error) });
  });
});
