// The trading console: one page, plain DOM, polling the gateway.
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type { GetPortfolioResponse, Instrument, Order, OrderBook, Quote } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { isOnTick, roundToTick, tickSizeKrw } from "@kuku/platform/krx";
import { auth, Code, ConnectError, endSession, errorText, refresh, sessionUser, startSession, trading } from "./api.js";
import { el, replace } from "./dom.js";
import { NAMES_KO, num, OPEN_STATES, qty, STATE_LABELS, sideLabel, tifLabel, typeLabel, won } from "./labels.js";
import "./style.css";

const POLL_MS = 1_500;
const app = document.getElementById("app")!;
const sessionBox = document.getElementById("session")!;
const toasts = document.getElementById("toasts")!;

interface State {
  instruments: Instrument[];
  quotes: Map<string, Quote>;
  marketAvailable: boolean;
  selected: string;
  book: OrderBook | undefined;
  portfolio: GetPortfolioResponse | undefined;
  orders: Order[];
  filledSeen: Map<string, bigint>;
}
const state: State = {
  instruments: [],
  quotes: new Map(),
  marketAvailable: true,
  selected: "005930",
  book: undefined,
  portfolio: undefined,
  orders: [],
  filledSeen: new Map(),
};
let pollTimer: number | undefined;

// ---------- toasts ----------
function toast(text: string, tone: "ok" | "bad" | "info" = "info"): void {
  const node = el("div", { class: `toast ${tone}`, "data-testid": "toast", role: "status" }, text);
  toasts.append(node);
  setTimeout(() => node.remove(), 6_000);
}

const nameOf = (symbol: string) => {
  const en = state.instruments.find((i) => i.symbol === symbol)?.name ?? "";
  return `${NAMES_KO[symbol] ?? en} ${symbol}`;
};

// ---------- log in / sign up ----------
function renderAuth(message?: string): void {
  if (pollTimer !== undefined) clearInterval(pollTimer);
  replace(sessionBox);
  let mode: "login" | "signup" = "login";
  const email = el("input", {
    type: "email",
    placeholder: "you@example.com",
    autocomplete: "username",
    "data-testid": "auth-email",
    required: true,
  });
  const password = el("input", {
    type: "password",
    placeholder: "10자 이상 · at least 10 characters",
    autocomplete: "current-password",
    "data-testid": "auth-password",
    required: true,
  });
  const displayName = el("input", { type: "text", placeholder: "홍길동", "data-testid": "auth-name" });
  const nameRow = el("label", { class: "hidden" }, "이름 Name", displayName);
  const error = el("p", { class: "error", "data-testid": "auth-error" }, message ?? "");
  const submit = el("button", { type: "submit", class: "primary", "data-testid": "auth-submit" }, "로그인 Log in");
  const tabLogin = el("button", { type: "button", class: "tab active", "data-testid": "tab-login" }, "로그인 Log in");
  const tabSignup = el("button", { type: "button", class: "tab", "data-testid": "tab-signup" }, "회원가입 Sign up");
  const setMode = (m: typeof mode) => {
    mode = m;
    tabLogin.classList.toggle("active", m === "login");
    tabSignup.classList.toggle("active", m === "signup");
    nameRow.classList.toggle("hidden", m === "login");
    submit.textContent = m === "login" ? "로그인 Log in" : "가입하고 시작 Sign up";
    error.textContent = "";
  };
  tabLogin.addEventListener("click", () => setMode("login"));
  tabSignup.addEventListener("click", () => setMode("signup"));
  const form = el(
    "form",
    { class: "auth card" },
    el("h1", {}, "모의투자 시작하기", el("small", {}, "Start paper trading")),
    el("div", { class: "tabs" }, tabLogin, tabSignup),
    el("label", {}, "이메일 E-mail", email),
    el("label", {}, "비밀번호 Password", password),
    nameRow,
    error,
    submit,
    el("p", { class: "muted small" }, "가상 원화로 거래합니다. 실제 돈은 오가지 않습니다. · Mock KRW only; no real money moves."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    const done =
      mode === "login"
        ? auth.logIn({ email: email.value, password: password.value })
        : auth.signUp({ email: email.value, password: password.value, displayName: displayName.value || email.value.split("@")[0]! });
    done
      .then((res) => {
        startSession(res.tokens, email.value);
        return renderConsole();
      })
      .catch((e: unknown) => {
        const ce = ConnectError.from(e);
        error.textContent =
          ce.code === Code.Unauthenticated
            ? "이메일 또는 비밀번호가 틀렸습니다 · E-mail or password is wrong"
            : ce.code === Code.AlreadyExists
              ? "이미 가입된 이메일입니다 · This e-mail already has an account"
              : ce.code === Code.InvalidArgument
                ? `입력값 확인 · Check your input: ${ce.rawMessage}`
                : ce.code === Code.ResourceExhausted
                  ? `잠시 후 다시 시도 · Too many attempts: ${ce.rawMessage}`
                  : errorText(e);
      })
      .finally(() => (submit.disabled = false));
  });
  replace(app, el("div", { class: "auth-wrap" }, form));
}

// ---------- the console ----------
const views = {
  watchlist: el("tbody"),
  quote: el("div", { class: "quote" }),
  book: el("div", { class: "book" }),
  cash: el("div", { class: "cash" }),
  positions: el("tbody", { "data-testid": "positions" }),
  open: el("tbody", { "data-testid": "open-orders" }),
  history: el("tbody", { "data-testid": "order-history" }),
  ticketHint: el("p", { class: "hint", "data-testid": "ticket-hint" }),
  ticketSymbol: el("div", { class: "ticket-symbol" }),
};

async function renderConsole(): Promise<void> {
  const user = sessionUser() ?? "";
  replace(
    sessionBox,
    el("span", { "data-testid": "session-user" }, user),
    el("button", { class: "ghost", onclick: () => void endSession().then(() => renderAuth()) }, "로그아웃 Log out"),
  );
  const { instruments } = await trading.listInstruments({});
  state.instruments = instruments;
  replace(
    app,
    el(
      "div",
      { class: "grid" },
      el(
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
          views.watchlist,
        ),
      ),
      el("section", { class: "card" }, el("h2", {}, "시세 ", el("small", {}, "Quote & order book")), views.quote, views.book),
      ticket(),
      el(
        "section",
        { class: "card account" },
        el("h2", {}, "잔고 ", el("small", {}, "Balance & positions")),
        views.cash,
        deposit(),
        el(
          "table",
          {},
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", {}, "종목 Stock"),
              el("th", { class: "r" }, "보유 Qty"),
              el("th", { class: "r" }, "주문중 Held"),
              el("th", { class: "r" }, "현재가 Last"),
              el("th", { class: "r" }, "평가금액 Value"),
            ),
          ),
          views.positions,
        ),
      ),
      el(
        "section",
        { class: "card orders" },
        el("h2", {}, "미체결 ", el("small", {}, "Open orders")),
        el("table", {}, ordersHead(true), views.open),
        cancelById(),
      ),
      el(
        "section",
        { class: "card history" },
        el("h2", {}, "주문내역 ", el("small", {}, "Order history")),
        el("table", {}, ordersHead(false), views.history),
      ),
    ),
  );
  selectSymbol(state.selected);
  await poll();
  pollTimer = window.setInterval(() => void poll(), POLL_MS);
}

function ordersHead(open: boolean) {
  return el(
    "thead",
    {},
    el(
      "tr",
      {},
      el("th", {}, "시각 Time"),
      el("th", {}, "종목 Stock"),
      el("th", {}, "구분 Side"),
      el("th", {}, "유형 Type"),
      el("th", { class: "r" }, "수량 Qty"),
      el("th", { class: "r" }, "가격 Price"),
      el("th", { class: "r" }, "체결 Filled"),
      el("th", {}, "상태 State"),
      el("th", {}, open ? "" : "주문번호 Order no."),
    ),
  );
}

async function poll(): Promise<void> {
  try {
    const [portfolio, orders] = await Promise.all([trading.getPortfolio({}), trading.listOrders({ pageSize: 100 })]);
    state.portfolio = portfolio;
    state.orders = orders.orders;
    await pollMarket();
    announceFills(orders.orders);
    renderAll();
  } catch (e) {
    const ce = ConnectError.from(e);
    if (ce.code === Code.Unauthenticated && !(await refresh()))
      renderAuth("세션이 끝났습니다. 다시 로그인하세요 · Session ended; log in again");
  }
}

async function pollMarket(): Promise<void> {
  if (!state.marketAvailable) return;
  // A symbol that has not traded yet has no quote: that is no reason to drop the others.
  const [quotes, book] = await Promise.all([
    Promise.allSettled(state.instruments.map((i) => trading.getQuote({ symbol: i.symbol }))),
    trading.getOrderBook({ symbol: state.selected, depth: 5 }).then(
      (r) => r.orderBook,
      (e: unknown) => e,
    ),
  ]);
  for (const q of quotes)
    if (q.status === "fulfilled" && q.value.quote !== undefined) state.quotes.set(q.value.quote.symbol, q.value.quote);
  if (book instanceof Error) {
    // No market service behind this gateway: show reference prices instead of polling for nothing.
    if (ConnectError.from(book).code === Code.Unavailable) state.marketAvailable = false;
    state.book = undefined;
  } else {
    state.book = book as OrderBook | undefined;
  }
}

function announceFills(orders: Order[]): void {
  for (const o of orders) {
    const seen = state.filledSeen.get(o.orderId);
    if (seen !== undefined && o.filledQuantity > seen) fillToast(o, o.filledQuantity - seen);
    state.filledSeen.set(o.orderId, o.filledQuantity);
  }
}

function fillToast(o: Order, newlyFilled: bigint): void {
  const avg = o.filledQuantity > 0n ? o.filledNotionalKrw / o.filledQuantity : 0n;
  toast(`체결 Filled · ${nameOf(o.symbol)} ${sideLabel(o.side)} ${qty(newlyFilled)} @ ${won(avg)}`, "ok");
}

function lastPrice(symbol: string): bigint {
  const q = state.quotes.get(symbol);
  if (q !== undefined && q.lastPriceKrw > 0n) return q.lastPriceKrw;
  return state.instruments.find((i) => i.symbol === symbol)?.referencePriceKrw ?? 0n;
}

function renderAll(): void {
  // Watchlist: Korean colours, red up and blue down.
  replace(
    views.watchlist,
    ...state.instruments.map((i) => {
      const last = lastPrice(i.symbol);
      const change = last - i.referencePriceKrw;
      const tone = change > 0n ? "up" : change < 0n ? "down" : "";
      const pct = i.referencePriceKrw > 0n ? Number((change * 10_000n) / i.referencePriceKrw) / 100 : 0;
      return el(
        "tr",
        {
          class: `clickable ${i.symbol === state.selected ? "selected" : ""}`,
          "data-symbol": i.symbol,
          onclick: () => selectSymbol(i.symbol),
        },
        el("td", {}, el("b", {}, NAMES_KO[i.symbol] ?? i.name), el("div", { class: "muted small" }, `${i.name} · ${i.symbol}`)),
        el("td", { class: `r ${tone}` }, num(last)),
        el("td", { class: `r ${tone}` }, `${change > 0n ? "▲" : change < 0n ? "▼" : ""}${pct.toFixed(2)}%`),
      );
    }),
  );
  renderQuote();
  const p = state.portfolio;
  if (p !== undefined) {
    const stockValue = p.positions.reduce((sum, x) => sum + x.valuationKrw, 0n);
    replace(
      views.cash,
      stat("총평가 Total", won(p.cashTotalKrw + stockValue), "total"),
      stat("예수금 Cash", won(p.cashTotalKrw), "cash-total"),
      stat("주문가능 Available", won(p.cashAvailableKrw), "cash-available"),
      stat("주문중 On hold", won(p.cashHeldKrw), "cash-held"),
      stat("주식평가 Stocks", won(stockValue), "stock-value"),
    );
    replace(
      views.positions,
      ...(p.positions.length === 0
        ? [el("tr", {}, el("td", { colspan: "5", class: "muted" }, "보유 종목 없음 · No positions yet"))]
        : p.positions.map((x) =>
            el(
              "tr",
              { "data-symbol": x.symbol },
              el("td", {}, nameOf(x.symbol)),
              el("td", { class: "r", "data-testid": "position-qty" }, num(x.quantity)),
              el("td", { class: "r" }, num(x.heldQuantity)),
              el("td", { class: "r" }, num(x.lastPriceKrw)),
              el("td", { class: "r", "data-testid": "position-value" }, won(x.valuationKrw)),
            ),
          )),
    );
  }
  const open = state.orders.filter((o) => OPEN_STATES.has(o.state));
  replace(
    views.open,
    ...(open.length === 0
      ? [el("tr", {}, el("td", { colspan: "9", class: "muted" }, "미체결 주문 없음 · No open orders"))]
      : open.map((o) => orderRow(o, true))),
  );
  replace(
    views.history,
    ...(state.orders.length === 0
      ? [el("tr", {}, el("td", { colspan: "9", class: "muted" }, "주문 내역 없음 · No orders yet"))]
      : state.orders.map((o) => orderRow(o, false))),
  );
}

function stat(label: string, value: string, testid: string) {
  return el(
    "div",
    { class: "stat" },
    el("div", { class: "muted small" }, label),
    el("div", { class: "value", "data-testid": testid }, value),
  );
}

function orderRow(o: Order, open: boolean) {
  const label = STATE_LABELS[o.state];
  const time = o.createdAt === undefined ? "" : new Date(Number(o.createdAt.seconds) * 1000).toLocaleTimeString("ko-KR", { hour12: false });
  const cancel = el(
    "button",
    { class: "small danger", "data-testid": "cancel", onclick: () => void cancelOrder(o.orderId) },
    "취소 Cancel",
  );
  return el(
    "tr",
    { "data-order-id": o.orderId, "data-state": OrderState[o.state] },
    el("td", {}, time),
    el("td", {}, nameOf(o.symbol)),
    el("td", { class: o.side === Side.BUY ? "up" : "down" }, sideLabel(o.side)),
    el("td", {}, `${typeLabel(o.type)} · ${tifLabel(o.timeInForce)}`),
    el("td", { class: "r" }, num(o.quantity)),
    el("td", { class: "r" }, o.type === OrderType.LIMIT ? num(o.limitPriceKrw) : "시장가"),
    el("td", { class: "r" }, o.filledQuantity > 0n ? `${num(o.filledQuantity)} @ ${num(o.filledNotionalKrw / o.filledQuantity)}` : "0"),
    el(
      "td",
      {},
      el("span", { class: `badge ${label.tone}`, title: label.hint ?? o.rejectReason, "data-testid": "order-state" }, label.text),
      o.rejectReason ? el("div", { class: "muted small" }, o.rejectReason) : null,
      label.hint ? el("div", { class: "muted small" }, label.hint) : null,
    ),
    el("td", {}, open ? cancel : el("code", { class: "small" }, o.orderId)),
  );
}

async function cancelOrder(orderId: string): Promise<void> {
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
  await poll();
}

function cancelById() {
  const input = el("input", { type: "text", placeholder: "주문번호 Order no. (UUID)", "data-testid": "cancel-id" });
  const form = el(
    "form",
    { class: "inline" },
    input,
    el("button", { type: "submit", class: "small", "data-testid": "cancel-id-submit" }, "주문번호로 취소 Cancel by no."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void cancelOrder(input.value.trim());
  });
  return form;
}

// ---------- quote and book ----------
function selectSymbol(symbol: string): void {
  state.selected = symbol;
  state.book = undefined;
  replace(views.ticketSymbol, el("b", {}, nameOf(symbol)));
  priceInput.value = lastPrice(symbol) > 0n ? String(lastPrice(symbol)) : "";
  updateTicketHint();
  renderAll();
}

function renderQuote(): void {
  const i = state.instruments.find((x) => x.symbol === state.selected);
  if (i === undefined) return;
  const q = state.quotes.get(i.symbol);
  const last = lastPrice(i.symbol);
  const tone = last > i.referencePriceKrw ? "up" : last < i.referencePriceKrw ? "down" : "";
  replace(
    views.quote,
    el(
      "div",
      { class: "quote-head" },
      el(
        "div",
        {},
        el("div", { class: "big" }, NAMES_KO[i.symbol] ?? i.name),
        el("div", { class: "muted small" }, `${i.name} · ${i.symbol} · KOSPI`),
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
  );
  const book = state.book;
  if (book === undefined || !state.marketAvailable) {
    replace(views.book);
    return;
  }
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
  replace(
    views.book,
    el(
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
    ),
  );
  // CSP allows no inline style attributes; widths are set through the CSSOM.
  for (const b of views.book.querySelectorAll<HTMLElement>(".bar")) b.style.width = `${b.dataset["width"]}%`;
}

// ---------- order ticket ----------
let side: Side = Side.BUY;
const typeSelect = el(
  "select",
  { "data-testid": "ticket-type" },
  el("option", { value: "limit" }, "지정가 Limit"),
  el("option", { value: "market" }, "시장가 Market"),
);
const qtyInput = el("input", { type: "number", min: "1", step: "1", value: "1", "data-testid": "ticket-qty" });
const priceInput = el("input", { type: "number", min: "1", "data-testid": "ticket-price" });
const submitOrder = el("button", { type: "submit", class: "primary buy", "data-testid": "ticket-submit" }, "매수 Buy");

function ticket() {
  const buyTab = el("button", { type: "button", class: "tab buy active", "data-testid": "ticket-buy" }, "매수 Buy");
  const sellTab = el("button", { type: "button", class: "tab sell", "data-testid": "ticket-sell" }, "매도 Sell");
  const setSide = (s: Side) => {
    side = s;
    buyTab.classList.toggle("active", s === Side.BUY);
    sellTab.classList.toggle("active", s === Side.SELL);
    submitOrder.textContent = s === Side.BUY ? "매수 Buy" : "매도 Sell";
    submitOrder.classList.toggle("buy", s === Side.BUY);
    submitOrder.classList.toggle("sell", s === Side.SELL);
    updateTicketHint();
  };
  buyTab.addEventListener("click", () => setSide(Side.BUY));
  sellTab.addEventListener("click", () => setSide(Side.SELL));
  const step = (direction: 1n | -1n) => () => {
    const current = parsePrice() ?? lastPrice(state.selected);
    if (current <= 0n) return;
    const tick = tickSizeKrw(current);
    const next = direction === 1n ? roundToTick(current + tick, "up") : roundToTick(current - 1n, "down");
    if (next > 0n) priceInput.value = String(next);
    updateTicketHint();
  };
  const priceRow = el(
    "label",
    {},
    "가격 Price (원)",
    el(
      "div",
      { class: "stepper" },
      el("button", { type: "button", onclick: step(-1n), "data-testid": "price-down" }, "−"),
      priceInput,
      el("button", { type: "button", onclick: step(1n), "data-testid": "price-up" }, "+"),
    ),
  );
  typeSelect.addEventListener("change", () => {
    priceRow.classList.toggle("hidden", typeSelect.value === "market");
    updateTicketHint();
  });
  for (const input of [qtyInput, priceInput]) input.addEventListener("input", updateTicketHint);
  const form = el(
    "form",
    { class: "card ticket" },
    el("h2", {}, "주문 ", el("small", {}, "Order ticket")),
    views.ticketSymbol,
    el("div", { class: "tabs" }, buyTab, sellTab),
    el("label", {}, "주문유형 Type", typeSelect),
    el("label", {}, "수량 Quantity (주)", qtyInput),
    priceRow,
    views.ticketHint,
    submitOrder,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void place();
  });
  return form;
}

function parsePrice(): bigint | undefined {
  return /^\d{1,12}$/.test(priceInput.value) ? BigInt(priceInput.value) : undefined;
}

/** Checks the ticket before it is sent: the same KRX tick ladder and price limits the exchange applies. */
function ticketProblem(): string | undefined {
  if (!/^\d{1,9}$/.test(qtyInput.value) || BigInt(qtyInput.value) <= 0n)
    return "수량은 1주 이상의 정수 · Quantity must be a whole number of shares, at least 1";
  if (typeSelect.value === "market") return undefined;
  const price = parsePrice();
  if (price === undefined || price <= 0n) return "가격을 입력하세요 · Enter a price";
  if (!isOnTick(price)) {
    const tick = tickSizeKrw(price);
    return `호가단위 오류: ${num(tick)}원 단위 · Not on the ${num(tick)}-won tick (try ${num(roundToTick(price, "down"))} or ${num(roundToTick(price, "up"))})`;
  }
  const i = state.instruments.find((x) => x.symbol === state.selected);
  if (i !== undefined && (price > i.upperLimitKrw || price < i.lowerLimitKrw))
    return `가격제한폭 밖 · Outside today's limits ${num(i.lowerLimitKrw)}–${num(i.upperLimitKrw)}`;
  return undefined;
}

function updateTicketHint(): void {
  const problem = ticketProblem();
  views.ticketHint.classList.toggle("error", problem !== undefined);
  if (problem !== undefined) {
    views.ticketHint.textContent = problem;
    submitOrder.disabled = true;
    return;
  }
  submitOrder.disabled = false;
  const quantity = BigInt(qtyInput.value);
  const price = typeSelect.value === "market" ? lastPrice(state.selected) : parsePrice()!;
  views.ticketHint.textContent = `${typeSelect.value === "market" ? "예상 Est." : "주문금액 Amount"} ${won(quantity * price)} · 호가단위 Tick ${num(tickSizeKrw(price > 0n ? price : 1n))}원`;
}

async function place(): Promise<void> {
  if (ticketProblem() !== undefined) return;
  submitOrder.disabled = true;
  const market = typeSelect.value === "market";
  try {
    const { order } = await trading.placeOrder({
      idempotencyKey: crypto.randomUUID(),
      symbol: state.selected,
      side,
      type: market ? OrderType.MARKET : OrderType.LIMIT,
      // A market order never rests; a limit order rests for the day.
      timeInForce: market ? TimeInForce.IOC : TimeInForce.DAY,
      quantity: BigInt(qtyInput.value),
      limitPriceKrw: market ? 0n : parsePrice()!,
    });
    if (order !== undefined) {
      state.filledSeen.set(order.orderId, order.filledQuantity);
      if (order.filledQuantity > 0n) fillToast(order, order.filledQuantity);
      else if (order.state === OrderState.REJECTED) toast(`거부 Rejected · ${order.rejectReason}`, "bad");
      else
        toast(
          `접수 Order placed · ${nameOf(order.symbol)} ${sideLabel(order.side)} ${qty(order.quantity)} · ${STATE_LABELS[order.state].text}`,
          "info",
        );
    }
  } catch (e) {
    toast(`주문 실패 Order failed · ${errorText(e)}`, "bad");
  } finally {
    submitOrder.disabled = false;
  }
  await poll();
}

// ---------- deposit ----------
function deposit() {
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
        void poll();
      });
  });
  return form;
}

// ---------- start ----------
if (sessionUser() !== undefined) {
  void refresh().then((ok) => (ok ? renderConsole() : renderAuth()));
} else {
  renderAuth();
}
