// The selected instrument's quote and order book.
import { TradingPhase } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type { Instrument, OrderBook } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { el, replace } from "../dom.js";
import { NAMES_KO, num, won } from "../labels.js";
import { instrumentOf, lastPrice, state } from "../state.js";
import { type Panel, stat } from "./page.js";

const PHASES: Record<TradingPhase, string> = {
  [TradingPhase.UNSPECIFIED]: "—",
  [TradingPhase.CLOSED]: "장마감 Closed",
  [TradingPhase.PRE_OPEN_AUCTION]: "장전 동시호가 Pre-open auction",
  [TradingPhase.CONTINUOUS]: "정규장 Continuous",
  [TradingPhase.CLOSING_AUCTION]: "장마감 동시호가 Closing auction",
  [TradingPhase.VOLATILITY_AUCTION]: "VI 발동 Volatility interruption",
};

/** The session phase, and while a VI runs, when its auction ends. */
function phaseText(i: Instrument): string {
  const until = i.viUntil === undefined ? "" : new Date(Number(i.viUntil.seconds) * 1000).toLocaleTimeString("ko-KR", { hour12: false });
  return i.phase === TradingPhase.VOLATILITY_AUCTION && until !== "" ? `${PHASES[i.phase]} ~${until}` : PHASES[i.phase];
}

function quoteParts(i: Instrument) {
  const q = state.quotes.get(i.symbol);
  const last = lastPrice(i.symbol);
  const tone = last > i.referencePriceKrw ? "up" : last < i.referencePriceKrw ? "down" : "";
  return [
    el(
      "div",
      { class: "quote-head" },
      el(
        "div",
        {},
        el("div", { class: "big" }, NAMES_KO[i.symbol] ?? i.name),
        el("div", { class: "muted small" }, `${i.name} · ${i.symbol} · ${i.market || "KOSPI"}`),
        el(
          "span",
          { class: `badge ${i.phase === TradingPhase.VOLATILITY_AUCTION ? "warn" : "muted"}`, "data-testid": "quote-phase" },
          phaseText(i),
        ),
      ),
      el("div", { class: `big r ${tone}`, "data-testid": "quote-last" }, won(last)),
    ),
    el(
      "div",
      { class: "quote-grid" },
      stat("기준가 Ref.", num(i.referencePriceKrw), "ref"),
      stat("상한가 Upper", num(i.upperLimitKrw), "upper"),
      stat("하한가 Lower", num(i.lowerLimitKrw), "lower"),
      stat("거래량 Volume", q === undefined ? "—" : num(q.volume), "volume"),
      stat("고가 High", q === undefined || q.highPriceKrw === 0n ? "—" : num(q.highPriceKrw), "high"),
      stat("저가 Low", q === undefined || q.lowPriceKrw === 0n ? "—" : num(q.lowPriceKrw), "low"),
    ),
    state.marketAvailable
      ? null
      : el(
          "p",
          { class: "muted small" },
          "실시간 시세 미연결: 기준가로 표시합니다 · Market data service not connected: showing reference prices.",
        ),
  ];
}

function bookTable(book: OrderBook) {
  const maxQty = [...book.asks, ...book.bids].reduce((m, l) => (l.quantity > m ? l.quantity : m), 1n);
  const bar = (q: bigint, side: string) => el("div", { class: `bar ${side}`, "data-width": String(Number((q * 100n) / maxQty)) });
  const row = (price: bigint, q: bigint, side: "ask" | "bid") =>
    el(
      "tr",
      { class: side },
      el("td", { class: "r" }, side === "ask" ? num(q) : ""),
      el("td", { class: `c ${side === "ask" ? "down" : "up"}` }, num(price)),
      el("td", {}, side === "bid" ? num(q) : ""),
      el("td", { class: "barcell" }, bar(q, side)),
    );
  return el(
    "table",
    { class: "book-table", "data-testid": "order-book" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { class: "r" }, "매도잔량 Ask qty"),
        el("th", { class: "c" }, "호가 Price"),
        el("th", {}, "매수잔량 Bid qty"),
        el("th", {}, ""),
      ),
    ),
    el(
      "tbody",
      {},
      ...[...book.asks].reverse().map((l) => row(l.priceKrw, l.quantity, "ask")),
      ...book.bids.map((l) => row(l.priceKrw, l.quantity, "bid")),
    ),
  );
}

export function quotePanel(): Panel {
  const quote = el("div", { class: "quote" });
  const book = el("div", { class: "book" });
  const element = el("section", { class: "card" }, el("h2", {}, "시세 ", el("small", {}, "Quote & order book")), quote, book);
  const render = () => {
    const i = instrumentOf(state.selected);
    if (i === undefined) return;
    replace(quote, ...quoteParts(i));
    if (state.book === undefined || !state.marketAvailable) {
      replace(book);
      return;
    }
    replace(book, bookTable(state.book));
    // CSP allows no inline style attributes; widths are set through the CSSOM.
    for (const b of book.querySelectorAll<HTMLElement>(".bar")) b.style.width = `${b.dataset["width"]}%`;
  };
  return { element, render };
}
