import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import { VersionConflictError } from "../../store/transactions.js";
import { AtVersionBalances } from "./at-version.js";
import type { BalanceGuard, GuardedBalances } from "./guard.js";

/** Reads without a lock; a write refused at the version read means someone wrote since: the transaction runs again. */
export class OptimisticGuard extends AtVersionBalances implements BalanceGuard {
  protected readonly fence = undefined;

  run<T>(_touched: unknown, mutation: (balances: GuardedBalances) => Promise<T>): Promise<T> {
    return mutation(this);
  }

  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.readBalances(db, accountIds);
  }

  protected refused(): never {
    throw new VersionConflictError("a balance changed since it was read");
  }
}
