// The signed-in console: its panels, and the two streams that keep them
// current without polling: the user's order updates from the gateway (the
// portfolio is read again when one moves cash or shares) and quotes, books
// and trades from the market's WebSocket.
import { Code, ConnectError, endSession, refresh as refreshSession, sessionUser, trading } from "../api.js";
import { el, oneAtATime, replace } from "../dom.js";
import { MarketFeed } from "../market-feed.js";
import { state } from "../state.js";
import { OrderFeed } from "../updates.js";
import { accountsBar, loadAccounts } from "./accounts.js";
import { chartPanel } from "./chart.js";
import { inquiryPanel } from "./inquiry.js";
import { applyUpdate, historyPanel, openOrdersPanel } from "./orders.js";
import { type Panel, page } from "./page.js";
import { portfolioPanel } from "./portfolio.js";
import { quotePanel } from "./quote.js";
import { statementPanel } from "./statement.js";
import { Ticket } from "./ticket.js";
import { tradesPanel } from "./trades.js";
import { watchlistPanel } from "./watchlist.js";

let feed: OrderFeed | undefined;
let market: MarketFeed | undefined;

/** Ends both streams (log-out, or the session ended). */
export function stopConsole(): void {
  feed?.stop();
  feed = undefined;
  market?.stop();
  market = undefined;
}

/** Renders at most once per frame, however many ticks arrive. */
function perFrame(render: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      render();
    });
  };
}

/** The console for the signed-in user; `onSessionEnd` when they log out or the session cannot be refreshed. */
export async function renderConsole(onSessionEnd: (message?: string) => void): Promise<void> {
  replace(
    page.session,
    el("span", { "data-testid": "session-user" }, sessionUser() ?? ""),
    el("button", { class: "ghost", onclick: () => void endSession().then(() => onSessionEnd()) }, "로그아웃 Log out"),
  );
  const [{ instruments }] = await Promise.all([trading.listInstruments({}), loadAccounts()]);
  state.instruments = instruments;
  const sessionEnded = () => onSessionEnd("세션이 끝났습니다. 다시 로그인하세요 · Session ended; log in again");
  const readPortfolio = oneAtATime(async () => {
    try {
      // Instruments too: their session phase and VI state change through the day, and an order update is a moment to look.
      const [portfolio, { instruments }] = await Promise.all([trading.getPortfolio({}), trading.listInstruments({})]);
      state.portfolio = portfolio;
      state.instruments = instruments;
      renderAll();
    } catch (e) {
      if (ConnectError.from(e).code === Code.Unauthenticated && !(await refreshSession())) sessionEnded();
    }
  });
  const select = (symbol: string) => {
    state.selected = symbol;
    state.book = state.books.get(symbol);
    ticket.selected();
    renderAll();
  };
  const ticket = new Ticket();
  const panels = {
    accounts: accountsBar(() => followAccount()),
    watchlist: watchlistPanel(select),
    quote: quotePanel(),
    chart: chartPanel(),
    portfolio: portfolioPanel(readPortfolio),
    open: openOrdersPanel(readPortfolio),
    history: historyPanel(),
    trades: tradesPanel(),
  };
  const all: Panel[] = [...Object.values(panels), ticket];
  const renderAll = () => {
    for (const panel of all) panel.render();
  };
  const { watchlist, quote, chart, portfolio, open, history, trades } = panels;
  replace(
    page.app,
    panels.accounts.element,
    el(
      "div",
      { class: "grid" },
      watchlist.element,
      quote.element,
      ticket.element,
      chart.element,
      portfolio.element,
      open.element,
      history.element,
      trades.element,
      inquiryPanel().element,
      statementPanel().element,
    ),
  );
  select(state.selected);
  // Orders and the portfolio are the chosen account's: a switch (or a reset) reads them again and follows its stream.
  const followAccount = async () => {
    feed?.stop();
    state.orders = [];
    feed = new OrderFeed({
      reload: async () => {
        state.orders = (await trading.listOrders({ pageSize: 100 })).orders;
        renderAll();
      },
      update: (update) => {
        applyUpdate(update);
        renderAll();
        // A hold, a fill or a release moved cash or shares: show them now.
        void readPortfolio();
      },
      ended: sessionEnded,
    });
    await Promise.all([feed.start(), readPortfolio()]);
  };
  market = new MarketFeed(
    () => state.instruments.map((i) => i.symbol),
    perFrame(() => {
      watchlist.render();
      quote.render();
      chart.render();
      trades.render();
    }),
  );
  market.start();
  await followAccount();
}
