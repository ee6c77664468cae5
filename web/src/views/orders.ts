// Open orders (with cancel and amend) and the order history.

import type { Order, OrderUpdate } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { Code, ConnectError, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, OPEN_STATES, qty, STATE_LABELS, sideLabel, tifLabel, typeLabel, won } from "../labels.js";
import { nameOf, state } from "../state.js";
import { type Panel, toast } from "./page.js";

/** A toast for what the user did not just see happen: each fill (at its own price), and an order in doubt or resolved. */
function announce(u: OrderUpdate, o: Order): void {
  const what = `${nameOf(o.symbol)} ${sideLabel(o.side)}`;
  if (u.fill !== undefined) {
    const charges = u.fill.feeKrw + u.fill.taxKrw;
    toast(`체결 Filled · ${what} ${qty(u.fill.quantity)} @ ${won(u.fill.priceKrw)} · 수수료 Fee ${won(charges)}`, "ok");
  } else if (u.state === OrderState.UNKNOWN) toast(`${STATE_LABELS[u.state].text} · ${what} ${qty(o.quantity)}`, "bad");
  else if (u.previousState === OrderState.UNKNOWN) toast(`확인완료 Resolved · ${what} · ${STATE_LABELS[u.state].text}`, "info");
  else if (u.state === OrderState.REJECTED) toast(`거부 Rejected · ${what} · ${o.rejectReason}`, "bad");
  else if (u.state === OrderState.EXPIRED && o.filledQuantity < o.quantity) toast(`만료 Expired · ${what}`, "info");
}

/** An update from the stream: the order as it now stands (newest first, as the list), announced. */
export function applyUpdate(u: OrderUpdate): void {
  const o = u.order;
  if (o === undefined) return;
  const i = state.orders.findIndex((x) => x.orderId === o.orderId);
  if (i === -1) state.orders.unshift(o);
  else state.orders[i] = o;
  announce(u, o);
}

async function cancelOrder(orderId: string, refresh: () => Promise<void>): Promise<void> {
  try {
    const { order } = await trading.cancelOrder({ orderId });
    toast(`취소 Cancelled · ${order === undefined ? orderId : nameOf(order.symbol)}`, "info");
  } catch (e) {
    const ce = ConnectError.from(e);
    toast(
      ce.code === Code.PermissionDenied
        ? `거부 Refused · 본인 주문이 아닙니다 · ${ce.rawMessage}`
        : `취소 실패 Cancel failed · ${ce.rawMessage}`,
      "bad",
    );
  }
  await refresh();
}

/**
 * 정정: the open order's new quantity and price, sent under one key per
 * opening of the form (a click again after no answer is the same amendment).
 */
class AmendForm {
  readonly element: HTMLFormElement;
  readonly #qty = el("input", { type: "number", min: "1", step: "1", "data-testid": "amend-qty" });
  readonly #price = el("input", { type: "number", min: "1", "data-testid": "amend-price" });
  readonly #title = el("b", {});
  #target: { order: Order; key: string } | undefined;

  constructor(private readonly refresh: () => Promise<void>) {
    this.element = el(
      "form",
      { class: "inline hidden", "data-testid": "amend-form" },
      this.#title,
      el("label", {}, "수량 Qty", this.#qty),
      el("label", {}, "가격 Price", this.#price),
      el("button", { type: "submit", class: "small", "data-testid": "amend-submit" }, "정정 Amend"),
      el("button", { type: "button", class: "small ghost", onclick: () => this.close() }, "닫기 Close"),
    );
    this.element.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#send();
    });
  }

  open(order: Order): void {
    this.#target = { order, key: crypto.randomUUID() };
    this.#title.textContent = `정정 Amend · ${nameOf(order.symbol)} ${sideLabel(order.side)}`;
    this.#qty.value = String(order.quantity - order.filledQuantity);
    this.#price.value = String(order.limitPriceKrw);
    this.#price.disabled = order.limitPriceKrw === 0n;
    this.element.classList.remove("hidden");
  }

  close(): void {
    this.#target = undefined;
    this.element.classList.add("hidden");
  }

  async #send(): Promise<void> {
    const target = this.#target;
    if (target === undefined || !/^\d{1,9}$/.test(this.#qty.value) || !/^\d{0,12}$/.test(this.#price.value)) return;
    const { order, key } = target;
    try {
      const { order: replacement } = await trading.amendOrder({
        idempotencyKey: key,
        orderId: order.orderId,
        quantity: BigInt(this.#qty.value),
        limitPriceKrw: order.limitPriceKrw === 0n ? 0n : BigInt(this.#price.value || "0"),
        stopPriceKrw: order.stopPriceKrw,
      });
      // The replacement shares the original's hold: it shows only what the amendment added to it.
      const added = replacement?.holdMinor ?? 0n;
      const hold = order.side === Side.BUY ? won(added) : qty(added);
      toast(
        `정정 Amended · ${nameOf(order.symbol)} ${qty(replacement?.quantity ?? 0n)} @ ${won(replacement?.limitPriceKrw ?? 0n)} · 추가 증거금 hold added ${hold}`,
        "info",
      );
      this.close();
    } catch (e) {
      toast(`정정 실패 Amend failed · ${ConnectError.from(e).rawMessage}`, "bad");
    }
    await this.refresh();
  }
}

/** The price column: the limit, the venue's price for the types it prices, and a stop's trigger. */
function priceText(o: Order): string {
  const price = o.limitPriceKrw > 0n ? num(o.limitPriceKrw) : o.type === OrderType.MARKET ? "시장가" : typeLabel(o.type);
  return o.stopPriceKrw > 0n ? `${price} · 스탑 ${num(o.stopPriceKrw)}` : price;
}

function ordersHead(open: boolean) {
  const columns = ["시각 Time", "종목 Stock", "구분 Side", "유형 Type", "수량 Qty", "가격 Price", "체결 Filled", "상태 State"];
  const right = new Set(["수량 Qty", "가격 Price", "체결 Filled"]);
  return el(
    "thead",
    {},
    el("tr", {}, ...columns.map((c) => el("th", right.has(c) ? { class: "r" } : {}, c)), el("th", {}, open ? "" : "주문번호 Order no.")),
  );
}

/** A row of either table: the open ones end in cancel and amend buttons, the history in the order number. */
function orderRow(o: Order, actions: { cancel: () => void; amend: () => void } | undefined) {
  const label = STATE_LABELS[o.state];
  const time = o.createdAt === undefined ? "" : new Date(Number(o.createdAt.seconds) * 1000).toLocaleTimeString("ko-KR", { hour12: false });
  return el(
    "tr",
    { "data-order-id": o.orderId, "data-state": OrderState[o.state] },
    el("td", {}, time),
    el("td", {}, nameOf(o.symbol)),
    el("td", { class: o.side === Side.BUY ? "up" : "down" }, sideLabel(o.side)),
    el("td", {}, `${typeLabel(o.type)} · ${tifLabel(o.timeInForce)}`),
    el("td", { class: "r" }, num(o.quantity)),
    el("td", { class: "r" }, priceText(o)),
    el("td", { class: "r" }, o.filledQuantity > 0n ? `${num(o.filledQuantity)} @ ${num(o.filledNotionalKrw / o.filledQuantity)}` : "0"),
    el(
      "td",
      {},
      el("span", { class: `badge ${label.tone}`, title: label.hint ?? o.rejectReason, "data-testid": "order-state" }, label.text),
      o.rejectReason ? el("div", { class: "muted small" }, o.rejectReason) : null,
      label.hint ? el("div", { class: "muted small" }, label.hint) : null,
    ),
    el(
      "td",
      {},
      actions === undefined
        ? el("code", { class: "small" }, o.orderId)
        : el(
            "span",
            { class: "actions" },
            el("button", { class: "small", "data-testid": "amend", onclick: actions.amend }, "정정 Amend"),
            el("button", { class: "small danger", "data-testid": "cancel", onclick: actions.cancel }, "취소 Cancel"),
          ),
    ),
  );
}

function cancelById(refresh: () => Promise<void>) {
  const input = el("input", { type: "text", placeholder: "주문번호 Order no. (UUID)", "data-testid": "cancel-id" });
  const form = el(
    "form",
    { class: "inline" },
    input,
    el("button", { type: "submit", class: "small", "data-testid": "cancel-id-submit" }, "주문번호로 취소 Cancel by no."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void cancelOrder(input.value.trim(), refresh);
  });
  return form;
}

const emptyRow = (text: string) => el("tr", {}, el("td", { colspan: "9", class: "muted" }, text));

export function openOrdersPanel(refresh: () => Promise<void>): Panel {
  const rows = el("tbody", { "data-testid": "open-orders" });
  const amendForm = new AmendForm(refresh);
  const element = el(
    "section",
    { class: "card orders" },
    el("h2", {}, "미체결 ", el("small", {}, "Open orders")),
    el("table", {}, ordersHead(true), rows),
    amendForm.element,
    cancelById(refresh),
  );
  const render = () => {
    const open = state.orders.filter((o) => OPEN_STATES.has(o.state));
    replace(
      rows,
      ...(open.length === 0
        ? [emptyRow("미체결 주문 없음 · No open orders")]
        : open.map((o) => orderRow(o, { cancel: () => void cancelOrder(o.orderId, refresh), amend: () => amendForm.open(o) }))),
    );
  };
  return { element, render };
}

export function historyPanel(): Panel {
  const rows = el("tbody", { "data-testid": "order-history" });
  const element = el(
    "section",
    { class: "card history" },
    el("h2", {}, "주문내역 ", el("small", {}, "Order history")),
    el("table", {}, ordersHead(false), rows),
  );
  const render = () =>
    replace(
      rows,
      ...(state.orders.length === 0 ? [emptyRow("주문 내역 없음 · No orders yet")] : state.orders.map((o) => orderRow(o, undefined))),
    );
  return { element, render };
}
