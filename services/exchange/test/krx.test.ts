// KRX's venue rules, worked by hand: the auction's uncrossing price, the
// order types, amend priority, volatility interruptions, and a day on the
// venue clock from the pre-open auction to the next day's reference price.
import t from "tap";
import { uncrossingPrice } from "../src/domain/auction.js";
import { isBusinessDay, phaseAt } from "../src/domain/calendar.js";
import { venueTimeMs, wallTimeMs } from "../src/domain/clock.js";
import { Engine, type EngineOptions, type SubmitInput } from "../src/domain/engine.js";
import { type Command, Venue, type VenueSettings } from "../src/domain/venue.js";

const SAMSUNG = { symbol: "005930", name: "Samsung Electronics", referencePriceKrw: 70_000n, market: "KOSPI", kospi200: true } as const;
const NOW = new Date("2026-12-01T01:00:00Z");
const engineWith = (options: Partial<EngineOptions> = {}) => new Engine([SAMSUNG], "k1", () => NOW, options);
const order = (
  clientOrderId: string,
  side: "buy" | "sell",
  quantity: number,
  priceKrw: bigint,
  more: Partial<SubmitInput> = {},
): SubmitInput => ({
  clientOrderId,
  symbol: "005930",
  side,
  type: priceKrw === 0n ? "market" : "limit",
  timeInForce: "day",
  quantity,
  priceKrw,
  ...more,
});
const levels = (...pairs: [number, number][]) => pairs.map(([price, quantity]) => ({ priceKrw: BigInt(price), quantity }));

t.test("uncrossing: the most volume wins (KRX's own example: 600 shares at 7,830)", async (t) => {
  // Sells 7,810:150 7,820:200 7,830:400 7,840:300 7,850:750 7,860:450; buys 7,850:100 7,840:150 7,830:350 7,820:400 7,810:500 7,800:650.
  const found = uncrossingPrice({
    bids: levels([7_850, 100], [7_840, 150], [7_830, 350], [7_820, 400], [7_810, 500], [7_800, 650]),
    asks: levels([7_810, 150], [7_820, 200], [7_830, 400], [7_840, 300], [7_850, 750], [7_860, 450]),
    marketBuyQuantity: 0,
    marketSellQuantity: 0,
    referencePriceKrw: 7_800n,
  });
  t.same(found, { priceKrw: 7_830n, volume: 600, imbalance: -150 });
});

t.test("uncrossing: equal volume, then the smaller imbalance, then the price closest to the reference", async (t) => {
  // At 100: demand 10, supply 10 (imbalance 0); at 101: demand 10, supply 15 — 100 wins on imbalance.
  t.same(
    uncrossingPrice({
      bids: levels([101, 10]),
      asks: levels([100, 10], [101, 5]),
      marketBuyQuantity: 0,
      marketSellQuantity: 0,
      referencePriceKrw: 200n,
    }),
    { priceKrw: 100n, volume: 10, imbalance: 0 },
  );
  // Buy 10 at 103, sell 10 at 100: both candidates execute 10 with no imbalance; the reference 102 decides.
  t.equal(
    uncrossingPrice({
      bids: levels([103, 10]),
      asks: levels([100, 10]),
      marketBuyQuantity: 0,
      marketSellQuantity: 0,
      referencePriceKrw: 102n,
    })?.priceKrw,
    103n,
    "otherwise the candidate closest to it (103 is 1 away, 100 is 2)",
  );
  t.equal(
    uncrossingPrice({
      bids: levels([110, 5]),
      asks: levels([120, 5]),
      marketBuyQuantity: 0,
      marketSellQuantity: 0,
      referencePriceKrw: 100n,
    }),
    undefined,
    "an uncrossed book does not trade",
  );
  t.same(
    uncrossingPrice({ bids: [], asks: [], marketBuyQuantity: 7, marketSellQuantity: 4, referencePriceKrw: 100n }),
    { priceKrw: 100n, volume: 4, imbalance: 3 },
    "market orders alone meet at the reference",
  );
});

t.test("an auction collects without matching, then trades everything executable at one price", async (t) => {
  const engine = engineWith();
  engine.setMode("005930", "auction");
  engine.submit(order("s-1", "sell", 10, 69_900n));
  engine.submit(order("s-2", "sell", 10, 70_100n));
  engine.submit(order("b-mkt", "buy", 5, 0n));
  const crossing = engine.submit(order("b-1", "buy", 12, 70_100n));
  t.equal(crossing.executions.length, 0, "nothing trades while the auction collects");
  t.match(
    engine.submit(order("b-ioc", "buy", 1, 70_000n, { timeInForce: "ioc" })).order.rejectReason,
    /not accepted in a single-price auction/,
  );
  const trades = engine.uncross("005930");
  // Demand at 70,100: 5 + 12 = 17, supply 20 -> 17; at 69,900: demand 17, supply 10 -> 10. 70,100 wins.
  t.ok(
    trades.every((e) => e.priceKrw === 70_100n),
    "one price",
  );
  t.equal(
    trades.filter((e) => e.side === "buy").reduce((n, e) => n + e.quantity, 0),
    17,
  );
  t.equal(trades.find((e) => e.side === "buy")?.clientOrderId, "b-mkt", "the market order goes first");
  t.same([engine.status("s-1")?.status, engine.status("s-2")?.filledQuantity], ["filled", 7], "the cheaper seller first");
  t.equal(engine.listing("005930")?.mode, "continuous");
  t.equal(engine.listing("005930")?.lastPriceKrw, 70_100n);
});

t.test("IOC, FOK and GTC", async (t) => {
  const engine = engineWith();
  engine.submit(order("s-1", "sell", 5, 70_000n));
  t.equal(engine.submit(order("fok-big", "buy", 6, 70_000n, { timeInForce: "fok" })).order.status, "cancelled", "FOK: all or nothing");
  t.equal(engine.status("s-1")?.remaining, 5, "the failed FOK took nothing");
  t.equal(engine.submit(order("fok-ok", "buy", 5, 70_000n, { timeInForce: "fok" })).order.status, "filled");
  engine.submit(order("gtc", "buy", 3, 69_000n, { timeInForce: "gtc" }));
  engine.submit(order("day", "buy", 3, 69_000n));
  const expired = engine.closeDay();
  t.same(
    expired.map((o) => o.clientOrderId),
    ["day"],
    "a GTC order survives the close",
  );
  t.equal(engine.listing("005930")?.referencePriceKrw, 70_000n, "the close (the last trade) is the new reference");
  t.equal(engine.status("gtc")?.remaining, 3);
});

t.test("a GTC order outside the next day's limits expires at the roll", async (t) => {
  const engine = engineWith({ collarPercent: 0 });
  engine.submit(order("gtc-low", "buy", 1, 50_000n, { timeInForce: "gtc" }));
  engine.submit(order("s-1", "sell", 1, 80_000n));
  engine.submit(order("b-1", "buy", 1, 80_000n)); // the close: 80,000 -> limits 56,000..104,000
  t.same(
    engine.closeDay().map((o) => o.clientOrderId),
    ["gtc-low"],
  );
  t.same(engine.limits("005930"), { upperLimitKrw: 104_000n, lowerLimitKrw: 56_000n });
});

t.test("stop and stop-limit orders wait, then trigger on the last trade price", async (t) => {
  const engine = engineWith();
  engine.submit(order("s-1", "sell", 5, 70_000n));
  engine.submit(order("s-2", "sell", 5, 70_500n));
  const stop = engine.submit(order("stop-b", "buy", 3, 0n, { type: "stop", stopPriceKrw: 70_000n }));
  t.equal(stop.order.status, "waiting", "no trade yet: the stop waits");
  t.equal(engine.submit(order("stop-x", "buy", 1, 0n, { type: "stop" })).order.rejectReason, "a stop order needs a stop price");
  const trade = engine.submit(order("b-1", "buy", 2, 70_000n));
  t.equal(engine.status("stop-b")?.status, "filled", "the trade at 70,000 triggered it");
  t.same(
    trade.executions.filter((e) => e.clientOrderId === "stop-b").map((e) => e.priceKrw),
    [70_000n],
    "its fills are told with the trade that triggered it",
  );
  engine.submit(order("sl", "sell", 2, 69_000n, { type: "stop_limit", stopPriceKrw: 69_500n }));
  t.equal(engine.cancel("sl")?.cancelledQuantity, 2, "a waiting stop can be cancelled");
});

t.test("최유리 and 최우선 limit orders take their price on arrival; 조건부 becomes a market order at the close", async (t) => {
  const engine = engineWith();
  engine.submit(order("s-1", "sell", 5, 70_200n));
  engine.submit(order("s-2", "sell", 5, 70_300n));
  engine.submit(order("b-1", "buy", 5, 69_800n));
  const best = engine.submit(order("best", "buy", 8, 0n, { type: "best" }));
  t.same(
    [best.order.priceKrw, best.order.filledQuantity, best.order.remaining],
    [70_200n, 5, 3],
    "takes 70,200 only; the rest rests there",
  );
  const top = engine.submit(order("top", "sell", 2, 0n, { type: "top" }));
  t.same([top.order.priceKrw, top.order.status], [70_300n, "accepted"], "joins the best offer");
  engine.submit(order("cond", "sell", 4, 70_300n, { type: "conditional" }));
  engine.setMode("005930", "auction");
  engine.convertConditionals();
  engine.submit(order("b-close", "buy", 4, 69_000n));
  // Bids 70,200:3 69,800:5 69,000:4 against the converted market sell of 4 (asks 70,300:7):
  // 70,200 executes 3, 69,800 executes 4 with imbalance 4, 69,000 executes 4 with imbalance 8.
  const closing = engine.uncross("005930", true);
  t.same(
    closing.filter((e) => e.clientOrderId === "cond").map((e) => [e.priceKrw, e.quantity]),
    [
      [69_800n, 3],
      [69_800n, 1],
    ],
    "the conditional order sold all 4 at the closing price as a market order",
  );
  t.equal(engine.listing("005930")?.mode, "closed");
});

t.test("the market-order collar: never beyond the band from the last price; the rest is cancelled", async (t) => {
  const engine = engineWith({ collarPercent: 2 });
  engine.submit(order("s-1", "sell", 5, 71_000n));
  engine.submit(order("s-2", "sell", 5, 71_500n)); // beyond 70,000 + 2 % = 71,400
  const r = engine.submit(order("m", "buy", 10, 0n));
  t.same([r.order.filledQuantity, r.order.status], [5, "cancelled"]);
  t.equal(engine.book("005930")?.bestPrice("sell"), 71_500n);
});

t.test("amend: a smaller quantity keeps time priority, a new price loses it", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("b", "buy", 10, 69_000n));
  const smaller = engine.submit(order("a2", "buy", 4, 69_000n, { amends: "a" }));
  t.equal(smaller.order.status, "accepted");
  t.equal(engine.status("a")?.status, "cancelled", "the original is replaced");
  engine.submit(order("s-1", "sell", 4, 69_000n));
  t.equal(engine.status("a2")?.status, "filled", "a2 kept a's place ahead of b");
  engine.submit(order("b2", "buy", 10, 69_100n, { amends: "b" }));
  engine.submit(order("c", "buy", 10, 69_100n));
  engine.submit(order("s-2", "sell", 10, 69_100n));
  t.equal(engine.status("b2")?.status, "filled", "b2 is first at its new price (the only order there before c)");
  engine.submit(order("d", "buy", 5, 69_100n));
  engine.submit(order("c2", "buy", 20, 69_100n, { amends: "c" }));
  engine.submit(order("s-3", "sell", 5, 69_100n));
  t.same([engine.status("d")?.status, engine.status("c2")?.filledQuantity], ["filled", 0], "an increase goes to the back, behind d");
  t.match(engine.submit(order("z", "buy", 1, 69_000n, { amends: "a" })).order.rejectReason, /nothing to amend/);
});

t.test("amend cap: no fills meanwhile (k = 0), the replacement keeps its quantity and a decrease its place", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("b", "buy", 10, 69_000n));
  const a2 = engine.submit(order("a2", "buy", 4, 69_000n, { amends: "a", amendsFilledQuantity: 0 })).order;
  t.same([a2.status, a2.quantity, a2.remaining], ["accepted", 4, 4]);
  engine.submit(order("s", "sell", 4, 69_000n));
  t.same([engine.status("a2")?.status, engine.status("b")?.filledQuantity], ["filled", 0], "a2 kept a's place ahead of b");
});

t.test("amend cap: k fills meanwhile, the replacement is capped to Q - k and is FILLED when that traded", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("b", "buy", 10, 69_000n));
  engine.submit(order("s-1", "sell", 3, 69_000n)); // a fills 3 the broker has not heard of (k = 3)
  // The broker asks for 8 in all, believing a filled 0: a's 3 leave 5, a decrease from a's 7 left, so it keeps a's place.
  const a2 = engine.submit(order("a2", "buy", 8, 69_000n, { amends: "a", amendsFilledQuantity: 0 })).order;
  t.same([a2.status, a2.quantity, a2.remaining], ["accepted", 5, 5]);
  t.same([engine.status("a")?.status, engine.status("a")?.filledQuantity], ["cancelled", 3]);
  engine.submit(order("s-2", "sell", 6, 69_000n));
  t.same([a2.status, a2.filledQuantity, engine.status("b")?.filledQuantity], ["filled", 5, 1], "a2 traded its 5, b the 6th");
  t.equal(engine.status("a")!.filledQuantity + a2.filledQuantity, 8, "together never more than the broker held for (0 + 8)");
  // A known partial fill counts: a3 held for 2 + 6 with 2 filled and 3 more since (k = 3): 3 left, at a new price (back of the queue).
  engine.submit(order("c", "buy", 10, 69_000n));
  engine.submit(order("s-3", "sell", 9, 69_000n)); // b's last 9
  engine.submit(order("s-4", "sell", 5, 69_000n)); // c fills 5
  const c2 = engine.submit(order("c2", "buy", 6, 68_900n, { amends: "c", amendsFilledQuantity: 2 })).order;
  t.same([c2.status, c2.quantity, engine.book("005930")?.bestPrice("buy")], ["accepted", 3, 68_900n]);
});

t.test("amend cap: k >= Q, the original is withdrawn and the replacement CANCELLED at once; nothing trades", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("s-1", "sell", 2, 69_000n)); // the broker hears of these 2
  engine.submit(order("s-2", "sell", 5, 69_000n)); // but not of these 5 (k = 5)
  const a2 = engine.submit(order("a2", "buy", 5, 69_000n, { amends: "a", amendsFilledQuantity: 2 }));
  t.same([a2.order.status, a2.order.quantity, a2.order.filledQuantity, a2.executions.length], ["cancelled", 0, 0, 0]);
  t.same([engine.status("a")?.status, engine.status("a")?.filledQuantity, engine.status("a")?.remaining], ["cancelled", 7, 0]);
  t.equal(engine.book("005930")?.bestPrice("buy"), undefined, "a's last 3 left the book");
  const s3 = engine.submit(order("s-3", "sell", 3, 69_000n));
  t.same([s3.executions.length, s3.order.remaining], [0, 3], "nothing of a or a2 is left to trade");
  const b = engine.submit(order("b", "buy", 10, 69_000n)).order;
  const b2 = engine.submit(order("b2", "buy", 2, 69_100n, { amends: "b", amendsFilledQuantity: 0 })).order;
  t.same([b.filledQuantity, b2.status, b2.quantity], [3, "cancelled", 0], "k = 3 beyond Q = 2 alike, at a new price");
});

t.test("amend cap: more than the original filled is REJECTED, and the original works on untouched", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("s-1", "sell", 2, 69_000n));
  const a2 = engine.submit(order("a2", "buy", 8, 69_000n, { amends: "a", amendsFilledQuantity: 3 })).order;
  t.equal(a2.status, "rejected");
  t.match(a2.rejectReason, /amends_filled_quantity 3 is more than a has filled \(2\)/);
  t.same([engine.status("a")?.status, engine.status("a")?.remaining], ["partially_filled", 8]);
  engine.submit(order("s-2", "sell", 8, 69_000n));
  t.equal(engine.status("a")?.status, "filled", "a still traded");
  const alone = engine.submit(order("n", "buy", 1, 69_000n, { amendsFilledQuantity: 0 })).order;
  t.match([alone.status, alone.rejectReason], ["rejected", /only for an amendment/]);
});

t.test("amend cap: unset, no cap (the replacement may trade its whole quantity after the original's fills)", async (t) => {
  const engine = engineWith();
  engine.submit(order("a", "buy", 10, 69_000n));
  engine.submit(order("s-1", "sell", 3, 69_000n));
  const a2 = engine.submit(order("a2", "buy", 8, 69_000n, { amends: "a" })).order;
  t.same([a2.status, a2.quantity, a2.remaining], ["accepted", 8, 8]);
  engine.submit(order("s-2", "sell", 8, 69_000n));
  t.equal(engine.status("a")!.filledQuantity + a2.filledQuantity, 11, "today's behaviour: 3 + 8");
});

t.test("dynamic VI: a trade beyond 3 % from the last price sends the symbol to a 2-minute auction", async (t) => {
  const engine = engineWith({ volatilityInterruption: true });
  engine.submit(order("s-1", "sell", 5, 70_000n));
  engine.submit(order("s-2", "sell", 5, 72_500n)); // 70,000 + 3 % = 72,100
  engine.submit(order("b-0", "buy", 1, 70_000n)); // last price 70,000
  const r = engine.submit(order("b-1", "buy", 10, 73_000n));
  t.equal(r.order.filledQuantity, 4, "filled inside the band only");
  const listing = engine.listing("005930")!;
  t.same([listing.mode, listing.viUntilMs], ["auction", NOW.getTime() + 120_000]);
  t.same(engine.viDue(NOW.getTime() + 120_000), ["005930"]);
  t.equal(engine.book("005930")?.bestPrice("buy"), 73_000n, "the rest waits in the auction");
  const trades = engine.uncross("005930");
  t.ok(trades.length > 0 && trades.every((e) => e.priceKrw === 72_500n), "the VI auction uncrosses");
  t.equal(engine.listing("005930")?.staticReferenceKrw, 72_500n, "its price is the static VI's new base");
});

t.test("static VI: an opening price 10 % from the reference extends the auction once", async (t) => {
  const engine = engineWith({ volatilityInterruption: true });
  engine.setMode("005930", "auction");
  engine.submit(order("s-1", "sell", 5, 78_000n));
  engine.submit(order("b-1", "buy", 5, 78_000n));
  t.equal(engine.uncross("005930").length, 0, "extended instead");
  t.not(engine.listing("005930")?.viUntilMs, 0);
  t.equal(engine.uncross("005930").length, 2, "the extension's end trades at any price");
});

t.test("the KRX calendar: phases by Korea time, weekends and holidays", async (t) => {
  const kst = (s: string) => Date.parse(`${s}+09:00`);
  t.same(phaseAt("krx", kst("2026-12-01T08:29:59")), { phase: "closed", tradingDay: "2026-12-01", untilMs: kst("2026-12-01T08:30:00") });
  t.equal(phaseAt("krx", kst("2026-12-01T08:30:00")).phase, "preopen");
  t.equal(phaseAt("krx", kst("2026-12-01T09:00:00")).phase, "continuous");
  t.equal(phaseAt("krx", kst("2026-12-01T15:20:00")).phase, "closing");
  t.same(phaseAt("krx", kst("2026-12-04T15:30:00")).untilMs, kst("2026-12-07T08:30:00"), "Friday's close lasts the weekend");
  t.same(phaseAt("krx", kst("2026-12-24T16:00:00")).untilMs, kst("2026-12-28T08:30:00"), "Christmas is a holiday");
  t.notOk(isBusinessDay("2026-12-25"));
  t.equal(phaseAt("always-open", kst("2026-12-05T03:00:00")).phase, "continuous");
  const clock = { wallAnchorMs: 1_000, venueAnchorMs: kst("2026-12-01T08:29:00"), speed: 390 };
  t.equal(venueTimeMs(clock, 1_000 + 60_000), kst("2026-12-01T08:29:00") + 390 * 60_000, "a minute of wall time is 6.5 venue hours");
  t.ok(venueTimeMs(clock, wallTimeMs(clock, kst("2026-12-01T09:00:00"))) >= kst("2026-12-01T09:00:00"));
});

t.test(
  "an accelerated day on the venue clock: pre-open auction, continuous, closing auction, roll, a GTC order the next day",
  async (t) => {
    const kst = (s: string) => Date.parse(`${s}+09:00`);
    const settings: VenueSettings = {
      schedule: "krx",
      clock: { wallAnchorMs: 0, venueAnchorMs: kst("2026-12-01T08:00:00"), speed: 60 },
      engine: { volatilityInterruption: true },
    };
    const atVenue = (s: string) => new Date(Math.ceil((kst(s) - settings.clock.venueAnchorMs) / 60));
    const run = () => {
      const venue = new Venue([SAMSUNG], "d1", { seed: 1, levels: 3, minQuantity: 10, maxQuantity: 20 }, new Date(0), settings);
      const seen: string[] = [`${venue.phase.phase}`];
      const commands: Command[] = [
        { kind: "submit", at: atVenue("2026-12-01T08:40:00"), input: order("pre-b", "buy", 30, 70_200n) },
        { kind: "submit", at: atVenue("2026-12-01T08:41:00"), input: order("gtc", "sell", 5, 75_000n, { timeInForce: "gtc" }) },
        { kind: "clock", at: atVenue("2026-12-01T09:00:01") },
        { kind: "submit", at: atVenue("2026-12-01T10:00:00"), input: order("day", "buy", 1, 65_000n) },
        { kind: "clock", at: atVenue("2026-12-01T15:31:00") },
        // 75,000 is beyond the dynamic VI band around the new reference: a VI auction until 09:12.
        { kind: "submit", at: atVenue("2026-12-02T09:10:00"), input: order("next", "buy", 5, 75_000n) },
        { kind: "clock", at: atVenue("2026-12-02T09:12:01") },
      ];
      const outcomes = commands.map((c) => {
        const o = venue.apply(c);
        seen.push(`${venue.phase.tradingDay} ${venue.phase.phase}`);
        return o;
      });
      return { venue, seen, outcomes };
    };
    const { venue, seen, outcomes } = run();
    t.same(seen, [
      "closed",
      "2026-12-01 preopen",
      "2026-12-01 preopen",
      "2026-12-01 continuous",
      "2026-12-01 continuous",
      "2026-12-01 closed",
      "2026-12-02 continuous",
      "2026-12-02 continuous",
    ]);
    const open = outcomes[2]!.publication.executions;
    t.ok(
      open.length > 0 && open.every((e) => e.executedAt.getTime() === kst("2026-12-01T09:00:00")),
      "the opening auction traded at 09:00 sharp",
    );
    t.equal(venue.engine.status("day")?.status, "expired", "the DAY order expired at the close");
    t.ok(
      outcomes[4]!.publication.expired.some((o) => o.clientOrderId === "day"),
      "and the world is told",
    );
    const reference = venue.engine.listing("005930")!.referencePriceKrw;
    t.not(reference, 70_000n, `the close became the reference (${reference})`);
    t.equal(venue.engine.status("gtc")?.status, "filled", "the GTC order traded the next day, in the VI auction");
    t.same(
      outcomes[6]!.publication.executions.map((e) => [e.clientOrderId, e.priceKrw, e.executedAt.getTime()]),
      [
        ["gtc", 75_000n, kst("2026-12-02T09:12:00")],
        ["next", 75_000n, kst("2026-12-02T09:12:00")],
      ],
      "the VI auction uncrossed two minutes after it started",
    );
    const again = run();
    t.same(
      again.outcomes.map((o) => o.publication.executions),
      outcomes.map((o) => o.publication.executions),
      "same commands, same tape",
    );
  },
);

t.test("the background flow: a living tape, the same byte for byte for the same seed and user orders", async (t) => {
  const tape = (seed: number) => {
    const settings: VenueSettings = {
      schedule: "always-open",
      clock: { wallAnchorMs: 0, venueAnchorMs: NOW.getTime(), speed: 1 },
      engine: {},
      background: { seed, intervalMs: 1_000, ordersPerTick: 5, dailyVolatilityBp: 400 },
    };
    const venue = new Venue([SAMSUNG], "bg1", { seed: 1, levels: 3, minQuantity: 10, maxQuantity: 50 }, new Date(0), settings);
    const lines: string[] = [];
    for (let minute = 1; minute <= 60; minute++) {
      const at = new Date(minute * 60_000);
      const input = order(`user-${minute}`, minute % 2 === 0 ? "buy" : "sell", 3, 0n);
      const { publication } = venue.apply(minute % 10 === 0 ? { kind: "submit", at, input } : { kind: "clock", at });
      lines.push(JSON.stringify(publication, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
    }
    return lines.join("\n");
  };
  const first = tape(7);
  t.equal(tape(7), first, "same seed, same user orders: the same tape");
  t.not(tape(8), first, "another seed, another tape");
  const prices = new Set([...first.matchAll(/"priceKrw":"(\d+)"/g)].map((m) => m[1]));
  t.ok(prices.size >= 10, `the price moves (${prices.size} distinct trade and book prices in an hour)`);
  t.match(first, /"clientOrderId":"bg-005930-\d+"/, "background traders trade");
});
