// The account bar: which paper account the console acts on, a new named
// account, and the reset of the current one to a chosen starting cash.
import type { PaperAccount } from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import { accounts, errorText, useAccount } from "../api.js";
import { el, replace } from "../dom.js";
import { won } from "../labels.js";
import { state } from "../state.js";
import { type Panel, toast } from "./page.js";

const DEFAULT_START_KRW = "10000000";

const label = (a: PaperAccount) => `${a.name}${a.primary ? " (기본 Main)" : ""} · 시작 ${won(a.startingCashKrw)}`;

/** Loads the user's accounts; keeps the chosen one if it still exists. */
export async function loadAccounts(): Promise<void> {
  const list = await accounts.listAccounts({});
  state.accounts = list.accounts;
  state.cashCapKrw = list.cashCapKrw;
  if (!state.accounts.some((a) => a.accountId === state.account)) state.account = state.accounts[0]?.accountId ?? "";
  useAccount(state.account);
}

/** A modal form: `submit` gets its inputs' values; the dialog closes when it succeeds. */
function dialog(title: string, testid: string, fields: HTMLInputElement[], submit: (values: string[]) => Promise<void>) {
  const error = el("div", { class: "error small", "data-testid": `${testid}-error` });
  const ok = el("button", { type: "submit", "data-testid": `${testid}-submit` }, "확인 OK");
  const cancel = el("button", { type: "button", class: "ghost" }, "취소 Cancel");
  const form = el("form", { class: "card" }, el("h2", {}, title), ...fields.map((f) => el("label", {}, f.title, f)), error, ok, cancel);
  const node = el("dialog", { "data-testid": testid }, form);
  cancel.addEventListener("click", () => node.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ok.disabled = true;
    replace(error);
    submit(fields.map((f) => f.value))
      .then(() => node.close())
      .catch((e: unknown) => replace(error, errorText(e)))
      .finally(() => (ok.disabled = false));
  });
  document.body.append(node);
  return node;
}

const cashInput = (testid: string) =>
  el("input", {
    type: "number",
    min: "1",
    step: "1",
    value: DEFAULT_START_KRW,
    title: "시작 금액 Starting cash (원)",
    "data-testid": testid,
  });

/** `switched` after the account changed (or was reset): reload what the console shows of it. */
export function accountsBar(switched: () => Promise<void>): Panel {
  const select = el("select", { "data-testid": "account-select", title: "계좌 Account" });
  select.addEventListener("change", () => {
    state.account = select.value;
    useAccount(state.account);
    void switched();
  });
  const name = el("input", { maxlength: "40", title: "계좌 이름 Name", "data-testid": "account-name", required: true });
  const createCash = cashInput("account-start");
  const create = dialog("새 계좌 New account", "account-create", [name, createCash], async ([n, cash]) => {
    const { account } = await accounts.createAccount({ requestId: crypto.randomUUID(), name: n!, startingCashKrw: BigInt(cash!) });
    await loadAccounts();
    state.account = account!.accountId;
    useAccount(state.account);
    toast(`계좌 개설 Account opened · ${account!.name}`, "ok");
    await switched();
  });
  const resetCash = cashInput("reset-cash");
  const reset = dialog("계좌 초기화 Reset account", "account-reset", [resetCash], async ([cash]) => {
    // One key per confirmed reset: a retry of the same click is the same reset.
    const r = await accounts.resetAccount({ requestId: crypto.randomUUID(), accountId: state.account, startingCashKrw: BigInt(cash!) });
    await loadAccounts();
    toast(`초기화 완료 Reset · 예수금 ${won(r.cashTotalKrw)} · 취소 ${r.ordersCancelled}건 cancelled`, "ok");
    await switched();
  });
  const element = el(
    "div",
    { class: "accounts-bar" },
    el("span", { class: "muted small" }, "계좌 Account"),
    select,
    el("button", { class: "small ghost", "data-testid": "account-new", onclick: () => create.showModal() }, "새 계좌 New"),
    el(
      "button",
      {
        class: "small ghost",
        "data-testid": "account-reset-open",
        onclick: () => {
          const current = state.accounts.find((a) => a.accountId === state.account);
          if (current !== undefined && current.startingCashKrw > 0n) resetCash.value = current.startingCashKrw.toString();
          reset.showModal();
        },
      },
      "초기화 Reset",
    ),
  );
  const render = () => {
    replace(select, ...state.accounts.map((a) => el("option", { value: a.accountId, selected: a.accountId === state.account }, label(a))));
  };
  return { element, render };
}
