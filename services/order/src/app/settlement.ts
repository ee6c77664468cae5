// What the exchange says about an order, and the ledger side of it: the
// exchange's word (new fills, then the status) recorded in one transaction,
// then the fills settled against the order's hold and what the hold no
// longer needs released, for many orders in one ledger SubmitBatch.
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { forEachConcurrently, type Logger } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import { type FeeSchedule, holdAmountMinor, holdUsedMinor, type Instrument, type Order, transition } from "../domain/order.js";
import { type ChargePlan, type LedgerWork, ledgerWorkOf } from "../domain/settlement.js";
import { reportedState } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import type { ExchangeReport } from "./convert.js";
import type { Instruments } from "./instruments.js";
import type { CallFailures } from "./intake.js";
import type { LedgerAccounts } from "./ledger-accounts.js";
import type { OrderMetrics } from "./metrics.js";
import type { OrderRecords } from "./orders.js";
import { capsQuantity, recordReports } from "./report-record.js";

const EXECUTIONS_CONSUMER = "exchange.executions";

export interface SettlementDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly accounts: LedgerAccounts;
  readonly fees: FeeSchedule;
  readonly instruments: Instruments;
  readonly records: OrderRecords;
  readonly failures: Pick<CallFailures, "isRefusal">;
  readonly logger: Logger;
  readonly metrics: OrderMetrics;
}

export class Settlement {
  constructor(private readonly deps: SettlementDeps) {}

  /** Records the exchange's word on an order and does the ledger work it calls for. */
  async applyReport(orderId: string, report: ExchangeReport, eventId?: string): Promise<Order> {
    await this.record(orderId, report, eventId);
    return this.settle(orderId);
  }

  /**
   * Records the exchange's word on an order (a SubmitOrder answer, an
   * execution event, an OrderStatus): new fills, then the status, each step
   * with its transition and outbox event, in ONE transaction under the
   * order's row lock. Safe to apply any number of times, in any order.
   */
  async record(orderId: string, report: ExchangeReport, eventId?: string): Promise<Order> {
    // Most execution events repeat what the SubmitOrder answer already recorded: two reads
    // tell, without a transaction. Anything new is recorded under the row lock.
    const known = await this.#alreadyRecorded(orderId, report);
    if (known !== undefined) return known;
    return this.deps.records.locked(orderId, async (db, locked) => {
      const fresh = eventId === undefined || (await store.markProcessed(db, EXECUTIONS_CONSUMER, eventId));
      const [recorded] = await recordReports(db, this.deps, [{ order: locked, report, fresh }]);
      return recorded!;
    });
  }

  /** The order, when every fill of the report is recorded and its status moves the order nowhere. */
  async #alreadyRecorded(orderId: string, report: ExchangeReport): Promise<Order | undefined> {
    const order = await this.deps.records.get(orderId);
    if (reportedState(order.state, report.status) !== undefined) return undefined;
    if (capsQuantity(order, report)) return undefined;
    const recorded = await store.existingFills(
      this.deps.pool,
      report.fills.map((f) => f.executionId),
    );
    return recorded.size === report.fills.length ? order : undefined;
  }

  /** Settles the order's fills and releases what its hold no longer needs (see `settleOrders`); the order after. */
  async settle(orderId: string): Promise<Order> {
    await this.settleOrders([orderId]);
    return this.deps.records.get(orderId);
  }

  /**
   * The ledger work of these orders (their unsettled fills, and the rest of
   * the holds of orders no fill can reach any more) in ONE SubmitBatch: one
   * linked chain per hold (an order's, or an amendment chain's: every order
   * sharing it is read in), so a hold's settles and its release go through
   * together or not at all, and one hold's refusal leaves the others applied. Request ids are the fills' and the orders' own, so work
   * sent again (a redelivered batch, the reconciler, a crash between the
   * ledger's answer and our record of it) is answered with its first result
   * and moves nothing twice. A refused chain is recorded on its order and
   * retried by the reconciler; a chain the ledger could not apply (a
   * transient error) throws once the rest is recorded, so that it is sent
   * again.
   */
  async settleOrders(orderIds: readonly string[]): Promise<{ applied: number; refused: number }> {
    const chains = await this.#chains(orderIds);
    const answers: ChainAnswer[] = [];
    for (const group of groupsOf(chains)) answers.push(...(await this.#submit(group)));
    const applied = answers.filter((a) => a.outcome === "applied").map((a) => a.chain);
    const lags = await store.markSettled(
      this.deps.pool,
      applied.flatMap((c) => c.work.fills.map((f) => f.executionId)),
      applied.flatMap((c) => c.orders.map((o) => o.orderId)),
    );
    for (const lagS of lags) this.deps.metrics.settled(lagS);
    await forEachConcurrently(
      applied.flatMap((c) => c.work.givesBack.map((order) => ({ order, reason: releaseReason(c.work) }))),
      ORDERS_IN_FLIGHT,
      ({ order, reason }) => this.#markReleased(order, reason).then(() => undefined),
    );
    const refused = answers.filter((a) => a.outcome === "refused");
    if (refused.length > 0) await this.#recordRefusals(refused);
    const failed = answers.find((a) => a.outcome === "failed");
    if (failed !== undefined)
      throw new Error(`the ledger did not apply the settlement of order ${failed.chain.orders[0]!.orderId}: ${failed.reason}`);
    return { applied: applied.length, refused: refused.length };
  }

  /** Each hold's ledger work as a chain of operations. */
  async #chains(orderIds: readonly string[]): Promise<Chain[]> {
    if (orderIds.length === 0) return [];
    // Orders first, then their fills: a fill is recorded with the order's change, so the fills read
    // after the order include every fill the order counts, and a release never frees what one needs.
    // A replacement joins a hold under its original's row lock, before either can finish, so the
    // members read here are all there will be when every one of them is finished.
    const holders = await this.#holders(orderIds);
    const unsettled = await store.unsettledFillsOf(
      this.deps.pool,
      holders.flat().map((o) => o.orderId),
    );
    const chains = await Promise.all(
      holders.map(async (orders): Promise<Chain | undefined> => {
        const { userId, symbol } = orders[0]!;
        const hasFills = orders.some((o) => unsettled.has(o.orderId));
        const accounts = hasFills ? await this.deps.accounts.forSettlement(userId, symbol) : undefined;
        // A shared hold is cut by its working orders' worst cases; no master (the exchange away since our start): no cut yet.
        const instrument = orders[0]!.holdShared ? await this.deps.instruments.get(symbol).catch(() => undefined) : undefined;
        const work = ledgerWorkOf(orders, unsettled, accounts, (o) => this.#mayUseMinor(o, instrument));
        return work === undefined ? undefined : { orders, work, operations: operationsOf(orders, work, accounts?.assetOf) };
      }),
    );
    return chains.filter((c) => c !== undefined);
  }

  /** What a working order on a shared hold may still take from it: its worst case (at the venue's quantity) less what it used. */
  #mayUseMinor(order: Order, instrument: Instrument | undefined): bigint | undefined {
    return instrument === undefined ? undefined : holdAmountMinor(order, instrument, this.deps.fees) - holdUsedMinor(order);
  }

  /** These orders grouped by hold, with the other orders of the shared holds among them. */
  async #holders(orderIds: readonly string[]): Promise<Order[][]> {
    const orders = await store.getOrders(this.deps.pool, orderIds);
    const shared = [...new Set(orders.filter((o) => o.holdShared && o.holdId !== "").map((o) => o.holdId))];
    const members = await store.sharedHoldMembers(this.deps.pool, shared);
    // The members' read is the later one: it wins (an order read before it joined a chain is in it now).
    const latest = new Map([...orders, ...members].map((o) => [o.orderId, o]));
    const byHold = new Map<string, Order[]>();
    for (const order of latest.values()) {
      const key = order.holdShared && order.holdId !== "" ? order.holdId : `order-${order.orderId}`;
      byHold.set(key, [...(byHold.get(key) ?? []), order]);
    }
    return [...byHold.values()];
  }

  /** One SubmitBatch for these chains (a chain without operations, a hold used up, needs no call); each chain's answer. */
  async #submit(chains: readonly Chain[]): Promise<ChainAnswer[]> {
    const operations = chains.flatMap((c) => c.operations);
    if (operations.length === 0) return chains.map((chain) => ({ chain, outcome: "applied", reason: "" }));
    const { results } = await this.deps.ledger.submitBatch(
      create(ledger.SubmitBatchRequestSchema, { batchId: batchIdOf(operations), operations }),
    );
    assert(results.length === operations.length, `SubmitBatch answered ${results.length} results for ${operations.length} operations`);
    let next = 0;
    return chains.map((chain) => {
      const errors = chain.operations.flatMap((operation) => {
        const result = results[next++]!.result;
        return result.case === "error" ? [{ requestId: operation.operation.value!.requestId, error: result.value }] : [];
      });
      if (errors.length === 0) return { chain, outcome: "applied", reason: "" };
      const reason = errors.map((e) => `${e.requestId}: ${e.error.message}`).join("; ");
      const transient = errors.some((e) => !this.deps.failures.isRefusal(e.error.code));
      return { chain, outcome: transient ? "failed" : "refused", reason };
    });
  }

  /** Refusals stay visible (the order's row, the gauge, an error in the log) until a later try goes through. */
  async #recordRefusals(refused: readonly ChainAnswer[]): Promise<void> {
    const refusals = refused.flatMap((a) =>
      a.chain.orders.map((o) => ({ orderId: o.orderId, reason: a.reason.slice(0, REFUSAL_TEXT_MAX) })),
    );
    await store.recordSettlementRefusals(this.deps.pool, refusals);
    for (const r of refusals) {
      this.deps.metrics.settlementRefused();
      this.deps.logger.error(r, "the ledger refused an order's settlement; the reconciler tries again");
    }
  }

  /** The order's part of the hold is given back: marked released, and a filled order SETTLED. */
  #markReleased(order: Order, reason: string): Promise<Order> {
    return this.deps.records.change(
      order.orderId,
      order,
      (o) => {
        if (o.holdReleased) return undefined;
        const released = { ...o, holdReleased: true };
        return o.state === "filled"
          ? transition(released, "settled", new Date())
          : { kind: "ok", order: { ...released, version: o.version + 1n, updatedAt: new Date() } };
      },
      reason,
    );
  }
}

/** One hold's ledger work (its orders': one, or an amendment chain) and its operations (linked, but for the last). */
interface Chain {
  readonly orders: readonly Order[];
  readonly work: LedgerWork;
  readonly operations: readonly ledger.BatchOperation[];
}

interface ChainAnswer {
  readonly chain: Chain;
  readonly outcome: "applied" | "refused" | "failed";
  readonly reason: string;
}

/** A SubmitBatch takes at most this many operations (its proto's max_items). */
const BATCH_OPERATIONS_MAX = 8190;
/** Orders marked released at once after a batch: the pool (24) keeps room for the rest of the service. */
const ORDERS_IN_FLIGHT = 16;
const REFUSAL_TEXT_MAX = 2000;

/**
 * The order's settles, each followed by its fill's commission and tax as
 * entries of their own (ADR 0024), then its release, each under a request id
 * that names what it settles (`settle-<execution>`, `fee-<execution>`,
 * `tax-<execution>`, `release-<order>`), so the ledger knows a repeat
 * whichever way it came. All of them one linked chain: a fill's charges go
 * through with it or not at all.
 */
function operationsOf(
  orders: readonly Order[],
  work: LedgerWork,
  assetOf: ReadonlyMap<string, string> | undefined,
): ledger.BatchOperation[] {
  const legsOf = (legs: readonly { accountId: string; amountMinor: bigint }[]) =>
    legs.map((l) => ({ accountId: l.accountId, asset: assetOf!.get(l.accountId)!, amountMinor: l.amountMinor }));
  const operations: ledger.BatchOperation["operation"][] = work.fills.flatMap(({ order, executionId, plan }) => [
    {
      case: "settleHold" as const,
      value: create(ledger.SettleHoldRequestSchema, {
        requestId: `settle-${executionId}`,
        debits: [{ holdId: order.holdId, amountMinor: plan.trade.holdDebitMinor }],
        legs: legsOf(plan.trade.legs),
        metadata: { order_id: order.orderId, execution_id: executionId },
      }),
    },
    ...plan.charges.map((c) => chargeOperation(order, executionId, c, legsOf(c.legs))),
  ]);
  const [first] = orders;
  if (work.keepMinor !== undefined && work.givesBack.length > 0) {
    // A shared hold, cut down to what its working orders may use each time one of its orders ends (named after it:
    // each ends once), and to nothing once the last has: the ledger releases whatever remains above that.
    const requestId = work.finishesHold ? `release-hold-${first!.holdId}` : `release-${work.givesBack[0]!.orderId}`;
    const value = create(ledger.ReleaseHoldRequestSchema, { requestId, holdId: first!.holdId, keepMinor: work.keepMinor });
    operations.push({ case: "releaseHold", value });
  } else if (work.releaseMinor > 0n) {
    const value = create(ledger.ReleaseHoldRequestSchema, { requestId: `release-${first!.orderId}`, holdId: first!.holdId });
    operations.push({ case: "releaseHold", value });
  }
  return operations.map((operation, i) => create(ledger.BatchOperationSchema, { operation, linked: i < operations.length - 1 }));
}

/** A buy's charge is settled from its hold; a sell's is a transfer out of the proceeds. */
function chargeOperation(
  order: Order,
  executionId: string,
  plan: ChargePlan,
  legs: { accountId: string; asset: string; amountMinor: bigint }[],
): ledger.BatchOperation["operation"] {
  const requestId = `${plan.charge}-${executionId}`;
  const metadata = { order_id: order.orderId, execution_id: executionId, charge: plan.charge };
  return plan.holdDebitMinor > 0n
    ? {
        case: "settleHold",
        value: create(ledger.SettleHoldRequestSchema, {
          requestId,
          debits: [{ holdId: order.holdId, amountMinor: plan.holdDebitMinor }],
          legs,
          metadata,
        }),
      }
    : { case: "transfer", value: create(ledger.TransferRequestSchema, { requestId, legs, metadata }) };
}

/** What the transition of an order whose part of the hold is given back says. */
function releaseReason(work: LedgerWork): string {
  if (work.keepMinor !== undefined) {
    // Earlier cuts gave back part of a shared hold: what is left for its last release is the ledger's to tell.
    return work.finishesHold
      ? "the rest of the shared hold released"
      : `its part of the shared hold given back (kept ${work.keepMinor} for the orders working)`;
  }
  return work.releaseMinor > 0n ? `released ${work.releaseMinor} of the hold` : "hold used up";
}

/** Chains in groups of at most BATCH_OPERATIONS_MAX operations, never splitting a chain. */
function groupsOf(chains: readonly Chain[]): Chain[][] {
  const groups: Chain[][] = [[]];
  let size = 0;
  for (const chain of chains) {
    if (size + chain.operations.length > BATCH_OPERATIONS_MAX && size > 0) {
      groups.push([]);
      size = 0;
    }
    groups.at(-1)!.push(chain);
    size += chain.operations.length;
  }
  return groups.filter((g) => g.length > 0);
}

/** Names the batch in the ledger's logs after its operations: the same work sent again has the same name. */
const batchIdOf = (operations: readonly ledger.BatchOperation[]) =>
  `settle-${createHash("sha256")
    .update(operations.map((o) => o.operation.value!.requestId).join(","))
    .digest("hex")
    .slice(0, 32)}`;
