// Records the exchange's word on orders read under their row locks: new
// fills, then the reported status, each step with its transition and its
// outbox event, as before; but worked out in memory first and written in a
// fixed number of statements however many orders share the transaction (the
// known fills in one read, the new fills in one insert, the orders' changes
// in one multi-row save per step: a fill, then the status).
import type { Logger } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type pg from "pg";
import { applyFill, chargesOfFill, type FeeSchedule, type Order, transition } from "../domain/order.js";
import { reportedState } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import type { ExchangeReport } from "./convert.js";
import { orderEvent } from "./orders.js";

export interface LockedReport {
  /** The order as read under its row lock, in the caller's transaction. */
  readonly order: Order;
  readonly report: ExchangeReport;
  /** False for an execution event seen before: its fills are not applied again (the status still is). */
  readonly fresh: boolean;
}

/** Each order's changes in order: its new fills, then its status. */
interface Plan {
  readonly steps: store.OrderChangeRow[];
  readonly fills: store.NewFill[];
  readonly order: Order;
}

/** The orders after their reports, in the order given. Safe to apply any number of times, in any order. */
export async function recordReports(
  db: pg.PoolClient,
  deps: { readonly fees: FeeSchedule; readonly logger: Logger },
  items: readonly LockedReport[],
): Promise<Order[]> {
  // Known fills first: a fill seen again must not be judged against the order it already changed.
  const known = new Set(
    await store.existingFills(
      db,
      items.flatMap((i) => (i.fresh ? i.report.fills.map((f) => f.executionId) : [])),
    ),
  );
  const plans = items.map((item) => planOf(item, known, deps));
  const fills = plans.flatMap((p) => p.fills);
  const inserted = await store.insertFills(db, fills);
  assert(inserted === fills.length, `${fills.length - inserted} fills appeared under their orders' row locks`);
  for (let round = 0; ; round++) {
    const rows = plans.flatMap((p) => (round < p.steps.length ? [p.steps[round]!] : []));
    if (rows.length === 0) break;
    const written = await store.saveOrders(db, rows);
    assert(written.size === rows.length, `${rows.length - written.size} orders changed under their row locks`);
  }
  return plans.map((p) => p.order);
}

function planOf({ order: locked, report, fresh }: LockedReport, known: Set<string>, deps: { fees: FeeSchedule; logger: Logger }): Plan {
  const steps: store.OrderChangeRow[] = [];
  const fills: store.NewFill[] = [];
  let order = locked;
  const capped = cappedByVenue(order, report);
  if (capped !== undefined) {
    const reason = `venue quantity ${capped.quantity}: the original filled ${order.quantity - capped.quantity} more before the swap`;
    steps.push({ before: order, after: capped, reason, event: orderEvent(capped, reason, { previousState: order.state }) });
    order = capped;
  }
  for (const fill of fresh ? report.fills : []) {
    if (known.has(fill.executionId)) continue;
    known.add(fill.executionId);
    const applied = applyFill(order, fill, deps.fees, new Date());
    if (applied.kind !== "ok") {
      deps.logger.error({ orderId: order.orderId, fill: fill.executionId, from: applied.from }, "fill refused by the state machine");
      continue;
    }
    const charges = chargesOfFill(deps.fees, order.side, order.filledNotionalKrw, applied.order.filledNotionalKrw);
    assert(charges.feeKrw + charges.taxKrw === applied.fillFeeKrw, `fill ${fill.executionId}: commission and tax split the fee`);
    fills.push({ orderId: order.orderId, fill, ...charges });
    const reason = `fill ${fill.executionId}`;
    steps.push({
      before: order,
      after: applied.order,
      reason,
      event: orderEvent(applied.order, reason, { previousState: order.state, fill: { ...fill, ...charges } }),
    });
    order = applied.order;
  }
  const to = reportedState(order.state, report.status);
  if (to === undefined) return { steps, fills, order };
  const reason = `exchange: ${report.status}`;
  const next = transition(order, to, new Date(), to === "rejected" ? report.rejectReason : order.rejectReason);
  if (next.kind === "illegal") {
    deps.logger.error({ orderId: order.orderId, from: next.from, to: next.to, reason }, "illegal transition refused");
    return { steps, fills, order };
  }
  const event = next.order.state === order.state ? undefined : orderEvent(next.order, reason, { previousState: order.state });
  steps.push({ before: order, after: next.order, reason, event });
  return { steps, fills, order: next.order };
}

/** Whether the exchange's word lowers the order's quantity (the venue capped an amendment). */
export const capsQuantity = (order: Order, report: ExchangeReport) => report.quantity > 0n && report.quantity < order.quantity;

/**
 * An amendment the venue capped (what its original filled between our last
 * look and the swap comes off its quantity, ADR 0019): the order with the
 * venue's quantity, before any fill is judged against it; undefined when the
 * word says nothing new.
 */
function cappedByVenue(order: Order, report: ExchangeReport): Order | undefined {
  if (!capsQuantity(order, report)) return undefined;
  assert(
    order.amendsOrderId !== "",
    `the venue has order ${order.orderId} at ${report.quantity} of ${order.quantity}, and it is no amendment`,
  );
  assert(
    report.quantity >= order.filledQuantity,
    `order ${order.orderId} capped at ${report.quantity} below its ${order.filledQuantity} filled`,
  );
  return { ...order, quantity: report.quantity, version: order.version + 1n, updatedAt: new Date() };
}
