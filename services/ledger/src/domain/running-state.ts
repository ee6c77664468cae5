// A batch's balances and holds as its operations apply one after another in
// memory (group commit, ADR 0018). Each operation is checked against the
// balances its predecessors in the batch left, exactly as if they had been
// committed one by one; a chain that fails is undone as a whole.
import { assert } from "@kuku/platform/assert";
import type { Balance, Hold } from "./model.js";

export class RunningState {
  readonly #balances: Map<string, Balance>;
  readonly #holds: Map<string, Hold>;
  readonly #readBalances: ReadonlyMap<string, Balance>;
  readonly #readHolds: ReadonlyMap<string, Hold>;
  #undo: (() => void)[] | undefined;

  /** From the balances and holds as locked at the start of the batch. */
  constructor(balances: ReadonlyMap<string, Balance>, holds: ReadonlyMap<string, Hold>) {
    this.#readBalances = balances;
    this.#readHolds = holds;
    this.#balances = new Map(balances);
    this.#holds = new Map(holds);
  }

  /** The current balances, as the domain's planners read them. */
  get balances(): ReadonlyMap<string, Balance> {
    return this.#balances;
  }

  get holds(): ReadonlyMap<string, Hold> {
    return this.#holds;
  }

  setBalances(balances: readonly Balance[]): void {
    for (const b of balances) this.#set(this.#balances, b.accountId, b);
  }

  setHolds(holds: readonly Hold[]): void {
    for (const h of holds) this.#set(this.#holds, h.holdId, h);
  }

  /** Runs a chain: its changes stay if it returns true, are undone if it returns false. */
  chain(apply: () => boolean): boolean {
    assert(this.#undo === undefined, "chains do not nest");
    this.#undo = [];
    try {
      const kept = apply();
      if (!kept) for (const undo of this.#undo.reverse()) undo();
      return kept;
    } finally {
      this.#undo = undefined;
    }
  }

  /** Balances changed since the start, each with the version it was read at. */
  changedBalances(): { balance: Balance; readVersion: bigint }[] {
    return [...this.#balances.values()].flatMap((balance) => {
      const read = this.#readBalances.get(balance.accountId);
      assert(read !== undefined, `balance ${balance.accountId} was locked for the batch`);
      return balance.version === read.version ? [] : [{ balance, readVersion: read.version }];
    });
  }

  /** Holds that existed before the batch and changed in it, and holds placed in it. */
  changedHolds(): { updated: Hold[]; placed: Hold[] } {
    const updated: Hold[] = [];
    const placed: Hold[] = [];
    for (const hold of this.#holds.values()) {
      const read = this.#readHolds.get(hold.holdId);
      if (read === undefined) placed.push(hold);
      else if (read !== hold) updated.push(hold);
    }
    return { updated, placed };
  }

  #set<V>(map: Map<string, V>, key: string, value: V): void {
    const undo = this.#undo;
    assert(undo !== undefined, "changes are made inside a chain");
    const before = map.get(key);
    undo.push(before === undefined ? () => map.delete(key) : () => map.set(key, before));
    map.set(key, value);
  }
}
