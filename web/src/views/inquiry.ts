// Order inquiry: the history filtered by state and date (KST days), paged by
// the gateway's cursor, and one order's detail with its fills and every
// state it went through.
import type { GetOrderResponse, Order } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { Side } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, STATE_LABELS, sideLabel, won } from "../labels.js";
import { nameOf } from "../state.js";
import { type Panel, toast } from "./page.js";
import { dateInput, kstDayRange, timeText } from "./ranges.js";

const PAGE_SIZE = 20;

function stateSelect() {
  const options = Object.entries(STATE_LABELS)
    .filter(([value]) => Number(value) !== OrderState.UNSPECIFIED)
    .map(([value, label]) => el("option", { value }, label.text));
  return el("select", { "data-testid": "inquiry-state" }, el("option", { value: "" }, "전체 All"), ...options);
}

function detailView(d: GetOrderResponse) {
  const o = d.order!;
  const fills = d.fills.map((f) =>
    el(
      "tr",
      { "data-execution-id": f.fill?.executionId ?? "" },
      el("td", {}, timeText(f.fill?.executedAt)),
      el("td", { class: "r" }, num(f.fill?.quantity ?? 0n)),
      el("td", { class: "r" }, num(f.fill?.priceKrw ?? 0n)),
      el("td", { class: "r", "data-testid": "detail-fee" }, won(f.fill?.feeKrw ?? 0n)),
      el("td", { class: "r", "data-testid": "detail-tax" }, won(f.fill?.taxKrw ?? 0n)),
      el("td", {}, f.settled ? "결제 Settled" : "미결제 Pending"),
    ),
  );
  const transitions = d.transitions.map((x) =>
    el(
      "li",
      {},
      `${timeText(x.occurredAt)} · ${STATE_LABELS[x.fromState].text} → ${STATE_LABELS[x.toState].text}`,
      x.reason ? ` · ${x.reason}` : "",
    ),
  );
  return [
    el("h3", {}, `${nameOf(o.symbol)} ${sideLabel(o.side)} ${num(o.quantity)} · ${STATE_LABELS[o.state].text} `, el("code", {}, o.orderId)),
    el(
      "p",
      { class: "small" },
      `체결 Filled ${num(o.filledQuantity)} · 체결금액 ${won(o.filledNotionalKrw)} · 수수료 Fee ${won(o.feesKrw - o.taxKrw)} · 세금 Tax ${won(o.taxKrw)}`,
    ),
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, "체결시각 Time"),
          el("th", { class: "r" }, "수량 Qty"),
          el("th", { class: "r" }, "가격 Price"),
          el("th", { class: "r" }, "수수료 Fee"),
          el("th", { class: "r" }, "세금 Tax"),
          el("th", {}, ""),
        ),
      ),
      el("tbody", { "data-testid": "detail-fills" }, ...fills),
    ),
    el("ol", { class: "small", "data-testid": "detail-transitions" }, ...transitions),
  ];
}

export function inquiryPanel(): Panel {
  const state = stateSelect();
  const { from, to } = { from: dateInput("inquiry-from", -7), to: dateInput("inquiry-to", 0) };
  const rows = el("tbody", { "data-testid": "inquiry-results" });
  const detail = el("div", { "data-testid": "order-detail" });
  const more = el("button", { type: "button", class: "small", "data-testid": "inquiry-more", hidden: true }, "더보기 More");
  let pageToken = "";
  const showDetail = (orderId: string) =>
    trading
      .getOrder({ orderId })
      .then((d) => replace(detail, ...detailView(d)))
      .catch((e: unknown) => toast(`조회 실패 · ${errorText(e)}`, "bad"));
  const row = (o: Order) =>
    el(
      "tr",
      { "data-order-id": o.orderId, "data-state": OrderState[o.state], class: "clickable", onclick: () => void showDetail(o.orderId) },
      el("td", {}, timeText(o.createdAt)),
      el("td", {}, nameOf(o.symbol)),
      el("td", { class: o.side === Side.BUY ? "up" : "down" }, sideLabel(o.side)),
      el("td", { class: "r" }, num(o.quantity)),
      el("td", { class: "r" }, num(o.filledQuantity)),
      el("td", { class: "r" }, won(o.feesKrw)),
      el("td", {}, STATE_LABELS[o.state].text),
    );
  const search = async (append: boolean) => {
    try {
      const range = kstDayRange(from.value, to.value);
      const page = await trading.listOrders({
        pageSize: PAGE_SIZE,
        pageToken: append ? pageToken : "",
        states: state.value === "" ? [] : [Number(state.value) as OrderState],
        createdFrom: range.from,
        createdBefore: range.before,
      });
      pageToken = page.nextPageToken;
      more.hidden = pageToken === "";
      if (append) rows.append(...page.orders.map(row));
      else replace(rows, ...page.orders.map(row));
    } catch (e) {
      toast(`조회 실패 Search failed · ${errorText(e)}`, "bad");
    }
  };
  more.addEventListener("click", () => void search(true));
  const form = el(
    "form",
    { class: "inline" },
    state,
    from,
    el("span", {}, "~"),
    to,
    el("button", { type: "submit", class: "small", "data-testid": "inquiry-search" }, "조회 Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void search(false);
  });
  const head = ["주문시각 Time", "종목 Stock", "구분 Side", "수량 Qty", "체결 Filled", "수수료·세금 Fees", "상태 State"];
  const element = el(
    "section",
    { class: "card inquiry" },
    el("h2", {}, "주문조회 ", el("small", {}, "Order inquiry")),
    form,
    el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), rows),
    more,
    detail,
  );
  return { element, render: () => undefined };
}
