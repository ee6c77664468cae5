// The selected symbol's price chart: one-minute or daily candles with their
// volume (TradingView's lightweight-charts, Apache-2.0). Candles are read
// again when the symbol's quote changes (a trade moved it) or the user picks
// another symbol or interval: no timer of its own.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Candle } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { CandleInterval } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { KST_OFFSET_MS, tradingDay } from "@kuku/platform/krx";
import {
  type CandlestickData,
  CandlestickSeries,
  createChart,
  type HistogramData,
  HistogramSeries,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { trading } from "../api.js";
import { el, oneAtATime } from "../dom.js";
import { state } from "../state.js";
import type { Panel } from "./page.js";

// Korean convention: rising red, falling blue (the console's --up and --down).
const UP = "#ff4d4f";
const DOWN = "#3b82f6";
const CANDLES_MAX = 120;
const INTERVALS = [
  { interval: CandleInterval.ONE_MINUTE, label: "1분 1m" },
  { interval: CandleInterval.ONE_DAY, label: "일 1D" },
] as const;

/**
 * A day (it starts at KST midnight) as its KST date, the library's business
 * day; a minute as seconds shifted by Korea's offset: the chart draws times
 * as UTC, so its axis then reads KST.
 */
const timeOf = (c: Candle, interval: CandleInterval): Time => {
  const start = timestampDate(c.startTime!);
  return interval === CandleInterval.ONE_DAY ? tradingDay(start) : (((start.getTime() + KST_OFFSET_MS) / 1000) as UTCTimestamp);
};
const priceBar = (c: Candle, interval: CandleInterval): CandlestickData => ({
  time: timeOf(c, interval),
  open: Number(c.openPriceKrw),
  high: Number(c.highPriceKrw),
  low: Number(c.lowPriceKrw),
  close: Number(c.closePriceKrw),
});
const volumeBar = (c: Candle, interval: CandleInterval): HistogramData => ({
  time: timeOf(c, interval),
  value: Number(c.volume),
  color: c.closePriceKrw >= c.openPriceKrw ? UP : DOWN,
});

export function chartPanel(): Panel {
  let interval: CandleInterval = CandleInterval.ONE_MINUTE;
  // What the chart shows: a symbol, an interval and the day's volume the candles were read at.
  let shown = "";
  const canvas = el("div", { class: "chart", "data-testid": "price-chart" });
  const tabs = INTERVALS.map(({ interval: value, label }) =>
    el("button", { class: "tab", "data-testid": `chart-${CandleInterval[value]}`, onclick: () => pick(value) }, label),
  );
  const element = el(
    "section",
    { class: "card chart-card" },
    el("h2", {}, "차트 ", el("small", {}, "Chart")),
    el("div", { class: "tabs" }, ...tabs),
    canvas,
    // The library's NOTICE asks for a link to TradingView; its own logo injects a <style> the console's CSP refuses.
    el("a", { class: "muted small", href: "https://www.tradingview.com/", target: "_blank", rel: "noopener" }, "Charting by TradingView"),
  );
  const chart = createChart(canvas, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: "#8a94a3", attributionLogo: false },
    grid: { vertLines: { color: "#262d37" }, horzLines: { color: "#262d37" } },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { locale: "ko-KR" },
  });
  const prices = chart.addSeries(CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    borderVisible: false,
    wickUpColor: UP,
    wickDownColor: DOWN,
  });
  const volumes = chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "" });
  volumes.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

  const load = oneAtATime(async () => {
    const symbol = state.selected;
    // The day's volume moves with every trade and only then: book changes do not read candles again.
    const key = `${symbol}:${interval}:${state.quotes.get(symbol)?.volume ?? 0n}`;
    if (key === shown || !state.marketAvailable) return;
    const { candles } = await trading.listCandles({ symbol, interval, limit: CANDLES_MAX });
    chart.applyOptions({ timeScale: { timeVisible: interval !== CandleInterval.ONE_DAY } });
    prices.setData(candles.map((c) => priceBar(c, interval)));
    volumes.setData(candles.map((c) => volumeBar(c, interval)));
    canvas.dataset["candles"] = String(candles.length);
    canvas.dataset["lastClose"] = String(candles.at(-1)?.closePriceKrw ?? "");
    shown = key;
  });
  const render = () => {
    for (const [i, tab] of tabs.entries()) tab.classList.toggle("active", INTERVALS[i]!.interval === interval);
    void load().catch(() => undefined); // the next change reads them again
  };
  const pick = (value: CandleInterval) => {
    interval = value;
    render();
  };
  return { element, render };
}
