// The order ticket: checked against the KRX tick ladder and the day's price limits before it is sent.
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { isOnTick, roundToTick, tickSizeKrw } from "@kuku/platform/krx";
import { Code, ConnectError, errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, qty, STATE_LABELS, sideLabel, won } from "../labels.js";
import { instrumentOf, lastPrice, nameOf, state } from "../state.js";
import { toast } from "./page.js";

export class Ticket {
  readonly element: HTMLFormElement;
  #side: Side = Side.BUY;
  readonly #symbol = el("div", { class: "ticket-symbol" });
  readonly #type = el(
    "select",
    { "data-testid": "ticket-type" },
    el("option", { value: "limit" }, "지정가 Limit"),
    el("option", { value: "market" }, "시장가 Market"),
  );
  readonly #qty = el("input", { type: "number", min: "1", step: "1", value: "1", "data-testid": "ticket-qty" });
  readonly #price = el("input", { type: "number", min: "1", "data-testid": "ticket-price" });
  readonly #hint = el("p", { class: "hint", "data-testid": "ticket-hint" });
  readonly #submit = el("button", { type: "submit", class: "primary buy", "data-testid": "ticket-submit" }, "매수 Buy");
  /** The draft last sent without an answer, and its key. */
  #pending: { draft: string; key: string } | undefined;

  constructor() {
    const priceRow = el(
      "label",
      {},
      "가격 Price (원)",
      el(
        "div",
        { class: "stepper" },
        el("button", { type: "button", onclick: () => this.#step(-1n), "data-testid": "price-down" }, "−"),
        this.#price,
        el("button", { type: "button", onclick: () => this.#step(1n), "data-testid": "price-up" }, "+"),
      ),
    );
    this.#type.addEventListener("change", () => {
      priceRow.classList.toggle("hidden", this.#type.value === "market");
      this.#updateHint();
    });
    for (const input of [this.#qty, this.#price]) input.addEventListener("input", () => this.#updateHint());
    this.element = el(
      "form",
      { class: "card ticket" },
      el("h2", {}, "주문 ", el("small", {}, "Order ticket")),
      this.#symbol,
      this.#sideTabs(),
      el("label", {}, "주문유형 Type", this.#type),
      el("label", {}, "수량 Quantity (주)", this.#qty),
      priceRow,
      this.#hint,
      this.#submit,
    );
    this.element.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#place();
    });
  }

  /** Another symbol chosen: its name, and its last price as the limit price. */
  selected(): void {
    replace(this.#symbol, el("b", {}, nameOf(state.selected)));
    const last = lastPrice(state.selected);
    this.#price.value = last > 0n ? String(last) : "";
    this.#updateHint();
  }

  #sideTabs() {
    const buyTab = el("button", { type: "button", class: "tab buy active", "data-testid": "ticket-buy" }, "매수 Buy");
    const sellTab = el("button", { type: "button", class: "tab sell", "data-testid": "ticket-sell" }, "매도 Sell");
    const setSide = (s: Side) => {
      this.#side = s;
      buyTab.classList.toggle("active", s === Side.BUY);
      sellTab.classList.toggle("active", s === Side.SELL);
      this.#submit.textContent = s === Side.BUY ? "매수 Buy" : "매도 Sell";
      this.#submit.classList.toggle("buy", s === Side.BUY);
      this.#submit.classList.toggle("sell", s === Side.SELL);
      this.#updateHint();
    };
    buyTab.addEventListener("click", () => setSide(Side.BUY));
    sellTab.addEventListener("click", () => setSide(Side.SELL));
    return el("div", { class: "tabs" }, buyTab, sellTab);
  }

  /** One tick up or down the ladder from the price entered (or the last price). */
  #step(direction: 1n | -1n): void {
    const current = this.#parsePrice() ?? lastPrice(state.selected);
    if (current <= 0n) return;
    const next = direction === 1n ? roundToTick(current + tickSizeKrw(current), "up") : roundToTick(current - 1n, "down");
    if (next > 0n) this.#price.value = String(next);
    this.#updateHint();
  }

  #parsePrice(): bigint | undefined {
    return /^\d{1,12}$/.test(this.#price.value) ? BigInt(this.#price.value) : undefined;
  }

  /** The same KRX tick ladder and price limits the exchange applies. */
  #problem(): string | undefined {
    if (!/^\d{1,9}$/.test(this.#qty.value) || BigInt(this.#qty.value) <= 0n)
      return "수량은 1주 이상의 정수 · Quantity must be a whole number of shares, at least 1";
    if (this.#type.value === "market") return undefined;
    const price = this.#parsePrice();
    if (price === undefined || price <= 0n) return "가격을 입력하세요 · Enter a price";
    if (!isOnTick(price)) {
      const tick = tickSizeKrw(price);
      return `호가단위 오류: ${num(tick)}원 단위 · Not on the ${num(tick)}-won tick (try ${num(roundToTick(price, "down"))} or ${num(roundToTick(price, "up"))})`;
    }
    const i = instrumentOf(state.selected);
    if (i !== undefined && (price > i.upperLimitKrw || price < i.lowerLimitKrw))
      return `가격제한폭 밖 · Outside today's limits ${num(i.lowerLimitKrw)}–${num(i.upperLimitKrw)}`;
    return undefined;
  }

  #updateHint(): void {
    const problem = this.#problem();
    this.#hint.classList.toggle("error", problem !== undefined);
    this.#submit.disabled = problem !== undefined;
    if (problem !== undefined) {
      this.#hint.textContent = problem;
      return;
    }
    const market = this.#type.value === "market";
    const price = market ? lastPrice(state.selected) : this.#parsePrice()!;
    this.#hint.textContent = `${market ? "예상 Est." : "주문금액 Amount"} ${won(BigInt(this.#qty.value) * price)} · 호가단위 Tick ${num(tickSizeKrw(price > 0n ? price : 1n))}원`;
  }

  /** The order the form describes now. */
  #draft() {
    const market = this.#type.value === "market";
    return {
      symbol: state.selected,
      side: this.#side,
      type: market ? OrderType.MARKET : OrderType.LIMIT,
      // A market order never rests; a limit order rests for the day.
      timeInForce: market ? TimeInForce.IOC : TimeInForce.DAY,
      quantity: BigInt(this.#qty.value),
      limitPriceKrw: market ? 0n : this.#parsePrice()!,
    };
  }

  /**
   * The draft's idempotency key: made for the first click on this draft and
   * kept until the gateway answers, so a click again after a timeout or a
   * dropped connection is the same order, never a second one.
   */
  #keyFor(draft: object): string {
    const described = JSON.stringify(draft, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    if (this.#pending?.draft !== described) this.#pending = { draft: described, key: crypto.randomUUID() };
    return this.#pending.key;
  }

  async #place(): Promise<void> {
    if (this.#problem() !== undefined) return;
    this.#submit.disabled = true;
    const draft = this.#draft();
    try {
      const { order } = await trading.placeOrder({ ...draft, idempotencyKey: this.#keyFor(draft) }, { timeoutMs: PLACE_TIMEOUT_MS });
      this.#pending = undefined;
      // Fills, rejections and an order in doubt are announced by the order stream (views/orders.ts).
      if (order !== undefined && order.filledQuantity === 0n && !QUIET_STATES.has(order.state))
        toast(
          `접수 Order placed · ${nameOf(order.symbol)} ${sideLabel(order.side)} ${qty(order.quantity)} · ${STATE_LABELS[order.state].text}`,
          "info",
        );
    } catch (e) {
      if (ANSWERED.has(ConnectError.from(e).code)) {
        this.#pending = undefined;
        toast(`주문 실패 Order failed · ${errorText(e)}`, "bad");
      } else {
        toast(`응답 없음 · 다시 누르면 같은 주문으로 재시도 · No answer: click again to retry the same order · ${errorText(e)}`, "bad");
      }
    } finally {
      this.#submit.disabled = false;
    }
  }
}

/** Past this, the click counts as unanswered (the order may still have been placed): the same key goes again on a retry. */
const PLACE_TIMEOUT_MS = 10_000;

/** Answers that settle the click: the order was refused, and a new click is a new order. Anything else may have placed it. */
const ANSWERED = new Set([
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.NotFound,
  Code.OutOfRange,
  Code.Unauthenticated,
  Code.ResourceExhausted,
]);

/** States the stream announces itself. */
const QUIET_STATES = new Set([OrderState.REJECTED, OrderState.UNKNOWN]);
