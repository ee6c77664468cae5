// The page's fixed places (index.html) and the small parts every panel uses.
import { el } from "../dom.js";

export const page = {
  app: document.getElementById("app")!,
  session: document.getElementById("session")!,
  toasts: document.getElementById("toasts")!,
};

/** A panel of the console: its section, and how it shows the current state. */
export interface Panel {
  readonly element: HTMLElement;
  render(): void;
}

export function toast(text: string, tone: "ok" | "bad" | "info" = "info"): void {
  const node = el("div", { class: `toast ${tone}`, "data-testid": "toast", role: "status" }, text);
  page.toasts.append(node);
  setTimeout(() => node.remove(), 6_000);
}

export function stat(label: string, value: string, testid: string) {
  return el(
    "div",
    { class: "stat" },
    el("div", { class: "muted small" }, label),
    el("div", { class: "value", "data-testid": testid }, value),
  );
}
