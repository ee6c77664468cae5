// WebSocket fan-out (docs/market-websocket.md, ADR 0011). Changes are
// conflated per symbol and sent on a short tick: every `tickMs` each symbol
// that changed is encoded once, each group of clients with the same symbols
// gets one text frame built once, and each client one socket write. A client
// whose socket is over its bound is skipped, resynced by snapshot once it
// drains, and closed if it stays behind: one slow reader never holds up the
// others or our memory.
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "@kuku/platform";
import { jwtVerify } from "jose";
import { Counter, Gauge } from "prom-client";
import { WebSocket, WebSocketServer } from "ws";
import type { Feed } from "../app/feed.js";
import { Conflator, type SymbolTick } from "../domain/conflation.js";
import { textFrame } from "./frame.js";
import { type Group, Groups } from "./groups.js";
import {
  type ClientMessage,
  encode,
  encodeTick,
  encodeUpdate,
  parseClientMessage,
  type ServerMessage,
  snapshotMessage,
} from "./protocol.js";

/** The `aud` every market WebSocket token carries (docs/market-websocket.md). */
export const MARKET_TOKEN_AUDIENCE = "kuku-market";

export interface HubOptions {
  readonly path: string;
  /** HS256 secret for the access tokens (query parameter `token`). */
  readonly tokenSecret: Uint8Array;
  readonly clientsMax: number;
  readonly symbolsPerClientMax: number;
  /** Largest frame a client may send. */
  readonly messageMaxBytes: number;
  readonly heartbeatIntervalMs: number;
  /** The fan-out tick: at most one update frame per client per tick. */
  readonly tickMs: number;
  /** Above this many unsent bytes a client is skipped, then resynced by snapshot. */
  readonly skipAboveBytes: number;
  /** Above this many unsent bytes the client is closed. */
  readonly sendBufferMaxBytes: number;
  /** A client still behind after this long is closed. */
  readonly slowConsumerMs: number;
  readonly snapshotTradesMax: number;
  /** Trades one symbol's update carries per tick (a burst keeps the newest). */
  readonly tickTradesMax: number;
}

/** Close codes in the private range (4000-4999), reasons in plain words. */
const CLOSE_SLOW_CONSUMER = 4008;

const clientsGauge = new Gauge({ name: "kuku_market_ws_clients", help: "Connected WebSocket clients" });
const framesCounter = new Counter({ name: "kuku_market_ws_frames_sent_total", help: "WebSocket tick and snapshot frames sent" });
const skippedCounter = new Counter({
  name: "kuku_market_ws_frames_skipped_total",
  help: "WebSocket tick frames not sent to a client over its send-buffer bound (it is resynced by snapshot)",
});
const resyncCounter = new Counter({
  name: "kuku_market_ws_resyncs_total",
  help: "WebSocket clients resynced by snapshot after falling behind",
});
const slowCounter = new Counter({ name: "kuku_market_ws_slow_consumers_closed_total", help: "WebSocket clients closed as slow consumers" });

interface Client {
  readonly ws: WebSocket;
  /** The upgraded socket: tick frames, already framed, are written to it directly. */
  readonly socket: Duplex;
  readonly subject: string;
  readonly symbols: Set<string>;
  /** Subscribed since the last tick: they join their group, with a snapshot, at the next one. */
  readonly joining: Set<string>;
  group: Group<Client> | undefined;
  /** Set while the client is skipped for being over its bound. */
  behindSinceMs: number | undefined;
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
  private readonly groups = new Groups<Client>();
  private readonly conflator: Conflator;
  private readonly joiners = new Set<Client>();
  private readonly behind = new Set<Client>();
  /** The snapshot frame at a symbol's current sequence, built once for everyone who needs it. */
  private readonly snapshots = new Map<string, { seq: bigint; frame: Buffer }>();
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
    this.conflator = new Conflator(options.tickTradesMax);
    this.stopListening = feed.listen((change) => this.conflator.add(change));
    this.timers = [
      setInterval(() => this.tick(), options.tickMs),
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
      // A token for this feed only (its audience), that expires, naming its holder: a token minted for
      // anything else, or one that would never expire, is refused.
      const { payload } = await jwtVerify(url.searchParams.get("token") ?? "", this.options.tokenSecret, {
        algorithms: ["HS256"],
        audience: MARKET_TOKEN_AUDIENCE,
        requiredClaims: ["sub", "exp"],
      });
      subject = payload.sub ?? "";
    } catch {
      return refuse(socket, 401, "Unauthorized");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, subject));
  }

  private accept(ws: WebSocket, socket: Duplex, subject: string): void {
    const client: Client = {
      ws,
      socket,
      subject,
      symbols: new Set(),
      joining: new Set(),
      group: undefined,
      behindSinceMs: undefined,
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
      this.sendNow(client, { v: 1, type: "error", code: parsed.code, message: parsed.message });
      return;
    }
    const message: ClientMessage = parsed.message;
    if (message.type === "unsubscribe") {
      this.unsubscribe(client, message.symbols);
      return;
    }
    const added = message.symbols.filter((s) => !client.symbols.has(s) && !client.joining.has(s)).length;
    if (client.symbols.size + client.joining.size + added > this.options.symbolsPerClientMax) {
      const limit = `at most ${this.options.symbolsPerClientMax} symbols per connection`;
      this.sendNow(client, { v: 1, type: "error", code: "too_many_symbols", message: limit });
      return;
    }
    // Subscribing again to a symbol is how a client resyncs after a gap: it gets a fresh snapshot.
    for (const s of message.symbols) client.joining.add(s);
    this.joiners.add(client);
  }

  /** Errors and heartbeats: rare, sent at once through `ws` as text. */
  private sendNow(client: Client, message: ServerMessage): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(message));
  }

  /**
   * Everything that reached the feed since the last tick is in this tick's
   * updates, and joins and resyncs take their snapshots after it: a client's
   * next update starts right after its snapshot's sequence.
   */
  private tick(): void {
    const now = Date.now();
    const updates = this.conflator.drain();
    if (updates.size > 0) this.fanOut(updates, now);
    for (const client of this.behind) this.serveBehind(client, now);
    for (const client of this.joiners) this.join(client, now);
    this.joiners.clear();
  }

  private fanOut(updates: ReadonlyMap<string, SymbolTick>, now: number): void {
    const encoded = new Map<string, string>();
    let sent = 0;
    let skipped = 0;
    for (const group of this.groups.following(updates.keys())) {
      const parts: string[] = [];
      for (const s of group.symbols) {
        const update = updates.get(s);
        if (update === undefined) continue;
        let text = encoded.get(s);
        if (text === undefined) {
          text = encodeUpdate(update);
          encoded.set(s, text);
        }
        parts.push(text);
      }
      const frame = textFrame(encodeTick(parts));
      for (const client of group.clients) {
        if (this.write(client, frame, now)) sent += 1;
        else skipped += 1;
      }
    }
    framesCounter.inc(sent); // once per tick, not per client: this loop is the hot path
    skippedCounter.inc(skipped);
  }

  /**
   * One socket write of a frame built once. Safe next to `ws`'s own sends:
   * without permessage-deflate (off on this server) and without Blob data,
   * `ws` writes each frame synchronously and queues nothing of its own.
   */
  private write(client: Client, frame: Buffer, now: number): boolean {
    if (client.behindSinceMs !== undefined || client.ws.readyState !== WebSocket.OPEN) return false;
    const buffered = client.ws.bufferedAmount;
    if (buffered > this.options.skipAboveBytes) {
      client.behindSinceMs = now;
      this.behind.add(client);
      return false;
    }
    if (buffered + frame.length > this.options.sendBufferMaxBytes) {
      this.closeSlow(client, `slow consumer: more than ${this.options.sendBufferMaxBytes} bytes unsent`);
      return false;
    }
    client.socket.write(frame);
    client.lastSendMs = now;
    return true;
  }

  /** A client that drained gets a snapshot of every symbol (its new baseline); one behind for too long is closed. */
  private serveBehind(client: Client, now: number): void {
    if (client.ws.bufferedAmount <= this.options.skipAboveBytes) {
      this.behind.delete(client);
      client.behindSinceMs = undefined;
      resyncCounter.inc();
      this.sendSnapshots(client, client.symbols, now);
    } else if (now - client.behindSinceMs! > this.options.slowConsumerMs) {
      this.closeSlow(client, `slow consumer: behind for more than ${this.options.slowConsumerMs} ms`);
    }
  }

  private join(client: Client, now: number): void {
    if (!this.clients.has(client)) return;
    const symbols = [...client.joining];
    client.joining.clear();
    const before = client.symbols.size;
    for (const s of symbols) client.symbols.add(s);
    if (client.symbols.size !== before) client.group = this.groups.move(client, client.group, client.symbols);
    // A client behind gets every symbol's snapshot when it drains.
    if (client.behindSinceMs === undefined) this.sendSnapshots(client, symbols, now);
  }

  private sendSnapshots(client: Client, symbols: Iterable<string>, now: number): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    client.socket.cork(); // several snapshots, one write
    for (const s of symbols) {
      const frame = this.snapshot(s);
      if (client.ws.bufferedAmount + frame.length > this.options.sendBufferMaxBytes) {
        this.closeSlow(client, `slow consumer: more than ${this.options.sendBufferMaxBytes} bytes unsent`);
        break;
      }
      client.socket.write(frame);
      framesCounter.inc();
    }
    client.socket.uncork();
    client.lastSendMs = now;
  }

  private snapshot(symbol: string): Buffer {
    const market = this.feed.market;
    const quote = market.quote(symbol);
    const seq = quote?.sequence ?? 0n;
    const cached = this.snapshots.get(symbol);
    if (cached !== undefined && cached.seq === seq) return cached.frame;
    const trades = market.trades(symbol, this.options.snapshotTradesMax);
    const frame = textFrame(encode(snapshotMessage(symbol, quote, market.book(symbol, 10), trades)));
    this.snapshots.set(symbol, { seq, frame });
    return frame;
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
    for (const client of this.clients) {
      if (client.slot !== slot) continue;
      if (!client.alive) {
        client.ws.terminate(); // no pong since the last heartbeat: the peer is gone
        continue;
      }
      client.alive = false;
      client.ws.ping();
      if (client.behindSinceMs === undefined && now - client.lastSendMs >= this.options.heartbeatIntervalMs)
        this.sendNow(client, { v: 1, type: "heartbeat", at: now });
    }
  }

  private unsubscribe(client: Client, symbols: readonly string[]): void {
    for (const s of symbols) {
      client.symbols.delete(s);
      client.joining.delete(s);
    }
    client.group = this.groups.move(client, client.group, client.symbols);
    this.forgetUnfollowed(symbols);
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.groups.move(client, client.group, new Set());
    client.group = undefined;
    this.forgetUnfollowed(client.symbols);
    this.behind.delete(client);
    this.joiners.delete(client);
    clientsGauge.set(this.clients.size);
  }

  /** Snapshots of symbols nobody follows go: clients cannot grow our maps by trying symbols. */
  private forgetUnfollowed(symbols: Iterable<string>): void {
    for (const s of symbols) if (!this.groups.follows(s)) this.snapshots.delete(s);
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
