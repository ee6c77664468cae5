// Pure market state: sequences, day OHLC, duplicate trades, bounded rings
// and candles.
import t from "tap";
import { CandleBuilder } from "../src/domain/candles.js";
import { Market, type TradeInput } from "../src/domain/market.js";

const at = (iso: string) => new Date(iso);
const trade = (tradeId: string, priceKrw: bigint, quantity: bigint, when = "2026-11-25T01:00:00Z"): TradeInput => ({
  tradeId,
  symbol: "005930",
  priceKrw,
  quantity,
  executedAt: at(when),
});

t.test("every accepted change bumps the sequence by one; a duplicate trade changes nothing", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 3 });
  t.equal(market.applyTrade(trade("a", 70_000n, 5n))?.sequence, 1n);
  t.equal(market.applyTrade(trade("a", 70_000n, 5n)), undefined, "redelivered: ignored");
  t.equal(
    market.applyBook({ symbol: "005930", bids: [{ priceKrw: 69_900n, quantity: 1n }], asks: [], at: at("2026-11-25T01:00:01Z") }).sequence,
    2n,
  );
  t.equal(market.applyTrade(trade("b", 71_000n, 1n))?.sequence, 3n);
  t.match(market.quote("005930"), {
    volume: 6n,
    openPriceKrw: 70_000n,
    highPriceKrw: 71_000n,
    lowPriceKrw: 70_000n,
    lastPriceKrw: 71_000n,
    bestBidKrw: 69_900n,
    sequence: 3n,
  });
});

t.test("the recent-trades ring is bounded, newest first", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 3 });
  for (const id of ["a", "b", "c", "d", "e"]) market.applyTrade(trade(id, 70_000n, 1n));
  t.same(
    market.trades("005930", 10).map((x) => x.tradeId),
    ["e", "d", "c"],
  );
  t.same(
    market.trades("005930", 2).map((x) => x.tradeId),
    ["e", "d"],
  );
  t.ok(market.applyTrade(trade("a", 70_000n, 1n)) !== undefined, "an id that left the window is new again (the window is the ring)");
});

t.test("a new Korean trading day resets open, high, low and volume; a late trade of the old day is ignored", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 10 });
  market.applyTrade(trade("a", 70_000n, 5n, "2026-11-25T01:00:00Z"));
  market.applyTrade(trade("b", 72_000n, 2n, "2026-11-26T01:00:00Z"));
  t.equal(market.applyTrade(trade("c", 10n, 1n, "2026-11-25T02:00:00Z")), undefined);
  t.match(market.quote("005930"), { openPriceKrw: 72_000n, lowPriceKrw: 72_000n, volume: 2n });
});

t.test("depth is capped; a non-positive trade is a bug, not data", async (t) => {
  const market = new Market({ depthMax: 2, tradesMax: 10 });
  const levels = [1n, 2n, 3n].map((q) => ({ priceKrw: 100n * q, quantity: q }));
  market.applyBook({ symbol: "000660", bids: levels, asks: levels, at: at("2026-11-25T01:00:00Z") });
  t.equal(market.book("000660", 10)?.bids.length, 2);
  t.throws(() => market.applyTrade(trade("z", 0n, 1n)), /invariant/);
});

t.test("candles: one per minute, absolute figures, dirty ones taken once", async (t) => {
  const candles = new CandleBuilder();
  candles.apply(trade("a", 100n, 1n, "2026-11-25T01:00:05Z"));
  candles.apply(trade("b", 120n, 2n, "2026-11-25T01:00:50Z"));
  candles.apply(trade("c", 90n, 3n, "2026-11-25T01:01:10Z"));
  candles.apply(trade("late", 1n, 1n, "2026-11-25T01:00:59Z"));
  const taken = candles.takeDirty();
  t.match(taken, [
    { startTime: at("2026-11-25T01:00:00Z"), openPriceKrw: 100n, highPriceKrw: 120n, lowPriceKrw: 100n, closePriceKrw: 120n, volume: 3n },
    { startTime: at("2026-11-25T01:01:00Z"), openPriceKrw: 90n, volume: 3n },
  ]);
  t.same(candles.takeDirty(), [], "nothing changed since");
  candles.restore(taken);
  t.equal(candles.takeDirty().length, 2, "a failed flush is retried");
});
