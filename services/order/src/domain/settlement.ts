import { assert } from "@kuku/platform/assert";
import type { Fill, Side } from "./order.js";

/** The ledger accounts one settlement touches. */
export interface SettlementAccounts {
  readonly userCashAccountId: string;
  readonly userSharesAccountId: string;
  readonly clearingCashAccountId: string;
  readonly clearingSharesAccountId: string;
  readonly feesAccountId: string;
}

export interface SettlementPlan {
  /** Taken from the order's hold: cash for a buy, shares for a sell. */
  readonly holdDebitMinor: bigint;
  /** The other legs, signed, so that everything sums to zero per asset. */
  readonly legs: readonly { accountId: string; amountMinor: bigint }[];
}

/**
 * One side of one execution, settled against the exchange's clearing
 * account in ONE ledger entry: the customer's held cash (or shares) goes to
 * clearing, the shares (or cash) come back, and the fee goes to the fee
 * account. Clearing nets to zero when both sides are our customers.
 */
export function planSettlement(side: Side, fill: Fill, fillFeeKrw: bigint, accounts: SettlementAccounts): SettlementPlan {
  const notionalKrw = fill.priceKrw * fill.quantity;
  if (side === "buy") {
    return {
      holdDebitMinor: notionalKrw + fillFeeKrw,
      legs: [
        { accountId: accounts.clearingCashAccountId, amountMinor: notionalKrw },
        ...(fillFeeKrw > 0n ? [{ accountId: accounts.feesAccountId, amountMinor: fillFeeKrw }] : []),
        { accountId: accounts.clearingSharesAccountId, amountMinor: -fill.quantity },
        { accountId: accounts.userSharesAccountId, amountMinor: fill.quantity },
      ],
    };
  }
  assert(fillFeeKrw <= notionalKrw, `fee ${fillFeeKrw} exceeds proceeds ${notionalKrw}`);
  const legs = [
    { accountId: accounts.clearingSharesAccountId, amountMinor: fill.quantity },
    { accountId: accounts.clearingCashAccountId, amountMinor: -notionalKrw },
    { accountId: accounts.userCashAccountId, amountMinor: notionalKrw - fillFeeKrw },
    { accountId: accounts.feesAccountId, amountMinor: fillFeeKrw },
  ];
  // The ledger refuses zero postings: a fee-free fill has no fee leg.
  return { holdDebitMinor: fill.quantity, legs: legs.filter((l) => l.amountMinor !== 0n) };
}
