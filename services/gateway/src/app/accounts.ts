// The signed-in user's paper accounts: which account a call acts on, and
// creating and resetting one under the paper-money policy
// (domain/paper-money.ts). An account's id is its owner id in the ledger and
// the order service; the user's first account has the user's own id.
import { createHash, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { DomainError, failedPrecondition, invalidArgument } from "@kuku/platform/errors";
import type pg from "pg";
import { CASH, checkStartingCash, type Leg, resetLegs } from "../domain/paper-money.js";
import * as store from "../store/account-store.js";
import { openCashAccountRequest } from "./auth.js";
import type { CallOptions } from "./trading.js";

export interface AccountsDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly orders: Client<typeof order.OrderService>;
  /** The most paper cash an account may hold. */
  readonly cashCapKrw: bigint;
  readonly accountsPerUserMax: number;
  /** How long a reset waits for its cancelled orders to release their holds. */
  readonly resetSettleTimeoutMs: number;
}

const PRIMARY_NAME = "Main";
// Orders the exchange may still fill: a reset cancels them.
const CANCELLABLE = new Set([OrderState.RECEIVED, OrderState.SENT, OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED]);
// The ledger takes at most 64 legs per entry: 32 asset pairs.
const PAIRS_PER_ENTRY = 32;

// Another user's account and one that does not exist look the same.
const notYours = (accountId: string) =>
  new DomainError("permission_denied", `account_id: ${accountId} is not an account of yours`, { field: "account_id" });

const accountView = (row: store.PaperAccountRow): api.PaperAccount =>
  create(api.PaperAccountSchema, {
    accountId: row.accountId,
    name: row.name,
    startingCashKrw: row.startingCashKrw,
    primary: row.accountId === row.userId,
    createdAt: timestampFromDate(row.createdAt),
    ...(row.resetAt === undefined ? {} : { resetAt: timestampFromDate(row.resetAt) }),
  });

export class Accounts {
  // Ownership never changes: remembered, so trading calls skip the query.
  readonly #owned = new Set<string>();

  constructor(private readonly deps: AccountsDeps) {}

  get cashCapKrw(): bigint {
    return this.deps.cashCapKrw;
  }

  /** The ledger and order owner a call acts on: the user's first account when `accountId` is empty. */
  async ownerOf(userId: string, accountId: string): Promise<string> {
    if (accountId === "" || accountId === userId) return userId;
    const key = `${userId}/${accountId}`;
    if (this.#owned.has(key)) return accountId;
    if ((await store.findAccount(this.deps.pool, userId, accountId)) === undefined) throw notYours(accountId);
    if (this.#owned.size >= 100_000) this.#owned.clear();
    this.#owned.add(key);
    return accountId;
  }

  async list(userId: string): Promise<api.ListAccountsResponse> {
    await store.ensurePrimary(this.deps.pool, userId, PRIMARY_NAME);
    const rows = await store.listAccounts(this.deps.pool, userId);
    return create(api.ListAccountsResponseSchema, { accounts: rows.map(accountView), cashCapKrw: this.deps.cashCapKrw });
  }

  async create(userId: string, req: api.CreateAccountRequest, call: CallOptions): Promise<api.CreateAccountResponse> {
    checkStartingCash(req.startingCashKrw, this.deps.cashCapKrw);
    const name = req.name.trim();
    if (name === "") throw invalidArgument("name", "must not be blank");
    // Funded after the row exists, keyed by the account: a repeat (or a retry
    // after a failure here) funds it once, with the cash it was created with.
    const account = (await store.findCreated(this.deps.pool, userId, req.requestId)) ?? (await this.#insert(userId, name, req));
    const cash = await this.#cashAccountId(account.accountId, call);
    await this.deps.ledger.deposit(
      {
        requestId: `gw-start-${account.accountId}`,
        accountId: cash,
        amountMinor: account.startingCashKrw,
        metadata: { source: "gateway", kind: "paper-start", userId },
      },
      call,
    );
    return create(api.CreateAccountResponseSchema, { account: accountView(account) });
  }

  async #insert(userId: string, name: string, req: api.CreateAccountRequest): Promise<store.PaperAccountRow> {
    await store.ensurePrimary(this.deps.pool, userId, PRIMARY_NAME);
    if ((await store.countAccounts(this.deps.pool, userId)) >= this.deps.accountsPerUserMax) {
      throw failedPrecondition(`at most ${this.deps.accountsPerUserMax} paper accounts per user`);
    }
    const outcome = await store.insertAccount(this.deps.pool, {
      accountId: randomUUID(),
      userId,
      name,
      startingCashKrw: req.startingCashKrw,
      requestId: req.requestId,
    });
    if (outcome.kind === "name_taken") {
      throw new DomainError("already_exists", `name: you already have an account named "${name}"`, { field: "name" });
    }
    return outcome.account;
  }

  async reset(userId: string, req: api.ResetAccountRequest, call: CallOptions): Promise<api.ResetAccountResponse> {
    checkStartingCash(req.startingCashKrw, this.deps.cashCapKrw);
    const owner = await this.ownerOf(userId, req.accountId);
    if (owner === userId) await store.ensurePrimary(this.deps.pool, userId, PRIMARY_NAME);
    await this.#cashAccountId(owner, call);
    const cancelled = await this.#cancelOpenOrders(owner, call);
    const balances = await this.#releasedBalances(owner, call);
    const externals = await this.#externalAccounts(
      balances.map((b) => b.asset),
      call,
    );
    const legs = resetLegs(balances, req.startingCashKrw, (asset) => externals.get(asset)!);
    // Keyed by the balances it was computed from: two resets of one state post
    // once, and the next reset (after any change) is a new entry.
    const snapshot = balances.map((b) => `${b.accountId}:${b.version}:${b.totalMinor}`).join(",");
    const key = createHash("sha256").update(`${owner}\n${req.startingCashKrw}\n${snapshot}`).digest("base64url");
    for (let i = 0; i < legs.length; i += 2 * PAIRS_PER_ENTRY) {
      await this.deps.ledger.transfer(
        {
          requestId: `gw-reset-${key}-${i}`,
          legs: legs.slice(i, i + 2 * PAIRS_PER_ENTRY).map((l: Leg) => ({ ...l })),
          metadata: { source: "gateway", kind: "paper-reset", userId, resetRequestId: req.requestId.slice(0, 128) },
        },
        call,
      );
    }
    const row = await store.markReset(this.deps.pool, owner, req.startingCashKrw);
    return create(api.ResetAccountResponseSchema, {
      account: accountView(row),
      ordersCancelled: cancelled,
      cashTotalKrw: req.startingCashKrw,
    });
  }

  async #cashAccountId(owner: string, call: CallOptions): Promise<string> {
    const { account } = await this.deps.ledger.openAccount(openCashAccountRequest(owner), call);
    return account!.accountId;
  }

  /** Cancels every order the exchange may still fill; answers how many. */
  async #cancelOpenOrders(owner: string, call: CallOptions): Promise<number> {
    let cancelled = 0;
    let pageToken = "";
    do {
      const page = await this.deps.orders.listOrders({ userId: owner, pageSize: 500, pageToken }, call);
      for (const o of page.orders.filter((o) => CANCELLABLE.has(o.state))) {
        await this.deps.orders.cancelOrder({ orderId: o.orderId, userId: owner }, call);
        cancelled++;
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return cancelled;
  }

  /** The owner's balances once nothing is held: cancelled orders release their holds asynchronously. */
  async #releasedBalances(owner: string, call: CallOptions): Promise<ledger.Balance[]> {
    const deadline = Date.now() + this.deps.resetSettleTimeoutMs;
    for (;;) {
      const { balances } = await this.deps.ledger.getBalances({ ownerId: owner }, call);
      if (balances.every((b) => b.heldMinor === 0n)) return balances;
      if (Date.now() >= deadline) {
        throw failedPrecondition("account_id: its orders are still being cancelled or settled; retry the reset in a moment", {
          field: "account_id",
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async #externalAccounts(assets: readonly string[], call: CallOptions): Promise<Map<string, string>> {
    const unique = [...new Set([CASH, ...assets])];
    const found = await Promise.all(
      unique.map((asset) => this.deps.ledger.getSystemAccount({ kind: ledger.AccountKind.EXTERNAL, asset }, call)),
    );
    return new Map(unique.map((asset, i) => [asset, found[i]!.account!.accountId]));
  }
}
