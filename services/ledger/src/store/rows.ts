import type { Account, AccountKind, Balance, Entry, EntryKind, Hold, Posting } from "../domain/model.js";

// Small codes in SQL, names in the domain; one table each way.
export const ACCOUNT_KIND_CODE: Record<AccountKind, number> = { user: 1, external: 2, clearing: 3, fees: 4 };
export const ENTRY_KIND_CODE: Record<EntryKind, number> = {
  deposit: 1,
  withdrawal: 2,
  transfer: 3,
  settlement: 4,
  reversal: 5,
};

function invert<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([name, code]) => [code as number, name as K]));
}
const ACCOUNT_KIND_NAME = invert(ACCOUNT_KIND_CODE);
const ENTRY_KIND_NAME = invert(ENTRY_KIND_CODE);

function decode<K>(table: Map<number, K>, code: number, what: string): K {
  const name = table.get(code);
  if (name === undefined) throw new Error(`unknown ${what} code ${code} in the database`);
  return name;
}

export interface AccountRow {
  account_id: string;
  owner_id: string;
  asset: string;
  kind: number;
  created_at: Date;
}

export const toAccount = (r: AccountRow): Account => ({
  accountId: r.account_id,
  ownerId: r.owner_id,
  asset: r.asset,
  kind: decode(ACCOUNT_KIND_NAME, r.kind, "account kind"),
  createdAt: r.created_at,
});

export interface BalanceRow {
  account_id: string;
  owner_id: string;
  asset: string;
  kind: number;
  total_minor: string;
  held_minor: string;
  version: string;
}

export const BALANCE_COLUMNS = "b.account_id, a.owner_id, a.asset, b.kind, b.total_minor, b.held_minor, b.version";

export const toBalance = (r: BalanceRow): Balance => ({
  accountId: r.account_id,
  ownerId: r.owner_id,
  asset: r.asset,
  kind: decode(ACCOUNT_KIND_NAME, r.kind, "account kind"),
  totalMinor: BigInt(r.total_minor),
  heldMinor: BigInt(r.held_minor),
  version: BigInt(r.version),
});

export interface HoldRow {
  hold_id: string;
  account_id: string;
  asset: string;
  amount_minor: string;
  settled_minor: string;
  released_minor: string;
  reference: string;
  created_at: Date;
}

export const HOLD_COLUMNS =
  "h.hold_id, h.account_id, a.asset, h.amount_minor, h.settled_minor, h.released_minor, h.reference, h.created_at";

export const toHold = (r: HoldRow): Hold => ({
  holdId: r.hold_id,
  accountId: r.account_id,
  asset: r.asset,
  amountMinor: BigInt(r.amount_minor),
  settledMinor: BigInt(r.settled_minor),
  releasedMinor: BigInt(r.released_minor),
  reference: r.reference,
  createdAt: r.created_at,
});

export interface EntryRow {
  entry_id: string;
  request_id: string;
  kind: number;
  created_at: Date;
  metadata: Record<string, string>;
  postings: { account_id: string; asset: string; amount_minor: string | number }[];
}

export const toEntry = (r: EntryRow): Entry => ({
  entryId: r.entry_id,
  requestId: r.request_id,
  kind: decode(ENTRY_KIND_NAME, r.kind, "entry kind"),
  createdAt: r.created_at,
  metadata: r.metadata,
  postings: r.postings.map((p): Posting => ({ accountId: p.account_id, asset: p.asset, amountMinor: BigInt(p.amount_minor) })),
});
