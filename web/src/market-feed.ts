// Quotes, 10-level books and trades pushed by the market service's WebSocket
// (docs/market-websocket.md, ADR 0023), with a token the gateway mints for the
// signed-in user. Snapshots set a symbol's state; tick entries carry the
// whole quote and book, and the trades to add. A gap in a symbol's sequence,
// or a dropped connection, resubscribes for a fresh snapshot.
import { create } from "@bufbuild/protobuf";
import { OrderBookSchema, QuoteSchema } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import type { BookJson, LevelJson, QuoteJson, ServerMessage, TradeJson } from "@kuku/contracts/market-ws";
import { accounts } from "./api.js";
import { state, type Trade } from "./state.js";

const RETRY_MS = [250, 1_000, 2_000, 5_000];
const TRADES_KEPT = 30;

/** The socket's address: the gateway gives ws(s):// or a path on the console's origin. */
function socketUrl(url: string, token: string): string {
  const base = url.startsWith("/") ? `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${url}` : url;
  return `${base}?token=${encodeURIComponent(token)}`;
}

/** What a snapshot and a tick entry have in common. */
interface Entry {
  symbol: string;
  seq: string;
  quote: QuoteJson | null;
  book?: BookJson;
}

const toTrade = (t: TradeJson): Trade => ({ id: t.id, priceKrw: BigInt(t.price), quantity: BigInt(t.qty), atMs: t.at });
const levels = (side: LevelJson[]) => side.map((l) => ({ priceKrw: BigInt(l.price), quantity: BigInt(l.qty) }));

export class MarketFeed {
  #socket: WebSocket | undefined;
  #stopped = false;
  #failures = 0;
  readonly #seq = new Map<string, bigint>();

  /** `changed` after every frame that changed the state. */
  constructor(
    private readonly symbols: () => string[],
    private readonly changed: () => void,
  ) {}

  start(): void {
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#socket?.close(1000);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    try {
      const { token, websocketUrl } = await accounts.issueMarketStreamToken({});
      const socket = new WebSocket(socketUrl(websocketUrl, token));
      this.#socket = socket;
      socket.onopen = () => {
        this.#failures = 0;
        this.#seq.clear();
        socket.send(JSON.stringify({ v: 1, type: "subscribe", symbols: this.symbols() }));
      };
      socket.onmessage = (event) => this.#onFrame(JSON.parse(String(event.data)) as ServerMessage);
      socket.onclose = () => this.#retry();
    } catch {
      this.#retry();
    }
  }

  #retry(): void {
    if (this.#stopped) return;
    if (state.marketAvailable) {
      state.marketAvailable = false;
      this.changed();
    }
    this.#failures += 1;
    setTimeout(() => void this.#connect(), RETRY_MS[Math.min(this.#failures, RETRY_MS.length) - 1]);
  }

  #onFrame(frame: ServerMessage): void {
    if (frame.type === "snapshot") {
      state.trades.set(frame.symbol, frame.trades.slice(0, TRADES_KEPT).map(toTrade));
      this.#apply(frame);
    } else if (frame.type === "tick") {
      for (const entry of frame.updates) {
        const last = this.#seq.get(entry.symbol);
        // Already in the snapshot; or a gap, after which a fresh snapshot replaces the symbol's state.
        if (last !== undefined && BigInt(entry.seq) <= last) continue;
        if (last !== undefined && BigInt(entry.from) !== last + 1n) this.#resubscribe(entry.symbol);
        const added = [...entry.trades].reverse().map(toTrade);
        state.trades.set(entry.symbol, [...added, ...(state.trades.get(entry.symbol) ?? [])].slice(0, TRADES_KEPT));
        this.#apply(entry);
      }
    } else return;
    state.marketAvailable = true;
    this.changed();
  }

  #apply(entry: Entry): void {
    this.#seq.set(entry.symbol, BigInt(entry.seq));
    const q = entry.quote;
    if (q !== null) {
      state.quotes.set(
        entry.symbol,
        create(QuoteSchema, {
          symbol: entry.symbol,
          lastPriceKrw: BigInt(q.last),
          openPriceKrw: BigInt(q.open),
          highPriceKrw: BigInt(q.high),
          lowPriceKrw: BigInt(q.low),
          volume: BigInt(q.volume),
          bestBidKrw: BigInt(q.bid),
          bestAskKrw: BigInt(q.ask),
          sequence: BigInt(entry.seq),
        }),
      );
    }
    if (entry.book !== undefined) {
      const book = create(OrderBookSchema, {
        symbol: entry.symbol,
        bids: levels(entry.book.bids),
        asks: levels(entry.book.asks),
        sequence: BigInt(entry.seq),
      });
      state.books.set(entry.symbol, book);
      if (entry.symbol === state.selected) state.book = book;
    }
  }

  #resubscribe(symbol: string): void {
    this.#socket?.send(JSON.stringify({ v: 1, type: "subscribe", symbols: [symbol] }));
  }
}
