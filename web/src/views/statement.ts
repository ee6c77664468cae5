// The account statement (거래내역): the ledger's postings on the user's cash
// and share accounts in a range of KST days, each with the balance after
// it; the CSV file is built here from the same rows (ADR 0024).
import type { StatementRow } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { errorText, trading } from "../api.js";
import { el, replace } from "../dom.js";
import { num } from "../labels.js";
import { nameOf } from "../state.js";
import { type Panel, toast } from "./page.js";
import { dateInput, kstDayRange, timeText } from "./ranges.js";

const KIND_LABELS: Record<string, string> = {
  deposit: "입금 Deposit",
  withdrawal: "출금 Withdrawal",
  buy: "매수 Buy",
  sell: "매도 Sell",
  fee: "수수료 Fee",
  tax: "세금 Tax",
  transfer: "대체 Transfer",
  reversal: "정정 Reversal",
};

const CSV_COLUMNS = ["occurred_at_kst", "kind", "asset", "amount", "balance_after", "order_id", "execution_id", "entry_id"];

/** RFC 4180: every field quoted, quotes doubled; a leading formula character defused for spreadsheets. */
const csvField = (value: string) => `"${(/^[=+\-@]/.test(value) && !/^-?\d+$/.test(value) ? `'${value}` : value).replaceAll('"', '""')}"`;

export function statementCsv(rows: readonly StatementRow[]): string {
  const lines = rows.map((r) =>
    [timeText(r.occurredAt), r.kind, r.asset, r.amount.toString(), r.balanceAfter.toString(), r.orderId, r.executionId, r.entryId]
      .map(csvField)
      .join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...lines].join("\r\n")}\r\n`;
}

function download(name: string, text: string): void {
  // A BOM so that spreadsheet programs read the Korean as UTF-8.
  const url = URL.createObjectURL(new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" }));
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

const rowView = (r: StatementRow) =>
  el(
    "tr",
    { "data-kind": r.kind, "data-asset": r.asset },
    el("td", {}, timeText(r.occurredAt)),
    el("td", {}, KIND_LABELS[r.kind] ?? r.kind),
    el("td", {}, r.asset === "KRW" ? "원 KRW" : nameOf(r.asset)),
    el("td", { class: `r ${r.amount < 0n ? "down" : "up"}`, "data-testid": "statement-amount" }, num(r.amount)),
    el("td", { class: "r", "data-testid": "statement-balance" }, num(r.balanceAfter)),
    el("td", {}, el("code", {}, r.orderId)),
  );

export function statementPanel(): Panel {
  const from = dateInput("statement-from", -30);
  const to = dateInput("statement-to", 0);
  const rows = el("tbody", { "data-testid": "statement-rows" });
  const csv = el("button", { type: "button", class: "small", "data-testid": "statement-csv", disabled: true }, "CSV 다운로드 Download");
  let shown: { rows: StatementRow[]; name: string } = { rows: [], name: "" };
  const search = async () => {
    try {
      const range = kstDayRange(from.value, to.value);
      const { rows: found } = await trading.getStatement({ from: range.from, before: range.before });
      shown = { rows: found, name: `kuku-statement-${from.value}-${to.value}.csv` };
      csv.disabled = false;
      replace(
        rows,
        ...(found.length === 0 ? [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "거래 없음 · No entries"))] : found.map(rowView)),
      );
    } catch (e) {
      toast(`조회 실패 Statement failed · ${errorText(e)}`, "bad");
    }
  };
  csv.addEventListener("click", () => download(shown.name, statementCsv(shown.rows)));
  const form = el(
    "form",
    { class: "inline" },
    from,
    el("span", {}, "~"),
    to,
    el("button", { type: "submit", class: "small", "data-testid": "statement-search" }, "조회 Search"),
    csv,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void search();
  });
  const head = ["일시 Time", "구분 Kind", "자산 Asset", "금액·수량 Amount", "잔액 Balance", "주문번호 Order no."];
  const element = el(
    "section",
    { class: "card statement" },
    el("h2", {}, "거래내역 ", el("small", {}, "Account statement")),
    form,
    el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), rows),
  );
  return { element, render: () => undefined };
}
