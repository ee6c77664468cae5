import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AccountKind as AccountKindProto,
  type Account as AccountProto,
  AccountSchema,
  type Balance as BalanceProto,
  BalanceSchema,
  EntryKind as EntryKindProto,
  type Entry as EntryProto,
  EntrySchema,
  type Hold as HoldProto,
  HoldSchema,
  HoldStatus,
} from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import {
  type Account,
  type AccountKind,
  availableMinor,
  type Balance,
  type Entry,
  type EntryKind,
  type Hold,
  remainingMinor,
} from "../domain/model.js";

export const ACCOUNT_KIND_TO_PROTO: Record<AccountKind, AccountKindProto> = {
  user: AccountKindProto.USER,
  external: AccountKindProto.EXTERNAL,
  clearing: AccountKindProto.CLEARING,
  fees: AccountKindProto.FEES,
};

const ENTRY_KIND_TO_PROTO: Record<EntryKind, EntryKindProto> = {
  deposit: EntryKindProto.DEPOSIT,
  withdrawal: EntryKindProto.WITHDRAWAL,
  transfer: EntryKindProto.TRANSFER,
  settlement: EntryKindProto.SETTLEMENT,
  reversal: EntryKindProto.REVERSAL,
};

export const accountToProto = (a: Account): AccountProto =>
  create(AccountSchema, {
    accountId: a.accountId,
    ownerId: a.ownerId,
    asset: a.asset,
    kind: ACCOUNT_KIND_TO_PROTO[a.kind],
    createdAt: timestampFromDate(a.createdAt),
  });

export const balanceToProto = (b: Balance): BalanceProto =>
  create(BalanceSchema, {
    accountId: b.accountId,
    ownerId: b.ownerId,
    asset: b.asset,
    kind: ACCOUNT_KIND_TO_PROTO[b.kind],
    totalMinor: b.totalMinor,
    heldMinor: b.heldMinor,
    availableMinor: availableMinor(b),
    version: b.version,
  });

export const entryToProto = (e: Entry): EntryProto =>
  create(EntrySchema, {
    entryId: e.entryId,
    requestId: e.requestId,
    kind: ENTRY_KIND_TO_PROTO[e.kind],
    createdAt: timestampFromDate(e.createdAt),
    postings: e.postings.map((p) => ({ accountId: p.accountId, asset: p.asset, amountMinor: p.amountMinor })),
    metadata: { ...e.metadata },
  });

export const holdToProto = (h: Hold): HoldProto =>
  create(HoldSchema, {
    holdId: h.holdId,
    accountId: h.accountId,
    asset: h.asset,
    amountMinor: h.amountMinor,
    settledMinor: h.settledMinor,
    releasedMinor: h.releasedMinor,
    remainingMinor: remainingMinor(h),
    status: remainingMinor(h) > 0n ? HoldStatus.OPEN : HoldStatus.CLOSED,
    reference: h.reference,
    createdAt: timestampFromDate(h.createdAt),
  });
