import { assert } from "@kuku/platform/assert";
import { fitsInt64 } from "./amounts.js";
import { assertBalanceInvariants, availableMinor, type Balance, type Hold, type Posting, remainingMinor } from "./model.js";
import { invalid, type Outcome, ok } from "./outcomes.js";

export interface LegInput {
  readonly accountId: string;
  readonly amountMinor: bigint;
  /** Asset the caller expects the account to hold; "" when not given. */
  readonly expectedAsset: string;
  /** Where the leg came from in the request, for error messages. */
  readonly field: string;
  /** The request field its amount came from, when not `${field}.amount_minor` (a deposit's amount_minor). */
  readonly amountField?: string;
}

export interface HoldDebitInput {
  readonly holdId: string;
  readonly amountMinor: bigint;
  readonly field: string;
}

export interface PostingPlan {
  readonly postings: readonly Posting[];
  /** Every balance the entry touches, after it. */
  readonly balances: readonly Balance[];
  /** Every hold the entry consumes from, after it. */
  readonly holds: readonly Hold[];
}

/**
 * Plans one journal entry: checks that the legs balance per asset, that
 * holds can give what is debited from them and that no user account ends
 * overdrawn, then returns the postings and the balances and holds after.
 * Pure: the caller has locked and loaded every balance and hold involved.
 */
export function planEntry(
  balances: ReadonlyMap<string, Balance>,
  holds: ReadonlyMap<string, Hold>,
  legs: readonly LegInput[],
  holdDebits: readonly HoldDebitInput[] = [],
): Outcome<PostingPlan> {
  const postings: Posting[] = [];
  const totalDelta = new Map<string, bigint>();
  const heldDelta = new Map<string, bigint>();
  const add = (map: Map<string, bigint>, key: string, delta: bigint) => map.set(key, (map.get(key) ?? 0n) + delta);
  // The first amount that moves each account: what an overflow of its balance is blamed on.
  const amountFields = new Map<string, string>();

  for (const leg of legs) {
    const balance = balances.get(leg.accountId);
    if (balance === undefined) return { kind: "not_found", field: `${leg.field}.account_id`, id: leg.accountId };
    if (leg.amountMinor === 0n) return invalid(`${leg.field}.amount_minor`, "must not be zero");
    if (leg.expectedAsset !== "" && leg.expectedAsset !== balance.asset) {
      return invalid(`${leg.field}.asset`, `account ${leg.accountId} holds ${balance.asset}, not ${leg.expectedAsset}`);
    }
    postings.push({ accountId: leg.accountId, asset: balance.asset, amountMinor: leg.amountMinor });
    add(totalDelta, leg.accountId, leg.amountMinor);
    if (!amountFields.has(leg.accountId)) amountFields.set(leg.accountId, leg.amountField ?? `${leg.field}.amount_minor`);
  }

  const holdsAfter: Hold[] = [];
  for (const debit of holdDebits) {
    const hold = holds.get(debit.holdId);
    if (hold === undefined) return { kind: "not_found", field: `${debit.field}.hold_id`, id: debit.holdId };
    if (holdsAfter.some((h) => h.holdId === hold.holdId)) return invalid(`${debit.field}.hold_id`, "appears twice");
    if (debit.amountMinor <= 0n) return invalid(`${debit.field}.amount_minor`, "must be positive");
    const remaining = remainingMinor(hold);
    if (debit.amountMinor > remaining) {
      return { kind: "hold_exhausted", holdId: hold.holdId, requestedMinor: debit.amountMinor, remainingMinor: remaining };
    }
    postings.push({ accountId: hold.accountId, asset: hold.asset, amountMinor: -debit.amountMinor });
    add(totalDelta, hold.accountId, -debit.amountMinor);
    add(heldDelta, hold.accountId, -debit.amountMinor);
    holdsAfter.push({ ...hold, settledMinor: hold.settledMinor + debit.amountMinor });
  }

  const unbalanced = unbalancedAssets(postings);
  if (unbalanced.length > 0) {
    return invalid("legs", `legs must sum to zero per asset: ${unbalanced.map(([a, s]) => `${a} sums to ${s}`).join(", ")}`);
  }

  const balancesAfter: Balance[] = [];
  for (const [accountId, delta] of totalDelta) {
    const before = balances.get(accountId);
    assert(before !== undefined, `balance ${accountId} was checked above`);
    const after: Balance = {
      ...before,
      totalMinor: before.totalMinor + delta,
      heldMinor: before.heldMinor + (heldDelta.get(accountId) ?? 0n),
      version: before.version + 1n,
    };
    // Checked here, before any database: PostgreSQL would refuse the row with "bigint out of range" and fail the batch.
    if (!fitsInt64(after.totalMinor)) {
      return invalid(amountFields.get(accountId) ?? "legs", `balance of ${accountId} would overflow a signed 64-bit integer`);
    }
    if (after.kind === "user" && availableMinor(after) < 0n) {
      const requested = -delta + (heldDelta.get(accountId) ?? 0n);
      return insufficient(before, requested);
    }
    assertBalanceInvariants(after);
    balancesAfter.push(after);
  }
  return ok({ postings, balances: balancesAfter, holds: holdsAfter });
}

function unbalancedAssets(postings: readonly Posting[]): [string, bigint][] {
  const sums = new Map<string, bigint>();
  for (const p of postings) sums.set(p.asset, (sums.get(p.asset) ?? 0n) + p.amountMinor);
  return [...sums].filter(([, sum]) => sum !== 0n);
}

export function insufficient(balance: Balance, requestedMinor: bigint) {
  const available = availableMinor(balance);
  return {
    kind: "insufficient_funds",
    accountId: balance.accountId,
    asset: balance.asset,
    requestedMinor,
    availableMinor: available,
    shortfallMinor: requestedMinor - available,
  } as const;
}

/** Reserves part of the available amount for an open order. */
export function planPlaceHold(balance: Balance, amountMinor: bigint): Outcome<Balance> {
  if (balance.kind !== "user") return invalid("account_id", "holds are placed on user accounts only");
  if (amountMinor <= 0n) return invalid("amount_minor", "must be positive");
  if (availableMinor(balance) < amountMinor) return insufficient(balance, amountMinor);
  const after = { ...balance, heldMinor: balance.heldMinor + amountMinor, version: balance.version + 1n };
  assertBalanceInvariants(after);
  return ok(after);
}

/**
 * Grows an open hold by amountMinor, reserved from available exactly as a
 * new hold would be (an amendment's top-up: the replacement order shares the
 * hold of the order it amends). A closed hold stays closed: its order is
 * finished, and a top-up must not hold money again for it.
 */
export function planTopUpHold(balance: Balance, hold: Hold, amountMinor: bigint): Outcome<{ balance: Balance; hold: Hold }> {
  if (hold.accountId !== balance.accountId) {
    return invalid("hold_id", `hold ${hold.holdId} belongs to account ${hold.accountId}, not ${balance.accountId}`);
  }
  if (remainingMinor(hold) === 0n) return { kind: "hold_closed", holdId: hold.holdId };
  const placed = planPlaceHold(balance, amountMinor);
  if (placed.kind !== "ok") return placed;
  const grownMinor = hold.amountMinor + amountMinor;
  // Checked here: PostgreSQL would refuse the row with "bigint out of range" (and fail a whole batch).
  if (!fitsInt64(grownMinor)) return invalid("amount_minor", `hold ${hold.holdId} would overflow a signed 64-bit integer`);
  return ok({ balance: placed.value, hold: { ...hold, amountMinor: grownMinor } });
}

/**
 * How much of a hold to give back: `amountMinor`, or all but `keepMinor` of
 * what remains (0 when no more remains: then nothing moves, and that is no
 * error), or everything. Only the first two can be refused.
 */
export type ReleaseSize = { readonly amountMinor?: bigint | undefined; readonly keepMinor?: bigint | undefined };

/** Gives back part or all of what a hold still reserves, as `size` says. */
export function planReleaseHold(
  balance: Balance,
  hold: Hold,
  size: ReleaseSize,
): Outcome<{ balance: Balance; hold: Hold; releasedMinor: bigint }> {
  assert(balance.accountId === hold.accountId, "hold and balance belong together");
  assert(size.amountMinor === undefined || size.keepMinor === undefined, "a release is sized one way");
  const remaining = remainingMinor(hold);
  if (size.keepMinor !== undefined && remaining <= size.keepMinor) return ok({ balance, hold, releasedMinor: 0n });
  const released = size.keepMinor !== undefined ? remaining - size.keepMinor : (size.amountMinor ?? remaining);
  if (released <= 0n || released > remaining) {
    return { kind: "hold_exhausted", holdId: hold.holdId, requestedMinor: released, remainingMinor: remaining };
  }
  const balanceAfter = { ...balance, heldMinor: balance.heldMinor - released, version: balance.version + 1n };
  assertBalanceInvariants(balanceAfter);
  return ok({ balance: balanceAfter, hold: { ...hold, releasedMinor: hold.releasedMinor + released }, releasedMinor: released });
}
