import type { Logger, Redlock } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { BalanceGuardName } from "../../domain/balance-guard.js";
import { AtomicGuard } from "./atomic.js";
import type { BalanceGuard } from "./guard.js";
import { OptimisticGuard } from "./optimistic.js";
import { RedlockFencedGuard } from "./redlock-fenced.js";
import { RowLockGuard } from "./row-lock.js";

export interface BalanceGuardDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** Required by the redlock-fenced guard. */
  readonly redlock?: { readonly redlock: Redlock; readonly ttlMs: number } | undefined;
}

export function createBalanceGuard(name: BalanceGuardName, deps: BalanceGuardDeps): BalanceGuard {
  switch (name) {
    case "row-lock":
      return new RowLockGuard();
    case "optimistic":
      return new OptimisticGuard();
    case "atomic":
      return new AtomicGuard();
    case "redlock-fenced":
      assert(deps.redlock !== undefined, `the ${name} guard needs Redlock`);
      return new RedlockFencedGuard({ pool: deps.pool, logger: deps.logger, ...deps.redlock });
  }
}
