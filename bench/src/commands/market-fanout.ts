// kuku-bench market fanout: the market service as a real process, trades
// published to Kafka the way the exchange does, and N WebSocket clients spread
// over worker processes measuring tick-to-client latency (trade time to frame
// arrival, whole milliseconds, one machine's clock), delivery, gaps and the
// final state every client ends with.
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import { createTestDatabase, dropTopics, type ServiceProcess, startService, TEST_KAFKA_BROKERS } from "@kuku/testkit";
import { SignJWT } from "jose";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { choice, command, duration, int, text } from "../lib/command.js";
import { ClientWorkers } from "../lib/market-workers.js";
import { cpuSeconds, rssBytes } from "../lib/proc.js";
import { GC_HEADERS, gcCells, gcSummary, parseSemiSpace, parseTraceGc, semiSpaceFlags } from "../lib/runtime/gc.js";
import { Histogram, table } from "../lib/stats.js";

const TOKEN_SECRET = "bench-market-secret-of-32-bytes-at-least";

/** Trades published, per symbol: all of them (the final sequence), and those stamped inside the window. */
interface Published {
  readonly total: Map<string, number>;
  readonly inWindow: Map<string, number>;
  window: { start: number; end: number };
}

/**
 * Publishes `rate` trades per second round-robin over the symbols, in 10 ms
 * slices. `acks` records trade time to Kafka's acknowledgement (µs), the
 * part of the tick-to-client latency spent before the market service.
 */
function startTrades(producer: Producer, topic: string, symbols: readonly string[], rate: number, acks: { current: Histogram }) {
  let sent = 0;
  const started = Date.now();
  let inFlight = Promise.resolve();
  const published: Published = { total: new Map(), inWindow: new Map(), window: { start: Infinity, end: Infinity } };
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1_000) * rate) - sent;
    if (due <= 0) return;
    const now = new Date();
    const inWindow = now.getTime() >= published.window.start && now.getTime() < published.window.end;
    const messages = Array.from({ length: due }, (_, i) => {
      const n = sent + i;
      const symbol = symbols[n % symbols.length]!;
      published.total.set(symbol, (published.total.get(symbol) ?? 0) + 1);
      if (inWindow) published.inWindow.set(symbol, (published.inWindow.get(symbol) ?? 0) + 1);
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
    published,
    async stop() {
      clearInterval(timer);
      await inFlight;
      return sent;
    },
  };
}

interface Fanout {
  readonly clients: number;
  readonly slowClients: number;
  readonly symbols: readonly string[];
  readonly rate: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** Connects the clients, publishes trades at the rate, and measures the market service `pid` and the client workers. */
async function measure(run: Fanout, service: ServiceProcess, workers: ClientWorkers, producer: Producer, topic: string) {
  const pid = service.child.pid!;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setAudience("kuku-market") // the feed's audience (docs/market-websocket.md)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(TOKEN_SECRET));
  const rssBeforeBytes = rssBytes(pid);
  const url = `ws://127.0.0.1:${service.port}/ws`;
  const ready = await workers.connect(url, token, run.clients, run.symbols, run.slowClients);
  const rssConnectedBytes = rssBytes(pid);
  console.log(`${run.clients + run.slowClients} clients connected and subscribed in ${ready.connectMs} ms (${ready.snapshots} snapshots)`);

  const acks = { current: new Histogram() };
  const trades = startTrades(producer, topic, run.symbols, run.rate, acks);
  await new Promise((r) => setTimeout(r, run.warmupMs));
  // The window is set ahead, so every worker knows it before its first trade can arrive: a trade counts by its timestamp.
  const t0 = Date.now() + 500;
  const t1 = t0 + run.durationMs;
  trades.published.window = { start: t0, end: t1 };
  workers.tell({ cmd: "start", t0, t1 });
  await new Promise((r) => setTimeout(r, t0 - Date.now()));
  acks.current = new Histogram();
  const loadBefore = loadavg()[0]!;
  const cpu0 = { server: cpuSeconds(pid), clients: workers.cpuSeconds() };
  await new Promise((r) => setTimeout(r, t1 - Date.now()));
  const seconds = (t1 - t0) / 1_000;
  const cpu = { server: cpuSeconds(pid) - cpu0.server, clients: workers.cpuSeconds() - cpu0.clients };
  const loadAfter = loadavg()[0]!;
  const sent = await trades.stop();
  const result = await workers.results(Object.fromEntries(trades.published.total), 15_000);
  return {
    result,
    seconds,
    cpu,
    sent,
    published: trades.published,
    loadBefore,
    loadAfter,
    acks: acks.current,
    rss: { beforeBytes: rssBeforeBytes, connectedBytes: rssConnectedBytes, endBytes: rssBytes(pid) },
  };
}

function report(run: Fanout, figures: Awaited<ReturnType<typeof measure>>): void {
  const { result, seconds, rss, acks, cpu } = figures;
  // Every client follows one symbol: a trade is due to each client of its symbol.
  const followers = (i: number) => Math.floor(run.clients / run.symbols.length) + (i < run.clients % run.symbols.length ? 1 : 0);
  const expected = run.symbols.reduce((sum, s, i) => sum + (figures.published.inWindow.get(s) ?? 0) * followers(i), 0);
  const deliveredPct = (100 * result.delivered) / expected;
  const headings = [
    "clients",
    "symbols",
    "trades/s in",
    "delivered",
    "msgs/s out",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "gaps",
    "closed",
    "resyncs",
  ];
  const row = [
    run.clients,
    run.symbols.length,
    run.rate,
    `${deliveredPct.toFixed(2)} %`,
    Math.round(result.delivered / seconds),
    result.p50Ms,
    result.p99Ms,
    result.p999Ms,
    result.maxMs,
    result.gaps,
    result.closed,
    result.resyncs,
    `${((cpu.server / seconds) * 100).toFixed(0)} %`,
    `${((cpu.clients / seconds) * 100).toFixed(0)} %`,
  ];
  console.log(table([...headings, "service CPU", "clients CPU"], [row]));
  console.log(
    `delivered: ${result.delivered} of ${expected} trade updates due (trades stamped in the ${seconds.toFixed(1)} s window × their symbol's clients); ` +
      `${result.frames} frames received (${Math.round(result.frames / seconds)}/s); trades published: ${figures.sent}`,
  );
  console.log(`final state: ${result.finalReached} of ${result.clients} clients ended at their symbol's last sequence`);
  console.log(
    `service CPU per delivered update: ${((cpu.server * 1e6) / result.delivered).toFixed(2)} µs; per frame: ${((cpu.server * 1e6) / result.frames).toFixed(2)} µs`,
  );
  console.log(
    `service RSS: ${(rss.beforeBytes / 2 ** 20).toFixed(0)} MiB before clients, ${(rss.connectedBytes / 2 ** 20).toFixed(0)} MiB connected ` +
      `(${((rss.connectedBytes - rss.beforeBytes) / (run.clients + run.slowClients) / 1024).toFixed(1)} KiB per client), ${(rss.endBytes / 2 ** 20).toFixed(0)} MiB at the end`,
  );
  if (run.slowClients > 0)
    console.log(`slow clients (stop reading after their snapshot): ${result.slowClosed} of ${run.slowClients} closed by the service`);
  console.log(
    `Kafka publish (trade time to ack) p50 ${(acks.percentile(50) / 1_000).toFixed(0)} ms, p99 ${(acks.percentile(99) / 1_000).toFixed(0)} ms`,
  );
  console.log(
    `machine: ${cpus().length} cores, 1-min load average ${figures.loadBefore.toFixed(2)} at the start and ${figures.loadAfter.toFixed(2)} at the end of the window (other work shares the cores)`,
  );
  const goals = [
    [`p99 < 100 ms`, result.p99Ms < 100],
    [`>= 99.9 % delivered`, deliveredPct >= 99.9],
    ["every client at the final state", result.finalReached === result.clients],
    ["0 gaps", result.gaps === 0],
    ["0 unexpected closes", result.closed === 0],
  ] as const;
  console.log(`goals: ${goals.map(([name, met]) => `${name} ${met ? "met" : "NOT met"}`).join("; ")}`);
}

export const marketFanout = command({
  name: "market fanout",
  summary: "WebSocket fan-out of the market service: tick-to-client latency, delivery, gaps, CPU per update, memory per client",
  options: {
    clients: int("WebSocket clients, each subscribed to one symbol", 10000),
    symbols: int("symbols, spread evenly over the clients", 100),
    rate: int("trades per second into Kafka, round-robin over the symbols", 1000),
    duration: duration("measured time", "20s"),
    warmup: duration("trades flow this long before measuring", "5s"),
    processes: int("client worker processes the clients are spread over", Math.max(2, cpus().length)),
    tick: int("the service's fan-out tick, ms (MARKET_WS_TICK_MS)", 20),
    "slow-clients": int("extra clients that stop reading after their snapshot (to be closed without delaying the others)", 0, 0),
    "cpu-prof-dir": text("write a V8 CPU profile of the market service into this directory"),
    "semi-space-mb": text("V8 --max-semi-space-size of the service in MiB, or default; given, its GC pauses are traced and reported"),
    "no-delay": choice(["on", "off"], "TCP_NODELAY on the service's sockets: on as ws sets it, or forced off (Nagle's algorithm)", "on"),
  },
  async run(values) {
    const { clients, rate, duration: durationMs, warmup: warmupMs } = values;
    const symbols = Array.from({ length: values.symbols }, (_, i) => String(100_000 + i));
    const prefix = `bench-${randomUUID().slice(0, 8)}.`;
    const db = await createTestDatabase("bench_market");
    const profileDir = values["cpu-prof-dir"];
    const semiSpace = values["semi-space-mb"];
    const gcArgs = semiSpace === undefined ? [] : ["--trace-gc", ...semiSpaceFlags(parseSemiSpace(semiSpace, "semi-space-mb"))];
    const noDelayOff =
      values["no-delay"] === "off" ? [`--import=${fileURLToPath(new URL("../lib/runtime/no-delay-off.mjs", import.meta.url))}`] : [];
    const service = await startService("market", {
      nodeArgs: [...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]), ...gcArgs, ...noDelayOff],
      database: db.url,
      env: {
        KAFKA_TOPIC_PREFIX: prefix,
        MARKET_CONSUMER_GROUP_PREFIX: "bench-market",
        MARKET_WS_TOKEN_SECRET: TOKEN_SECRET,
        MARKET_WS_CLIENTS_MAX: String(clients + values["slow-clients"] + 100),
        MARKET_WS_TICK_MS: String(values.tick),
        LOG_LEVEL: "info",
      },
    });
    const kafka = new Kafka({
      clientId: "bench-market",
      brokers: TEST_KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const workers = ClientWorkers.start(values.processes);
    try {
      const run = { clients, slowClients: values["slow-clients"], symbols, rate, durationMs, warmupMs };
      console.log(`tick ${values.tick} ms, ${values.processes} client processes, service TCP_NODELAY ${values["no-delay"]}`);
      const logsBefore = service.logs.length;
      const started = process.hrtime.bigint();
      report(run, await measure(run, service, workers, producer, `${prefix}exchange.trades`));
      if (semiSpace !== undefined) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const gc = gcSummary(parseTraceGc(service.logs.slice(logsBefore)), seconds);
        console.log(`service GC, semi-space ${semiSpace} (--trace-gc, warm-up and window):`);
        console.log(table([...GC_HEADERS], [gcCells(gc)]));
      }
    } finally {
      workers.exit();
      await producer.disconnect();
      await service.stop("SIGTERM");
      await db.drop();
      await dropTopics(prefix);
    }
  },
});
