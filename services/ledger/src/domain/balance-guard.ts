// How the ledger keeps two mutations of one balance from both acting on the
// same "available" (ADR 0008). One is chosen by LEDGER_BALANCE_GUARD; each
// is implemented in src/app/guards/.
import { assert } from "@kuku/platform/assert";
import type { Balance } from "./model.js";

// batched: every balance mutation goes through one writer that applies what
// has queued in one transaction (group commit, ADR 0018).
export const BALANCE_GUARDS = ["row-lock", "optimistic", "atomic", "redlock-fenced", "batched"] as const;
export type BalanceGuardName = (typeof BALANCE_GUARDS)[number];

/**
 * ADR 0008 and 0018: money is guarded inside PostgreSQL, every row the rule
 * reads locked in the transaction; the group commit does that for a whole
 * batch at once.
 */
export const DEFAULT_BALANCE_GUARD: BalanceGuardName = "batched";

export interface BalanceDelta {
  readonly accountId: string;
  readonly totalDeltaMinor: bigint;
  readonly heldDeltaMinor: bigint;
}

/** The change from the balances read to the balances planned, for a conditional-delta write. */
export function balanceDeltas(before: ReadonlyMap<string, Balance>, after: readonly Balance[]): BalanceDelta[] {
  return after.map((b) => {
    const read = before.get(b.accountId);
    assert(read !== undefined, `planned balance ${b.accountId} was read`);
    return { accountId: b.accountId, totalDeltaMinor: b.totalMinor - read.totalMinor, heldDeltaMinor: b.heldMinor - read.heldMinor };
  });
}
