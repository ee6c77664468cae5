// An account statement from the ledger's journal: each posting on one of
// the user's accounts, with the balance after it, worked back from the
// balance now through the entries newest first.

export interface JournalEntry {
  readonly entryId: string;
  /** The ledger's entry kind: deposit, withdrawal, transfer, settlement, reversal. */
  readonly kind: string;
  readonly createdAt: Date;
  readonly postings: readonly { readonly accountId: string; readonly amountMinor: bigint }[];
  readonly metadata: Readonly<Record<string, string>>;
}

export interface StatementAccount {
  readonly accountId: string;
  readonly asset: string;
  /** The balance now: where the walk back starts. */
  readonly totalMinor: bigint;
}

export interface StatementRow {
  readonly entryId: string;
  readonly occurredAt: Date;
  readonly kind: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly orderId: string;
  readonly executionId: string;
}

/** What a posting was, in a statement's words: a fill's own charges by the entry's `charge`, a trade by its direction. */
function kindOf(entry: JournalEntry, asset: string, amount: bigint): string {
  const charge = entry.metadata.charge;
  if (charge === "fee" || charge === "tax") return charge;
  if (entry.kind !== "settlement") return entry.kind;
  const cashOut = asset === "KRW" ? amount < 0n : amount > 0n;
  return cashOut ? "buy" : "sell";
}

/**
 * The rows of one account within [from, before), oldest first, from its
 * entries newest first (all of them from now back to at least `from`).
 */
export function statementRows(account: StatementAccount, newestFirst: readonly JournalEntry[], from: Date, before: Date): StatementRow[] {
  const rows: StatementRow[] = [];
  let balance = account.totalMinor;
  for (const entry of newestFirst) {
    const amount = entry.postings.filter((p) => p.accountId === account.accountId).reduce((s, p) => s + p.amountMinor, 0n);
    if (entry.createdAt >= from && entry.createdAt < before && amount !== 0n) {
      rows.push({
        entryId: entry.entryId,
        occurredAt: entry.createdAt,
        kind: kindOf(entry, account.asset, amount),
        asset: account.asset,
        amount,
        balanceAfter: balance,
        orderId: entry.metadata.order_id ?? "",
        executionId: entry.metadata.execution_id ?? "",
      });
    }
    balance -= amount;
  }
  return rows.reverse();
}

/**
 * Every account's rows in one statement, oldest first. The sort is stable and
 * by time only: entries of one ledger transaction share their instant, and
 * within an account the journal's own order (which the balances follow) stays.
 */
export function mergeRows(perAccount: readonly StatementRow[][]): StatementRow[] {
  return perAccount.flat().sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
}
