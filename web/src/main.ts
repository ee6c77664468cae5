// The trading console: one page, plain DOM, order updates pushed by the
// gateway, the portfolio and market data polled. Log-in
// until there is a session, the console while there is one.
import { refresh, sessionUser } from "./api.js";
import { renderAuth } from "./views/auth.js";
import { renderConsole, stopPolling } from "./views/console.js";
import "./style.css";

function showAuth(message?: string): void {
  stopPolling();
  renderAuth(showConsole, message);
}

function showConsole(): Promise<void> {
  return renderConsole(showAuth);
}

if (sessionUser() !== undefined) {
  void refresh().then((ok) => (ok ? showConsole() : showAuth()));
} else {
  showAuth();
}
