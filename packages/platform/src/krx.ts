// Pure (no Node APIs): the web console imports it too, as @kuku/platform/krx.
// KRX market rules shared by the services that quote and check prices:
// the tick-size ladder for KOSPI/KOSDAQ stocks in force since 2023-01-25,
// the daily price limits of +/-30 % around the reference price, and the
// trading day (Korea time) a moment belongs to.

const LADDER: readonly { belowKrw: bigint; tickKrw: bigint }[] = [
  { belowKrw: 2_000n, tickKrw: 1n },
  { belowKrw: 5_000n, tickKrw: 5n },
  { belowKrw: 20_000n, tickKrw: 10n },
  { belowKrw: 50_000n, tickKrw: 50n },
  { belowKrw: 200_000n, tickKrw: 100n },
  { belowKrw: 500_000n, tickKrw: 500n },
];
const TOP_TICK_KRW = 1_000n;
const PRICE_LIMIT_PERCENT = 30n;

export function tickSizeKrw(priceKrw: bigint): bigint {
  if (priceKrw <= 0n) throw new RangeError(`price must be positive, got ${priceKrw}`);
  return LADDER.find((step) => priceKrw < step.belowKrw)?.tickKrw ?? TOP_TICK_KRW;
}

export function isOnTick(priceKrw: bigint): boolean {
  return priceKrw > 0n && priceKrw % tickSizeKrw(priceKrw) === 0n;
}

export function roundToTick(priceKrw: bigint, direction: "down" | "up"): bigint {
  const tick = tickSizeKrw(priceKrw);
  const down = priceKrw - (priceKrw % tick);
  if (direction === "down" || down === priceKrw) return down;
  // Rounding up can cross into a coarser band; round again there.
  const up = down + tick;
  return isOnTick(up) ? up : roundToTick(up, "up");
}

export interface PriceLimits {
  readonly upperLimitKrw: bigint;
  readonly lowerLimitKrw: bigint;
}

/** Limit-up and limit-down, rounded inward onto the ladder. */
export function dailyPriceLimits(referencePriceKrw: bigint): PriceLimits {
  const swingKrw = (referencePriceKrw * PRICE_LIMIT_PERCENT) / 100n;
  return {
    upperLimitKrw: roundToTick(referencePriceKrw + swingKrw, "down"),
    lowerLimitKrw: roundToTick(referencePriceKrw - swingKrw, "up"),
  };
}

/** Korea time is UTC+9 all year (no daylight saving). */
export const KST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** The KRX trading day (Korea time) a moment belongs to, as YYYY-MM-DD. */
export function tradingDay(at: Date): string {
  return new Date(at.getTime() + KST_OFFSET_MS).toISOString().slice(0, 10);
}

export type KrxMarket = "KOSPI" | "KOSDAQ";

/**
 * The sell-side securities transaction tax (증권거래세, with the rural
 * development tax on KOSPI) per market, in parts per million of the sale,
 * by the trading day it applies from: the statutory schedule that lowered it
 * through 2025 and restored it for 2026. Newest first.
 */
const SELL_TAX_SCHEDULE: readonly { from: string; ppm: Record<KrxMarket, bigint> }[] = [
  { from: "2026-01-01", ppm: { KOSPI: 2_000n, KOSDAQ: 2_000n } },
  { from: "2025-01-01", ppm: { KOSPI: 1_500n, KOSDAQ: 1_500n } },
  { from: "2024-01-01", ppm: { KOSPI: 1_800n, KOSDAQ: 1_800n } },
  { from: "2023-01-01", ppm: { KOSPI: 2_000n, KOSDAQ: 2_000n } },
];

/** The sell-side tax rate in force on `day` (YYYY-MM-DD, Korea time) for `market`. */
export function sellTaxPpm(market: KrxMarket, day: string): bigint {
  const row = SELL_TAX_SCHEDULE.find((r) => day >= r.from);
  if (row === undefined) throw new RangeError(`no sell tax rate known for ${day}`);
  return row.ppm[market];
}

/**
 * KRX's order types: `best` 최유리 지정가 and `top` 최우선 지정가 (priced by
 * the book on arrival), `conditional` 조건부 지정가 (a limit that becomes a
 * market order in the closing auction), `stop`/`stop_limit` (held by the
 * venue until the last trade reaches the stop price).
 */
export type KrxOrderType = "limit" | "market" | "best" | "top" | "conditional" | "stop" | "stop_limit";
export type KrxTimeInForce = "day" | "ioc" | "fok" | "gtc";

/**
 * Per type: whether it carries a limit price and a stop price, the times in
 * force the venue takes with it, and whether a buy's worst fill is the day's
 * upper limit (the venue prices it, or turns it into a market order), which
 * is what the order service holds and the console shows before sending.
 */
export const KRX_ORDER_TYPES: Readonly<
  Record<
    KrxOrderType,
    { readonly priced: boolean; readonly stop: boolean; readonly tifs: readonly KrxTimeInForce[]; readonly marketLike: boolean }
  >
> = {
  limit: { priced: true, stop: false, tifs: ["day", "ioc", "fok", "gtc"], marketLike: false },
  market: { priced: false, stop: false, tifs: ["day", "ioc", "fok"], marketLike: true },
  best: { priced: false, stop: false, tifs: ["day", "ioc", "fok"], marketLike: true },
  top: { priced: false, stop: false, tifs: ["day"], marketLike: true },
  conditional: { priced: true, stop: false, tifs: ["day"], marketLike: true },
  stop: { priced: false, stop: true, tifs: ["day", "gtc"], marketLike: true },
  stop_limit: { priced: true, stop: true, tifs: ["day", "gtc"], marketLike: false },
};
