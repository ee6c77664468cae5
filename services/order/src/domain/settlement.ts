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

/** What a fill is charged: the commission, and the tax (undefined for a fill recorded before the two were split). */
export interface FillCharges {
  readonly feeKrw: bigint;
  readonly taxKrw?: bigint | undefined;
}

/**
 * One charge of one fill as a posting of its own (its own ledger entry, so
 * a statement shows it on its own line): a buy's commission comes out of
 * the order's hold, a sell's commission and tax out of the proceeds the
 * trade has just credited. Both go to the fee account.
 */
export interface ChargePlan {
  readonly charge: "fee" | "tax";
  /** Taken from the order's hold (a buy), else from the user's cash. */
  readonly holdDebitMinor: bigint;
  readonly legs: readonly { accountId: string; amountMinor: bigint }[];
}

export interface FillPlan {
  readonly trade: SettlementPlan;
  /** Empty for a fill recorded before the split: its charges are legs of the trade, as they were. */
  readonly charges: readonly ChargePlan[];
}

/** The trade, then each non-zero charge on its own; a fill from before the split settles as it always did. */
export function planFill(side: Side, fill: Fill, charges: FillCharges, accounts: SettlementAccounts): FillPlan {
  if (charges.taxKrw === undefined) return { trade: planSettlement(side, fill, charges.feeKrw, accounts), charges: [] };
  assert(side === "sell" || charges.taxKrw === 0n, `a buy pays no tax, fill ${fill.executionId} has ${charges.taxKrw}`);
  const notionalKrw = fill.priceKrw * fill.quantity;
  assert(side === "buy" || charges.feeKrw + charges.taxKrw <= notionalKrw, `charges exceed proceeds ${notionalKrw}`);
  const planCharge = (charge: ChargePlan["charge"], amountMinor: bigint): ChargePlan =>
    side === "buy"
      ? { charge, holdDebitMinor: amountMinor, legs: [{ accountId: accounts.feesAccountId, amountMinor }] }
      : {
          charge,
          holdDebitMinor: 0n,
          legs: [
            { accountId: accounts.userCashAccountId, amountMinor: -amountMinor },
            { accountId: accounts.feesAccountId, amountMinor },
          ],
        };
  const planned = [planCharge("fee", charges.feeKrw), planCharge("tax", charges.taxKrw)];
  return { trade: planSettlement(side, fill, 0n, accounts), charges: planned.filter((c) => c.legs[0]!.amountMinor !== 0n) };
}

/**
 * What the ledger must do for one order now: settle its unsettled fills,
 * then, once no fill can reach the order any more, release what its hold
 * still covers. The ledger applies it as one linked chain, all or nothing:
 * a release must never go through while a fill it would have paid for is
 * refused.
 */
export interface LedgerWork {
  readonly fills: readonly { readonly executionId: string; readonly plan: FillPlan }[];
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
  unsettled: readonly (Fill & FillCharges)[],
  /** Needed only when there are fills to settle. */
  accounts: SettlementAccounts | undefined,
): LedgerWork | undefined {
  const finishesHold = FILLS_FINISHED_STATES.includes(order.state) && !order.holdReleased && order.holdId !== "";
  if (unsettled.length === 0 && !finishesHold) return undefined;
  assert(order.holdId !== "", `order ${order.orderId} has fills but no hold`);
  assert(unsettled.length === 0 || accounts !== undefined, `order ${order.orderId}: fills to settle, and no accounts`);
  const fills = unsettled.map((f) => ({ executionId: f.executionId, plan: planFill(order.side, f, f, accounts!) }));
  const releaseMinor = finishesHold ? order.holdAmountMinor - holdUsedMinor(order) : 0n;
  assert(releaseMinor >= 0n, `order ${order.orderId} used ${holdUsedMinor(order)} of a hold of ${order.holdAmountMinor}`);
  return { fills, finishesHold, releaseMinor };
}
