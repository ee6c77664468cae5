import { assert } from "@kuku/platform/assert";

export const CASH_ASSET = "KRW";
const ASSET_CODE = /^(KRW|[0-9A-Z]{6})$/;

export function isAssetCode(asset: string): boolean {
  return ASSET_CODE.test(asset);
}

/** User accounts belong to customers and can never be overdrawn. */
export type AccountKind = "user" | "external" | "clearing" | "fees";

// Owner ids of the platform's own accounts; customers cannot use them.
export const SYSTEM_OWNER_PREFIX = "system:";
export function systemOwnerId(kind: Exclude<AccountKind, "user">): string {
  return `${SYSTEM_OWNER_PREFIX}${kind}`;
}

export interface Account {
  readonly accountId: string;
  readonly ownerId: string;
  readonly asset: string;
  readonly kind: AccountKind;
  readonly createdAt: Date;
}

export interface Balance {
  readonly accountId: string;
  readonly ownerId: string;
  readonly asset: string;
  readonly kind: AccountKind;
  readonly totalMinor: bigint;
  readonly heldMinor: bigint;
  readonly version: bigint;
}

export function availableMinor(balance: Balance): bigint {
  return balance.totalMinor - balance.heldMinor;
}

/** What every stored balance satisfies; checked before writing. */
export function assertBalanceInvariants(balance: Balance): void {
  assert(balance.heldMinor >= 0n, `held of ${balance.accountId} is negative`);
  if (balance.kind === "user") {
    assert(availableMinor(balance) >= 0n, `available of user account ${balance.accountId} is negative`);
  }
}

export interface Posting {
  readonly accountId: string;
  readonly asset: string;
  readonly amountMinor: bigint;
}

export type EntryKind = "deposit" | "withdrawal" | "transfer" | "settlement" | "reversal";

export interface Entry {
  readonly entryId: string;
  readonly requestId: string;
  readonly kind: EntryKind;
  readonly createdAt: Date;
  readonly postings: readonly Posting[];
  readonly metadata: Readonly<Record<string, string>>;
}

export interface Hold {
  readonly holdId: string;
  readonly accountId: string;
  readonly asset: string;
  readonly amountMinor: bigint;
  readonly settledMinor: bigint;
  readonly releasedMinor: bigint;
  readonly reference: string;
  readonly createdAt: Date;
}

export function remainingMinor(hold: Hold): bigint {
  return hold.amountMinor - hold.settledMinor - hold.releasedMinor;
}
