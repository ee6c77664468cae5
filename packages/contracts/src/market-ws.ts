// The market WebSocket's messages, version 1 (docs/market-websocket.md): the
// market service encodes them, browsers' clients (web/) decode them. JSON
// text frames; int64 figures (won, shares, sequences) travel as decimal
// strings because JSON numbers lose precision past 2^53; times are epoch ms.

export type ClientMessage = { v: 1; type: "subscribe" | "unsubscribe"; symbols: string[] };

export interface QuoteJson {
  last: string;
  open: string;
  high: string;
  low: string;
  volume: string;
  bid: string;
  ask: string;
  at: number;
}
export interface LevelJson {
  price: string;
  qty: string;
}
export interface BookJson {
  bids: LevelJson[];
  asks: LevelJson[];
}
export interface TradeJson {
  id: string;
  price: string;
  qty: string;
  at: number;
}

/** One symbol's changes `from`..`seq` within a tick. */
export interface UpdateJson {
  symbol: string;
  from: string;
  seq: string;
  quote: QuoteJson;
  book?: BookJson;
  trades: TradeJson[];
  tradesOmitted?: number;
}

export type ServerMessage =
  | { v: 1; type: "snapshot"; symbol: string; seq: string; quote: QuoteJson | null; book: BookJson; trades: TradeJson[] }
  | { v: 1; type: "tick"; updates: UpdateJson[] }
  | { v: 1; type: "heartbeat"; at: number }
  | { v: 1; type: "error"; code: string; message: string };
