// The console's one state: what the gateway last answered and what the user
// chose. Views read it and render; the order stream, the poll and the user's actions write it.
import type { GetPortfolioResponse, Instrument, Order, OrderBook, Quote } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { NAMES_KO } from "./labels.js";

export interface State {
  instruments: Instrument[];
  quotes: Map<string, Quote>;
  /** False once the gateway said it has no market service: reference prices only, no more polling for quotes. */
  marketAvailable: boolean;
  /** The symbol of the quote panel and the order ticket. */
  selected: string;
  book: OrderBook | undefined;
  portfolio: GetPortfolioResponse | undefined;
  orders: Order[];
}

export const state: State = {
  instruments: [],
  quotes: new Map(),
  marketAvailable: true,
  selected: "005930",
  book: undefined,
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
