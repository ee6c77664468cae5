// The order ticket: every KRX type and time in force, checked against the KRX tick ladder and the day's
// price limits before it is sent, with the hold a buy takes and the quantity the account can order.
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { Side } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { ORDER_TYPES, TIMES_IN_FORCE } from "@kuku/contracts/order-terms";
import { isOnTick, KRX_ORDER_TYPES, type KrxOrderType, type KrxTimeInForce, roundToTick, tickSizeKrw } from "@kuku/platform/krx";
import { Code, ConnectError, errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num, qty, STATE_LABELS, sideLabel, TIF_LABELS, TYPE_LABELS, won } from "../labels.js";
import { instrumentOf, lastPrice, nameOf, state } from "../state.js";
import { toast } from "./page.js";

/** A price field: its digits, or undefined. */
const parsePrice = (input: HTMLInputElement): bigint | undefined => (/^\d{1,12}$/.test(input.value) ? BigInt(input.value) : undefined);

/** The same KRX tick ladder and price limits the exchange applies; `what` names the field. */
function priceProblem(what: string, price: bigint | undefined, symbol: string): string | undefined {
  if (price === undefined || price <= 0n) return `${what}을 입력하세요 · Enter the ${what === "가격" ? "price" : "stop price"}`;
  if (!isOnTick(price)) {
    const tick = tickSizeKrw(price);
    return `호가단위 오류: ${num(tick)}원 단위 · Not on the ${num(tick)}-won tick (try ${num(roundToTick(price, "down"))} or ${num(roundToTick(price, "up"))})`;
  }
  const i = instrumentOf(symbol);
  if (i !== undefined && (price > i.upperLimitKrw || price < i.lowerLimitKrw))
    return `가격제한폭 밖 · Outside today's limits ${num(i.lowerLimitKrw)}–${num(i.upperLimitKrw)}`;
  return undefined;
}

export class Ticket {
  readonly element: HTMLFormElement;
  #side: Side = Side.BUY;
  readonly #symbol = el("div", { class: "ticket-symbol" });
  readonly #type = el(
    "select",
    { "data-testid": "ticket-type" },
    ...(Object.keys(ORDER_TYPES) as KrxOrderType[]).map((t) => el("option", { value: t }, TYPE_LABELS[ORDER_TYPES[t]])),
  );
  readonly #tif = el("select", { "data-testid": "ticket-tif" });
  readonly #qty = el("input", { type: "number", min: "1", step: "1", value: "1", "data-testid": "ticket-qty" });
  readonly #price = el("input", { type: "number", min: "1", "data-testid": "ticket-price" });
  readonly #stop = el("input", { type: "number", min: "1", "data-testid": "ticket-stop" });
  readonly #stopRow = el("label", { class: "hidden" }, "스탑가격 Stop price (원)", this.#stop);
  readonly #hint = el("p", { class: "hint", "data-testid": "ticket-hint" });
  /** 증거금 and 주문가능수량: what a buy holds (shares for a sell) and how many the account can order. */
  readonly #capacity = el("p", { class: "muted small", "data-testid": "ticket-capacity" });
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
      const rules = KRX_ORDER_TYPES[this.#kind()];
      priceRow.classList.toggle("hidden", !rules.priced);
      this.#stopRow.classList.toggle("hidden", !rules.stop);
      // A market-like order rests only if asked: IOC first where the type takes it.
      replace(this.#tif, ...rules.tifs.map((tif) => el("option", { value: tif }, TIF_LABELS[TIMES_IN_FORCE[tif]])));
      this.#tif.value = rules.tifs.includes("ioc") && rules.marketLike ? "ioc" : "day";
      this.#updateHint();
    });
    this.#type.dispatchEvent(new Event("change"));
    this.#tif.addEventListener("change", () => this.#updateHint());
    for (const input of [this.#qty, this.#price, this.#stop]) input.addEventListener("input", () => this.#updateHint());
    this.element = el(
      "form",
      { class: "card ticket" },
      el("h2", {}, "주문 ", el("small", {}, "Order ticket")),
      this.#symbol,
      this.#sideTabs(),
      el("label", {}, "주문유형 Type", this.#type),
      el("label", {}, "조건 Time in force", this.#tif),
      el("label", {}, "수량 Quantity (주)", this.#qty),
      priceRow,
      this.#stopRow,
      this.#hint,
      this.#capacity,
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

  /** The portfolio or the limits moved: what the account can order now. */
  render(): void {
    this.#updateCapacity();
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
    return parsePrice(this.#price);
  }

  #kind(): KrxOrderType {
    return this.#type.value as KrxOrderType;
  }

  #problem(): string | undefined {
    if (!/^\d{1,9}$/.test(this.#qty.value) || BigInt(this.#qty.value) <= 0n)
      return "수량은 1주 이상의 정수 · Quantity must be a whole number of shares, at least 1";
    const rules = KRX_ORDER_TYPES[this.#kind()];
    if (rules.priced) {
      const problem = priceProblem("가격", this.#parsePrice(), state.selected);
      if (problem !== undefined) return problem;
    }
    if (rules.stop) return priceProblem("스탑가격", parsePrice(this.#stop), state.selected);
    return undefined;
  }

  /** What the order service will hold for a buy: the worst fill (the upper limit for what the venue prices), before the fee. */
  #worstPrice(): bigint {
    const i = instrumentOf(state.selected);
    return KRX_ORDER_TYPES[this.#kind()].marketLike ? (i?.upperLimitKrw ?? 0n) : (this.#parsePrice() ?? 0n);
  }

  #updateHint(): void {
    this.#updateCapacity();
    const problem = this.#problem();
    this.#hint.classList.toggle("error", problem !== undefined);
    this.#submit.disabled = problem !== undefined;
    if (problem !== undefined) {
      this.#hint.textContent = problem;
      return;
    }
    const priced = KRX_ORDER_TYPES[this.#kind()].priced;
    const price = priced ? this.#parsePrice()! : lastPrice(state.selected);
    this.#hint.textContent = `${priced ? "주문금액 Amount" : "예상 Est."} ${won(BigInt(this.#qty.value) * price)} · 호가단위 Tick ${num(tickSizeKrw(price > 0n ? price : 1n))}원`;
  }

  #updateCapacity(): void {
    if (this.#side === Side.SELL) {
      const p = state.portfolio?.positions.find((x) => x.symbol === state.selected);
      const free = p === undefined ? 0n : p.quantity - p.heldQuantity;
      this.#capacity.textContent = `주문가능수량 Orderable ${qty(free)} · 매도는 주식을 묶습니다 · A sell holds the shares`;
      return;
    }
    const worst = this.#worstPrice();
    const quantity = /^\d{1,9}$/.test(this.#qty.value) ? BigInt(this.#qty.value) : 0n;
    const cash = state.portfolio?.cashAvailableKrw ?? 0n;
    this.#capacity.textContent =
      worst > 0n
        ? `증거금 Hold ${won(worst * quantity)} + 수수료 fee · 주문가능수량 Orderable ≤ ${qty(cash / worst)} (@ ${num(worst)})`
        : "";
  }

  /** The order the form describes now. */
  #draft() {
    const rules = KRX_ORDER_TYPES[this.#kind()];
    return {
      symbol: state.selected,
      side: this.#side,
      type: ORDER_TYPES[this.#kind()],
      timeInForce: TIMES_IN_FORCE[this.#tif.value as KrxTimeInForce],
      quantity: BigInt(this.#qty.value),
      limitPriceKrw: rules.priced ? this.#parsePrice()! : 0n,
      stopPriceKrw: rules.stop ? parsePrice(this.#stop)! : 0n,
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
