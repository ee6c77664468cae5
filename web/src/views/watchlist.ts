// Watchlist: every instrument's last price and change, in Korean colours (red up, blue down).
import { el, replace } from "../dom.js";
import { NAMES_KO, num } from "../labels.js";
import { lastPrice, state } from "../state.js";
import type { Panel } from "./page.js";

export function watchlistPanel(select: (symbol: string) => void): Panel {
  const rows = el("tbody");
  const element = el(
    "section",
    { class: "card watch" },
    el("h2", {}, "관심종목 ", el("small", {}, "Watchlist")),
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el("tr", {}, el("th", {}, "종목 Name"), el("th", { class: "r" }, "현재가 Last"), el("th", { class: "r" }, "등락 Chg")),
      ),
      rows,
    ),
  );
  const render = () =>
    replace(
      rows,
      ...state.instruments.map((i) => {
        const last = lastPrice(i.symbol);
        const change = last - i.referencePriceKrw;
        const tone = change > 0n ? "up" : change < 0n ? "down" : "";
        const pct = i.referencePriceKrw > 0n ? Number((change * 10_000n) / i.referencePriceKrw) / 100 : 0;
        return el(
          "tr",
          { class: `clickable ${i.symbol === state.selected ? "selected" : ""}`, "data-symbol": i.symbol, onclick: () => select(i.symbol) },
          el("td", {}, el("b", {}, NAMES_KO[i.symbol] ?? i.name), el("div", { class: "muted small" }, `${i.name} · ${i.symbol}`)),
          el("td", { class: `r ${tone}` }, num(last)),
          el("td", { class: `r ${tone}` }, `${change > 0n ? "▲" : change < 0n ? "▼" : ""}${pct.toFixed(2)}%`),
        );
      }),
    );
  return { element, render };
}
