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
 * What the ledger must do for one hold now: settle the unsettled fills of
 * the orders on it (one order, or an amendment chain sharing the hold), then
 * give back what they no longer need. The ledger applies it as one linked
 * chain, all or nothing: a release must never go through while a fill it
 * would have paid for is refused.
 */
export interface LedgerWork {
  readonly fills: readonly { readonly order: Order; readonly executionId: string; readonly plan: FillPlan }[];
  /** No fill can come to any order on the hold any more: once this work is applied the hold is done with. */
  readonly finishesHold: boolean;
  /** What the hold still covers after every fill (only when `finishesHold`; 0: nothing to release). */
  readonly releaseMinor: bigint;
  /**
   * A shared hold is released down to what its orders still working may use
   * (0 once none works), and the ledger, which knows what remains, releases
   * the rest; undefined for an order's own hold (released whole, above).
   */
  readonly keepMinor: bigint | undefined;
  /** The orders whose part of the hold this work gives back: marked released once it is applied. */
  readonly givesBack: readonly Order[];
}

const isFinished = (o: Order) => FILLS_FINISHED_STATES.includes(o.state);

/**
 * The ledger work of the orders on one hold with these unsettled fills;
 * undefined when there is none. What an order's own hold still covers
 * follows from its figures, so no GetHold decides a release. A shared hold
 * gives back what its finished orders no longer need as soon as one ends
 * (an amended original once the venue has swapped it): everything but what
 * the orders still working may use (`mayUseMinor`, their worst case less
 * what they used).
 */
export function ledgerWorkOf(
  holders: readonly Order[],
  unsettled: ReadonlyMap<string, readonly (Fill & FillCharges)[]>,
  /** Needed only when there are fills to settle. */
  accounts: SettlementAccounts | undefined,
  /** What a working order on a shared hold may still take from it; undefined when that cannot be known now (nothing is cut then). */
  mayUseMinor: (o: Order) => bigint | undefined = () => 0n,
): LedgerWork | undefined {
  const [first] = holders;
  assert(first !== undefined, "a hold has at least one order");
  const sameHold = holders.every((o) => o.holdId === first.holdId && o.userId === first.userId && o.side === first.side);
  assert(sameHold, `orders ${holders.map((o) => o.orderId).join(", ")} do not share one hold`);
  const fills = holders.flatMap((order) =>
    (unsettled.get(order.orderId) ?? []).map((f) => ({ order, executionId: f.executionId, plan: planFill(order.side, f, f, accounts!) })),
  );
  const held = first.holdId !== "";
  const finishesHold = held && holders.every(isFinished) && holders.some((o) => !o.holdReleased);
  const working = holders.filter((o) => !isFinished(o));
  const mayUse = working.map(mayUseMinor);
  const keepMinor = first.holdShared && mayUse.every((m) => m !== undefined) ? mayUse.reduce((total, m) => total + m!, 0n) : undefined;
  // An order's own hold is given back once no fill can come; a shared one also as each of its orders ends, when it can be cut.
  const canGiveBack = held && (finishesHold || keepMinor !== undefined);
  const givesBack = canGiveBack ? holders.filter((o) => isFinished(o) && !o.holdReleased) : [];
  if (fills.length === 0 && givesBack.length === 0) return undefined;
  assert(held, `order ${first.orderId} has fills but no hold`);
  assert(fills.length === 0 || accounts !== undefined, `order ${first.orderId}: fills to settle, and no accounts`);
  const sum = (of: (o: Order) => bigint) => holders.reduce((total, o) => total + of(o), 0n);
  const releaseMinor = finishesHold ? sum((o) => o.holdAmountMinor) - sum(holdUsedMinor) : 0n;
  assert(releaseMinor >= 0n, `hold ${first.holdId}: its orders used ${sum(holdUsedMinor)} of ${sum((o) => o.holdAmountMinor)}`);
  assert(keepMinor === undefined || keepMinor >= 0n, `hold ${first.holdId}: its working orders may use ${keepMinor}`);
  return { fills, finishesHold, releaseMinor, keepMinor, givesBack };
}
