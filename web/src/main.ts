// The trading console: one page, plain DOM, order updates pushed by the
// gateway, market data by the market's WebSocket, nothing polled. Log-in
// until there is a session, the console while there is one.
import { refresh, sessionUser } from "./api.js";
import { renderAuth } from "./views/auth.js";
import { renderConsole, stopConsole } from "./views/console.js";
import "./style.css";

function showAuth(message?: string): void {
  stopConsole();
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
