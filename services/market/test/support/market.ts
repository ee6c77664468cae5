// The market service as a real process on topics of its own (a random
// KAFKA_TOPIC_PREFIX), a test publisher standing in for the exchange, and a
// WebSocket client that records what it receives.
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BookEventSchema, TradeEventSchema } from "@kuku/contracts/kuku/exchange/v1/events_pb";
import {
  createTestDatabase,
  dropTopics,
  eventually as eventuallyWithin,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
} from "@kuku/testkit";
import { SignJWT } from "jose";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import WebSocket from "ws";
import { MARKET_TOKEN_AUDIENCE } from "../../src/ws/hub.js";

const SERVICE_DIR = fileURLToPath(new URL("../..", import.meta.url));
const KAFKA_BROKERS = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",");
export const TOKEN_SECRET = "market-test-secret-of-32-bytes-at-least";

export interface MarketUnderTest {
  readonly process: ServiceProcess;
  readonly baseUrl: string;
  /** Its admin listener: /metrics, /healthz, /readyz. */
  readonly adminUrl: string;
  readonly wsUrl: string;
  /** The service's own database (for tests that lay down history the feed cannot replay). */
  readonly databaseUrl: string;
  readonly exchange: ExchangeStandIn;
  /** One more market process with the same configuration, as a second pod of the Deployment. */
  replica(): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startMarket(env: Record<string, string> = {}): Promise<MarketUnderTest> {
  const prefix = `test-${randomUUID().slice(0, 8)}.`;
  const db: TestDatabase = await createTestDatabase("market");
  const start = () =>
    startServiceProcess({
      cwd: SERVICE_DIR,
      env: {
        MARKET_PORT: "0",
        MARKET_DATABASE_URL: db.url,
        KAFKA_TOPIC_PREFIX: prefix,
        MARKET_CONSUMER_GROUP_PREFIX: "market-test",
        MARKET_WS_TOKEN_SECRET: TOKEN_SECRET,
        MARKET_CANDLE_FLUSH_INTERVAL_MS: "100",
        ...env,
      },
    });
  const process = await start();
  const replicas: ServiceProcess[] = [];
  const exchange = await ExchangeStandIn.connect(prefix);
  return {
    process,
    exchange,
    baseUrl: `http://127.0.0.1:${process.port}`,
    adminUrl: `http://127.0.0.1:${process.adminPort}`,
    wsUrl: `ws://127.0.0.1:${process.port}/ws`,
    databaseUrl: db.url,
    async replica() {
      const replica = await start();
      replicas.push(replica);
      return replica;
    },
    async stop() {
      await exchange.close();
      await Promise.all([process, ...replicas].map((p) => p.stop("SIGTERM")));
      await db.drop();
      await dropTopics(prefix);
    },
  };
}

/** Publishes trade and book events the way the exchange does (protobuf, key = symbol). */
export class ExchangeStandIn {
  private tradeCount = 0;
  private constructor(
    private readonly producer: Producer,
    private readonly prefix: string,
  ) {}

  static async connect(prefix: string): Promise<ExchangeStandIn> {
    const kafka = new Kafka({ clientId: "market-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return new ExchangeStandIn(producer, prefix);
  }

  /** `prices`: one trade per price, `quantity` shares each. Returns the trade ids. */
  async trades(symbol: string, prices: readonly bigint[], quantity = 10n): Promise<string[]> {
    const ids = prices.map(() => `t-${++this.tradeCount}-${randomUUID().slice(0, 8)}`);
    const messages = prices.map((priceKrw, i) => ({
      key: symbol,
      value: Buffer.from(
        toBinary(
          TradeEventSchema,
          create(TradeEventSchema, {
            eventId: ids[i],
            tradeId: ids[i],
            symbol,
            priceKrw,
            quantity,
            executedAt: timestampFromDate(new Date()),
          }),
        ),
      ),
    }));
    for (let i = 0; i < messages.length; i += 1_000)
      await this.producer.send({ topic: `${this.prefix}exchange.trades`, messages: messages.slice(i, i + 1_000) });
    return ids;
  }

  /** `count` book events, each a full 10-level book around `midKrw`. */
  async books(symbol: string, count: number, midKrw = 70_000n): Promise<void> {
    const messages = Array.from({ length: count }, (_, n) => bookMessage(symbol, n, midKrw));
    for (let i = 0; i < messages.length; i += 1_000)
      await this.producer.send({ topic: `${this.prefix}exchange.book`, messages: messages.slice(i, i + 1_000) });
  }

  /** One book event per symbol, the `round`-th of each, in one send. */
  async bookRound(symbols: readonly string[], round: number, midKrw = 70_000n): Promise<void> {
    await this.producer.send({ topic: `${this.prefix}exchange.book`, messages: symbols.map((s) => bookMessage(s, round, midKrw)) });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** The `n`-th book event of a symbol: a full 10-level book around `midKrw`. */
function bookMessage(symbol: string, n: number, midKrw: bigint) {
  return {
    key: symbol,
    value: Buffer.from(
      toBinary(
        BookEventSchema,
        create(BookEventSchema, {
          eventId: `${symbol}-book-${n}`,
          symbol,
          sequence: BigInt(n),
          bids: Array.from({ length: 10 }, (_, i) => ({ priceKrw: midKrw - BigInt(i + 1) * 100n, quantity: BigInt(100 + n) })),
          asks: Array.from({ length: 10 }, (_, i) => ({ priceKrw: midKrw + BigInt(i + 1) * 100n, quantity: BigInt(100 + n) })),
          updatedAt: timestampFromDate(new Date()),
        }),
      ),
    ),
  };
}

/** An unlabelled counter or gauge of the service's /metrics (only the default labels), 0 when absent. */
export async function metric(adminUrl: string, name: string): Promise<number> {
  const body = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = body.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

export const token = (subject = "tester", secret = TOKEN_SECRET) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setAudience(MARKET_TOKEN_AUDIENCE)
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(secret));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = { v: number; type: string; symbol?: string; seq?: string; [key: string]: any };

/** One symbol's entry in a tick frame (docs/market-websocket.md). */
export type Update = {
  symbol: string;
  from: string;
  seq: string;
  quote: Record<string, unknown>;
  book?: unknown;
  trades: { qty: string }[];
};

/** A WebSocket client that keeps every frame it receives. */
export class RecordingClient {
  readonly frames: Frame[] = [];
  /** Binary frames received (the protocol sends text only). */
  binaryFrames = 0;
  closed: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) this.binaryFrames += 1;
      this.frames.push(JSON.parse(data.toString()) as Frame);
    });
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on("error", () => undefined);
  }

  static async open(url: string, accessToken?: string): Promise<RecordingClient> {
    const ws = new WebSocket(`${url}?token=${accessToken ?? (await token())}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RecordingClient(ws);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  of(type: string, symbol?: string): Frame[] {
    return this.frames.filter((f) => f.type === type && (symbol === undefined || f.symbol === symbol));
  }

  /** The updates of one symbol, out of the tick frames, in order. */
  updates(symbol: string): Update[] {
    return this.of("tick").flatMap((f) => (f["updates"] as Update[]).filter((u) => u.symbol === symbol));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The platform's poll, with the longer default the market's Kafka round trips need. */
export const eventually = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) =>
  eventuallyWithin(what, check, timeoutMs);
