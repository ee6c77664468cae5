// The drill's market-data oracle, worked by hand: the market service is held
// to the exchange's tape (background traders' trades included), up to the
// market's newest trade, and a dropped, doubled, invented or missing trade is
// a violation.
import t from "tap";
import { type MarketView, marketProblems, type TapeExecution, tapeOf } from "../src/lib/drill/market-oracle.js";

const at = (s: string) => new Date(`2026-12-02T${s}+09:00`);
/** Both sides of trade `sequence` of session s1. */
const trade = (sequence: number, quantity: bigint, priceKrw: bigint, time = "10:00:00"): TapeExecution[] =>
  ["B", "S"].map((side) => ({
    executionId: `s1-005930-${sequence}-${side}`,
    tradeId: `s1-005930-${sequence}`,
    symbol: "005930",
    priceKrw,
    quantity,
    executedAt: at(time),
  }));
// 1: a drill order with the market maker; 2 and 10: background traders' (no drill order on either side); 3: another symbol.
const TAPE = [
  ...trade(1, 5n, 70_100n, "09:59:00"),
  ...trade(2, 3n, 70_200n),
  ...["B", "S"].map((side) => ({
    ...trade(3, 1n, 50_000n)[0]!,
    executionId: `s1-000660-3-${side}`,
    tradeId: "s1-000660-3",
    symbol: "000660",
  })),
  ...trade(10, 2n, 70_000n, "10:00:01"),
];
const { trades, problems: ofTape } = tapeOf([...TAPE, ...trade(2, 3n, 70_200n)]);
const ALL = new Set(trades.keys());
const view = (volume: bigint, lastPriceKrw: bigint, ...sequences: number[]): MarketView => ({
  volume,
  lastPriceKrw,
  listedTradeIds: sequences.map((n) => `s1-005930-${n}`),
});

t.test("the tape: one trade per id, copies folded, background trades counted like the drill's", async (t) => {
  t.same(ofTape, []);
  t.equal(trades.size, 4);
  t.same(marketProblems("005930", view(10n, 70_000n, 10, 2, 1), trades, ALL), [], "the market has the whole tape");
});

t.test("a trade the market dropped is found: in the middle by the volume, at the tail as a market behind", async (t) => {
  t.same(marketProblems("005930", view(7n, 70_000n, 10, 1), trades, ALL), [
    "005930: volume 7 at 70000, the exchange's trades through s1-005930-10 10 at 70000",
  ]);
  t.same(marketProblems("005930", view(8n, 70_200n, 2, 1), trades, ALL), [
    "005930: behind the tape: its newest trade is s1-005930-2, the exchange's s1-005930-10",
  ]);
  t.same(marketProblems("005930", view(0n, 0n), trades, ALL), [
    "005930: behind the tape: its newest trade is none, the exchange's s1-005930-10",
  ]);
});

t.test("a trade made after the check began may still be on its way; one made before may not", async (t) => {
  const before = new Set(["s1-005930-1", "s1-005930-2", "s1-000660-3"]);
  t.same(marketProblems("005930", view(8n, 70_200n, 2, 1), trades, before), [], "trade 10 came after the check began");
});

t.test("a trade counted twice, listed twice, or one the exchange never made is found", async (t) => {
  t.same(marketProblems("005930", view(13n, 70_000n, 10, 2, 2, 1), trades, ALL), [
    "005930: 0 listed trades the exchange never made, 1 listed twice",
    "005930: volume 13 at 70000, the exchange's trades through s1-005930-10 10 at 70000",
  ]);
  const phantom = { ...view(11n, 70_000n, 10, 2, 1), listedTradeIds: ["phantom-1", "s1-005930-10", "s1-005930-2", "s1-005930-1"] };
  t.same(marketProblems("005930", phantom, trades, ALL), [
    "005930: 1 listed trades the exchange never made, 0 listed twice",
    "005930: volume 11 at 70000, the exchange's trades through s1-005930-10 10 at 70000",
  ]);
});

t.test("the volume is the day's of the market's newest trade", async (t) => {
  const nextDay = (e: TapeExecution) => ({ ...e, executedAt: new Date(e.executedAt.getTime() + 86_400_000) });
  const { trades: twoDays } = tapeOf([...trade(1, 5n, 70_100n, "15:00:00"), ...trade(2, 4n, 70_000n, "09:00:00").map(nextDay)]);
  t.same(marketProblems("005930", view(4n, 70_000n, 2, 1), twoDays, new Set(twoDays.keys())), [], "yesterday's 5 are not today's volume");
  t.same(marketProblems("005930", view(9n, 70_000n, 2, 1), twoDays, new Set(twoDays.keys())).length, 1);
});

t.test("the tape's own problems: a trade with one side, two sides that disagree", async (t) => {
  const [buy, sell] = trade(1, 5n, 70_100n);
  t.same(tapeOf([buy!]).problems, ["trade s1-005930-1: 1 side(s) published"]);
  t.same(tapeOf([buy!, { ...sell!, quantity: 4n }]).problems, ["trade s1-005930-1: its two sides disagree"]);
});
