import type pg from "pg";
import type { Balance, Entry, Hold } from "../../domain/model.js";

/** The accounts a mutation will touch, found before its transaction (immutable facts only). */
export type TouchedAccounts = () => Promise<readonly string[]>;

/** A posting mutation's writes, made in ONE statement with its stored response (two round trips fewer per transfer). */
export interface EntryWrite {
  readonly entry: Entry;
  /** The balances left to this statement by `writeForEntry`. */
  readonly balances: readonly Balance[];
  readonly holds: readonly Hold[];
  readonly response: Uint8Array;
}

/**
 * How concurrent mutations of one balance are kept apart (ADR 0008,
 * LEDGER_BALANCE_GUARD): one implementation per guard, chosen at start.
 */
export interface BalanceGuard {
  /**
   * Runs a whole mutation (every attempt of its transaction) under the
   * guard. `touched` lists the accounts it may write, for a guard that
   * locks them before the transaction; undefined when it writes no balance.
   */
  run<T>(touched: TouchedAccounts | undefined, mutation: (balances: GuardedBalances) => Promise<T>): Promise<T>;
}

/** One mutation's reads and writes of balances, the guard's way. */
export interface GuardedBalances {
  /** The balances the mutation plans from (locked in its transaction, or not). */
  read(db: pg.PoolClient, accountIds: readonly string[]): Promise<Map<string, Balance>>;
  /** Writes planned balances now and returns them as stored. */
  write(db: pg.PoolClient, read: ReadonlyMap<string, Balance>, planned: readonly Balance[]): Promise<readonly Balance[]>;
  /**
   * Writes an entry's planned balances, or defers them into `writeEntry`'s
   * single statement; returns them as stored, and those deferred.
   */
  writeForEntry(
    db: pg.PoolClient,
    read: ReadonlyMap<string, Balance>,
    planned: readonly Balance[],
  ): Promise<{ readonly stored: readonly Balance[]; readonly deferred: readonly Balance[] }>;
  /** Writes the entry, its deferred balances, its holds and the response. */
  writeEntry(db: pg.PoolClient, write: EntryWrite): Promise<void>;
}

/** A guard that works inside each mutation's transaction alone: every mutation gets the same balances. */
export function inTransactionGuard(balances: GuardedBalances): BalanceGuard {
  return { run: (_touched, mutation) => mutation(balances) };
}
