// Balance, positions with their P&L (moving-average cost, ADR 0024), the
// realised P&L per day, and the mock deposit.
import type { GetPortfolioResponse } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, pct, signedWon, won } from "../labels.js";
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

/** A cost or P&L figure, or "—" while the order service cannot tell the fills' costs. */
const costText = (p: GetPortfolioResponse, text: string) => (p.costsUnavailable ? "—" : text);

function cashStats(p: GetPortfolioResponse) {
  return [
    stat("총자산 Total assets", won(p.totalAssetsKrw), "total"),
    stat("예수금 Cash", won(p.cashTotalKrw), "cash-total"),
    stat("주문가능 Available", won(p.cashAvailableKrw), "cash-available"),
    stat("주문중 On hold", won(p.cashHeldKrw), "cash-held"),
    stat("평가금액 Market value", won(p.marketValueKrw), "stock-value"),
    stat("평가손익 Unrealised", costText(p, signedWon(p.unrealizedPnlKrw)), "unrealized-pnl"),
    stat("실현손익 Realised", costText(p, signedWon(p.realizedPnlKrw)), "realized-pnl"),
    stat("총손익 Total P&L", costText(p, signedWon(p.totalPnlKrw)), "total-pnl"),
  ];
}

const tone = (n: bigint) => ({ class: `r ${n > 0n ? "up" : n < 0n ? "down" : ""}` });

function positionRows(p: GetPortfolioResponse) {
  if (p.positions.length === 0) return [el("tr", {}, el("td", { colspan: "10", class: "muted" }, "보유 종목 없음 · No positions yet"))];
  return p.positions.map((x) =>
    el(
      "tr",
      {
        "data-symbol": x.symbol,
        title: p.costsUnavailable
          ? "주문 서비스 응답 없음: 손익 미표시 · The order service did not answer: no cost or P&L shown"
          : x.costReconciled
            ? ""
            : "체결 수량과 원장 수량이 다릅니다 · Fills and ledger disagree on the quantity",
      },
      el("td", {}, nameOf(x.symbol)),
      el("td", { class: "r", "data-testid": "position-qty" }, num(x.quantity)),
      el("td", { class: "r" }, num(x.heldQuantity)),
      el("td", { class: "r", "data-testid": "position-avg" }, costText(p, num(x.averageCostKrw))),
      el("td", { class: "r", "data-testid": "position-cost" }, costText(p, won(x.costBasisKrw))),
      el("td", { class: "r", "data-testid": "position-last" }, num(x.lastPriceKrw)),
      el("td", { class: "r", "data-testid": "position-value" }, won(x.valuationKrw)),
      el("td", { ...tone(x.unrealizedPnlKrw), "data-testid": "position-pnl" }, costText(p, signedWon(x.unrealizedPnlKrw))),
      el("td", { ...tone(x.unrealizedPnlKrw), "data-testid": "position-return" }, costText(p, pct(x.returnBp))),
      el("td", { ...tone(x.realizedPnlKrw), "data-testid": "position-realized" }, costText(p, signedWon(x.realizedPnlKrw))),
    ),
  );
}

function dailyRows(p: GetPortfolioResponse) {
  if (p.dailyRealized.length === 0) return [el("tr", {}, el("td", { colspan: "5", class: "muted" }, "실현손익 없음 · Nothing sold yet"))];
  return p.dailyRealized.map((d) =>
    el(
      "tr",
      { "data-date": d.date },
      el("td", {}, d.date),
      el("td", { class: "r" }, String(d.sells)),
      el("td", { class: "r" }, won(d.feeKrw)),
      el("td", { class: "r" }, won(d.taxKrw)),
      el("td", { ...tone(d.realizedPnlKrw), "data-testid": "daily-realized" }, signedWon(d.realizedPnlKrw)),
    ),
  );
}

const headOf = (...columns: [string, boolean][]) =>
  el("thead", {}, el("tr", {}, ...columns.map(([text, right]) => el("th", right ? { class: "r" } : {}, text))));

export function portfolioPanel(refresh: () => Promise<void>): Panel {
  const cash = el("div", { class: "cash" });
  const positions = el("tbody", { "data-testid": "positions" });
  const daily = el("tbody", { "data-testid": "daily-pnl" });
  const element = el(
    "section",
    { class: "card account" },
    el("h2", {}, "잔고 ", el("small", {}, "Balance, positions & P&L")),
    cash,
    depositForm(refresh),
    el(
      "table",
      {},
      headOf(
        ["종목 Stock", false],
        ["보유 Qty", true],
        ["주문중 Held", true],
        ["평균단가 Avg cost", true],
        ["매입금액 Cost", true],
        ["현재가 Last", true],
        ["평가금액 Value", true],
        ["평가손익 P&L", true],
        ["수익률 Return", true],
        ["실현손익 Realised", true],
      ),
      positions,
    ),
    el("p", { class: "muted small" }, "평균단가: 이동평균법, 매수 수수료 포함 · Average cost: moving average, buy commission included"),
    el("h3", {}, "일별 실현손익 ", el("small", {}, "Realised P&L per day")),
    el(
      "table",
      {},
      headOf(["일자 Date", false], ["매도 Sells", true], ["수수료 Fee", true], ["세금 Tax", true], ["실현손익 Realised", true]),
      daily,
    ),
  );
  const render = () => {
    const p = state.portfolio;
    if (p === undefined) return;
    replace(cash, ...cashStats(p));
    replace(positions, ...positionRows(p));
    replace(daily, ...dailyRows(p));
  };
  return { element, render };
}
