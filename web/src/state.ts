// The console's one state: what the gateway and the market last sent and what
// the user chose. Views read it and render; the order stream, the market
// stream and the user's actions write it.
import type { PaperAccount } from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import type { GetPortfolioResponse, Instrument, Order, OrderBook, Quote } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { NAMES_KO } from "./labels.js";

/** One trade of the market stream. */
export interface Trade {
  readonly id: string;
  readonly priceKrw: bigint;
  readonly quantity: bigint;
  readonly atMs: number;
}

export interface State {
  instruments: Instrument[];
  quotes: Map<string, Quote>;
  /** False while the market stream is not connected: reference prices, no book. */
  marketAvailable: boolean;
  /** The symbol of the quote panel and the order ticket. */
  selected: string;
  /** The selected symbol's book (10 levels), from `books`. */
  book: OrderBook | undefined;
  books: Map<string, OrderBook>;
  /** Recent trades per symbol, newest first. */
  trades: Map<string, Trade[]>;
  /** The user's paper accounts and the one the console acts on ("" before they are loaded: the first). */
  accounts: PaperAccount[];
  account: string;
  cashCapKrw: bigint;
  portfolio: GetPortfolioResponse | undefined;
  orders: Order[];
}

export const state: State = {
  instruments: [],
  quotes: new Map(),
  marketAvailable: true,
  selected: "005930",
  book: undefined,
  books: new Map(),
  trades: new Map(),
  accounts: [],
  account: "",
  cashCapKrw: 0n,
  portfolio: undefined,
  orders: [],
};

export const instrumentOf = (symbol: string): Instrument | undefined => state.instruments.find((i) => i.symbol === symbol);

export const nameOf = (symbol: string): string => `${NAMES_KO[symbol] ?? instrumentOf(symbol)?.name ?? ""} ${symbol}`;

/** The last trade's price; before any trade, or without market data, the day's reference price. */
export function lastPrice(symbol: string): bigint {
  const q = state.quotes.get(symbol);
  if (q !== undefined && q.lastPriceKrw > 0n) return q.lastPriceKrw;
  return instrumentOf(symbol)?.referencePriceKrw ?? 0n;
}
