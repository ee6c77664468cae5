import { assert } from "@kuku/platform/assert";
import { type Fill, holdUsedMinor, type Order, type Side } from "./order.js";
import { FILLS_FINISHED_STATES } from "./state-machine.js";

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

/**
 * What the ledger must do for one order now: settle its unsettled fills,
 * then, once no fill can reach the order any more, release what its hold
 * still covers. The ledger applies it as one linked chain, all or nothing:
 * a release must never go through while a fill it would have paid for is
 * refused.
 */
export interface LedgerWork {
  readonly fills: readonly { readonly executionId: string; readonly plan: SettlementPlan }[];
  /** No fill can come any more: once this work is applied the order's hold is done with. */
  readonly finishesHold: boolean;
  /** What the hold still covers after every fill (only when `finishesHold`; 0: nothing to release). */
  readonly releaseMinor: bigint;
}

/**
 * The ledger work of an order with these unsettled fills; undefined when
 * there is none. What the hold still covers follows from the order's own
 * figures (every fill is recorded on it), so no GetHold decides a release.
 */
export function ledgerWorkOf(
  order: Order,
  unsettled: readonly (Fill & { readonly feeKrw: bigint })[],
  /** Needed only when there are fills to settle. */
  accounts: SettlementAccounts | undefined,
): LedgerWork | undefined {
  const finishesHold = FILLS_FINISHED_STATES.includes(order.state) && !order.holdReleased && order.holdId !== "";
  if (unsettled.length === 0 && !finishesHold) return undefined;
  assert(order.holdId !== "", `order ${order.orderId} has fills but no hold`);
  assert(unsettled.length === 0 || accounts !== undefined, `order ${order.orderId}: fills to settle, and no accounts`);
  const fills = unsettled.map((f) => ({ executionId: f.executionId, plan: planSettlement(order.side, f, f.feeKrw, accounts!) }));
  const releaseMinor = finishesHold ? order.holdAmountMinor - holdUsedMinor(order) : 0n;
  assert(releaseMinor >= 0n, `order ${order.orderId} used ${holdUsedMinor(order)} of a hold of ${order.holdAmountMinor}`);
  return { fills, finishesHold, releaseMinor };
}
