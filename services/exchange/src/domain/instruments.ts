import type { Instrument } from "./engine.js";

/**
 * The simulator's instrument master: KOSPI and KOSDAQ names with the first
 * day's reference price (a recent close, rounded; not a live quote), from
 * which the KRX daily limits follow. Every band of the tick ladder is listed
 * (below 2,000 won up to above 500,000). Later days roll each reference to
 * the venue's own close.
 */
export const INSTRUMENTS: readonly Instrument[] = [
  { symbol: "005930", name: "Samsung Electronics", referencePriceKrw: 70_000n, market: "KOSPI", kospi200: true },
  { symbol: "000660", name: "SK hynix", referencePriceKrw: 180_000n, market: "KOSPI", kospi200: true },
  { symbol: "035420", name: "NAVER", referencePriceKrw: 190_000n, market: "KOSPI", kospi200: true },
  { symbol: "035720", name: "Kakao", referencePriceKrw: 45_000n, market: "KOSPI", kospi200: true },
  { symbol: "005380", name: "Hyundai Motor", referencePriceKrw: 230_000n, market: "KOSPI", kospi200: true },
  { symbol: "051910", name: "LG Chem", referencePriceKrw: 350_000n, market: "KOSPI", kospi200: true },
  { symbol: "068270", name: "Celltrion", referencePriceKrw: 175_000n, market: "KOSPI", kospi200: true },
  { symbol: "105560", name: "KB Financial", referencePriceKrw: 78_000n, market: "KOSPI", kospi200: true },
  { symbol: "207940", name: "Samsung Biologics", referencePriceKrw: 1_000_000n, market: "KOSPI", kospi200: true },
  { symbol: "373220", name: "LG Energy Solution", referencePriceKrw: 380_000n, market: "KOSPI", kospi200: true },
  { symbol: "005490", name: "POSCO Holdings", referencePriceKrw: 300_000n, market: "KOSPI", kospi200: true },
  { symbol: "000270", name: "Kia", referencePriceKrw: 95_000n, market: "KOSPI", kospi200: true },
  { symbol: "012330", name: "Hyundai Mobis", referencePriceKrw: 240_000n, market: "KOSPI", kospi200: true },
  { symbol: "055550", name: "Shinhan Financial Group", referencePriceKrw: 50_000n, market: "KOSPI", kospi200: true },
  { symbol: "086790", name: "Hana Financial Group", referencePriceKrw: 60_000n, market: "KOSPI", kospi200: true },
  { symbol: "015760", name: "KEPCO", referencePriceKrw: 22_000n, market: "KOSPI", kospi200: true },
  { symbol: "017670", name: "SK Telecom", referencePriceKrw: 52_000n, market: "KOSPI", kospi200: true },
  { symbol: "030200", name: "KT", referencePriceKrw: 40_000n, market: "KOSPI", kospi200: true },
  { symbol: "010130", name: "Korea Zinc", referencePriceKrw: 800_000n, market: "KOSPI", kospi200: true },
  { symbol: "316140", name: "Woori Financial Group", referencePriceKrw: 15_000n, market: "KOSPI", kospi200: true },
  { symbol: "024110", name: "Industrial Bank of Korea", referencePriceKrw: 14_000n, market: "KOSPI", kospi200: true },
  { symbol: "006800", name: "Mirae Asset Securities", referencePriceKrw: 8_000n, market: "KOSPI" },
  { symbol: "003530", name: "Hanwha Investment & Securities", referencePriceKrw: 3_500n, market: "KOSPI" },
  { symbol: "001510", name: "SK Securities", referencePriceKrw: 600n, market: "KOSPI" },
  { symbol: "247540", name: "EcoPro BM", referencePriceKrw: 180_000n, market: "KOSDAQ" },
  { symbol: "086520", name: "EcoPro", referencePriceKrw: 90_000n, market: "KOSDAQ" },
  { symbol: "196170", name: "Alteogen", referencePriceKrw: 300_000n, market: "KOSDAQ" },
  { symbol: "028300", name: "HLB", referencePriceKrw: 60_000n, market: "KOSDAQ" },
  { symbol: "293490", name: "Kakao Games", referencePriceKrw: 18_000n, market: "KOSDAQ" },
  { symbol: "263750", name: "Pearl Abyss", referencePriceKrw: 35_000n, market: "KOSDAQ" },
  { symbol: "035900", name: "JYP Entertainment", referencePriceKrw: 60_000n, market: "KOSDAQ" },
  { symbol: "041510", name: "SM Entertainment", referencePriceKrw: 80_000n, market: "KOSDAQ" },
  { symbol: "058470", name: "LEENO Industrial", referencePriceKrw: 200_000n, market: "KOSDAQ" },
  { symbol: "145020", name: "Hugel", referencePriceKrw: 250_000n, market: "KOSDAQ" },
  { symbol: "039030", name: "EO Technics", referencePriceKrw: 150_000n, market: "KOSDAQ" },
  { symbol: "067310", name: "Hana Micron", referencePriceKrw: 12_000n, market: "KOSDAQ" },
  { symbol: "036540", name: "SFA Semicon", referencePriceKrw: 4_000n, market: "KOSDAQ" },
];
