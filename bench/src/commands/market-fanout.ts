// kuku-bench market fanout: the market service as a real process, trades
// published to Kafka the way the exchange does, and N WebSocket clients in a
// separate process measuring tick-to-client latency (trade time to frame
// arrival, whole milliseconds, one machine's clock).
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { createTestDatabase, type ServiceProcess, startService } from "@kuku/testkit";
import { SignJWT } from "jose";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { command, duration, int, text } from "../lib/command.js";
import { cpuTicks, rssBytes, TICKS_PER_SECOND } from "../lib/proc.js";
import { Histogram, table } from "../lib/stats.js";

const CLIENTS_SCRIPT = fileURLToPath(new URL("../lib/market-clients.ts", import.meta.url));
const TOKEN_SECRET = "bench-market-secret-of-32-bytes-at-least";

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

/**
 * Publishes `rate` trades per second round-robin over the symbols, in 10 ms
 * slices. `acks` records trade time to Kafka's acknowledgement (µs), the
 * part of the tick-to-client latency spent before the market service.
 */
function startTrades(
  producer: Producer,
  topic: string,
  symbols: readonly string[],
  rate: number,
  acks: { current: Histogram },
): { stop(): Promise<number> } {
  let sent = 0;
  const started = Date.now();
  let inFlight = Promise.resolve();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1_000) * rate) - sent;
    if (due <= 0) return;
    const now = new Date();
    const messages = Array.from({ length: due }, (_, i) => {
      const n = sent + i;
      const symbol = symbols[n % symbols.length]!;
      const tradeId = `bench-${n}`;
      const event = create(TradeEventSchema, {
        eventId: tradeId,
        tradeId,
        symbol,
        priceKrw: 70_000n + BigInt(n % 10) * 100n,
        quantity: 1n,
        executedAt: timestampFromDate(now),
      });
      return { key: symbol, value: Buffer.from(toBinary(TradeEventSchema, event)) };
    });
    sent += due;
    inFlight = inFlight.then(() =>
      producer.send({ topic, messages, acks: -1 }).then(() => acks.current.record((Date.now() - now.getTime()) * 1_000)),
    );
  }, 10);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      return sent;
    },
  };
}

interface Fanout {
  readonly clients: number;
  readonly symbols: readonly string[];
  readonly rate: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

interface ClientFigures {
  updates: number;
  framesIn: number;
  gaps: number;
  closed: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Connects the clients, publishes trades at the rate, and measures the market service `pid` and the clients' process. */
async function measure(run: Fanout, service: ServiceProcess, child: ChildProcess, producer: Producer, topic: string) {
  const pid = service.child.pid!;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(TOKEN_SECRET));
  const rssBeforeBytes = rssBytes(pid);
  const ready = await request<{ connectMs: number; snapshots: number }>(
    child,
    { cmd: "connect", url: `ws://127.0.0.1:${service.port}/ws`, token, clients: run.clients, symbols: run.symbols, concurrency: 100 },
    "ready",
  );
  const rssConnectedBytes = rssBytes(pid);
  console.log(`${run.clients} clients connected and subscribed in ${ready.connectMs} ms (${ready.snapshots} snapshots)`);

  const acks = { current: new Histogram() };
  const trades = startTrades(producer, topic, run.symbols, run.rate, acks);
  await new Promise((r) => setTimeout(r, run.warmupMs));
  child.send({ cmd: "start" });
  acks.current = new Histogram();
  const loadBefore = loadavg()[0]!;
  const serverTicks0 = cpuTicks(pid);
  const clientTicks0 = cpuTicks(child.pid!);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, run.durationMs));
  const result = await request<ClientFigures>(child, { cmd: "stop" }, "result");
  const seconds = (Date.now() - t0) / 1_000;
  return {
    result,
    seconds,
    serverCpu: (cpuTicks(pid) - serverTicks0) / TICKS_PER_SECOND / seconds,
    clientCpu: (cpuTicks(child.pid!) - clientTicks0) / TICKS_PER_SECOND / seconds,
    sent: await trades.stop(),
    rss: { beforeBytes: rssBeforeBytes, connectedBytes: rssConnectedBytes, endBytes: rssBytes(pid) },
    acks: acks.current,
    loadBefore,
  };
}

function report(run: Fanout, figures: Awaited<ReturnType<typeof measure>>): void {
  const { result, seconds, rss, acks, clientCpu, serverCpu } = figures;
  const headings = ["clients", "symbols", "trades/s in", "msgs/s out", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "gaps", "closed"];
  const row = [
    run.clients,
    run.symbols.length,
    run.rate,
    Math.round(result.updates / seconds),
    result.p50Ms,
    result.p99Ms,
    result.p999Ms,
    result.maxMs,
    result.gaps,
    result.closed,
    `${(serverCpu * 100).toFixed(0)} %`,
    `${(clientCpu * 100).toFixed(0)} %`,
  ];
  console.log(table([...headings, "server CPU", "clients CPU"], [row]));
  console.log(
    `expected msgs/s out: ${Math.round((run.rate * run.clients) / run.symbols.length)} (each trade goes to clients/symbols subscribers); trades published: ${figures.sent}`,
  );
  console.log(
    `server RSS: ${(rss.beforeBytes / 2 ** 20).toFixed(0)} MiB before clients, ${(rss.connectedBytes / 2 ** 20).toFixed(0)} MiB connected ` +
      `(${((rss.connectedBytes - rss.beforeBytes) / run.clients / 1024).toFixed(1)} KiB per client), ${(rss.endBytes / 2 ** 20).toFixed(0)} MiB at the end`,
  );
  console.log(
    `Kafka publish (trade time to ack) p50 ${(acks.percentile(50) / 1_000).toFixed(0)} ms, p99 ${(acks.percentile(99) / 1_000).toFixed(0)} ms`,
  );
  console.log(
    `machine: ${cpus().length} cores, 1-min load average ${figures.loadBefore.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end of the measurement (other work shares the cores)`,
  );
  console.log(`goal p99 < 100 ms: ${result.p99Ms < 100 ? "met" : "NOT met"}`);
}

export const marketFanout = command({
  name: "market fanout",
  summary: "WebSocket fan-out of the market service: tick-to-client latency, messages/s out, CPU, memory per client",
  options: {
    clients: int("WebSocket clients (one process), each subscribed to one symbol", 10000),
    symbols: int("symbols, spread evenly over the clients", 100),
    rate: int("trades per second into Kafka, round-robin over the symbols", 1000),
    duration: duration("measured time", "30s"),
    warmup: duration("trades flow this long before measuring", "5s"),
    "cpu-prof-dir": text("write a V8 CPU profile of the market service into this directory"),
  },
  async run(values) {
    const { clients, rate, duration: durationMs, warmup: warmupMs } = values;
    const symbols = Array.from({ length: values.symbols }, (_, i) => String(100_000 + i));
    const prefix = `bench-${randomUUID().slice(0, 8)}.`;
    const db = await createTestDatabase("bench_market");
    const profileDir = values["cpu-prof-dir"];
    const service = await startService("market", {
      nodeArgs: profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
      database: db.url,
      env: {
        KAFKA_TOPIC_PREFIX: prefix,
        MARKET_CONSUMER_GROUP_PREFIX: "bench-market",
        MARKET_WS_TOKEN_SECRET: TOKEN_SECRET,
        MARKET_WS_CLIENTS_MAX: String(clients + 100),
        LOG_LEVEL: "info",
      },
    });
    const kafka = new Kafka({
      clientId: "bench-market",
      brokers: (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(","),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const child = fork(CLIENTS_SCRIPT, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    try {
      const run = { clients, symbols, rate, durationMs, warmupMs };
      report(run, await measure(run, service, child, producer, `${prefix}exchange.trades`));
    } finally {
      child.send({ cmd: "exit" });
      await producer.disconnect();
      await service.stop("SIGTERM");
      await db.drop();
    }
  },
});
