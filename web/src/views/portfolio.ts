// Balance and positions, and the mock deposit.
import type { GetPortfolioResponse } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, won } from "../labels.js";
import { nameOf, state } from "../state.js";
import { type Panel, stat, toast } from "./page.js";

function depositForm(refresh: () => Promise<void>) {
  const amount = el("input", { type: "number", min: "1", step: "1", value: "10000000", "data-testid": "deposit-amount" });
  const submit = el("button", { type: "submit", class: "small", "data-testid": "deposit-submit" }, "입금 Deposit");
  const form = el(
    "form",
    { class: "inline" },
    el("span", { class: "muted small" }, "모의 입금 Mock deposit"),
    amount,
    el("span", {}, "원"),
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!/^\d{1,11}$/.test(amount.value)) return toast("금액 확인 · Check the amount", "bad");
    submit.disabled = true;
    trading
      .depositCash({ requestId: crypto.randomUUID(), amountKrw: BigInt(amount.value) })
      .then((r) => toast(`입금 완료 Deposited · 주문가능 ${won(r.cashAvailableKrw)}`, "ok"))
      .catch((e: unknown) => toast(`입금 실패 Deposit failed · ${errorText(e)}`, "bad"))
      .finally(() => {
        submit.disabled = false;
        void refresh();
      });
  });
  return form;
}

function cashStats(p: GetPortfolioResponse) {
  const stockValue = p.positions.reduce((sum, x) => sum + x.valuationKrw, 0n);
  return [
    stat("총평가 Total", won(p.cashTotalKrw + stockValue), "total"),
    stat("예수금 Cash", won(p.cashTotalKrw), "cash-total"),
    stat("주문가능 Available", won(p.cashAvailableKrw), "cash-available"),
    stat("주문중 On hold", won(p.cashHeldKrw), "cash-held"),
    stat("주식평가 Stocks", won(stockValue), "stock-value"),
  ];
}

function positionRows(p: GetPortfolioResponse) {
  if (p.positions.length === 0) return [el("tr", {}, el("td", { colspan: "5", class: "muted" }, "보유 종목 없음 · No positions yet"))];
  return p.positions.map((x) =>
    el(
      "tr",
      { "data-symbol": x.symbol },
      el("td", {}, nameOf(x.symbol)),
      el("td", { class: "r", "data-testid": "position-qty" }, num(x.quantity)),
      el("td", { class: "r" }, num(x.heldQuantity)),
      el("td", { class: "r" }, num(x.lastPriceKrw)),
      el("td", { class: "r", "data-testid": "position-value" }, won(x.valuationKrw)),
    ),
  );
}

export function portfolioPanel(refresh: () => Promise<void>): Panel {
  const cash = el("div", { class: "cash" });
  const positions = el("tbody", { "data-testid": "positions" });
  const head = el(
    "tr",
    {},
    el("th", {}, "종목 Stock"),
    el("th", { class: "r" }, "보유 Qty"),
    el("th", { class: "r" }, "주문중 Held"),
    el("th", { class: "r" }, "현재가 Last"),
    el("th", { class: "r" }, "평가금액 Value"),
  );
  const element = el(
    "section",
    { class: "card account" },
    el("h2", {}, "잔고 ", el("small", {}, "Balance & positions")),
    cash,
    depositForm(refresh),
    el("table", {}, el("thead", {}, head), positions),
  );
  const render = () => {
    const p = state.portfolio;
    if (p === undefined) return;
    replace(cash, ...cashStats(p));
    replace(positions, ...positionRows(p));
  };
  return { element, render };
}
