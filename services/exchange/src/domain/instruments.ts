import type { Instrument } from "./engine.js";

/**
 * The simulator's instrument master: KOSPI names with a fixed reference
 * price (yesterday's close, in won), from which the KRX daily limits follow.
 */
export const INSTRUMENTS: readonly Instrument[] = [
  { symbol: "005930", name: "Samsung Electronics", referencePriceKrw: 70_000n },
  { symbol: "000660", name: "SK hynix", referencePriceKrw: 180_000n },
  { symbol: "035420", name: "NAVER", referencePriceKrw: 190_000n },
  { symbol: "035720", name: "Kakao", referencePriceKrw: 45_000n },
  { symbol: "005380", name: "Hyundai Motor", referencePriceKrw: 230_000n },
  { symbol: "051910", name: "LG Chem", referencePriceKrw: 350_000n },
  { symbol: "068270", name: "Celltrion", referencePriceKrw: 175_000n },
  { symbol: "105560", name: "KB Financial", referencePriceKrw: 78_000n },
];
