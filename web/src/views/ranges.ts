// Dates as a Korean trader means them: whole KST days (UTC+9, no daylight saving).
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { KST_OFFSET_MS, tradingDay } from "@kuku/platform/krx";
import { el } from "../dom.js";

const DAY_MS = 86_400_000;

/** Today in KST, `offsetDays` away, as YYYY-MM-DD. */
export const kstDay = (offsetDays: number) => tradingDay(new Date(Date.now() + offsetDays * DAY_MS));

export const dateInput = (testid: string, offsetDays: number) =>
  el("input", { type: "date", value: kstDay(offsetDays), "data-testid": testid });

/** [from's 00:00 KST, the day after to's 00:00 KST); an empty side is open. */
export function kstDayRange(from: string, to: string): { from: Timestamp | undefined; before: Timestamp | undefined } {
  const start = (day: string) => new Date(`${day}T00:00:00+09:00`);
  return {
    from: from === "" ? undefined : timestampFromDate(start(from)),
    before: to === "" ? undefined : timestampFromDate(new Date(start(to).getTime() + DAY_MS)),
  };
}

/** A timestamp as KST date and time, 24-hour. */
export const timeText = (t: Timestamp | undefined) =>
  t === undefined ? "" : new Date(timestampDate(t).getTime() + KST_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");
