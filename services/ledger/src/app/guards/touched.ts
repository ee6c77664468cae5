// The accounts a mutation will touch, for a guard that locks them before the
// transaction (redlock-fenced). Called only by such a guard.
import type pg from "pg";
import { systemOwnerId } from "../../domain/model.js";
import * as store from "../../store/ledger-store.js";
import type { TouchedAccounts } from "./guard.js";

/** A deposit or withdrawal touches the account and the outside world's account of its asset. */
export function withExternal(pool: pg.Pool, accountId: string): TouchedAccounts {
  return async () => {
    const [target] = await store.balancesOf(pool, { accountIds: [accountId] });
    if (target === undefined) return [];
    const owner = systemOwnerId("external");
    const external =
      (await store.findAccount(pool, owner, target.asset)) ?? (await store.openAccount(pool, owner, target.asset, "external"));
    return [accountId, external.accountId];
  };
}

/** The accounts of holds (a hold never changes account). */
export async function holdAccounts(pool: pg.Pool, holdIds: readonly string[]): Promise<string[]> {
  const holds = await Promise.all(holdIds.map((id) => store.getHold(pool, id)));
  return holds.flatMap((h) => (h === undefined ? [] : [h.accountId]));
}
