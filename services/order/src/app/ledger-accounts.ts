// The ledger accounts an order touches, opened on first use. OpenAccount is
// idempotent by request id, so every replica may open the same account.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { SettlementAccounts } from "../domain/settlement.js";

export class LedgerAccounts {
  readonly #cache = new Map<string, string>();

  constructor(private readonly client: Client<typeof ledger.LedgerService>) {}

  async user(userId: string, asset: string): Promise<string> {
    return this.#cached(`user/${userId}/${asset}`, async () => {
      const { account } = await this.client.openAccount(
        create(ledger.OpenAccountRequestSchema, { requestId: `open-${userId}-${asset}`, ownerId: userId, asset }),
      );
      return account!.accountId;
    });
  }

  async system(kind: ledger.AccountKind, asset: string): Promise<string> {
    return this.#cached(`system/${kind}/${asset}`, async () => (await this.client.getSystemAccount({ kind, asset })).account!.accountId);
  }

  async forSettlement(userId: string, symbol: string): Promise<SettlementAccounts & { assetOf: ReadonlyMap<string, string> }> {
    const [userCash, userShares, clearingCash, clearingShares, fees] = await Promise.all([
      this.user(userId, "KRW"),
      this.user(userId, symbol),
      this.system(ledger.AccountKind.CLEARING, "KRW"),
      this.system(ledger.AccountKind.CLEARING, symbol),
      this.system(ledger.AccountKind.FEES, "KRW"),
    ]);
    return {
      userCashAccountId: userCash,
      userSharesAccountId: userShares,
      clearingCashAccountId: clearingCash,
      clearingSharesAccountId: clearingShares,
      feesAccountId: fees,
      assetOf: new Map([
        [userCash, "KRW"],
        [clearingCash, "KRW"],
        [fees, "KRW"],
        [userShares, symbol],
        [clearingShares, symbol],
      ]),
    };
  }

  async #cached(key: string, open: () => Promise<string>): Promise<string> {
    const known = this.#cache.get(key);
    if (known !== undefined) return known;
    const accountId = await open();
    this.#cache.set(key, accountId);
    return accountId;
  }
}
