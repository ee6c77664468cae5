// What the exchange says about an order, and the ledger side of it: new
// fills, then the status, then settling the fills against the order's hold
// and releasing what the hold no longer needs.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type Logger, withTransaction } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import { applyFill, type FeeSchedule, type Order, transition } from "../domain/order.js";
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

  /**
   * Applies the exchange's word on an order (a SubmitOrder answer, an
   * execution event, an OrderStatus): new fills, then the status, then the
   * ledger work. Safe to apply any number of times, in any order.
   */
  async applyReport(orderId: string, report: ExchangeReport, eventId?: string): Promise<Order> {
    for (const fill of report.fills) await this.#applyFill(orderId, fill, eventId);
    const order = await this.deps.records.change(
      orderId,
      (o) => {
        const to = reportedState(o.state, report.status);
        return to === undefined ? undefined : transition(o, to, new Date(), to === "rejected" ? report.rejectReason : o.rejectReason);
      },
      `exchange: ${report.status}`,
    );
    return this.settle(order.orderId);
  }

  #applyFill(orderId: string, fill: ExchangeReport["fills"][number], eventId: string | undefined): Promise<void> {
    return withTransaction(this.deps.pool, async (db) => {
      const order = await store.getOrder(db, orderId, { forUpdate: true });
      if (order === undefined) return;
      if (eventId !== undefined && !(await store.markProcessed(db, EXECUTIONS_CONSUMER, eventId))) return;
      // Known fills first: a fill seen again must not be judged against the order it already changed.
      if (await store.fillExists(db, fill.executionId)) return;
      const applied = applyFill(order, fill, this.deps.fees, new Date());
      if (applied.kind !== "ok") {
        this.deps.logger.error({ orderId, fill: fill.executionId, from: applied.from }, "fill refused by the state machine");
        return;
      }
      const inserted = await store.insertFill(db, orderId, fill, applied.fillFeeKrw, fill.executedAt);
      assert(inserted, `fill ${fill.executionId} appeared under the order's row lock`);
      const reason = `fill ${fill.executionId}`;
      await store.saveOrder(db, order, applied.order, reason, orderEvent(applied.order, reason));
    });
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

  async #releaseHold(order: Order): Promise<Order> {
    const { hold } = await this.deps.ledger.getHold({ holdId: order.holdId });
    const remainingMinor = hold!.amountMinor - hold!.settledMinor - hold!.releasedMinor;
    if (remainingMinor > 0n) {
      await this.deps.ledger.releaseHold(
        create(ledger.ReleaseHoldRequestSchema, { requestId: `release-${order.orderId}`, holdId: order.holdId }),
      );
    }
    return this.deps.records.change(
      order.orderId,
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
