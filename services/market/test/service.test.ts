// The market service as a real process on the real Kafka, PostgreSQL and
// Redis: gRPC reads and validation, StreamQuotes, the WebSocket protocol
// (auth, bad messages, text frames matching the document, snapshot + tick
// updates with no gap, resync by snapshot and closing of slow consumers)
// and candles written behind to PostgreSQL.

import { readFileSync } from "node:fs";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as api from "@kuku/contracts/kuku/market/v1/market_pb";
import { CandleInterval } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient, identityClientInterceptor, OPERATOR } from "@kuku/platform";
import { testIdentity } from "@kuku/testkit";
import { SignJWT } from "jose";
import pg from "pg";
import t from "tap";
import WebSocket from "ws";
import {
  eventually,
  type Frame,
  type MarketUnderTest,
  metric,
  RecordingClient,
  startMarket,
  TOKEN_SECRET,
  token,
  type Update,
} from "./support/market.js";

let market: MarketUnderTest;
let client: ReturnType<typeof createServiceClient<typeof api.MarketDataService>>;
t.before(async () => {
  // Small buffers so that a paused reader falls behind quickly.
  market = await startMarket({
    MARKET_WS_SKIP_ABOVE_BYTES: "4096",
    MARKET_WS_SEND_BUFFER_MAX_BYTES: "262144",
    MARKET_WS_SLOW_CONSUMER_MS: "3000",
  });
  client = createServiceClient(api.MarketDataService, { baseUrl: market.baseUrl, timeoutMs: 10_000 });
});
t.teardown(() => market.stop());

const range = (n: number, from: bigint) => Array.from({ length: n }, (_, i) => from + BigInt(i % 7) * 100n);

/**
 * Applies a symbol's snapshots and tick updates the way a client should: a
 * snapshot is a new baseline, an update must start right after the last
 * sequence. Records the first gap.
 */
function replay(frames: readonly Frame[], symbol: string) {
  let seq: bigint | undefined;
  let volume = 0n;
  let gapAt: bigint | undefined;
  let snapshots = 0;
  for (const f of frames) {
    if (f.type === "snapshot" && f.symbol === symbol) {
      seq = BigInt(f.seq!);
      volume = BigInt(f["quote"]?.volume ?? "0");
      snapshots += 1;
    }
    if (f.type !== "tick" || seq === undefined) continue;
    for (const u of (f["updates"] as Update[]).filter((x) => x.symbol === symbol)) {
      if (BigInt(u.from) !== seq + 1n) gapAt ??= seq;
      seq = BigInt(u.seq);
      volume += u.trades.reduce((sum, x) => sum + BigInt(x.qty), 0n);
    }
  }
  return { seq, volume, gapAt, snapshots };
}

t.test("gRPC: quotes, books and trades from the exchange's events; validation errors", async (t) => {
  await market.exchange.books("000001", 1);
  await market.exchange.trades("000001", [70_000n, 70_500n, 69_800n, 70_100n], 5n);
  await eventually(
    "the trades are applied",
    async () => (await client.getQuote({ symbol: "000001" }).catch(() => undefined))?.quote?.volume === 20n,
  );
  const { quote } = await client.getQuote({ symbol: "000001" });
  t.match(quote, {
    lastPriceKrw: 70_100n,
    openPriceKrw: 70_000n,
    highPriceKrw: 70_500n,
    lowPriceKrw: 69_800n,
    bestBidKrw: 69_900n,
    bestAskKrw: 70_100n,
    sequence: 5n,
  });
  const { orderBook } = await client.getOrderBook({ symbol: "000001", depth: 3 });
  t.equal(orderBook?.bids.length, 3);
  t.equal(orderBook?.asks[0]?.priceKrw, 70_100n);
  const { trades } = await client.listTrades({ symbol: "000001", limit: 2 });
  t.same(
    trades.map((x) => x.priceKrw),
    [70_100n, 69_800n],
    "newest first",
  );

  await t.rejects(client.getQuote({ symbol: "abc" }), { code: Code.InvalidArgument, message: /symbol/ });
  await t.rejects(client.getOrderBook({ symbol: "000001", depth: 11 }), { code: Code.InvalidArgument, message: /depth/ });
  await t.rejects(client.listTrades({ symbol: "000001", limit: 501 }), { code: Code.InvalidArgument, message: /limit/ });
  await t.rejects(client.streamQuotes({ symbols: [] })[Symbol.asyncIterator]().next(), { code: Code.InvalidArgument, message: /symbols/ });
  await t.rejects(client.getQuote({ symbol: "999999" }), { code: Code.NotFound, message: /999999/ });
});

t.test("StreamQuotes: a snapshot, then every change in sequence", async (t) => {
  const abort = new AbortController();
  const stream = client.streamQuotes({ symbols: ["000002"] }, { signal: abort.signal, timeoutMs: 30_000 });
  const seen: bigint[] = [];
  const reading = (async () => {
    try {
      for await (const r of stream) {
        seen.push(r.quote!.volume);
        if (r.quote!.volume === 30n) abort.abort();
      }
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
    }
  })();
  await eventually("the snapshot arrives", () => seen.length === 1);
  t.equal(seen[0], 0n, "a symbol without trades yet: an empty snapshot");
  await market.exchange.trades("000002", [50_000n, 50_100n, 50_200n]);
  await reading;
  t.equal(seen.at(-1), 30n, "the stream reaches the last trade's volume");
  t.ok(
    seen.every((v, i) => i === 0 || v > seen[i - 1]!),
    "volumes only grow",
  );
});

t.test("StreamQuotes over HTTP/1.1 with the Connect and gRPC-Web protocols, as a browser's Connect-Web client calls it", async (t) => {
  // The protocols a browser speaks, with the service identity every caller of the market needs.
  const asOperator = [identityClientInterceptor(testIdentity(OPERATOR))];
  await market.exchange.trades("000009", [30_000n]);
  await eventually(
    "the trade is applied",
    async () => (await client.getQuote({ symbol: "000009" }).catch(() => undefined))?.quote?.volume === 10n,
  );
  for (const [name, transport] of [
    ["connect", createConnectTransport({ baseUrl: market.baseUrl, httpVersion: "1.1", interceptors: asOperator })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: market.baseUrl, httpVersion: "1.1", interceptors: asOperator })],
  ] as const) {
    const browserLike = createClient(api.MarketDataService, transport);
    const abort = new AbortController();
    const volumes: bigint[] = [];
    const reading = (async () => {
      try {
        for await (const r of browserLike.streamQuotes({ symbols: ["000009"] }, { signal: abort.signal })) {
          volumes.push(r.quote!.volume);
          if (volumes.length === 2) abort.abort();
        }
      } catch (error) {
        if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
      }
    })();
    await eventually(`${name}: the snapshot`, () => volumes.length === 1);
    await market.exchange.trades("000009", [30_100n]);
    await reading;
    t.same(volumes.slice(0, 2), [volumes[0]!, volumes[0]! + 10n], `${name}: snapshot, then the next trade`);
  }
});

t.test("WebSocket: token required; a bad message is answered with an error frame and the connection stays", async (t) => {
  const secret = new TextEncoder().encode(TOKEN_SECRET);
  const signed = (build: (jwt: SignJWT) => SignJWT) => build(new SignJWT({}).setProtectedHeader({ alg: "HS256" })).sign(secret);
  const neverExpires = await signed((jwt) => jwt.setSubject("someone").setAudience("kuku-market"));
  const forAnotherAudience = await signed((jwt) => jwt.setSubject("someone").setAudience("kuku-console").setExpirationTime("10m"));
  const noSubject = await signed((jwt) => jwt.setAudience("kuku-market").setExpirationTime("10m"));
  for (const bad of ["", await token("someone", "not-the-secret"), neverExpires, forAnotherAudience, noSubject]) {
    const ws = new WebSocket(`${market.wsUrl}?token=${bad}`);
    const status = await new Promise<number>((resolve) => ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    t.equal(status, 401, "refused without a valid token");
  }
  const ws = await RecordingClient.open(market.wsUrl);
  t.teardown(() => ws.close());
  ws.send("not json");
  ws.send({ v: 1, type: "subscribe", symbols: ["lower"] });
  ws.send({ v: 2, type: "subscribe", symbols: ["000003"] });
  ws.send({ v: 1, type: "dance" });
  await eventually("four error frames", () => ws.of("error").length === 4);
  t.same(
    ws.of("error").map((f) => f["code"]),
    ["bad_json", "bad_symbols", "bad_version", "bad_type"],
  );
  t.equal(ws.closed, undefined, "still connected");
  ws.send({ v: 1, type: "subscribe", symbols: ["000003"] });
  await eventually("the snapshot after the errors", () => ws.of("snapshot", "000003").length === 1);
  t.equal(ws.of("snapshot")[0]!.seq, "0");
});

t.test("WebSocket: after unsubscribe no more updates for that symbol arrive", async (t) => {
  const ws = await RecordingClient.open(market.wsUrl);
  t.teardown(() => ws.close());
  ws.send({ v: 1, type: "subscribe", symbols: ["000007", "000008"] });
  await eventually("two snapshots", () => ws.of("snapshot").length === 2);
  ws.send({ v: 1, type: "unsubscribe", symbols: ["000007"] });
  // A round trip through the server after the unsubscribe: a resync snapshot of the other symbol.
  ws.send({ v: 1, type: "subscribe", symbols: ["000008"] });
  await eventually("the resync snapshot", () => ws.of("snapshot", "000008").length === 2);
  await market.exchange.trades("000007", [1_000n, 1_005n]);
  await market.exchange.trades("000008", [2_000n]);
  await eventually("the update of the symbol still subscribed", () => ws.updates("000008").length === 1);
  await eventually(
    "the service has the other symbol's trades",
    async () => (await client.getQuote({ symbol: "000007" }).catch(() => undefined))?.quote?.volume === 20n,
  );
  // Frames arrive in order on the connection: once a later update is here, an earlier one would be too.
  await market.exchange.trades("000008", [2_005n]);
  await eventually("a later update of the subscribed symbol", () => ws.updates("000008").at(-1)?.seq === "2");
  t.equal(ws.updates("000007").length, 0, "nothing for the unsubscribed symbol");
});

t.test("WebSocket: snapshot then updates add up to the service's own state", async (t) => {
  await market.exchange.trades("000004", range(20, 60_000n), 3n);
  await eventually(
    "the first trades are applied",
    async () => (await client.getQuote({ symbol: "000004" }).catch(() => undefined))?.quote?.volume === 60n,
  );
  const ws = await RecordingClient.open(market.wsUrl);
  t.teardown(() => ws.close());
  ws.send({ v: 1, type: "subscribe", symbols: ["000004"] });
  await eventually("the snapshot", () => ws.of("snapshot", "000004").length === 1);
  t.equal(ws.of("snapshot")[0]!.quote.volume, "60");
  await market.exchange.trades("000004", range(200, 60_000n), 2n);
  await market.exchange.books("000004", 50, 60_000n);
  // Trades and books come on two topics: the volume can be complete while books still arrive, so
  // wait until the service's sequence stops moving, not only for the volume.
  const quote = await (async () => {
    let previous: bigint | undefined;
    await eventually("all updates applied", async () => {
      await new Promise((r) => setTimeout(r, 250));
      const current = (await client.getQuote({ symbol: "000004" })).quote;
      const settled = current?.volume === 460n && current.sequence === previous;
      previous = current?.sequence;
      return settled;
    });
    return (await client.getQuote({ symbol: "000004" })).quote;
  })();
  await eventually("the last update arrives", () => ws.updates("000004").at(-1)?.seq === quote!.sequence.toString());
  const replayed = replay(ws.frames, "000004");
  t.equal(replayed.gapAt, undefined, "no gap for a client that keeps up");
  t.equal(replayed.seq, quote!.sequence);
  t.equal(replayed.volume, quote!.volume, "snapshot volume + every update's trade = the service's volume");
});

t.test(
  "WebSocket: a reader over its bound is skipped, then resynced by snapshot; a stuck one is closed; the others miss nothing",
  async (t) => {
    const symbols = Array.from({ length: 100 }, (_, i) => String(200_000 + i));
    const [healthy, lagging, stuck] = await Promise.all([0, 1, 2].map(() => RecordingClient.open(market.wsUrl)));
    t.teardown(() => {
      for (const c of [healthy!, lagging!, stuck!]) c.close();
    });
    for (const c of [healthy!, lagging!, stuck!]) c.send({ v: 1, type: "subscribe", symbols });
    await eventually("every snapshot", () => [healthy!, lagging!, stuck!].every((c) => c.of("snapshot").length === symbols.length));

    // Stop reading, then send rounds of one full book per symbol about a tick apart: each tick frame
    // carries ~100 books (~100 KB), so a paused reader fills the kernel's buffers, then passes its bound.
    lagging!.ws.pause();
    stuck!.ws.pause();
    const stuckClosed = () => market.process.logs.some((l) => l.includes("closing a slow websocket consumer"));
    let rounds = 0;
    let resumed = false;
    while (!stuckClosed() && rounds < 3_000) {
      await market.exchange.bookRound(symbols, rounds++);
      if (!resumed && (await metric(market.adminUrl, "kuku_market_ws_frames_skipped_total")) > 0) {
        lagging!.ws.resume();
        resumed = true;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    t.ok(resumed, "the paused readers went over their bound and were skipped");
    t.ok(stuckClosed(), "the stuck reader was closed");
    const last = BigInt(rounds);
    await eventually(
      "the service has applied every book",
      async () => (await client.getQuote({ symbol: symbols.at(-1)! })).quote?.sequence === last,
      60_000,
    );
    for (const [name, c] of [
      ["healthy", healthy!],
      ["lagging", lagging!],
    ] as const) {
      await eventually(`the ${name} client reaches every symbol's final state`, () =>
        symbols.every((s) => replay(c.frames, s).seq === last),
      );
      t.ok(
        symbols.every((s) => replay(c.frames, s).gapAt === undefined),
        `${name}: no gap in any symbol`,
      );
    }
    t.ok(
      symbols.every((s) => replay(healthy!.frames, s).snapshots === 1),
      "the healthy client was never resynced",
    );
    t.ok(
      symbols.every((s) => replay(lagging!.frames, s).snapshots >= 2),
      "the lagging client was resynced by a snapshot of every symbol",
    );
    t.ok((await metric(market.adminUrl, "kuku_market_ws_resyncs_total")) >= 1, "the resync is counted");

    stuck!.ws.resume();
    await eventually("the stuck client sees the close", () => stuck!.closed !== undefined);
    t.ok([4008, 1006].includes(stuck!.closed!.code), `closed (${stuck!.closed!.code} ${stuck!.closed!.reason})`);
    t.equal(healthy!.closed, undefined, "the healthy client is still connected");
    t.equal(lagging!.closed, undefined, "the lagging client is still connected");
  },
);

t.test("WebSocket: text frames only, each matching the schema documented in docs/market-websocket.md", async (t) => {
  const documented = documentedExamples();
  await market.exchange.books("000010", 1);
  await market.exchange.trades("000010", [40_000n], 2n);
  await eventually(
    "the first events are applied",
    async () => (await client.getQuote({ symbol: "000010" }).catch(() => undefined))?.quote?.volume === 2n,
  );
  const ws = await RecordingClient.open(market.wsUrl);
  t.teardown(() => ws.close());
  ws.send({ v: 1, type: "subscribe", symbols: ["000010"] });
  await eventually("the snapshot", () => ws.of("snapshot", "000010").length === 1);
  await market.exchange.books("000010", 1);
  await market.exchange.trades("000010", [40_100n, 40_200n], 1n);
  await eventually("a book update and a trade update", () => {
    const updates = ws.updates("000010");
    return updates.some((u) => u.book !== undefined) && updates.reduce((n, u) => n + u.trades.length, 0) === 2;
  });
  ws.send({ v: 1, type: "dance" });
  await eventually("the error frame", () => ws.of("error").length === 1);
  t.equal(ws.binaryFrames, 0, "no binary frame");
  for (const frame of ws.frames) {
    const example = documented.get(frame.type);
    t.ok(example, `${frame.type} is documented`);
    t.same(nonConforming(frame, example, "$"), [], `${frame.type} matches the documented example`);
  }
});

/** The server's example messages in the document, by type. */
function documentedExamples(): Map<string, unknown> {
  const doc = readFileSync(new URL("../../../docs/market-websocket.md", import.meta.url), "utf8");
  const examples = new Map<string, unknown>();
  for (const [, block] of doc.matchAll(/```json\n([\s\S]*?)```/g))
    for (const text of block!.split(/\n(?=\{)/)) {
      const message = JSON.parse(text) as { type: string };
      if (!examples.has(message.type)) examples.set(message.type, message);
    }
  return examples;
}

/** Keys the document's examples show but a real frame may leave out. */
const OPTIONAL = new Set(["book", "tradesOmitted"]);

/** Where `real` departs from the documented example: unknown keys, missing keys, other kinds of values. */
function nonConforming(real: unknown, example: unknown, path: string): string[] {
  const kind = (v: unknown) =>
    typeof v === "string" ? (/^-?\d+$/.test(v) ? "decimal" : "string") : Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
  if (kind(real) !== kind(example)) return [`${path}: ${kind(real)}, documented ${kind(example)}`];
  if (Array.isArray(real)) {
    const [first] = example as unknown[];
    return first === undefined ? [] : real.flatMap((x, i) => nonConforming(x, first, `${path}[${i}]`));
  }
  if (kind(real) !== "object") return [];
  const r = real as Record<string, unknown>;
  const e = example as Record<string, unknown>;
  const unknownKeys = Object.keys(r)
    .filter((k) => !(k in e))
    .map((k) => `${path}.${k}: not documented`);
  const missing = Object.keys(e)
    .filter((k) => !(k in r) && !OPTIONAL.has(k))
    .map((k) => `${path}.${k}: missing`);
  return [
    ...unknownKeys,
    ...missing,
    ...Object.keys(r)
      .filter((k) => k in e)
      .flatMap((k) => nonConforming(r[k], e[k], `${path}.${k}`)),
  ];
}

t.test("two replicas, same configuration: each keeps the whole market (every partition of every topic)", async (t) => {
  const replica = await market.replica();
  const replicaClient = createServiceClient(api.MarketDataService, { baseUrl: `http://127.0.0.1:${replica.port}`, timeoutMs: 10_000 });
  // Keyed by symbol over three partitions: nine symbols leave no partition out.
  const symbols = Array.from({ length: 9 }, (_, i) => `10000${i}`);
  for (const symbol of symbols) await market.exchange.trades(symbol, [50_000n, 50_100n], 3n);
  for (const [name, c] of [
    ["first", client],
    ["second", replicaClient],
  ] as const) {
    const volumes = () =>
      Promise.all(
        symbols.map((symbol) =>
          c.getQuote({ symbol }).then(
            (r) => r.quote?.volume,
            () => undefined,
          ),
        ),
      );
    await eventually(`the ${name} replica has every symbol's trades`, async () => (await volumes()).every((v) => v === 6n));
    t.same(
      await volumes(),
      symbols.map(() => 6n),
      `the ${name} replica quotes all ${symbols.length} symbols, volume 6 each`,
    );
  }
});

t.test("candles are written behind to PostgreSQL and served through the cache", async (t) => {
  await market.exchange.trades("000006", [10_000n, 10_500n, 9_900n, 10_200n], 1n);
  await eventually(
    "the candle is flushed",
    async () => (await client.listCandles({ symbol: "000006", limit: 5 })).candles[0]?.volume === 4n,
    30_000,
  );
  const { candles } = await client.listCandles({ symbol: "000006", limit: 5 });
  t.match(candles[candles.length - 1], { symbol: "000006", highPriceKrw: 10_500n, lowPriceKrw: 9_900n, closePriceKrw: 10_200n });
  await t.rejects(client.listCandles({ symbol: "000006", limit: 391 }), { code: Code.InvalidArgument, message: /limit/ });
});

t.test("daily candles: one per Korea-time day, from its first minute's open to its last minute's close", async (t) => {
  const db = new pg.Client({ connectionString: market.databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  // [UTC start, open, high, low, close, volume]: 23:59 KST on Nov 30 is the 30th's last minute, 00:00 KST on Dec 1 the 1st's first.
  const minutes: [string, number, number, number, number, number][] = [
    ["2026-11-30T00:00:00Z", 50_000, 50_500, 49_900, 50_200, 10],
    ["2026-11-30T06:29:00Z", 50_200, 51_000, 50_100, 50_900, 7],
    ["2026-11-30T14:59:00Z", 50_900, 50_950, 50_800, 50_850, 2],
    ["2026-11-30T15:00:00Z", 51_000, 51_200, 50_000, 50_100, 5],
    ["2026-12-01T01:00:00Z", 50_100, 52_000, 49_000, 51_500, 8],
  ];
  for (const [at, ...figures] of minutes) {
    await db.query(
      `INSERT INTO candles (symbol, start_time, open_price_krw, high_price_krw, low_price_krw, close_price_krw, volume)
       VALUES ('000777', $1, $2, $3, $4, $5, $6)`,
      [at, ...figures],
    );
  }
  const { candles } = await client.listCandles({ symbol: "000777", limit: 10, interval: CandleInterval.ONE_DAY });
  t.same(
    candles.map((c) => [
      timestampDate(c.startTime!).toISOString(),
      c.openPriceKrw,
      c.highPriceKrw,
      c.lowPriceKrw,
      c.closePriceKrw,
      c.volume,
    ]),
    [
      ["2026-11-29T15:00:00.000Z", 50_000n, 51_000n, 49_900n, 50_850n, 19n],
      ["2026-11-30T15:00:00.000Z", 51_000n, 52_000n, 49_000n, 51_500n, 13n],
    ],
    "two KST days, each starting at KST midnight",
  );
  const [latest] = (await client.listCandles({ symbol: "000777", limit: 1, interval: CandleInterval.ONE_DAY })).candles;
  t.equal(latest?.closePriceKrw, 51_500n, "limit 1 is the latest day");
  const oneMinute = await client.listCandles({ symbol: "000777", limit: 2, interval: CandleInterval.ONE_MINUTE });
  t.same(
    oneMinute.candles.map((c) => c.volume),
    [5n, 8n],
    "one-minute candles as before",
  );
  await t.rejects(client.listCandles({ symbol: "000777", interval: 9 as CandleInterval }), {
    code: Code.InvalidArgument,
    message: /interval/,
  });
});

t.test("/metrics carries the consumer lag of the market's group, per partition", async (t) => {
  const group = market.process.logs.map((l) => /"groupId":"([^"]+)"/.exec(l)?.[1]).find((g) => g !== undefined);
  t.ok(group, "the consumer logged its group");
  const body = await (await fetch(`${market.adminUrl}/metrics`)).text();
  const lagLines = body.split("\n").filter((l) => l.startsWith("kuku_kafka_consumer_lag{") && l.includes(`group="${group}"`));
  t.ok(lagLines.length > 0, "a lag series for the group");
  t.ok(
    lagLines.every((l) => /\} \d+$/.test(l)),
    "each a whole number of messages",
  );
});
