import { LockNotAcquiredError, type Logger, type Redlock, withRedlock } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import { DomainError } from "@kuku/platform/errors";
import type pg from "pg";
import type { Balance } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import { AtVersionBalances } from "./at-version.js";
import type { BalanceGuard, GuardedBalances, TouchedAccounts } from "./guard.js";

export interface RedlockFencedDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly redlock: Redlock;
  readonly ttlMs: number;
}

/**
 * A Redlock lock over every touched account around the whole mutation, and
 * a fencing token taken after the grant that every balance write carries:
 * PostgreSQL refuses a write from a holder whose lock expired meanwhile.
 */
export class RedlockFencedGuard implements BalanceGuard {
  constructor(private readonly deps: RedlockFencedDeps) {}

  async run<T>(touched: TouchedAccounts | undefined, mutation: (balances: GuardedBalances) => Promise<T>): Promise<T> {
    const { pool, logger, redlock, ttlMs } = this.deps;
    const accountIds = touched === undefined ? [] : await touched();
    // Nothing to touch (no balance, an unknown account or hold): the mutation writes no balance, or fails with NOT_FOUND.
    if (accountIds.length === 0) return mutation(new FencedBalances(undefined, new Set(), logger));
    const resources = accountIds.map((id) => `kuku:ledger:balance:${id}`);
    try {
      return await withRedlock(redlock, resources, ttlMs, async () =>
        // The token is taken after the grant, so a later holder always carries a larger one.
        mutation(new FencedBalances(await store.nextFence(pool), new Set(accountIds), logger)),
      );
    } catch (error) {
      // Nothing was done: the caller may send the same request id again.
      if (error instanceof LockNotAcquiredError) throw new DomainError("aborted", error.message, {}, { cause: error });
      throw error;
    }
  }
}

/** The balances of one lock holder: only the accounts locked, every write fenced by its token. */
class FencedBalances extends AtVersionBalances {
  constructor(
    protected readonly fence: bigint | undefined,
    private readonly locked: ReadonlySet<string>,
    private readonly logger: Logger,
  ) {
    super();
  }

  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return store.readBalances(db, accountIds);
  }

  override write(db: pg.PoolClient, read: ReadonlyMap<string, Balance>, planned: readonly Balance[]): Promise<readonly Balance[]> {
    this.#assertLocked(planned);
    return super.write(db, read, planned);
  }

  override writeForEntry(db: pg.PoolClient, read: ReadonlyMap<string, Balance>, planned: readonly Balance[]) {
    this.#assertLocked(planned);
    return super.writeForEntry(db, read, planned);
  }

  /**
   * A holder with a newer fencing token wrote since this one read, so this
   * holder's lock had expired (a pause longer than the TTL). Nothing was
   * written: the caller may send the same request id again.
   */
  protected refused(): never {
    this.logger.warn("balance write refused by its fencing token: the Redlock lock had expired");
    throw new DomainError("aborted", "the balance lock expired before the write (refused by its fencing token); nothing was written");
  }

  #assertLocked(planned: readonly Balance[]): void {
    assert(this.fence !== undefined && planned.every((b) => this.locked.has(b.accountId)), "every written balance is under the lock");
  }
}
