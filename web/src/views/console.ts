// The signed-in console: its panels, the order updates pushed to it, and the
// poll that refreshes the portfolio and the market data.
import { Code, ConnectError, endSession, refresh as refreshSession, sessionUser, trading } from "../api.js";
import { el, oneAtATime, replace } from "../dom.js";
import { state } from "../state.js";
import { OrderFeed } from "../updates.js";
import { applyUpdate, historyPanel, openOrdersPanel } from "./orders.js";
import { type Panel, page } from "./page.js";
import { portfolioPanel } from "./portfolio.js";
import { quotePanel } from "./quote.js";
import { Ticket } from "./ticket.js";
import { watchlistPanel } from "./watchlist.js";

const POLL_MS = 1_500;
let pollTimer: number | undefined;
let feed: OrderFeed | undefined;

export function stopPolling(): void {
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
  feed?.stop();
  feed = undefined;
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
  const sessionEnded = () => onSessionEnd("세션이 끝났습니다. 다시 로그인하세요 · Session ended; log in again");
  // Orders come from the stream (OrderFeed); the portfolio and the market data are polled.
  const poll = async (market = true): Promise<void> => {
    try {
      state.portfolio = await trading.getPortfolio({});
      if (market) {
        // The session phase and VI state change through the day.
        state.instruments = (await trading.listInstruments({})).instruments;
        await pollMarket();
      }
      renderAll();
    } catch (e) {
      if (ConnectError.from(e).code === Code.Unauthenticated && !(await refreshSession())) sessionEnded();
    }
  };
  // One at a time: on a slow gateway, ticks and updates wait for the call in flight instead of piling up.
  const tick = oneAtATime(() => poll(true));
  const refreshPortfolio = oneAtATime(() => poll(false));
  const select = (symbol: string) => {
    state.selected = symbol;
    state.book = undefined;
    ticket.selected();
    renderAll();
  };
  const ticket = new Ticket();
  const [watchlist, quote, portfolio, open, history] = [
    watchlistPanel(select),
    quotePanel(),
    portfolioPanel(refreshPortfolio),
    openOrdersPanel(refreshPortfolio),
    historyPanel(),
  ];
  const panels: Panel[] = [watchlist, quote, portfolio, open, history, ticket];
  const renderAll = () => {
    for (const panel of panels) panel.render();
  };
  replace(
    page.app,
    el("div", { class: "grid" }, watchlist.element, quote.element, ticket.element, portfolio.element, open.element, history.element),
  );
  select(state.selected);
  feed = new OrderFeed({
    reload: async () => {
      state.orders = (await trading.listOrders({ pageSize: 100 })).orders;
      renderAll();
    },
    update: (update) => {
      applyUpdate(update);
      renderAll();
      // A hold, a fill or a release moved cash or shares: show them now, not at the next poll.
      void refreshPortfolio();
    },
    ended: sessionEnded,
  });
  await Promise.all([feed.start(), tick()]);
  pollTimer = window.setInterval(() => void tick(), POLL_MS);
}
