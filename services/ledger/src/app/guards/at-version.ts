import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import type { EntryWrite, GuardedBalances } from "./guard.js";

/**
 * The guards that write planned balances only over the version read
 * (compare-and-set), so an entry's balances can wait for its single
 * statement. They differ in how they read and in what a refused write means.
 */
export abstract class AtVersionBalances implements GuardedBalances {
  /** The fencing token the writes carry, if any. */
  protected abstract readonly fence: bigint | undefined;

  abstract read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>>;

  /** Fewer balances took the write than were planned. */
  protected abstract refused(): never;

  async write(db: pg.PoolClient, _read: ReadonlyMap<string, Balance>, planned: readonly Balance[]): Promise<readonly Balance[]> {
    this.#check(await store.writeBalances(db, planned, this.fence), planned.length);
    return planned;
  }

  async writeForEntry(_db: pg.PoolClient, _read: ReadonlyMap<string, Balance>, planned: readonly Balance[]) {
    return { stored: planned, deferred: planned };
  }

  async writeEntry(db: pg.PoolClient, write: EntryWrite): Promise<void> {
    this.#check(await store.writeEntry(db, { ...write, fence: this.fence }), write.balances.length);
  }

  #check(written: number, planned: number): void {
    if (written !== planned) this.refused();
  }
}
