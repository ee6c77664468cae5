import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import { VersionConflictError } from "../../store/transactions.js";
import { AtVersionBalances } from "./at-version.js";

/** Reads without a lock; a write refused at the version read means someone wrote since: the transaction runs again. */
export class OptimisticBalances extends AtVersionBalances {
  protected readonly fence = undefined;

  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.readBalances(db, accountIds);
  }

  protected refused(): never {
    throw new VersionConflictError("a balance changed since it was read");
  }
}
