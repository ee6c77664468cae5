// The paper-money policy: cash enters an account only as its starting cash
// (on creation and on reset) or as deposits that keep its cash within the
// cap; a reset brings cash to the starting amount and shares to zero by
// journal legs against the ledger's external accounts, never by deleting.
import { failedPrecondition, invalidArgument } from "@kuku/platform/errors";

export const CASH = "KRW";

/** A starting cash the policy allows: more than zero, at most the cap. */
export function checkStartingCash(amountKrw: bigint, capKrw: bigint): void {
  if (amountKrw <= 0n) throw invalidArgument("starting_cash_krw", "must be more than 0");
  if (amountKrw > capKrw) throw invalidArgument("starting_cash_krw", `must be at most ${capKrw} KRW (the paper-money cap)`);
}

/** A deposit that would take the account's cash above the cap is refused whole. */
export function checkDeposit(cashTotalKrw: bigint, amountKrw: bigint, capKrw: bigint): void {
  if (cashTotalKrw + amountKrw > capKrw) {
    throw failedPrecondition(
      `amount_krw: the account holds ${cashTotalKrw} KRW and may hold at most ${capKrw} KRW of paper money; reset it to choose its cash`,
      { field: "amount_krw" },
    );
  }
}

export interface HeldBalance {
  readonly accountId: string;
  readonly asset: string;
  readonly totalMinor: bigint;
}

export interface Leg {
  readonly accountId: string;
  readonly asset: string;
  readonly amountMinor: bigint;
}

/**
 * The legs that take the account's cash to `startingCashKrw` and every share
 * to zero, each matched by the opposite leg on that asset's external account
 * (`externalOf`), so each asset sums to zero. None when already there.
 */
export function resetLegs(balances: readonly HeldBalance[], startingCashKrw: bigint, externalOf: (asset: string) => string): Leg[] {
  const legs: Leg[] = [];
  for (const b of balances) {
    const delta = (b.asset === CASH ? startingCashKrw : 0n) - b.totalMinor;
    if (delta === 0n) continue;
    legs.push({ accountId: b.accountId, asset: b.asset, amountMinor: delta });
    legs.push({ accountId: externalOf(b.asset), asset: b.asset, amountMinor: -delta });
  }
  return legs;
}
