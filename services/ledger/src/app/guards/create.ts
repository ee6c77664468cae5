import type { Logger, Redlock } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { BalanceGuardName } from "../../domain/balance-guard.js";
import { AtomicBalances } from "./atomic.js";
import { type BalanceGuard, inTransactionGuard } from "./guard.js";
import { OptimisticBalances } from "./optimistic.js";
import { RedlockFencedGuard } from "./redlock-fenced.js";
import { RowLockBalances } from "./row-lock.js";

export interface BalanceGuardDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** Required by the redlock-fenced guard. */
  readonly redlock?: { readonly redlock: Redlock; readonly ttlMs: number } | undefined;
}

/** The guard LEDGER_BALANCE_GUARD names, built once for the life of the Ledger. */
export function createBalanceGuard(name: BalanceGuardName, deps: BalanceGuardDeps): BalanceGuard {
  switch (name) {
    case "row-lock":
    // Balances go through the batch writer (src/app/batch); what is left (opening accounts) writes none.
    case "batched":
      return inTransactionGuard(new RowLockBalances());
    case "optimistic":
      return inTransactionGuard(new OptimisticBalances());
    case "atomic":
      return inTransactionGuard(new AtomicBalances());
    case "redlock-fenced":
      assert(deps.redlock !== undefined, `the ${name} guard needs Redlock`);
      return new RedlockFencedGuard({ pool: deps.pool, logger: deps.logger, ...deps.redlock });
  }
}
