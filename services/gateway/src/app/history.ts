// The user's history: an order with its fills and transitions, the fills
// list, the account statement from the ledger's journal, the fee schedule.
// The user is always the caller; another user's order answers
// PERMISSION_DENIED, whether it exists or not.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type * as order from "@kuku/contracts/kuku/order/v1/order_pb";
import { DomainError, failedPrecondition, invalidArgument } from "@kuku/platform/errors";
import { type JournalEntry, mergeRows, type StatementAccount, statementRows } from "../domain/statement.js";
import { type CallOptions, notYours } from "./trading.js";
import { orderView } from "./views.js";

export interface HistoryDeps {
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly orders: Client<typeof order.OrderService>;
}

const STATEMENT_DAYS_MAX = 366;
/** A statement is read whole; a range with more rows than this must be narrowed. */
const STATEMENT_ROWS_MAX = 10_000;
const LEDGER_PAGE = 500;
const DAY_MS = 86_400_000;

const mapNotFound = (orderId: string) => (error: unknown) => {
  throw error instanceof DomainError && error.kind === "not_found" ? notYours(orderId) : error;
};

const ENTRY_KINDS: Record<number, string> = {
  [ledger.EntryKind.DEPOSIT]: "deposit",
  [ledger.EntryKind.WITHDRAWAL]: "withdrawal",
  [ledger.EntryKind.TRANSFER]: "transfer",
  [ledger.EntryKind.SETTLEMENT]: "settlement",
  [ledger.EntryKind.REVERSAL]: "reversal",
};

const fillView = (f: order.Fill): api.OrderFill =>
  create(api.OrderFillSchema, {
    orderId: f.orderId,
    symbol: f.symbol,
    side: f.side,
    settled: f.settled,
    fill: {
      executionId: f.executionId,
      quantity: f.quantity,
      priceKrw: f.priceKrw,
      feeKrw: f.feeKrw,
      taxKrw: f.taxKrw,
      executedAt: f.executedAt,
    },
  });

export class History {
  constructor(private readonly deps: HistoryDeps) {}

  async getOrder(userId: string, req: api.GetOrderRequest, call: CallOptions): Promise<api.GetOrderResponse> {
    const { orderId } = req;
    const { order: found } = await this.deps.orders.getOrder({ orderId, userId }, call).catch(mapNotFound(orderId));
    const [fills, { transitions }] = await Promise.all([
      this.#allFillsOf(userId, orderId, call),
      this.deps.orders.listOrderTransitions({ orderId, userId }, call).catch(mapNotFound(orderId)),
    ]);
    return create(api.GetOrderResponseSchema, {
      order: found && orderView(found),
      fills: fills.map(fillView).reverse(),
      transitions: transitions.map((t) => ({ fromState: t.fromState, toState: t.toState, reason: t.reason, occurredAt: t.occurredAt })),
    });
  }

  async listFills(userId: string, req: api.ListFillsRequest, call: CallOptions): Promise<api.ListFillsResponse> {
    const page = await this.deps.orders
      .listFills(
        {
          userId,
          orderId: req.orderId,
          executedFrom: req.executedFrom,
          executedBefore: req.executedBefore,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        },
        call,
      )
      .catch(mapNotFound(req.orderId));
    return create(api.ListFillsResponseSchema, { fills: page.fills.map(fillView), nextPageToken: page.nextPageToken });
  }

  async statement(userId: string, req: api.GetStatementRequest, call: CallOptions): Promise<api.GetStatementResponse> {
    const { from, before } = rangeOf(req.from, req.before);
    const { balances } = await this.deps.ledger.getBalances({ ownerId: userId }, call);
    const perAccount = await Promise.all(
      balances.map(async (b) => {
        const account: StatementAccount = { accountId: b.accountId, asset: b.asset, totalMinor: b.totalMinor };
        return statementRows(account, await this.#entriesBackTo(b.accountId, from, call), from, before);
      }),
    );
    const rows = mergeRows(perAccount);
    return create(api.GetStatementResponseSchema, {
      rows: rows.map((r) => ({ ...r, occurredAt: timestampFromDate(r.occurredAt) })),
    });
  }

  async feeSchedule(call: CallOptions): Promise<api.GetFeeScheduleResponse> {
    const { commissionPpm, sellTaxPpm } = await this.deps.orders.getFeeSchedule({}, call);
    return create(api.GetFeeScheduleResponseSchema, { commissionPpm, sellTaxPpm });
  }

  /** An order's fills (an order has few: one page of the largest size holds them, else the pages are followed). */
  async #allFillsOf(userId: string, orderId: string, call: CallOptions): Promise<order.Fill[]> {
    const fills: order.Fill[] = [];
    let pageToken = "";
    do {
      const page = await this.deps.orders.listFills({ userId, orderId, pageSize: 500, pageToken }, call).catch(mapNotFound(orderId));
      fills.push(...page.fills);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return fills;
  }

  /** The account's entries newest first, from now back past `from` (the ledger pages newest first). */
  async #entriesBackTo(accountId: string, from: Date, call: CallOptions): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    let pageToken = "";
    do {
      const page = await this.deps.ledger.listEntries({ accountId, pageSize: LEDGER_PAGE, pageToken }, call);
      for (const e of page.entries) {
        entries.push({
          entryId: e.entryId,
          kind: ENTRY_KINDS[e.kind] ?? "transfer",
          createdAt: e.createdAt === undefined ? new Date(0) : timestampDate(e.createdAt),
          postings: e.postings,
          metadata: e.metadata,
        });
      }
      if (entries.length > STATEMENT_ROWS_MAX)
        throw failedPrecondition(`more than ${STATEMENT_ROWS_MAX} journal entries from now back to from: choose a later range`);
      pageToken = (entries.at(-1)?.createdAt ?? from) < from ? "" : page.nextPageToken;
    } while (pageToken !== "");
    return entries;
  }
}

/** The statement's range: required (the request's rules), ordered, and at most a year. */
function rangeOf(fromTs: Timestamp | undefined, beforeTs: Timestamp | undefined): { from: Date; before: Date } {
  if (fromTs === undefined) throw invalidArgument("from", "required");
  if (beforeTs === undefined) throw invalidArgument("before", "required");
  const from = timestampDate(fromTs);
  const before = timestampDate(beforeTs);
  if (before <= from) throw invalidArgument("before", "must be after from");
  if (before.getTime() - from.getTime() > STATEMENT_DAYS_MAX * DAY_MS)
    throw invalidArgument("before", `the range is at most ${STATEMENT_DAYS_MAX} days`);
  return { from, before };
}
