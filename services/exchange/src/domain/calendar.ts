// When the venue trades. KRX's regular day (Korea time): the pre-open
// single-price auction collects orders 08:30-09:00 and uncrosses at 09:00,
// continuous trading runs 09:00-15:20, the closing single-price auction
// collects 15:20-15:30 and uncrosses at 15:30; weekends and the holidays
// below are closed. "always-open" trades continuously at every hour (tests,
// drills and benchmarks run at any wall-clock time) and never closes by itself.
import { KST_OFFSET_MS, tradingDay } from "@kuku/platform/krx";

export type MarketPhase = "closed" | "preopen" | "continuous" | "closing";
export type ScheduleName = "krx" | "always-open";

export interface PhaseSpan {
  readonly phase: MarketPhase;
  /** The KRX trading day (YYYY-MM-DD, Korea time) the phase belongs to. */
  readonly tradingDay: string;
  /** When the next phase starts (venue time, ms since the epoch); Infinity when never. */
  readonly untilMs: number;
}

/**
 * KRX closures on weekdays (Korea time), from the exchange's published calendar;
 * a dated table, extended each December. Dates not listed are business days
 * unless they fall on a weekend.
 */
export const KRX_HOLIDAYS: ReadonlySet<string> = new Set([
  // 2025
  "2025-01-01",
  "2025-01-27",
  "2025-01-28",
  "2025-01-29",
  "2025-01-30",
  "2025-03-03",
  "2025-05-01",
  "2025-05-05",
  "2025-05-06",
  "2025-06-03",
  "2025-06-06",
  "2025-08-15",
  "2025-10-03",
  "2025-10-06",
  "2025-10-07",
  "2025-10-08",
  "2025-10-09",
  "2025-12-25",
  "2025-12-31",
  // 2026
  "2026-01-01",
  "2026-02-16",
  "2026-02-17",
  "2026-02-18",
  "2026-03-02",
  "2026-05-01",
  "2026-05-05",
  "2026-05-25",
  "2026-06-03",
  "2026-08-17",
  "2026-09-24",
  "2026-09-25",
  "2026-10-05",
  "2026-10-09",
  "2026-12-25",
  "2026-12-31",
  // 2027
  "2027-01-01",
  "2027-02-08",
  "2027-02-09",
  "2027-03-01",
  "2027-05-05",
  "2027-05-13",
  "2027-08-16",
  "2027-09-14",
  "2027-09-15",
  "2027-09-16",
  "2027-10-04",
  "2027-10-11",
  "2027-12-27",
  "2027-12-31",
]);

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Minutes after midnight (Korea time) at which each phase of a business day starts. */
const PREOPEN_AT = 8 * 60 + 30;
const CONTINUOUS_AT = 9 * 60;
const CLOSING_AT = 15 * 60 + 20;
const CLOSED_AT = 15 * 60 + 30;

export function isBusinessDay(day: string): boolean {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !KRX_HOLIDAYS.has(day);
}

/** Midnight (Korea time) of `day`, in ms since the epoch. */
const midnightKst = (day: string): number => Date.parse(`${day}T00:00:00Z`) - KST_OFFSET_MS;

function nextBusinessDay(day: string): string {
  let ms = Date.parse(`${day}T00:00:00Z`);
  do ms += DAY_MS;
  while (!isBusinessDay(new Date(ms).toISOString().slice(0, 10)));
  return new Date(ms).toISOString().slice(0, 10);
}

/** The phase in force at `atMs` (venue time) under `schedule`, and when it ends. */
export function phaseAt(schedule: ScheduleName, atMs: number): PhaseSpan {
  const day = tradingDay(new Date(atMs));
  if (schedule === "always-open") return { phase: "continuous", tradingDay: day, untilMs: Number.POSITIVE_INFINITY };
  const midnight = midnightKst(day);
  const preopenOf = (d: string) => midnightKst(d) + PREOPEN_AT * MINUTE_MS;
  if (!isBusinessDay(day)) return { phase: "closed", tradingDay: day, untilMs: preopenOf(nextBusinessDay(day)) };
  const minute = Math.floor((atMs - midnight) / MINUTE_MS);
  const at = (m: number) => midnight + m * MINUTE_MS;
  if (minute < PREOPEN_AT) return { phase: "closed", tradingDay: day, untilMs: at(PREOPEN_AT) };
  if (minute < CONTINUOUS_AT) return { phase: "preopen", tradingDay: day, untilMs: at(CONTINUOUS_AT) };
  if (minute < CLOSING_AT) return { phase: "continuous", tradingDay: day, untilMs: at(CLOSING_AT) };
  if (minute < CLOSED_AT) return { phase: "closing", tradingDay: day, untilMs: at(CLOSED_AT) };
  return { phase: "closed", tradingDay: day, untilMs: preopenOf(nextBusinessDay(day)) };
}
