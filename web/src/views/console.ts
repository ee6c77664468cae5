// The signed-in console: its panels, and the poll that refreshes the state they show.
import { Code, ConnectError, endSession, refresh as refreshSession, sessionUser, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { state } from "../state.js";
import { announceFills, historyPanel, openOrdersPanel } from "./orders.js";
import { type Panel, page } from "./page.js";
import { portfolioPanel } from "./portfolio.js";
import { quotePanel } from "./quote.js";
import { Ticket } from "./ticket.js";
import { watchlistPanel } from "./watchlist.js";

const POLL_MS = 1_500;
let pollTimer: number | undefined;

export function stopPolling(): void {
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
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
    state.book = book as typeof state.book;
  }
}

/** The console for the signed-in user; `onSessionEnd` when they log out or the session cannot be refreshed. */
export async function renderConsole(onSessionEnd: (message?: string) => void): Promise<void> {
  replace(
    page.session,
    el("span", { "data-testid": "session-user" }, sessionUser() ?? ""),
    el("button", { class: "ghost", onclick: () => void endSession().then(() => onSessionEnd()) }, "로그아웃 Log out"),
  );
  const { instruments } = await trading.listInstruments({});
  state.instruments = instruments;
  const poll = async (): Promise<void> => {
    try {
      const [portfolio, orders] = await Promise.all([trading.getPortfolio({}), trading.listOrders({ pageSize: 100 })]);
      state.portfolio = portfolio;
      state.orders = orders.orders;
      await pollMarket();
      announceFills(orders.orders);
      renderAll();
    } catch (e) {
      if (ConnectError.from(e).code === Code.Unauthenticated && !(await refreshSession()))
        onSessionEnd("세션이 끝났습니다. 다시 로그인하세요 · Session ended; log in again");
    }
  };
  const select = (symbol: string) => {
    state.selected = symbol;
    state.book = undefined;
    ticket.selected();
    renderAll();
  };
  const ticket = new Ticket(poll);
  const [watchlist, quote, portfolio, open, history] = [
    watchlistPanel(select),
    quotePanel(),
    portfolioPanel(poll),
    openOrdersPanel(poll),
    historyPanel(),
  ];
  const panels: Panel[] = [watchlist, quote, portfolio, open, history];
  const renderAll = () => {
    for (const panel of panels) panel.render();
  };
  replace(
    page.app,
    el("div", { class: "grid" }, watchlist.element, quote.element, ticket.element, portfolio.element, open.element, history.element),
  );
  select(state.selected);
  await poll();
  pollTimer = window.setInterval(() => void poll(), POLL_MS);
}
