// The market-data oracle: what the market service must show, from the
// exchange's own tape (every execution it published, both sides of every
// trade, the drill's and everyone else's: the market maker's and the
// background traders'). With the background flow on, trades keep coming
// while the drill checks, so the market is compared with the tape's prefix
// that ends at the market's newest trade: per symbol, the market applies
// the trades in the exchange's order (the trades topic is keyed by symbol,
// published in journal order), so its volume is that prefix's volume of the
// prefix's last day and its last price the prefix's last price. A trade the
// market dropped or counted twice shows as a wrong volume; a trade it never
// got at the tail shows as a market behind the trades made before the check.
import { tradingDay } from "@kuku/platform/krx";

export interface TapeTrade {
  readonly tradeId: string;
  readonly symbol: string;
  readonly priceKrw: bigint;
  readonly quantity: bigint;
  readonly executedAt: Date;
}

/** One side of a trade as the exchange published it (an execution event's fill). */
export interface TapeExecution extends TapeTrade {
  readonly executionId: string;
}

/** What the market service shows for a symbol, read so that the quote and the listing are of the same moment. */
export interface MarketView {
  readonly volume: bigint;
  readonly lastPriceKrw: bigint;
  /** Newest first. */
  readonly listedTradeIds: readonly string[];
}

/** An execution id is its trade's id and the side (the exchange's engine.ts: executionId). */
export const tradeIdOf = (executionId: string): string => executionId.replace(/-[BS]$/, "");

/** Trade ids are "<session>-<symbol>-<sequence>": the sequence numbers the session's trades in journal order. */
const sequenceOf = (tradeId: string): number => Number(tradeId.slice(tradeId.lastIndexOf("-") + 1));

/** The exchange's order: venue time, then the trade sequence (venue time never goes back within a session). */
export const tapeOrder = (a: TapeTrade, b: TapeTrade): number =>
  a.executedAt.getTime() - b.executedAt.getTime() || sequenceOf(a.tradeId) - sequenceOf(b.tradeId);

/**
 * The tape from the executions the exchange published (each possibly more
 * than once): one trade per trade id, with the problems of the tape itself
 * (a trade with one side only, or two sides that disagree).
 */
export function tapeOf(executions: Iterable<TapeExecution>): { trades: Map<string, TapeTrade>; problems: string[] } {
  const sides = new Map<string, Map<string, TapeExecution>>();
  for (const e of executions) {
    const tradeId = tradeIdOf(e.executionId);
    const known = sides.get(tradeId) ?? new Map<string, TapeExecution>();
    known.set(e.executionId, e);
    sides.set(tradeId, known);
  }
  const trades = new Map<string, TapeTrade>();
  const problems: string[] = [];
  for (const [tradeId, bySide] of sides) {
    const [first, second] = [...bySide.values()];
    if (second === undefined || bySide.size !== 2) {
      problems.push(`trade ${tradeId}: ${bySide.size} side(s) published`);
      continue;
    }
    if (first!.symbol !== second.symbol || first!.priceKrw !== second.priceKrw || first!.quantity !== second.quantity) {
      problems.push(`trade ${tradeId}: its two sides disagree`);
      continue;
    }
    trades.set(tradeId, {
      tradeId,
      symbol: first!.symbol,
      priceKrw: first!.priceKrw,
      quantity: first!.quantity,
      executedAt: first!.executedAt,
    });
  }
  return { trades, problems };
}

/**
 * What is wrong with the market's view of `symbol`, given the tape (every
 * trade the exchange published) and `madeBefore`, the trades the tape had
 * when the check began: the market must have got at least to them.
 */
export function marketProblems(
  symbol: string,
  view: MarketView,
  tape: ReadonlyMap<string, TapeTrade>,
  madeBefore: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const unknown = view.listedTradeIds.filter((id) => !tape.has(id)).length;
  const repeated = view.listedTradeIds.length - new Set(view.listedTradeIds).size;
  if (unknown + repeated > 0) problems.push(`${symbol}: ${unknown} listed trades the exchange never made, ${repeated} listed twice`);
  const ofSymbol = [...tape.values()].filter((t) => t.symbol === symbol).sort(tapeOrder);
  // The market's newest trade the exchange made: where the market has got to on the tape.
  const newestId = view.listedTradeIds.find((id) => tape.get(id)?.symbol === symbol);
  const end = newestId === undefined ? -1 : ofSymbol.findIndex((t) => t.tradeId === newestId);
  const prefix = ofSymbol.slice(0, end + 1);
  const last = prefix.at(-1);
  const lastRequired = ofSymbol.findLastIndex((t) => madeBefore.has(t.tradeId));
  if (lastRequired > end) {
    problems.push(
      `${symbol}: behind the tape: its newest trade is ${newestId ?? "none"}, the exchange's ${ofSymbol[lastRequired]!.tradeId}`,
    );
  }
  // The quote (one problem, however many of its figures are off): the day's volume and the last price.
  const day = last === undefined ? undefined : tradingDay(last.executedAt);
  const volume = prefix.filter((t) => tradingDay(t.executedAt) === day).reduce((n, t) => n + t.quantity, 0n);
  const lastPriceKrw = last?.priceKrw ?? 0n;
  if (view.volume !== volume || view.lastPriceKrw !== lastPriceKrw) {
    problems.push(
      `${symbol}: volume ${view.volume} at ${view.lastPriceKrw}, the exchange's trades through ${newestId ?? "none"} ${volume} at ${lastPriceKrw}`,
    );
  }
  return problems;
}
