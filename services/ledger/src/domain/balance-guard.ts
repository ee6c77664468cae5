// How the ledger keeps two mutations of one balance from both acting on the
// same "available" (ADR 0008). One is chosen by LEDGER_BALANCE_GUARD.
import { assert } from "./amounts.js";
import type { Balance } from "./model.js";

export const BALANCE_GUARDS = ["row-lock", "optimistic", "atomic", "redlock-fenced"] as const;
export type BalanceGuardName = (typeof BALANCE_GUARDS)[number];

/** ADR 0008: money is guarded inside PostgreSQL, every row the rule reads locked in the transaction. */
export const DEFAULT_BALANCE_GUARD: BalanceGuardName = "row-lock";

export interface GuardRules {
  /** Balance rows are read FOR UPDATE in the mutation's transaction (else a plain read). */
  readonly lockRows: boolean;
  /**
   * "at-version": the planned balances are written only over the version
   * read (compare-and-set); "conditional-delta": the write adds the change
   * and itself re-checks the no-overdraft rule on the current row.
   */
  readonly write: "at-version" | "conditional-delta";
  /** A Redlock lock over every touched account around the transaction, and a fencing token the write carries. */
  readonly distributedLock: boolean;
  /**
   * What a refused write means: "bug" (the rows were locked, it cannot
   * happen), "retry" (someone wrote since the read: run the transaction
   * again), "insufficient" (the rule no longer holds on the current row),
   * "lock-lost" (a newer lock holder wrote: this holder's lock expired).
   */
  readonly refused: "bug" | "retry" | "insufficient" | "lock-lost";
}

const RULES: Record<BalanceGuardName, GuardRules> = {
  "row-lock": { lockRows: true, write: "at-version", distributedLock: false, refused: "bug" },
  optimistic: { lockRows: false, write: "at-version", distributedLock: false, refused: "retry" },
  atomic: { lockRows: false, write: "conditional-delta", distributedLock: false, refused: "insufficient" },
  "redlock-fenced": { lockRows: false, write: "at-version", distributedLock: true, refused: "lock-lost" },
};

export function guardRules(name: BalanceGuardName): GuardRules {
  return RULES[name];
}

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
