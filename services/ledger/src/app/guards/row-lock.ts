import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import { AtVersionBalances } from "./at-version.js";
import type { BalanceGuard, GuardedBalances } from "./guard.js";

/** Reads every balance FOR UPDATE in the mutation's transaction: no other writer can come between. */
export class RowLockGuard extends AtVersionBalances implements BalanceGuard {
  protected readonly fence = undefined;

  run<T>(_touched: unknown, mutation: (balances: GuardedBalances) => Promise<T>): Promise<T> {
    return mutation(this);
  }

  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.lockBalances(db, accountIds);
  }

  protected refused(): never {
    assert(false, "every written balance was locked at the version it was read");
  }
}
