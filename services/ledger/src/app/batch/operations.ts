// Each mutation as an item of the group commit (ADR 0018): what it locks,
// and how it applies to the batch's running balances in memory, by the same
// domain planners the unary path uses. A refusal is thrown as a DomainError
// and answers this item alone.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { assert } from "@kuku/platform/assert";
import { invalidArgument, notFound } from "@kuku/platform/errors";
import { type HoldDebitInput, type LegInput, planEntry, planPlaceHold, planReleaseHold, planTopUpHold } from "../../domain/journal.js";
import type { Balance, Entry, EntryKind, Hold } from "../../domain/model.js";
import { failureToError, type Outcome } from "../../domain/outcomes.js";
import type { RunningState } from "../../domain/running-state.js";
import { balanceToProto, entryToProto, holdToProto } from "../convert.js";
import { payloadHash } from "../request-hash.js";

export interface BatchContext {
  readonly state: RunningState;
  /** The transaction's time, which every row of the batch carries. */
  readonly at: Date;
  /** The outside world's account of an asset, locked for the batch. */
  external(asset: string): string;
}

export interface BatchItem<S extends DescMessage = DescMessage> {
  readonly requestId: string;
  readonly operation: string;
  readonly payloadHash: Uint8Array;
  readonly responseSchema: S;
  /** Accounts the request names, to lock. */
  readonly accountIds: readonly string[];
  /** Holds the request names, to lock (with their accounts). */
  readonly holdIds: readonly string[];
  /** An account whose asset's outside-world account the item posts against. */
  readonly externalFor: string | undefined;
  /** Applies the item to the running state; throws a DomainError when refused. */
  apply(ctx: BatchContext): { response: MessageShape<S>; entry?: Entry };
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.kind !== "ok") throw failureToError(outcome);
  return outcome.value;
}

function item<Req extends DescMessage, S extends DescMessage>(
  requestSchema: Req,
  request: MessageShape<Req> & { requestId: string },
  responseSchema: S,
  locks: Pick<BatchItem, "accountIds" | "holdIds" | "externalFor">,
  apply: BatchItem<S>["apply"],
): BatchItem<S> {
  return {
    requestId: request.requestId,
    operation: requestSchema.typeName,
    payloadHash: payloadHash(requestSchema, request),
    responseSchema,
    ...locks,
    apply,
  };
}

/** Plans an entry on the running state and keeps its balances and holds there. */
function post(
  ctx: BatchContext,
  requestId: string,
  kind: EntryKind,
  legs: readonly LegInput[],
  debits: readonly HoldDebitInput[],
  metadata: Record<string, string>,
) {
  const plan = unwrap(planEntry(ctx.state.balances, ctx.state.holds, legs, debits));
  ctx.state.setBalances(plan.balances);
  ctx.state.setHolds(plan.holds);
  const entry: Entry = { entryId: randomUUID(), requestId, kind, createdAt: ctx.at, postings: plan.postings, metadata };
  return { entry, balances: plan.balances, holds: plan.holds };
}

const legsOf = (legs: readonly api.TransferLeg[]): LegInput[] =>
  legs.map((l, i) => ({ accountId: l.accountId, amountMinor: l.amountMinor, expectedAsset: l.asset, field: `legs[${i}]` }));

type ExternalRequest = api.DepositRequest | api.WithdrawRequest;

function postExternal(ctx: BatchContext, req: ExternalRequest, kind: EntryKind, signedAmountMinor: bigint) {
  const target = ctx.state.balances.get(req.accountId);
  if (target === undefined) throw notFound("account_id", req.accountId);
  if (target.kind !== "user") throw invalidArgument("account_id", "deposits and withdrawals go to user accounts");
  const legs: LegInput[] = [
    { accountId: req.accountId, amountMinor: signedAmountMinor, expectedAsset: "", field: "account_id", amountField: "amount_minor" },
    {
      accountId: ctx.external(target.asset),
      amountMinor: -signedAmountMinor,
      expectedAsset: "",
      field: "account_id",
      amountField: "amount_minor",
    },
  ];
  const { entry, balances } = post(ctx, req.requestId, kind, legs, [], req.metadata);
  return { entry, balance: balanceToProto(balances.find((b) => b.accountId === req.accountId)!) };
}

export function depositItem(req: api.DepositRequest): BatchItem<typeof api.DepositResponseSchema> {
  const locks = { accountIds: [req.accountId], holdIds: [], externalFor: req.accountId };
  return item(api.DepositRequestSchema, req, api.DepositResponseSchema, locks, (ctx) => {
    const { entry, balance } = postExternal(ctx, req, "deposit", req.amountMinor);
    return { entry, response: create(api.DepositResponseSchema, { entry: entryToProto(entry), balance }) };
  });
}

export function withdrawItem(req: api.WithdrawRequest): BatchItem<typeof api.WithdrawResponseSchema> {
  const locks = { accountIds: [req.accountId], holdIds: [], externalFor: req.accountId };
  return item(api.WithdrawRequestSchema, req, api.WithdrawResponseSchema, locks, (ctx) => {
    const { entry, balance } = postExternal(ctx, req, "withdrawal", -req.amountMinor);
    return { entry, response: create(api.WithdrawResponseSchema, { entry: entryToProto(entry), balance }) };
  });
}

export function transferItem(req: api.TransferRequest): BatchItem<typeof api.TransferResponseSchema> {
  const locks = { accountIds: req.legs.map((l) => l.accountId), holdIds: [], externalFor: undefined };
  return item(api.TransferRequestSchema, req, api.TransferResponseSchema, locks, (ctx) => {
    const { entry, balances } = post(ctx, req.requestId, "transfer", legsOf(req.legs), [], req.metadata);
    const response = create(api.TransferResponseSchema, { entry: entryToProto(entry), balances: balances.map(balanceToProto) });
    return { entry, response };
  });
}

export function placeHoldItem(req: api.PlaceHoldRequest): BatchItem<typeof api.PlaceHoldResponseSchema> {
  // A top-up locks the hold it grows as well (holds, then balances, as every batch locks).
  const locks = { accountIds: [req.accountId], holdIds: req.holdId === "" ? [] : [req.holdId], externalFor: undefined };
  return item(api.PlaceHoldRequestSchema, req, api.PlaceHoldResponseSchema, locks, (ctx) => {
    const { hold, balance } = req.holdId === "" ? newHold(ctx, req) : topUpHold(ctx, req);
    ctx.state.setBalances([balance]);
    ctx.state.setHolds([hold]);
    return { response: create(api.PlaceHoldResponseSchema, { hold: holdToProto(hold), balance: balanceToProto(balance) }) };
  });
}

function newHold(ctx: BatchContext, req: api.PlaceHoldRequest): { hold: Hold; balance: Balance } {
  const before = ctx.state.balances.get(req.accountId);
  if (before === undefined) throw notFound("account_id", req.accountId);
  const balance = unwrap(planPlaceHold(before, req.amountMinor));
  const hold: Hold = {
    holdId: randomUUID(),
    accountId: req.accountId,
    asset: balance.asset,
    amountMinor: req.amountMinor,
    settledMinor: 0n,
    releasedMinor: 0n,
    reference: req.reference,
    createdAt: ctx.at,
  };
  return { hold, balance };
}

/** The same checks, in the same order, as the unary path's top-up. */
function topUpHold(ctx: BatchContext, req: api.PlaceHoldRequest): { hold: Hold; balance: Balance } {
  const held = ctx.state.holds.get(req.holdId);
  if (held === undefined) throw notFound("hold_id", req.holdId);
  const before = ctx.state.balances.get(req.accountId);
  if (before === undefined) throw notFound("account_id", req.accountId);
  return unwrap(planTopUpHold(before, held, req.amountMinor));
}

export function releaseHoldItem(req: api.ReleaseHoldRequest): BatchItem<typeof api.ReleaseHoldResponseSchema> {
  const locks = { accountIds: [], holdIds: [req.holdId], externalFor: undefined };
  return item(api.ReleaseHoldRequestSchema, req, api.ReleaseHoldResponseSchema, locks, (ctx) => {
    const hold = ctx.state.holds.get(req.holdId);
    if (hold === undefined) throw notFound("hold_id", req.holdId);
    const before = ctx.state.balances.get(hold.accountId);
    assert(before !== undefined, `hold ${hold.holdId} has an account`);
    const plan = unwrap(planReleaseHold(before, hold, req));
    if (plan.releasedMinor > 0n) {
      ctx.state.setBalances([plan.balance]);
      ctx.state.setHolds([plan.hold]);
    }
    return { response: create(api.ReleaseHoldResponseSchema, { hold: holdToProto(plan.hold), balance: balanceToProto(plan.balance) }) };
  });
}

export function settleHoldItem(req: api.SettleHoldRequest): BatchItem<typeof api.SettleHoldResponseSchema> {
  const locks = { accountIds: req.legs.map((l) => l.accountId), holdIds: req.debits.map((d) => d.holdId), externalFor: undefined };
  return item(api.SettleHoldRequestSchema, req, api.SettleHoldResponseSchema, locks, (ctx) => {
    const debits = req.debits.map((d, i) => ({ holdId: d.holdId, amountMinor: d.amountMinor, field: `debits[${i}]` }));
    const { entry, balances, holds } = post(ctx, req.requestId, "settlement", legsOf(req.legs), debits, req.metadata);
    const response = create(api.SettleHoldResponseSchema, {
      entry: entryToProto(entry),
      holds: holds.map(holdToProto),
      balances: balances.map(balanceToProto),
    });
    return { entry, response };
  });
}
