// The matching engine and the market maker, as pure logic.
import t from "tap";
import { Engine, executionId, type SubmitInput, tradeId } from "../src/domain/engine.js";
import { MarketMaker } from "../src/domain/market-maker.js";

const SAMSUNG = { symbol: "005930", name: "Samsung Electronics", referencePriceKrw: 70_000n, market: "KOSPI" } as const;
const NOW = new Date("2026-11-25T00:00:00Z");
const limit = (
  clientOrderId: string,
  side: "buy" | "sell",
  quantity: number,
  priceKrw: bigint,
  timeInForce: "day" | "ioc" = "day",
): SubmitInput => ({ clientOrderId, symbol: "005930", side, type: "limit", timeInForce, quantity, priceKrw });
const market = (clientOrderId: string, side: "buy" | "sell", quantity: number): SubmitInput => ({
  clientOrderId,
  symbol: "005930",
  side,
  type: "market",
  timeInForce: "ioc",
  quantity,
  priceKrw: 0n,
});

t.test("price first, then time: the best and oldest resting order trades first, at its price", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("s-70100", "sell", 5, 70_100n));
  engine.submit(limit("s-70000-old", "sell", 5, 70_000n));
  engine.submit(limit("s-70000-new", "sell", 5, 70_000n));
  const r = engine.submit(limit("b-1", "buy", 12, 70_100n));
  t.same(
    r.executions.filter((e) => e.side === "sell").map((e) => [e.clientOrderId, e.priceKrw, e.quantity]),
    [
      ["s-70000-old", 70_000n, 5],
      ["s-70000-new", 70_000n, 5],
      ["s-70100", 70_100n, 2],
    ],
  );
  t.equal(r.order.status, "filled");
  t.equal(r.executions.filter((e) => e.clientOrderId === "b-1").length, 3, "three trades");
  t.equal(engine.status("s-70100")?.status, "partially_filled");
  t.equal(engine.status("s-70100")?.filledQuantity, 2);
  t.same(engine.book("005930")?.depth(5).asks, [{ priceKrw: 70_100n, quantity: 3 }]);
  const ids = r.executions.map((e) => executionId(engine.session, e));
  t.equal(new Set(ids).size, ids.length, "every execution id is unique (one per side per trade)");
  t.same(ids.slice(0, 2), ["t1-005930-1-S", "t1-005930-1-B"]);
  t.equal(new Set(r.executions.map((e) => tradeId(engine.session, e))).size, 3, "two executions per trade");
});

t.test("a limit order that does not cross rests; DAY rests the rest, IOC cancels it", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("s-1", "sell", 3, 70_000n));
  const day = engine.submit(limit("b-day", "buy", 5, 70_000n));
  t.equal(day.order.status, "partially_filled");
  t.same(engine.book("005930")?.depth(1).bids, [{ priceKrw: 70_000n, quantity: 2 }], "the unfilled 2 rest");
  engine.submit(limit("s-2", "sell", 1, 70_000n)); // trades with b-day
  const ioc = engine.submit(limit("b-ioc", "buy", 5, 69_900n, "ioc"));
  t.equal(ioc.order.status, "cancelled", "IOC with nothing to take is cancelled, not rested");
  t.equal(engine.book("005930")?.bestPrice("buy"), 70_000n);
});

t.test("market orders take any price and never rest", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("s-1", "sell", 2, 70_000n));
  engine.submit(limit("s-2", "sell", 2, 75_000n));
  const r = engine.submit(market("m-1", "buy", 10));
  t.same(
    r.executions.filter((e) => e.clientOrderId === "m-1").map((e) => e.priceKrw),
    [70_000n, 75_000n],
  );
  t.equal(r.order.status, "cancelled", "the unfilled 6 are cancelled");
  t.equal(r.order.filledQuantity, 4);
  t.equal(engine.book("005930")?.bestPrice("sell"), undefined);
});

t.test("a client order id is executed once: a resubmission is answered, not traded", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("s-1", "sell", 10, 70_000n));
  const first = engine.submit(limit("b-1", "buy", 4, 70_000n));
  const again = engine.submit(limit("b-1", "buy", 4, 70_000n));
  t.equal(first.executions.length, 2);
  t.ok(again.duplicate);
  t.equal(again.executions.length, 0);
  t.equal(engine.status("s-1")?.filledQuantity, 4, "the seller traded once");
});

t.test("cancel removes the remainder; unknown ids can be fenced", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("b-1", "buy", 10, 69_000n));
  t.same(engine.cancel("b-1")?.cancelledQuantity, 10);
  t.equal(engine.status("b-1")?.status, "cancelled");
  t.equal(engine.book("005930")?.bestPrice("buy"), undefined, "the level is gone");
  t.same(engine.cancel("b-1")?.cancelledQuantity, 0, "cancelling twice removes nothing");
  t.equal(engine.cancel("never-sent"), undefined);
  engine.fence("lost-1");
  const late = engine.submit(limit("lost-1", "buy", 1, 70_000n));
  t.ok(late.duplicate, "a fenced id is never traded");
  t.equal(late.order.status, "rejected");
});

t.test("bad orders are rejected with the reason, and change no book", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  t.match(engine.submit(limit("x-1", "buy", 1, 70_050n)).order.rejectReason, /off the tick ladder \(tick 100\)/);
  t.match(engine.submit(limit("x-2", "buy", 1, 91_100n)).order.rejectReason, /outside today's limits 49000\.\.91000/);
  t.match(engine.submit({ ...limit("x-3", "buy", 1, 1_000n), symbol: "999999" }).order.rejectReason, /not listed/);
  t.same(engine.book("005930")?.depth(5), { bids: [], asks: [] });
});

t.test("the market maker keeps both sides quoted, deterministically", async (t) => {
  const quotes = (seed: number) => {
    const engine = new Engine([SAMSUNG], "t1", () => NOW);
    const maker = new MarketMaker(engine, { seed, levels: 5, minQuantity: 100, maxQuantity: 1_000 });
    maker.quoteAll();
    return { engine, maker, depth: engine.book("005930")!.depth(10) };
  };
  const a = quotes(42);
  t.same(
    a.depth.bids.map((l) => l.priceKrw),
    [69_900n, 69_800n, 69_700n, 69_600n, 69_500n],
  );
  t.same(
    a.depth.asks.map((l) => l.priceKrw),
    [70_100n, 70_200n, 70_300n, 70_400n, 70_500n],
  );
  t.same(quotes(42).depth, a.depth, "same seed, same book");
  t.notSame(quotes(7).depth, a.depth, "another seed, other quantities");
  const bought = a.engine.submit(market("user-1", "buy", a.depth.asks[0]!.quantity + 1));
  t.equal(bought.order.status, "filled", "a user alone gets filled by the bot");
  a.maker.quote("005930");
  t.equal(a.engine.book("005930")!.depth(10).asks.length, 5, "the bot tops the book back up");
});

t.test("closing the session expires what still rests, and only that", async (t) => {
  const engine = new Engine([SAMSUNG], "t1", () => NOW);
  engine.submit(limit("rest-1", "buy", 5, 69_000n));
  engine.submit(limit("s-1", "sell", 2, 69_000n)); // partially fills rest-1
  engine.submit(limit("done-1", "buy", 1, 60_000n));
  engine.cancel("done-1");
  const expired = engine.closeDay();
  t.same(
    expired.map((o) => o.clientOrderId),
    ["rest-1"],
  );
  t.equal(engine.status("rest-1")?.status, "expired");
  t.equal(engine.status("rest-1")?.filledQuantity, 2, "what filled stays filled");
  t.equal(engine.status("done-1")?.status, "cancelled");
  t.same(engine.book("005930")?.depth(5), { bids: [], asks: [] });
});
