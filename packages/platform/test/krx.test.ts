import t from "tap";
import { dailyPriceLimits, isOnTick, roundToTick, sellTaxPpm, tickSizeKrw, tradingDay } from "../src/krx.js";

t.test("the tick ladder at its boundaries", async (t) => {
  const cases: [bigint, bigint][] = [
    [1n, 1n],
    [1_999n, 1n],
    [2_000n, 5n],
    [4_995n, 5n],
    [5_000n, 10n],
    [19_990n, 10n],
    [20_000n, 50n],
    [49_950n, 50n],
    [50_000n, 100n],
    [199_900n, 100n],
    [200_000n, 500n],
    [499_500n, 500n],
    [500_000n, 1_000n],
  ];
  for (const [price, tick] of cases) t.equal(tickSizeKrw(price), tick, `${price}`);
  t.throws(() => tickSizeKrw(0n), RangeError);
});

t.test("on-tick checks and rounding across bands", async (t) => {
  t.ok(isOnTick(72_000n));
  t.notOk(isOnTick(72_050n), "72,050 is off the 100-won tick");
  t.notOk(isOnTick(0n));
  t.equal(roundToTick(72_050n, "down"), 72_000n);
  t.equal(roundToTick(72_050n, "up"), 72_100n);
  t.equal(roundToTick(49_990n, "up"), 50_000n, "crosses into the 100-won band");
  t.equal(roundToTick(199_950n, "up"), 200_000n);
  t.equal(roundToTick(1_999n, "up"), 1_999n);
});

t.test("daily limits are +/-30 % rounded inward", async (t) => {
  t.same(dailyPriceLimits(72_000n), { upperLimitKrw: 93_600n, lowerLimitKrw: 50_400n });
  // 30 % of 10,010 = 3,003: 13,013 -> 13,010 (down), 7,007 -> 7,010 (up).
  t.same(dailyPriceLimits(10_010n), { upperLimitKrw: 13_010n, lowerLimitKrw: 7_010n });
});

t.test("the trading day turns at midnight in Seoul, 15:00 UTC", async (t) => {
  t.equal(tradingDay(new Date("2026-11-25T14:59:59.999Z")), "2026-11-25");
  t.equal(tradingDay(new Date("2026-11-25T15:00:00Z")), "2026-11-26");
});

t.test("the sell-side tax comes from the dated table, per market", async (t) => {
  t.equal(sellTaxPpm("KOSPI", "2024-12-31"), 1_800n);
  t.equal(sellTaxPpm("KOSDAQ", "2025-01-01"), 1_500n, "a new rate applies from its first day");
  t.equal(sellTaxPpm("KOSPI", "2026-12-01"), 2_000n);
  t.throws(() => sellTaxPpm("KOSPI", "2022-12-31"), RangeError, "no guess before the table starts");
});
