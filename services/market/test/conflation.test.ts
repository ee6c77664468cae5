// Per-tick conflation over the real Market: whatever mix of changes lands in
// a tick, its update ends at the symbol's final state and the ticks' ranges
// join up with no gap and no overlap.
import t from "tap";
import { Conflator, type SymbolTick } from "../src/domain/conflation.js";
import { Market } from "../src/domain/market.js";

const at = new Date("2026-11-25T01:00:00Z");
const level = (priceKrw: bigint) => ({ priceKrw, quantity: 1n });

function feed(market: Market, conflator: Conflator, symbol: string, n: number, from: number): void {
  for (let i = from; i < from + n; i++) {
    const change =
      i % 3 === 2
        ? market.applyBook({ symbol, bids: [level(BigInt(69_000 + i))], asks: [level(BigInt(71_000 + i))], at })
        : market.applyTrade({ tradeId: `${symbol}-${i}`, symbol, priceKrw: BigInt(70_000 + i), quantity: 2n, executedAt: at });
    if (change !== undefined) conflator.add(change);
  }
}

t.test("each tick's update carries the symbol's final state; ranges join up across ticks; every trade is there", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 500 });
  const conflator = new Conflator(500);
  const ticks: SymbolTick[][] = [];
  let fed = 0;
  for (const n of [1, 7, 0, 30, 2]) {
    for (const symbol of ["005930", "000660"]) feed(market, conflator, symbol, n, fed);
    fed += n;
    ticks.push([...conflator.drain().values()]);
  }
  t.same(
    ticks.map((tick) => tick.length),
    [2, 2, 0, 2, 2],
    "one update per changed symbol per tick, none for a quiet tick",
  );
  for (const symbol of ["005930", "000660"]) {
    const updates = ticks.flat().filter((u) => u.symbol === symbol);
    let seq = 0n;
    let volume = 0n;
    for (const u of updates) {
      t.equal(u.from, seq + 1n, `${symbol}: the update starts right after the previous one`);
      seq = u.seq;
      volume += u.trades.reduce((sum, trade) => sum + trade.quantity, 0n);
      const quote = u.quote;
      t.equal(quote.sequence, u.seq, `${symbol}: the quote is the state at the update's last sequence`);
    }
    const final = market.quote(symbol)!;
    t.equal(seq, final.sequence, `${symbol}: the last update ends at the final sequence`);
    t.equal(volume, final.volume, `${symbol}: the updates' trades add up to the volume`);
    const lastBook = updates.findLast((u) => u.book !== undefined)!.book!;
    t.same(lastBook.bids, market.book(symbol, 10)!.bids, `${symbol}: the latest book is carried`);
  }
});

t.test("a burst beyond the bound keeps the newest trades and counts the others; the quote still has them all", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 500 });
  const conflator = new Conflator(5);
  for (let i = 0; i < 12; i++)
    conflator.add(market.applyTrade({ tradeId: `b-${i}`, symbol: "005930", priceKrw: BigInt(70_000 + i), quantity: 1n, executedAt: at })!);
  const [update] = [...conflator.drain().values()];
  t.same(
    update!.trades.map((x) => x.tradeId),
    ["b-7", "b-8", "b-9", "b-10", "b-11"],
  );
  t.equal(update!.tradesOmitted, 7);
  t.equal(update!.quote.volume, 12n);
  t.equal(conflator.drain().size, 0, "the next tick starts empty");
});

t.test("a change that does not follow the previous one is a bug", async (t) => {
  const market = new Market({ depthMax: 10, tradesMax: 500 });
  const conflator = new Conflator(5);
  const first = market.applyTrade({ tradeId: "x-1", symbol: "005930", priceKrw: 1n, quantity: 1n, executedAt: at })!;
  market.applyTrade({ tradeId: "x-2", symbol: "005930", priceKrw: 1n, quantity: 1n, executedAt: at });
  const third = market.applyTrade({ tradeId: "x-3", symbol: "005930", priceKrw: 1n, quantity: 1n, executedAt: at })!;
  conflator.add(first);
  t.throws(() => conflator.add(third), /does not follow/);
});
