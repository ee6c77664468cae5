// A triggered stop is news of its own: the venue's publication names every
// stop the last trade triggered, with its status once the command was applied,
// so a stop-limit that rests unfilled reaches its broker as ACCEPTED.
import t from "tap";
import { Engine, type SubmitInput } from "../src/domain/engine.js";
import { Venue } from "../src/domain/venue.js";

const SAMSUNG = { symbol: "005930", name: "Samsung Electronics", referencePriceKrw: 70_000n, market: "KOSPI", kospi200: true } as const;
const MARKET_MAKER = { seed: 7, levels: 3, minQuantity: 10, maxQuantity: 20 };

function openVenue() {
  let atMs = Date.parse("2026-12-01T01:00:00Z");
  const venue = new Venue([SAMSUNG], "st1", MARKET_MAKER, new Date(atMs));
  const submit = (input: Omit<SubmitInput, "symbol" | "timeInForce"> & Partial<SubmitInput>) =>
    venue.apply({ kind: "submit", at: new Date(++atMs), input: { symbol: "005930", timeInForce: "day", ...input } });
  const best = (side: "buy" | "sell") => venue.engine.book("005930")!.bestPrice(side)!;
  return { venue, submit, best };
}

t.test("a stop-limit triggered by another order's trade, resting unfilled, is published as accepted once", async (t) => {
  const { venue, submit, best } = openVenue();
  const askKrw = best("sell");
  const held = submit({
    clientOrderId: "stop-limit",
    side: "buy",
    type: "stop_limit",
    quantity: 4,
    priceKrw: best("buy") - 500n,
    stopPriceKrw: askKrw,
  });
  t.equal(venue.engine.status("stop-limit")?.status, "waiting", "no trade yet: it waits");
  t.same(held.publication.triggered, [], "waiting is not a trigger");

  const trade = submit({ clientOrderId: "taker", side: "buy", type: "market", quantity: 1, priceKrw: 0n });
  t.equal(trade.publication.executions[0]?.priceKrw, askKrw, "another user's trade at the stop price");
  t.same(
    trade.publication.triggered,
    [{ clientOrderId: "stop-limit", status: "accepted", remaining: 4, quantity: 4 }],
    "the trigger, resting unfilled",
  );
  t.equal(venue.engine.status("stop-limit")?.remaining, 4, "it rests at its limit");

  const next = submit({ clientOrderId: "taker-2", side: "buy", type: "market", quantity: 1, priceKrw: 0n });
  t.same(next.publication.triggered, [], "told once");
  const cancelled = venue.apply({ kind: "cancel", at: new Date(Date.parse("2026-12-01T01:00:01Z")), clientOrderId: "stop-limit" });
  t.equal(venue.engine.status("stop-limit")?.status, "cancelled");
  t.same(cancelled.publication.triggered, [], "a cancel tells its own news");
});

t.test("a stop that trades when triggered is published with the status after its fills, which come first", async (t) => {
  const { venue, submit, best } = openVenue();
  const askKrw = best("sell");
  submit({ clientOrderId: "stop", side: "buy", type: "stop", quantity: 2, priceKrw: 0n, stopPriceKrw: askKrw });
  const trade = submit({ clientOrderId: "taker", side: "buy", type: "market", quantity: 1, priceKrw: 0n });
  const stopFills = trade.publication.executions.filter((e) => e.clientOrderId === "stop");
  t.equal(
    stopFills.reduce((n, e) => n + e.quantity, 0),
    2,
    "the triggered stop bought its 2 shares in the same command",
  );
  t.same(trade.publication.triggered, [{ clientOrderId: "stop", status: "filled", remaining: 0, quantity: 2 }]);
  t.equal(venue.engine.status("stop")?.status, "filled");
});

t.test("a stop the opening auction triggers is told with the command that let the clock run", async (t) => {
  const kst = (at: string) => Date.parse(`${at}+09:00`);
  const openedAtMs = kst("2026-12-01T08:40:00");
  const venue = new Venue([SAMSUNG], "st2", MARKET_MAKER, new Date(openedAtMs), {
    schedule: "krx",
    clock: { wallAnchorMs: openedAtMs, venueAnchorMs: openedAtMs, speed: 1 },
    engine: {},
  });
  const submit = (at: string, input: Omit<SubmitInput, "symbol" | "timeInForce">) =>
    venue.apply({ kind: "submit", at: new Date(kst(at)), input: { symbol: "005930", timeInForce: "day", ...input } });
  t.equal(venue.phase.phase, "preopen");
  submit("2026-12-01T08:41:00", { clientOrderId: "b", side: "buy", type: "limit", quantity: 10, priceKrw: 70_500n });
  submit("2026-12-01T08:42:00", { clientOrderId: "s", side: "sell", type: "limit", quantity: 10, priceKrw: 69_500n });
  const held = submit("2026-12-01T08:43:00", {
    clientOrderId: "stop-limit",
    side: "buy",
    type: "stop_limit",
    quantity: 2,
    priceKrw: 60_000n,
    stopPriceKrw: 50_000n,
  });
  t.equal(held.kind === "submit" && held.result.order.status, "waiting", "no trade before the open: it waits");
  const opened = venue.apply({ kind: "clock", at: new Date(kst("2026-12-01T09:00:01")) });
  t.ok(opened.publication.executions.length > 0, "the opening auction traded");
  t.same(
    opened.publication.triggered,
    [{ clientOrderId: "stop-limit", status: "accepted", remaining: 2, quantity: 2 }],
    "the trigger, told at the open",
  );
});

t.test("a stop market order triggered into an empty side is cancelled, and the trigger says so", async (t) => {
  const engine = new Engine([SAMSUNG], "st3", () => new Date("2026-12-01T01:00:00Z"));
  const order = (clientOrderId: string, side: "buy" | "sell", more: Partial<SubmitInput>): SubmitInput => ({
    clientOrderId,
    symbol: "005930",
    side,
    type: "limit",
    timeInForce: "day",
    quantity: 1,
    priceKrw: 70_000n,
    ...more,
  });
  engine.submit(order("ask", "sell", {}));
  engine.submit(order("stop", "buy", { type: "stop", priceKrw: 0n, stopPriceKrw: 70_000n, quantity: 2 }));
  t.same(engine.takeTriggered(), [], "no trade yet");
  engine.submit(order("bid", "buy", {}));
  t.same(
    engine.takeTriggered().map((o) => [o.clientOrderId, o.status, o.filledQuantity]),
    [["stop", "cancelled", 0]],
    "the trade took the only ask: the triggered market order finds nothing and is cancelled (without a fill, no other event tells it)",
  );
  t.same(engine.takeTriggered(), [], "taken once");
});
