// Group reads for GetBalances, the read-side twin of the group commit (ADR
// 0018): while one balance query is in flight, the calls that arrive queue,
// and the next query serves them all. Under load a query answers dozens of
// calls (one round trip to PostgreSQL instead of one each); alone, a call
// goes out at once. Each call still sees every commit that finished before it
// arrived: the query that answers it starts after it arrived.
import DataLoader from "dataloader";
import type pg from "pg";
import type { Balance } from "../domain/model.js";
import { balancesOfAny } from "../store/ledger-store.js";

const accountKey = (accountId: string) => `a:${accountId}`;
const ownerKey = (ownerId: string) => `o:${ownerId}`;

/** Balances in the order GetBalances answers them: by asset, then account id. */
const byAssetThenAccount = (a: Balance, b: Balance) =>
  a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0;

export class BalanceReader {
  /** Queries sent so far: fewer than the calls under load. */
  queries = 0;
  readonly #loader: DataLoader<string, readonly Balance[]>;
  #inFlight: Promise<unknown> | undefined;

  constructor(db: pg.Pool, keysPerQueryMax: number) {
    this.#loader = new DataLoader((keys) => this.#load(db, keys), {
      cache: false,
      maxBatchSize: keysPerQueryMax,
      // The next query goes out when the one in flight has answered, or on the next tick if none is.
      batchScheduleFn: (dispatch) => (this.#inFlight === undefined ? process.nextTick(dispatch) : void this.#inFlight.finally(dispatch)),
    });
  }

  async ofAccounts(accountIds: readonly string[]): Promise<Balance[]> {
    const found = await this.#loader.loadMany([...new Set(accountIds)].map(accountKey));
    const balances: Balance[] = [];
    for (const result of found) {
      if (result instanceof Error) throw result;
      balances.push(...result);
    }
    return balances.sort(byAssetThenAccount);
  }

  async ofOwner(ownerId: string): Promise<Balance[]> {
    return [...(await this.#loader.load(ownerKey(ownerId)))].sort(byAssetThenAccount);
  }

  #load(db: pg.Pool, keys: readonly string[]): Promise<(readonly Balance[])[]> {
    const accountIds = keys.filter((k) => k.startsWith("a:")).map((k) => k.slice(2));
    const ownerIds = keys.filter((k) => k.startsWith("o:")).map((k) => k.slice(2));
    this.queries++;
    const query = balancesOfAny(db, accountIds, ownerIds).then((rows) => {
      const byKey = new Map<string, Balance[]>(keys.map((key) => [key, []]));
      for (const b of rows) {
        byKey.get(accountKey(b.accountId))?.push(b);
        byKey.get(ownerKey(b.ownerId))?.push(b);
      }
      return keys.map((key) => byKey.get(key)!);
    });
    const settled = query.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight = settled;
    void settled.then(() => {
      if (this.#inFlight === settled) this.#inFlight = undefined;
    });
    return query;
  }
}
