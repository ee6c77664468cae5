import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import { balanceDeltas } from "../../domain/balance-guard.js";
import { insufficient } from "../../domain/journal.js";
import type { Balance } from "../../domain/model.js";
import { failureToError } from "../../domain/outcomes.js";
import * as store from "../../store/ledger-store.js";
import type { EntryWrite, GuardedBalances } from "./guard.js";

/**
 * Reads without a lock and writes each change as a delta whose statement
 * itself re-checks the no-overdraft rule on the current row. The answer is
 * the current balance plus the change, so the write happens at once.
 */
export class AtomicBalances implements GuardedBalances {
  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.readBalances(db, accountIds);
  }

  async write(db: pg.PoolClient, read: ReadonlyMap<string, Balance>, planned: readonly Balance[]): Promise<readonly Balance[]> {
    const deltas = balanceDeltas(read, planned);
    const written = await store.applyBalanceDeltas(db, deltas);
    const refused = deltas.find((d) => !written.has(d.accountId));
    if (refused !== undefined) {
      // The rule failed on the current row, not the one read: report the current one.
      const current = (await store.readBalances(db, [refused.accountId])).get(refused.accountId);
      assert(current !== undefined, `refused balance ${refused.accountId} exists`);
      throw failureToError(insufficient(current, refused.heldDeltaMinor - refused.totalDeltaMinor));
    }
    return planned.map((b) => written.get(b.accountId)!);
  }

  async writeForEntry(db: pg.PoolClient, read: ReadonlyMap<string, Balance>, planned: readonly Balance[]) {
    return { stored: await this.write(db, read, planned), deferred: [] };
  }

  async writeEntry(db: pg.PoolClient, write: EntryWrite): Promise<void> {
    const written = await store.writeEntry(db, { ...write, fence: undefined });
    assert(written === write.balances.length, "an entry's balances were written with their deltas");
  }
}
