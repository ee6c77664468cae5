// WebSocket fan-out (docs/market-websocket.md). Each change is encoded once
// and the same Buffer goes to every subscriber of its symbol. A client whose
// socket falls behind gets conflated updates (the latest per symbol wins);
// one that stays behind, or whose send buffer passes its bound, is closed
// with a reason, so one slow reader never holds up the others or our memory.
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "@kuku/platform";
import { jwtVerify } from "jose";
import { Counter, Gauge } from "prom-client";
import { type WebSocket, WebSocketServer } from "ws";
import type { Feed } from "../app/feed.js";
import type { Change } from "../domain/market.js";
import { type ClientMessage, encode, parseClientMessage, snapshotMessage, updateMessage } from "./protocol.js";

export interface HubOptions {
  readonly path: string;
  /** HS256 secret for the access tokens (query parameter `token`). */
  readonly tokenSecret: Uint8Array;
  readonly clientsMax: number;
  readonly symbolsPerClientMax: number;
  /** Largest frame a client may send. */
  readonly messageMaxBytes: number;
  readonly heartbeatIntervalMs: number;
  /** Above this many unsent bytes a client's updates are conflated. */
  readonly conflateAboveBytes: number;
  /** Above this many unsent bytes the client is closed. */
  readonly sendBufferMaxBytes: number;
  /** A client still conflating after this long is closed. */
  readonly slowConsumerMs: number;
  readonly flushIntervalMs: number;
  readonly snapshotTradesMax: number;
}

/** Close codes in the private range (4000-4999), reasons in plain words. */
const CLOSE_SLOW_CONSUMER = 4008;

const clientsGauge = new Gauge({ name: "kuku_market_ws_clients", help: "Connected WebSocket clients" });
const sentCounter = new Counter({ name: "kuku_market_ws_messages_sent_total", help: "WebSocket messages sent" });
const conflatedCounter = new Counter({
  name: "kuku_market_ws_messages_conflated_total",
  help: "WebSocket updates replaced by a newer one before sending",
});
const slowCounter = new Counter({ name: "kuku_market_ws_slow_consumers_closed_total", help: "WebSocket clients closed as slow consumers" });

interface Client {
  readonly ws: WebSocket;
  readonly subject: string;
  readonly symbols: Set<string>;
  /** Latest unsent update per symbol while the socket is behind. */
  readonly pending: Map<string, Buffer>;
  behindSinceMs: number;
  alive: boolean;
  /** Which tenth of the heartbeat interval this client's ping falls in. */
  readonly slot: number;
  lastSendMs: number;
}

/** Heartbeats go out in this many slices of the interval, not to everyone at once. */
const HEARTBEAT_SLOTS = 10;

export class Hub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly bySymbol = new Map<string, Set<Client>>();
  private readonly behind = new Set<Client>();
  private readonly snapshots = new Map<string, { seq: bigint; bytes: Buffer }>();
  private readonly timers: NodeJS.Timeout[];
  private readonly stopListening: () => void;
  private accepted = 0;
  private heartbeatTick = 0;

  constructor(
    private readonly feed: Feed,
    private readonly options: HubOptions,
    private readonly logger: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.messageMaxBytes, clientTracking: false });
    this.stopListening = feed.listen((change) => this.publish(change));
    this.timers = [
      setInterval(() => this.flush(), options.flushIntervalMs),
      setInterval(() => this.heartbeat(), options.heartbeatIntervalMs / HEARTBEAT_SLOTS),
    ];
  }

  /** For the platform server's upgrade hook. */
  readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.upgrade(req, socket, head).catch((error: unknown) => {
      this.logger.error({ err: error }, "websocket upgrade failed");
      socket.destroy();
    });
  };

  close(): void {
    this.stopListening();
    for (const t of this.timers) clearInterval(t);
    for (const c of this.clients) c.ws.close(1001, "server shutting down");
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== this.options.path) return refuse(socket, 404, "Not Found");
    if (this.clients.size >= this.options.clientsMax) return refuse(socket, 503, "Service Unavailable");
    let subject: string;
    try {
      const { payload } = await jwtVerify(url.searchParams.get("token") ?? "", this.options.tokenSecret, { algorithms: ["HS256"] });
      subject = payload.sub ?? "";
    } catch {
      return refuse(socket, 401, "Unauthorized");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, subject));
  }

  private accept(ws: WebSocket, subject: string): void {
    const client: Client = {
      ws,
      subject,
      symbols: new Set(),
      pending: new Map(),
      behindSinceMs: 0,
      alive: true,
      slot: this.accepted++ % HEARTBEAT_SLOTS,
      lastSendMs: Date.now(),
    };
    this.clients.add(client);
    clientsGauge.set(this.clients.size);
    ws.on("pong", () => (client.alive = true));
    ws.on("message", (data, isBinary) => this.onMessage(client, isBinary ? undefined : data.toString()));
    ws.on("error", (error) => this.logger.debug({ err: error, subject }, "websocket error"));
    ws.once("close", () => this.drop(client));
  }

  private onMessage(client: Client, text: string | undefined): void {
    const parsed =
      text === undefined
        ? { ok: false as const, code: "bad_frame", message: "send JSON text frames" }
        : parseClientMessage(text, this.options.symbolsPerClientMax);
    if (!parsed.ok) {
      this.sendNow(client, encode({ v: 1, type: "error", code: parsed.code, message: parsed.message }));
      return;
    }
    const message: ClientMessage = parsed.message;
    if (message.type === "unsubscribe") {
      for (const s of message.symbols) this.unsubscribe(client, s);
      return;
    }
    const added = message.symbols.filter((s) => !client.symbols.has(s)).length;
    if (client.symbols.size + added > this.options.symbolsPerClientMax) {
      this.sendNow(
        client,
        encode({
          v: 1,
          type: "error",
          code: "too_many_symbols",
          message: `at most ${this.options.symbolsPerClientMax} symbols per connection`,
        }),
      );
      return;
    }
    // Subscribing again to a symbol is how a client resyncs after a gap: it gets a fresh snapshot.
    for (const s of message.symbols) {
      client.symbols.add(s);
      let set = this.bySymbol.get(s);
      if (set === undefined) {
        set = new Set();
        this.bySymbol.set(s, set);
      }
      set.add(client);
      client.pending.delete(s); // the snapshot supersedes any conflated update
      this.sendNow(client, this.snapshot(s));
    }
  }

  /** The snapshot for the symbol's current sequence, encoded once for everyone who asks at it. */
  private snapshot(symbol: string): Buffer {
    const market = this.feed.market;
    const quote = market.quote(symbol);
    const seq = quote?.sequence ?? 0n;
    const cached = this.snapshots.get(symbol);
    if (cached !== undefined && cached.seq === seq) return cached.bytes;
    const bytes = encode(snapshotMessage(symbol, quote, market.book(symbol, 10), market.trades(symbol, this.options.snapshotTradesMax)));
    this.snapshots.set(symbol, { seq, bytes });
    return bytes;
  }

  private publish(change: Change): void {
    const subscribers = this.bySymbol.get(change.symbol);
    if (subscribers === undefined || subscribers.size === 0) return;
    const bytes = encode(updateMessage(change));
    let sent = 0;
    for (const client of subscribers) if (this.deliver(client, change.symbol, bytes)) sent += 1;
    sentCounter.inc(sent); // once per update, not once per client: this loop is the hot path
  }

  /** True if sent now, false if held back (conflated) or the client was closed. */
  private deliver(client: Client, symbol: string, bytes: Buffer): boolean {
    if (client.pending.size === 0 && client.ws.bufferedAmount <= this.options.conflateAboveBytes) return this.sendNow(client, bytes);
    if (client.pending.has(symbol)) conflatedCounter.inc();
    client.pending.set(symbol, bytes);
    if (!this.behind.has(client)) {
      client.behindSinceMs = Date.now();
      this.behind.add(client);
    }
    return false;
  }

  private sendNow(client: Client, bytes: Buffer): boolean {
    if (client.ws.readyState !== client.ws.OPEN) return false;
    if (client.ws.bufferedAmount + bytes.length > this.options.sendBufferMaxBytes) {
      this.closeSlow(client, `slow consumer: more than ${this.options.sendBufferMaxBytes} bytes unsent`);
      return false;
    }
    client.ws.send(bytes);
    client.lastSendMs = Date.now();
    return true;
  }

  /** Sends the conflated updates of clients that caught up; closes those behind for too long. */
  private flush(): void {
    const now = Date.now();
    for (const client of this.behind) {
      if (client.ws.bufferedAmount <= this.options.conflateAboveBytes) {
        this.behind.delete(client);
        const updates = [...client.pending.values()];
        client.pending.clear();
        for (const bytes of updates) if (this.sendNow(client, bytes)) sentCounter.inc();
      } else if (now - client.behindSinceMs > this.options.slowConsumerMs) {
        this.closeSlow(client, `slow consumer: behind for more than ${this.options.slowConsumerMs} ms`);
      }
    }
  }

  private closeSlow(client: Client, reason: string): void {
    slowCounter.inc();
    this.logger.info({ subject: client.subject, reason, bufferedBytes: client.ws.bufferedAmount }, "closing a slow websocket consumer");
    this.drop(client);
    client.ws.close(CLOSE_SLOW_CONSUMER, reason);
    // A reader that does not drain will not read our close frame either.
    setTimeout(() => client.ws.terminate(), 1_000).unref();
  }

  /**
   * Each call serves one slot (a tenth of the clients): pinging 10,000
   * sockets in one go stalls the event loop and shows up as a latency spike
   * for everyone. The heartbeat frame goes only to clients that were idle
   * for the whole interval; a client receiving updates knows we are alive.
   */
  private heartbeat(): void {
    const slot = this.heartbeatTick++ % HEARTBEAT_SLOTS;
    const now = Date.now();
    const bytes = encode({ v: 1, type: "heartbeat", at: now });
    for (const client of this.clients) {
      if (client.slot !== slot) continue;
      if (!client.alive) {
        client.ws.terminate(); // no pong since the last heartbeat: the peer is gone
        continue;
      }
      client.alive = false;
      client.ws.ping();
      if (client.pending.size === 0 && now - client.lastSendMs >= this.options.heartbeatIntervalMs) this.sendNow(client, bytes);
    }
  }

  private unsubscribe(client: Client, symbol: string): void {
    client.symbols.delete(symbol);
    client.pending.delete(symbol);
    this.leave(client, symbol);
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    for (const s of client.symbols) this.leave(client, s);
    this.behind.delete(client);
    clientsGauge.set(this.clients.size);
  }

  /** The last subscriber of a symbol takes its entries along: clients cannot grow our maps by trying symbols. */
  private leave(client: Client, symbol: string): void {
    const set = this.bySymbol.get(symbol);
    set?.delete(client);
    if (set?.size === 0) {
      this.bySymbol.delete(symbol);
      this.snapshots.delete(symbol);
    }
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
