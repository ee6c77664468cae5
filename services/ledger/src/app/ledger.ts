import { randomUUID } from "node:crypto";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type Logger, type Redlock, withTransaction } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import { invalidArgument, notFound } from "@kuku/platform/errors";
import type pg from "pg";
import type { BalanceGuardName } from "../domain/balance-guard.js";
import { type LegInput, planEntry, planPlaceHold, planReleaseHold, planTopUpHold } from "../domain/journal.js";
import {
  type AccountKind,
  type Balance,
  type Entry,
  type EntryKind,
  type Hold,
  SYSTEM_OWNER_PREFIX,
  systemOwnerId,
} from "../domain/model.js";
import { failureToError, type Outcome } from "../domain/outcomes.js";
import * as store from "../store/ledger-store.js";
import { inTransaction, type TransactionOptions, type TransactionStats } from "../store/transactions.js";
import { BalanceReader } from "./balance-reads.js";
import { depositItem, placeHoldItem, releaseHoldItem, settleHoldItem, transferItem, withdrawItem } from "./batch/operations.js";
import { BatchWriter } from "./batch/writer.js";
import { accountToProto, balanceToProto, entryToProto, holdToProto } from "./convert.js";
import { createBalanceGuard } from "./guards/create.js";
import type { BalanceGuard, GuardedBalances, TouchedAccounts } from "./guards/guard.js";
import { holdAccounts, withExternal } from "./guards/touched.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { payloadHash } from "./request-hash.js";

/** A failed domain decision ends the mutation and rolls its transaction back. */
function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.kind !== "ok") throw failureToError(outcome);
  return outcome.value;
}

const DEFAULT_BATCH_ITEMS_MAX = 256;
const DEFAULT_BATCH_WRITERS = 4;

const SYSTEM_KINDS: Record<number, Exclude<AccountKind, "user">> = {
  [api.AccountKind.EXTERNAL]: "external",
  [api.AccountKind.CLEARING]: "clearing",
  [api.AccountKind.FEES]: "fees",
};

/**
 * One mutation's transaction. A posting mutation leaves its entry pending:
 * #mutate writes it with the stored response in ONE statement.
 */
interface Tx {
  readonly db: pg.PoolClient;
  /** The transaction's time (PostgreSQL now()), known from the request claim. */
  readonly at: Date;
  /** Balances as the guard reads and writes them. */
  readonly balances: GuardedBalances;
  pending?: { entry: Entry; balances: readonly Balance[]; holds: readonly Hold[] };
}

export interface LedgerDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly transactions: TransactionOptions;
  readonly balanceGuard: BalanceGuardName;
  /** Required by the redlock-fenced guard. */
  readonly redlock?: { readonly redlock: Redlock; readonly ttlMs: number };
  /** Items per group-commit transaction at most (ADR 0018). */
  readonly batchItemsMax?: number;
  /** Group-commit transactions in flight at once. */
  readonly batchWriters?: number;
}

/**
 * The ledger's use cases. Each mutation runs in ONE transaction that claims
 * its request id, locks what it touches, lets the domain decide, writes the
 * result and stores the response for replays: all of it or none of it.
 */
export class Ledger {
  readonly stats: TransactionStats = { retries: 0, exhausted: 0 };
  readonly #guard: BalanceGuard;
  /**
   * The group commit: SubmitBatch always goes through it; with the batched
   * guard, every unary mutation of a balance too. It is safe beside the
   * other guards: its row locks and version checks meet theirs.
   */
  readonly writer: BatchWriter;
  readonly #batched: boolean;
  readonly #reads: BalanceReader;
  /** GetBalances' grouped reads (the count of their queries is what tests look at). */
  get balanceReads(): { readonly queries: number } {
    return this.#reads;
  }

  constructor(private readonly deps: LedgerDeps) {
    this.#reads = new BalanceReader(deps.pool, deps.batchItemsMax ?? DEFAULT_BATCH_ITEMS_MAX);
    this.#guard = createBalanceGuard(deps.balanceGuard, deps);
    this.#batched = deps.balanceGuard === "batched";
    this.writer = new BatchWriter({
      pool: deps.pool,
      logger: deps.logger,
      transactions: deps.transactions,
      itemsMax: deps.batchItemsMax ?? DEFAULT_BATCH_ITEMS_MAX,
      writers: deps.batchWriters ?? DEFAULT_BATCH_WRITERS,
    });
  }

  #transaction<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.deps.pool, this.deps.transactions, this.stats, this.deps.logger, fn);
  }

  /** Runs a mutation once per request id, under the balance guard; a replay gets the stored response. */
  async #mutate<Req extends DescMessage, Res extends DescMessage>(
    requestSchema: Req,
    request: MessageShape<Req> & { requestId: string },
    responseSchema: Res,
    touched: TouchedAccounts | undefined,
    work: (tx: Tx) => Promise<MessageShape<Res>>,
  ): Promise<MessageShape<Res>> {
    const hash = payloadHash(requestSchema, request);
    const operation = requestSchema.typeName;
    return this.#guard.run(touched, (balances) =>
      this.#transaction(async (db) => {
        const claim = await store.claimRequest(db, request.requestId, operation, hash);
        if (claim.kind === "replay") return fromBinary(responseSchema, claim.response);
        if (claim.kind === "conflict") {
          throw failureToError({ kind: "request_conflict", requestId: request.requestId, operation: claim.operation });
        }
        const tx: Tx = { db, at: claim.at, balances };
        const response = await work(tx);
        const bytes = toBinary(responseSchema, response);
        if (tx.pending === undefined) await store.saveResponse(db, request.requestId, bytes);
        else await balances.writeEntry(db, { ...tx.pending, response: bytes });
        return response;
      }),
    );
  }

  async openAccount(req: api.OpenAccountRequest): Promise<api.OpenAccountResponse> {
    if (req.ownerId.startsWith(SYSTEM_OWNER_PREFIX)) {
      throw invalidArgument("owner_id", `owner ids starting with "${SYSTEM_OWNER_PREFIX}" are reserved`);
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

  /** Posts a deposit or withdrawal against the outside world's account of the same asset. */
  async #postExternal(
    tx: Tx,
    req: { readonly requestId: string; readonly accountId: string; readonly metadata: Record<string, string> },
    kind: EntryKind,
    signedAmountMinor: bigint,
  ) {
    const { db } = tx;
    const { accountId } = req;
    const [target] = await store.balancesOf(db, { accountIds: [accountId] });
    if (target === undefined) throw notFound("account_id", accountId);
    if (target.kind !== "user") throw invalidArgument("account_id", "deposits and withdrawals go to user accounts");
    const external = await store.openAccount(db, systemOwnerId("external"), target.asset, "external");
    const legs: LegInput[] = [
      { accountId, amountMinor: signedAmountMinor, expectedAsset: "", field: "account_id", amountField: "amount_minor" },
      {
        accountId: external.accountId,
        amountMinor: -signedAmountMinor,
        expectedAsset: "",
        field: "account_id",
        amountField: "amount_minor",
      },
    ];
    const { entry, balances } = await this.#post(tx, req.requestId, kind, legs, [], req.metadata);
    return { entry: entryToProto(entry), balance: balanceToProto(balances.find((b) => b.accountId === accountId)!) };
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
    const read = await tx.balances.read(tx.db, accountIds);
    const plan = unwrap(planEntry(read, holds, legs, holdDebits));
    const entry: Entry = { entryId: randomUUID(), requestId, kind, createdAt: tx.at, postings: plan.postings, metadata };
    const { stored, deferred } = await tx.balances.writeForEntry(tx.db, read, plan.balances);
    tx.pending = { entry, balances: deferred, holds: plan.holds };
    return { entry, balances: stored, holds: plan.holds };
  }

  deposit(req: api.DepositRequest): Promise<api.DepositResponse> {
    if (this.#batched) return this.writer.one(depositItem(req));
    const touched = withExternal(this.deps.pool, req.accountId);
    return this.#mutate(api.DepositRequestSchema, req, api.DepositResponseSchema, touched, async (tx) =>
      create(api.DepositResponseSchema, await this.#postExternal(tx, req, "deposit", req.amountMinor)),
    );
  }

  withdraw(req: api.WithdrawRequest): Promise<api.WithdrawResponse> {
    if (this.#batched) return this.writer.one(withdrawItem(req));
    const touched = withExternal(this.deps.pool, req.accountId);
    return this.#mutate(api.WithdrawRequestSchema, req, api.WithdrawResponseSchema, touched, async (tx) =>
      create(api.WithdrawResponseSchema, await this.#postExternal(tx, req, "withdrawal", -req.amountMinor)),
    );
  }

  transfer(req: api.TransferRequest): Promise<api.TransferResponse> {
    if (this.#batched) return this.writer.one(transferItem(req));
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
    if (this.#batched) return this.writer.one(placeHoldItem(req));
    const touched = async () => [req.accountId];
    return this.#mutate(api.PlaceHoldRequestSchema, req, api.PlaceHoldResponseSchema, touched, async (tx) => {
      const { hold, balance } = req.holdId === "" ? await this.#newHold(tx, req) : await this.#topUpHold(tx, req);
      return create(api.PlaceHoldResponseSchema, { hold: holdToProto(hold), balance: balanceToProto(balance) });
    });
  }

  async #newHold(tx: Tx, req: api.PlaceHoldRequest): Promise<{ hold: Hold; balance: Balance }> {
    const { db } = tx;
    const read = await tx.balances.read(db, [req.accountId]);
    const before = read.get(req.accountId);
    if (before === undefined) throw notFound("account_id", req.accountId);
    const [balance] = await tx.balances.write(db, read, [unwrap(planPlaceHold(before, req.amountMinor))]);
    assert(balance !== undefined, "one balance written");
    const hold = await store.insertHold(db, {
      accountId: req.accountId,
      asset: balance.asset,
      amountMinor: req.amountMinor,
      reference: req.reference,
    });
    return { hold, balance };
  }

  /** Grows req.holdId by the amount: the hold is locked before the balance, the order every path locks in. */
  async #topUpHold(tx: Tx, req: api.PlaceHoldRequest): Promise<{ hold: Hold; balance: Balance }> {
    const { db } = tx;
    const held = (await store.lockHolds(db, [req.holdId])).get(req.holdId);
    if (held === undefined) throw notFound("hold_id", req.holdId);
    const read = await tx.balances.read(db, [req.accountId]);
    const before = read.get(req.accountId);
    if (before === undefined) throw notFound("account_id", req.accountId);
    const plan = unwrap(planTopUpHold(before, held, req.amountMinor));
    const [balance] = await tx.balances.write(db, read, [plan.balance]);
    assert(balance !== undefined, "one balance written");
    await store.writeHolds(db, [plan.hold]);
    return { hold: plan.hold, balance };
  }

  releaseHold(req: api.ReleaseHoldRequest): Promise<api.ReleaseHoldResponse> {
    if (this.#batched) return this.writer.one(releaseHoldItem(req));
    return this.#mutate(
      api.ReleaseHoldRequestSchema,
      req,
      api.ReleaseHoldResponseSchema,
      () => holdAccounts(this.deps.pool, [req.holdId]),
      async (tx) => {
        const { db } = tx;
        const hold = (await store.lockHolds(db, [req.holdId])).get(req.holdId);
        if (hold === undefined) throw notFound("hold_id", req.holdId);
        const read = await tx.balances.read(db, [hold.accountId]);
        const before = read.get(hold.accountId);
        assert(before !== undefined, `hold ${hold.holdId} has an account`);
        const plan = unwrap(planReleaseHold(before, hold, req));
        // Nothing to give back (a hold already down to what it must keep): nothing is written.
        if (plan.releasedMinor === 0n)
          return create(api.ReleaseHoldResponseSchema, { hold: holdToProto(hold), balance: balanceToProto(before) });
        const [balance] = await tx.balances.write(db, read, [plan.balance]);
        assert(balance !== undefined, "one balance written");
        await store.writeHolds(db, [plan.hold]);
        return create(api.ReleaseHoldResponseSchema, { hold: holdToProto(plan.hold), balance: balanceToProto(balance) });
      },
    );
  }

  settleHold(req: api.SettleHoldRequest): Promise<api.SettleHoldResponse> {
    if (this.#batched) return this.writer.one(settleHoldItem(req));
    const touched = async () => [
      ...req.legs.map((l) => l.accountId),
      ...(await holdAccounts(
        this.deps.pool,
        req.debits.map((d) => d.holdId),
      )),
    ];
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
      const balances = await this.#reads.ofOwner(req.ownerId);
      return create(api.GetBalancesResponseSchema, { balances: balances.map(balanceToProto) });
    }
    const balances = await this.#reads.ofAccounts(req.accountIds);
    const missing = req.accountIds.find((id) => !balances.some((b) => b.accountId === id));
    if (missing !== undefined) throw notFound("account_ids", missing);
    return create(api.GetBalancesResponseSchema, { balances: balances.map(balanceToProto) });
  }

  async getHold(req: api.GetHoldRequest): Promise<api.GetHoldResponse> {
    const hold = await store.getHold(this.deps.pool, req.holdId);
    if (hold === undefined) throw notFound("hold_id", req.holdId);
    return create(api.GetHoldResponseSchema, { hold: holdToProto(hold) });
  }

  async listEntries(req: api.ListEntriesRequest, pageSizeDefault: number): Promise<api.ListEntriesResponse> {
    const before = decodePageToken(req.pageToken);
    const pageSize = req.pageSize === 0 ? pageSizeDefault : req.pageSize;
    const [account] = await store.balancesOf(this.deps.pool, { accountIds: [req.accountId] });
    if (account === undefined) throw notFound("account_id", req.accountId);
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
