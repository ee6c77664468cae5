import { createHash, randomUUID } from "node:crypto";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary, toJson } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type Logger, type Redlock, withRedlock, withTransaction } from "@kuku/platform";
import type pg from "pg";
import { assert } from "../domain/amounts.js";
import { type BalanceGuardName, balanceDeltas, type GuardRules, guardRules } from "../domain/balance-guard.js";
import { insufficient, type LegInput, planEntry, planPlaceHold, planReleaseHold } from "../domain/journal.js";
import {
  type AccountKind,
  type Balance,
  type Entry,
  type EntryKind,
  type Hold,
  SYSTEM_OWNER_PREFIX,
  systemOwnerId,
} from "../domain/model.js";
import { type Failure, invalid, type Outcome } from "../domain/outcomes.js";
import * as store from "../store/ledger-store.js";
import { inTransaction, type TransactionOptions, type TransactionStats, VersionConflictError } from "../store/transactions.js";
import { accountToProto, balanceToProto, entryToProto, holdToProto } from "./convert.js";

/** An expected failure raised inside a transaction, so that it rolls back. */
export class LedgerFailure extends Error {
  override name = "LedgerFailure";
  constructor(readonly failure: Failure) {
    super(failure.kind);
  }
}

/**
 * The redlock-fenced guard's write was refused: a holder with a newer
 * fencing token wrote since this one read, so this holder's lock had
 * expired (a pause longer than the TTL). Nothing was written.
 */
export class LockLostError extends Error {
  override name = "LockLostError";
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.kind !== "ok") throw new LedgerFailure(outcome);
  return outcome.value;
}

// Key order in JSON objects (metadata maps) must not change the hash.
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function payloadHash<D extends DescMessage>(schema: D, request: MessageShape<D>): Uint8Array {
  return createHash("sha256")
    .update(schema.typeName)
    .update(canonicalJson(toJson(schema, request)))
    .digest();
}

const SYSTEM_KINDS: Record<number, Exclude<AccountKind, "user">> = {
  [api.AccountKind.EXTERNAL]: "external",
  [api.AccountKind.CLEARING]: "clearing",
  [api.AccountKind.FEES]: "fees",
};

/**
 * One mutation's transaction. A posting mutation leaves its entry pending:
 * #mutate writes balances, holds, entry, postings and the stored response in
 * ONE statement (two round trips fewer per transfer).
 */
interface Tx {
  readonly db: pg.PoolClient;
  /** The transaction's time (PostgreSQL now()), known from the request claim. */
  readonly at: Date;
  /** Under the redlock-fenced guard: the accounts locked and the fencing token taken after the grant. */
  readonly lock: HeldLock | undefined;
  pending?: { entry: Entry; balances: readonly Balance[]; holds: readonly Hold[] };
}

interface HeldLock {
  readonly fence: bigint;
  readonly accountIds: ReadonlySet<string>;
}

/** The accounts a mutation will touch, found before its transaction (immutable facts only). */
type TouchedAccounts = () => Promise<readonly string[]>;

export interface LedgerDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly transactions: TransactionOptions;
  readonly balanceGuard: BalanceGuardName;
  /** Required by the redlock-fenced guard. */
  readonly redlock?: { readonly redlock: Redlock; readonly ttlMs: number };
}

/**
 * The ledger's use cases. Each mutation runs in ONE transaction that claims
 * its request id, locks what it touches, lets the domain decide, writes the
 * result and stores the response for replays: all of it or none of it.
 */
export class Ledger {
  readonly stats: TransactionStats = { retries: 0, exhausted: 0 };
  readonly #rules: GuardRules;

  constructor(private readonly deps: LedgerDeps) {
    this.#rules = guardRules(deps.balanceGuard);
    assert(!this.#rules.distributedLock || deps.redlock !== undefined, `the ${deps.balanceGuard} guard needs Redlock`);
  }

  #transaction<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.deps.pool, this.deps.transactions, this.stats, this.deps.logger, fn);
  }

  /**
   * Runs a whole mutation (every attempt of its transaction) under the
   * balance guard. Only the Redlock guard needs the accounts before the
   * transaction; it asks for them.
   */
  async #guarded<T>(touched: TouchedAccounts | undefined, run: (lock: HeldLock | undefined) => Promise<T>): Promise<T> {
    const { redlock } = this.deps;
    if (!this.#rules.distributedLock || touched === undefined || redlock === undefined) return run(undefined);
    const accountIds = await touched();
    // Nothing found to touch (an unknown account or hold): the mutation fails with NOT_FOUND and writes no balance.
    if (accountIds.length === 0) return run(undefined);
    return withRedlock(
      redlock.redlock,
      accountIds.map((id) => `kuku:ledger:balance:${id}`),
      redlock.ttlMs,
      async () =>
        // The token is taken after the grant, so a later holder always carries a larger one.
        run({ fence: await store.nextFence(this.deps.pool), accountIds: new Set(accountIds) }),
    );
  }

  async #mutate<Req extends DescMessage, Res extends DescMessage>(
    requestSchema: Req,
    request: MessageShape<Req> & { requestId: string },
    responseSchema: Res,
    touched: TouchedAccounts | undefined,
    work: (tx: Tx) => Promise<MessageShape<Res>>,
  ): Promise<MessageShape<Res>> {
    const hash = payloadHash(requestSchema, request);
    const operation = requestSchema.typeName;
    return this.#guarded(touched, (lock) =>
      this.#transaction(async (db) => {
        const claim = await store.claimRequest(db, request.requestId, operation, hash);
        if (claim.kind === "replay") return fromBinary(responseSchema, claim.response);
        if (claim.kind === "conflict") {
          throw new LedgerFailure({ kind: "request_conflict", requestId: request.requestId, operation: claim.operation });
        }
        const tx: Tx = { db, at: claim.at, lock };
        const response = await work(tx);
        const bytes = toBinary(responseSchema, response);
        if (tx.pending === undefined) await store.saveResponse(db, request.requestId, bytes);
        else
          this.#checkWritten(
            await store.writeEntry(db, { ...tx.pending, response: bytes, fence: lock?.fence }),
            tx.pending.balances.length,
          );
        return response;
      }),
    );
  }

  /** Reads the balances a mutation plans from: locked in its transaction, or not, per the guard. */
  #load(tx: Tx, accountIds: readonly string[]): Promise<Map<string, Balance>> {
    return this.#rules.lockRows ? store.lockBalances(tx.db, accountIds) : store.readBalances(tx.db, accountIds);
  }

  /**
   * Writes planned balances the guard's way and returns them as stored. An
   * at-version write may be deferred into #mutate's single statement; a
   * conditional-delta write happens now, because the answer is the current
   * balance plus the change.
   */
  async #writeBalances(
    tx: Tx,
    read: ReadonlyMap<string, Balance>,
    planned: readonly Balance[],
    deferred: boolean,
  ): Promise<readonly Balance[]> {
    if (this.#rules.distributedLock) {
      assert(
        tx.lock !== undefined && planned.every((b) => tx.lock!.accountIds.has(b.accountId)),
        "every written balance is under the lock",
      );
    }
    if (this.#rules.write === "at-version") {
      if (!deferred) this.#checkWritten(await store.writeBalances(tx.db, planned, tx.lock?.fence), planned.length);
      return planned;
    }
    const deltas = balanceDeltas(read, planned);
    const written = await store.applyBalanceDeltas(tx.db, deltas);
    const refused = deltas.find((d) => !written.has(d.accountId));
    if (refused !== undefined) {
      // The rule failed on the current row, not the one read: report the current one.
      const current = (await store.readBalances(tx.db, [refused.accountId])).get(refused.accountId);
      assert(current !== undefined, `refused balance ${refused.accountId} exists`);
      throw new LedgerFailure(insufficient(current, refused.heldDeltaMinor - refused.totalDeltaMinor));
    }
    return planned.map((b) => written.get(b.accountId)!);
  }

  /** What it means when fewer balances took an at-version write than were planned. */
  #checkWritten(written: number, planned: number): void {
    if (written === planned) return;
    switch (this.#rules.refused) {
      case "retry":
        throw new VersionConflictError("a balance changed since it was read");
      case "lock-lost":
        this.deps.logger.warn("balance write refused by its fencing token: the Redlock lock had expired");
        throw new LockLostError("the balance lock expired before the write (refused by its fencing token); nothing was written");
      default:
        assert(false, "every written balance was locked at the version it was read");
    }
  }

  /** For the Redlock guard: a deposit or withdrawal touches the account and the outside world's account of its asset. */
  #withExternal(accountId: string): TouchedAccounts {
    return async () => {
      const [target] = await store.balancesOf(this.deps.pool, { accountIds: [accountId] });
      if (target === undefined) return [];
      const owner = systemOwnerId("external");
      const external =
        (await store.findAccount(this.deps.pool, owner, target.asset)) ??
        (await store.openAccount(this.deps.pool, owner, target.asset, "external"));
      return [accountId, external.accountId];
    };
  }

  /** For the Redlock guard: the accounts of holds (a hold never changes account). */
  async #holdAccounts(holdIds: readonly string[]): Promise<string[]> {
    const holds = await Promise.all(holdIds.map((id) => store.getHold(this.deps.pool, id)));
    return holds.flatMap((h) => (h === undefined ? [] : [h.accountId]));
  }

  openAccount(req: api.OpenAccountRequest): Promise<api.OpenAccountResponse> {
    if (req.ownerId.startsWith(SYSTEM_OWNER_PREFIX)) {
      throw new LedgerFailure(invalid("owner_id", `owner ids starting with "${SYSTEM_OWNER_PREFIX}" are reserved`));
    }
    return this.#mutate(api.OpenAccountRequestSchema, req, api.OpenAccountResponseSchema, undefined, async (tx) => {
      const { db } = tx;
      const account = await store.openAccount(db, req.ownerId, req.asset, "user");
      return create(api.OpenAccountResponseSchema, { account: accountToProto(account) });
    });
  }

  async getSystemAccount(req: api.GetSystemAccountRequest): Promise<api.GetSystemAccountResponse> {
    const kind = SYSTEM_KINDS[req.kind];
    assert(kind !== undefined, "protovalidate admits system kinds only");
    const account = await store.openAccount(this.deps.pool, systemOwnerId(kind), req.asset, kind);
    return create(api.GetSystemAccountResponseSchema, { account: accountToProto(account) });
  }

  /** Posts legs against the outside world's account of the same asset. */
  async #postExternal(
    tx: Tx,
    requestId: string,
    kind: EntryKind,
    accountId: string,
    signedAmountMinor: bigint,
    metadata: Record<string, string>,
  ) {
    const { db } = tx;
    const [target] = await store.balancesOf(db, { accountIds: [accountId] });
    if (target === undefined) throw new LedgerFailure({ kind: "not_found", field: "account_id", id: accountId });
    if (target.kind !== "user") throw new LedgerFailure(invalid("account_id", "deposits and withdrawals go to user accounts"));
    const external = await store.openAccount(db, systemOwnerId("external"), target.asset, "external");
    const legs: LegInput[] = [
      { accountId, amountMinor: signedAmountMinor, expectedAsset: "", field: "account_id" },
      { accountId: external.accountId, amountMinor: -signedAmountMinor, expectedAsset: "", field: "account_id" },
    ];
    return this.#post(tx, requestId, kind, legs, [], metadata);
  }

  /** Locks and plans an entry; its writes are left pending for #mutate's single statement. */
  async #post(
    tx: Tx,
    requestId: string,
    kind: EntryKind,
    legs: readonly LegInput[],
    holdDebits: readonly { holdId: string; amountMinor: bigint; field: string }[],
    metadata: Record<string, string>,
  ) {
    assert(tx.pending === undefined, "one entry per mutation");
    const holds =
      holdDebits.length === 0
        ? new Map()
        : await store.lockHolds(
            tx.db,
            holdDebits.map((d) => d.holdId),
          );
    const accountIds = [...legs.map((l) => l.accountId), ...[...holds.values()].map((h) => h.accountId)];
    const read = await this.#load(tx, accountIds);
    const plan = unwrap(planEntry(read, holds, legs, holdDebits));
    const entry: Entry = { entryId: randomUUID(), requestId, kind, createdAt: tx.at, postings: plan.postings, metadata };
    const deferred = this.#rules.write === "at-version";
    const balances = await this.#writeBalances(tx, read, plan.balances, deferred);
    tx.pending = { entry, balances: deferred ? plan.balances : [], holds: plan.holds };
    return { entry, balances, holds: plan.holds };
  }

  deposit(req: api.DepositRequest): Promise<api.DepositResponse> {
    return this.#mutate(api.DepositRequestSchema, req, api.DepositResponseSchema, this.#withExternal(req.accountId), async (tx) => {
      const { entry, balances } = await this.#postExternal(tx, req.requestId, "deposit", req.accountId, req.amountMinor, req.metadata);
      return create(api.DepositResponseSchema, {
        entry: entryToProto(entry),
        balance: balanceToProto(balances.find((b) => b.accountId === req.accountId)!),
      });
    });
  }

  withdraw(req: api.WithdrawRequest): Promise<api.WithdrawResponse> {
    return this.#mutate(api.WithdrawRequestSchema, req, api.WithdrawResponseSchema, this.#withExternal(req.accountId), async (tx) => {
      const { entry, balances } = await this.#postExternal(tx, req.requestId, "withdrawal", req.accountId, -req.amountMinor, req.metadata);
      return create(api.WithdrawResponseSchema, {
        entry: entryToProto(entry),
        balance: balanceToProto(balances.find((b) => b.accountId === req.accountId)!),
      });
    });
  }

  transfer(req: api.TransferRequest): Promise<api.TransferResponse> {
    const touched = async () => req.legs.map((l) => l.accountId);
    return this.#mutate(api.TransferRequestSchema, req, api.TransferResponseSchema, touched, async (tx) => {
      const legs = req.legs.map((l, i) => ({
        accountId: l.accountId,
        amountMinor: l.amountMinor,
        expectedAsset: l.asset,
        field: `legs[${i}]`,
      }));
      const { entry, balances } = await this.#post(tx, req.requestId, "transfer", legs, [], req.metadata);
      return create(api.TransferResponseSchema, { entry: entryToProto(entry), balances: balances.map(balanceToProto) });
    });
  }

  placeHold(req: api.PlaceHoldRequest): Promise<api.PlaceHoldResponse> {
    const touched = async () => [req.accountId];
    return this.#mutate(api.PlaceHoldRequestSchema, req, api.PlaceHoldResponseSchema, touched, async (tx) => {
      const { db } = tx;
      const read = await this.#load(tx, [req.accountId]);
      const before = read.get(req.accountId);
      if (before === undefined) throw new LedgerFailure({ kind: "not_found", field: "account_id", id: req.accountId });
      const [balance] = await this.#writeBalances(tx, read, [unwrap(planPlaceHold(before, req.amountMinor))], false);
      assert(balance !== undefined, "one balance written");
      const hold = await store.insertHold(db, {
        accountId: req.accountId,
        asset: balance.asset,
        amountMinor: req.amountMinor,
        reference: req.reference,
      });
      return create(api.PlaceHoldResponseSchema, { hold: holdToProto(hold), balance: balanceToProto(balance) });
    });
  }

  releaseHold(req: api.ReleaseHoldRequest): Promise<api.ReleaseHoldResponse> {
    return this.#mutate(
      api.ReleaseHoldRequestSchema,
      req,
      api.ReleaseHoldResponseSchema,
      () => this.#holdAccounts([req.holdId]),
      async (tx) => {
        const { db } = tx;
        const hold = (await store.lockHolds(db, [req.holdId])).get(req.holdId);
        if (hold === undefined) throw new LedgerFailure({ kind: "not_found", field: "hold_id", id: req.holdId });
        const read = await this.#load(tx, [hold.accountId]);
        const before = read.get(hold.accountId);
        assert(before !== undefined, `hold ${hold.holdId} has an account`);
        const plan = unwrap(planReleaseHold(before, hold, req.amountMinor));
        const [balance] = await this.#writeBalances(tx, read, [plan.balance], false);
        assert(balance !== undefined, "one balance written");
        await store.writeHolds(db, [plan.hold]);
        return create(api.ReleaseHoldResponseSchema, { hold: holdToProto(plan.hold), balance: balanceToProto(balance) });
      },
    );
  }

  settleHold(req: api.SettleHoldRequest): Promise<api.SettleHoldResponse> {
    const touched = async () => [...req.legs.map((l) => l.accountId), ...(await this.#holdAccounts(req.debits.map((d) => d.holdId)))];
    return this.#mutate(api.SettleHoldRequestSchema, req, api.SettleHoldResponseSchema, touched, async (tx) => {
      const legs = req.legs.map((l, i) => ({
        accountId: l.accountId,
        amountMinor: l.amountMinor,
        expectedAsset: l.asset,
        field: `legs[${i}]`,
      }));
      const debits = req.debits.map((d, i) => ({ holdId: d.holdId, amountMinor: d.amountMinor, field: `debits[${i}]` }));
      const { entry, balances, holds } = await this.#post(tx, req.requestId, "settlement", legs, debits, req.metadata);
      return create(api.SettleHoldResponseSchema, {
        entry: entryToProto(entry),
        holds: holds.map(holdToProto),
        balances: balances.map(balanceToProto),
      });
    });
  }

  async getBalances(req: api.GetBalancesRequest): Promise<api.GetBalancesResponse> {
    if (req.ownerId !== "") {
      const balances = await store.balancesOf(this.deps.pool, { ownerId: req.ownerId });
      return create(api.GetBalancesResponseSchema, { balances: balances.map(balanceToProto) });
    }
    const balances = await store.balancesOf(this.deps.pool, { accountIds: req.accountIds });
    const missing = req.accountIds.find((id) => !balances.some((b) => b.accountId === id));
    if (missing !== undefined) throw new LedgerFailure({ kind: "not_found", field: "account_ids", id: missing });
    return create(api.GetBalancesResponseSchema, { balances: balances.map(balanceToProto) });
  }

  async getHold(req: api.GetHoldRequest): Promise<api.GetHoldResponse> {
    const hold = await store.getHold(this.deps.pool, req.holdId);
    if (hold === undefined) throw new LedgerFailure({ kind: "not_found", field: "hold_id", id: req.holdId });
    return create(api.GetHoldResponseSchema, { hold: holdToProto(hold) });
  }

  async listEntries(req: api.ListEntriesRequest, pageSizeDefault: number): Promise<api.ListEntriesResponse> {
    const before = decodePageToken(req.pageToken);
    const pageSize = req.pageSize === 0 ? pageSizeDefault : req.pageSize;
    const [account] = await store.balancesOf(this.deps.pool, { accountIds: [req.accountId] });
    if (account === undefined) throw new LedgerFailure({ kind: "not_found", field: "account_id", id: req.accountId });
    const page = await store.entriesOf(this.deps.pool, req.accountId, before, pageSize);
    const full = page.entries.length === pageSize && page.lastPostingId !== undefined;
    return create(api.ListEntriesResponseSchema, {
      entries: page.entries.map(entryToProto),
      nextPageToken: full ? encodePageToken(page.lastPostingId!) : "",
    });
  }

  async verifyIntegrity(): Promise<api.VerifyIntegrityResponse> {
    const startedMs = performance.now();
    // One snapshot for every query of the check.
    const report = await withTransaction(this.deps.pool, store.verifyIntegrity, { isolation: "repeatable read", readOnly: true });
    return create(api.VerifyIntegrityResponseSchema, {
      entriesChecked: report.entriesChecked,
      postingsChecked: report.postingsChecked,
      accountsChecked: report.accountsChecked,
      discrepancies: report.discrepancies,
      durationMs: BigInt(Math.round(performance.now() - startedMs)),
    });
  }
}

const PAGE_TOKEN = /^p(\d{1,19})$/;

function encodePageToken(postingId: bigint): string {
  return Buffer.from(`p${postingId}`).toString("base64url");
}

function decodePageToken(token: string): bigint | undefined {
  if (token === "") return undefined;
  const match = PAGE_TOKEN.exec(Buffer.from(token, "base64url").toString());
  if (match?.[1] === undefined) throw new LedgerFailure(invalid("page_token", "is not a token this service issued"));
  return BigInt(match[1]);
}
