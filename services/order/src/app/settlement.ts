// What the exchange says about an order, and the ledger side of it: the
// exchange's word (new fills, then the status) recorded in one transaction,
// then the fills settled against the order's hold and what the hold no
// longer needs released.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { Logger } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import { applyFill, type FeeSchedule, holdUsedMinor, type Order, transition } from "../domain/order.js";
import { planSettlement } from "../domain/settlement.js";
import { FILLS_FINISHED_STATES, reportedState } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import type { ExchangeReport } from "./convert.js";
import type { LedgerAccounts } from "./ledger-accounts.js";
import type { OrderMetrics } from "./metrics.js";
import { type OrderRecords, orderEvent } from "./orders.js";

const EXECUTIONS_CONSUMER = "exchange.executions";

export interface SettlementDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly accounts: LedgerAccounts;
  readonly fees: FeeSchedule;
  readonly records: OrderRecords;
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
      let order = locked;
      const fresh = eventId === undefined || (await store.markProcessed(db, EXECUTIONS_CONSUMER, eventId));
      for (const fill of fresh ? report.fills : []) order = await this.#applyFill(db, order, fill);
      return this.deps.records.changeLocked(
        db,
        order,
        (o) => {
          const to = reportedState(o.state, report.status);
          return to === undefined ? undefined : transition(o, to, new Date(), to === "rejected" ? report.rejectReason : o.rejectReason);
        },
        `exchange: ${report.status}`,
      );
    });
  }

  /** The order, when every fill of the report is recorded and its status moves the order nowhere. */
  async #alreadyRecorded(orderId: string, report: ExchangeReport): Promise<Order | undefined> {
    const order = await this.deps.records.get(orderId);
    if (reportedState(order.state, report.status) !== undefined) return undefined;
    const recorded = await store.existingFills(
      this.deps.pool,
      report.fills.map((f) => f.executionId),
    );
    return recorded.size === report.fills.length ? order : undefined;
  }

  async #applyFill(db: pg.PoolClient, order: Order, fill: ExchangeReport["fills"][number]): Promise<Order> {
    // Known fills first: a fill seen again must not be judged against the order it already changed.
    if (await store.fillExists(db, fill.executionId)) return order;
    const applied = applyFill(order, fill, this.deps.fees, new Date());
    if (applied.kind !== "ok") {
      this.deps.logger.error({ orderId: order.orderId, fill: fill.executionId, from: applied.from }, "fill refused by the state machine");
      return order;
    }
    const inserted = await store.insertFill(db, order.orderId, fill, applied.fillFeeKrw, fill.executedAt);
    assert(inserted, `fill ${fill.executionId} appeared under the order's row lock`);
    const reason = `fill ${fill.executionId}`;
    await store.saveOrder(db, order, applied.order, reason, orderEvent(applied.order, reason));
    return applied.order;
  }

  /** Settles every unsettled fill, then releases what the hold no longer needs. */
  async settle(orderId: string): Promise<Order> {
    const order = await this.deps.records.get(orderId);
    await this.#settleFills(order);
    if (!FILLS_FINISHED_STATES.includes(order.state) || order.holdReleased || order.holdId === "") return order;
    return this.#releaseHold(order);
  }

  async #settleFills(order: Order): Promise<void> {
    const fills = await store.unsettledFills(this.deps.pool, order.orderId);
    if (fills.length === 0) return;
    const accounts = await this.deps.accounts.forSettlement(order.userId, order.symbol);
    for (const fill of fills) {
      const plan = planSettlement(order.side, fill, fill.feeKrw, accounts);
      await this.deps.ledger.settleHold(
        create(ledger.SettleHoldRequestSchema, {
          requestId: `settle-${fill.executionId}`,
          debits: [{ holdId: order.holdId, amountMinor: plan.holdDebitMinor }],
          legs: plan.legs.map((l) => ({ accountId: l.accountId, asset: accounts.assetOf.get(l.accountId)!, amountMinor: l.amountMinor })),
          metadata: { order_id: order.orderId, execution_id: fill.executionId },
        }),
      );
      const lagS = await store.markFillSettled(this.deps.pool, fill.executionId);
      if (lagS !== undefined) this.deps.metrics.settled(lagS);
    }
  }

  /**
   * Releases the hold's remainder. No fill can come any more and every fill
   * is settled, so what the hold still covers follows from the order alone:
   * no GetHold round trip to decide. A release seen again is the same
   * request id: the ledger answers it without releasing twice.
   */
  async #releaseHold(order: Order): Promise<Order> {
    const remainingMinor = order.holdAmountMinor - holdUsedMinor(order);
    assert(remainingMinor >= 0n, `order ${order.orderId} used ${holdUsedMinor(order)} of a hold of ${order.holdAmountMinor}`);
    if (remainingMinor > 0n) {
      await this.deps.ledger.releaseHold(
        create(ledger.ReleaseHoldRequestSchema, { requestId: `release-${order.orderId}`, holdId: order.holdId }),
      );
    }
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
      remainingMinor > 0n ? `released ${remainingMinor} of the hold` : "hold used up",
    );
  }
}
