// The selected instrument's recent trades, as the market stream sends them.
import { el, replace } from "../dom.js";
import { num } from "../labels.js";
import { state } from "../state.js";
import type { Panel } from "./page.js";

const time = new Intl.DateTimeFormat("ko-KR", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export function tradesPanel(): Panel {
  const rows = el("tbody", { "data-testid": "trades" });
  const element = el(
    "section",
    { class: "card trades" },
    el("h2", {}, "체결 ", el("small", {}, "Recent trades")),
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el("tr", {}, el("th", {}, "시각 Time"), el("th", { class: "r" }, "가격 Price"), el("th", { class: "r" }, "수량 Qty")),
      ),
      rows,
    ),
  );
  const render = () => {
    const trades = state.trades.get(state.selected) ?? [];
    if (trades.length === 0) {
      replace(rows, el("tr", {}, el("td", { colspan: "3", class: "muted" }, "체결 없음 · No trades yet")));
      return;
    }
    replace(
      rows,
      ...trades.map((t) =>
        el(
          "tr",
          { "data-trade": t.id },
          el("td", {}, time.format(t.atMs)),
          el("td", { class: "r" }, num(t.priceKrw)),
          el("td", { class: "r" }, num(t.quantity)),
        ),
      ),
    );
  };
  return { element, render };
}
