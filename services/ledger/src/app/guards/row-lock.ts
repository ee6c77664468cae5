import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import { AtVersionBalances } from "./at-version.js";

/** Reads every balance FOR UPDATE in the mutation's transaction: no other writer can come between. */
export class RowLockBalances extends AtVersionBalances {
  protected readonly fence = undefined;

  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.lockBalances(db, accountIds);
  }

  protected refused(): never {
    assert(false, "every written balance was locked at the version it was read");
  }
}
