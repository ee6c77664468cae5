// The WebSocket message schema, version 1 (docs/market-websocket.md). JSON
// text frames; int64 figures (won, shares, sequences) travel as decimal
// strings because JSON numbers lose precision past 2^53; times are epoch ms.
import type { BookJson, ClientMessage, LevelJson, QuoteJson, ServerMessage, TradeJson, UpdateJson } from "@kuku/contracts/market-ws";
import type { SymbolTick } from "../domain/conflation.js";
import type { BookView, Level, QuoteView, TradeInput } from "../domain/market.js";

// The message types are the contract's, shared with browsers' clients.
export type { ClientMessage, ServerMessage } from "@kuku/contracts/market-ws";

export const PROTOCOL_VERSION = 1;
const SYMBOL = /^[0-9A-Z]{6}$/;

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: string; message: string };

/** Checks one client frame; every problem is answered, none closes the connection. */
export function parseClientMessage(text: string, symbolsMax: number): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: "bad_json", message: "the frame is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, code: "bad_message", message: "a message is a JSON object" };
  const m = value as Record<string, unknown>;
  if (m["v"] !== PROTOCOL_VERSION) return { ok: false, code: "bad_version", message: `v must be ${PROTOCOL_VERSION}` };
  if (m["type"] !== "subscribe" && m["type"] !== "unsubscribe")
    return { ok: false, code: "bad_type", message: "type must be subscribe or unsubscribe" };
  const symbols = m["symbols"];
  if (!Array.isArray(symbols) || symbols.length === 0 || symbols.length > symbolsMax) {
    return { ok: false, code: "bad_symbols", message: `symbols must be a list of 1 to ${symbolsMax} symbols` };
  }
  const bad = symbols.find((s) => typeof s !== "string" || !SYMBOL.test(s));
  if (bad !== undefined)
    return { ok: false, code: "bad_symbols", message: `symbols: ${JSON.stringify(bad)} is not a six-character KRX code` };
  return { ok: true, message: { v: 1, type: m["type"], symbols: [...new Set(symbols as string[])] } };
}

const quoteJson = (q: QuoteView): QuoteJson => ({
  last: q.lastPriceKrw.toString(),
  open: q.openPriceKrw.toString(),
  high: q.highPriceKrw.toString(),
  low: q.lowPriceKrw.toString(),
  volume: q.volume.toString(),
  bid: q.bestBidKrw.toString(),
  ask: q.bestAskKrw.toString(),
  at: q.updatedAt.getTime(),
});
const levelsJson = (levels: readonly Level[]): LevelJson[] =>
  levels.map((l) => ({ price: l.priceKrw.toString(), qty: l.quantity.toString() }));
const bookJson = (b: BookView): BookJson => ({ bids: levelsJson(b.bids), asks: levelsJson(b.asks) });
const tradeJson = (t: TradeInput): TradeJson => ({
  id: t.tradeId,
  price: t.priceKrw.toString(),
  qty: t.quantity.toString(),
  at: t.executedAt.getTime(),
});

export const encode = (message: ServerMessage): Buffer => Buffer.from(JSON.stringify(message));

export function snapshotMessage(
  symbol: string,
  quote: QuoteView | undefined,
  book: BookView | undefined,
  trades: readonly TradeInput[],
): ServerMessage {
  return {
    v: 1,
    type: "snapshot",
    symbol,
    seq: (quote?.sequence ?? 0n).toString(),
    quote: quote === undefined ? null : quoteJson(quote),
    book: book === undefined ? { bids: [], asks: [] } : bookJson(book),
    trades: trades.map(tradeJson),
  };
}

/** One entry of a tick frame's `updates`, as JSON text: encoded once per symbol per tick. */
export function encodeUpdate(tick: SymbolTick): string {
  const update: UpdateJson = {
    symbol: tick.symbol,
    from: tick.from.toString(),
    seq: tick.seq.toString(),
    quote: quoteJson(tick.quote),
    ...(tick.book === undefined ? {} : { book: bookJson(tick.book) }),
    trades: tick.trades.map(tradeJson),
    ...(tick.tradesOmitted === 0 ? {} : { tradesOmitted: tick.tradesOmitted }),
  };
  return JSON.stringify(update);
}

/** A tick frame from updates already encoded by `encodeUpdate` (the same text as `encode` of the message). */
export const encodeTick = (updates: readonly string[]): Buffer => Buffer.from(`{"v":1,"type":"tick","updates":[${updates.join(",")}]}`);
