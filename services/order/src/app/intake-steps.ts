// The steps of intake that a lone order (intake.ts, the reconciler's retries,
// amendments) and a batch of orders (intake-batch.ts) take alike: the hold's
// request, the order's changes, and what a refused hold or a silent exchange
// does to it.
import { create } from "@bufbuild/protobuf";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { Logger } from "@kuku/platform";
import { type DomainError, failedPrecondition } from "@kuku/platform/errors";
import { type Order, transition } from "../domain/order.js";
import type { CallFailures } from "./intake.js";
import type { OrderMetrics } from "./metrics.js";
import type { OrderChange, OrderRecords } from "./orders.js";

/** The asset an order's hold reserves: cash for a buy, the shares for a sell. */
export const holdAsset = (order: Order) => (order.side === "buy" ? "KRW" : order.symbol);

/**
 * The hold's request; its id is the order's, so the reconciler placing it
 * again is answered with the same hold. An amendment's grows the hold it
 * shares with its original (its top-up).
 */
export const holdRequest = (order: Order, accountId: string): ledger.PlaceHoldRequest =>
  create(ledger.PlaceHoldRequestSchema, {
    requestId: `hold-${order.orderId}`,
    accountId,
    amountMinor: order.holdAmountMinor,
    reference: order.orderId,
    holdId: order.holdShared ? order.holdId : "",
  });

/** RECEIVED -> SENT once the hold is placed (nothing if someone else moved the order on). */
export const toSent =
  (holdId: string): OrderChange =>
  (o) =>
    o.state === "received" ? transition({ ...o, holdId }, "sent", new Date()) : undefined;

export const HOLD_PLACED = "hold placed";

/** Rejects an order whose hold the ledger refused; the caller's answer (FAILED_PRECONDITION). */
export async function refuseHold(records: OrderRecords, order: Order, refusal: string): Promise<DomainError> {
  const reason = `insufficient ${order.side === "buy" ? "cash" : `${order.symbol} shares`}: ${refusal}`;
  // An amendment refused its top-up holds nothing of the hold it was to share.
  await records.change(order.orderId, order, (o) => transition({ ...o, holdId: "" }, "rejected", new Date(), reason), "hold refused");
  return failedPrecondition(reason);
}

export interface InDoubtDeps {
  readonly records: OrderRecords;
  readonly failures: CallFailures;
  readonly logger: Logger;
  readonly metrics: OrderMetrics;
}

/**
 * No answer is not a "no": the order may well be trading, and only the
 * exchange's record can tell. Even a local refusal (open circuit, full
 * bulkhead) does not prove the exchange never saw the order: another replica
 * or the reconciler may have sent it. So it goes UNKNOWN, and the reconciler
 * fences before rejecting.
 */
export async function markInDoubt(deps: InDoubtDeps, order: Order, error: unknown): Promise<Order> {
  const reason = deps.failures.inDoubt(error);
  deps.logger.warn({ orderId: order.orderId, err: error }, "order in doubt");
  const changed = await deps.records.change(
    order.orderId,
    order,
    (o) => (o.state === "sent" ? transition(o, "unknown", new Date(), o.rejectReason) : undefined),
    reason,
  );
  if (changed.state === "unknown") deps.metrics.unknown();
  return changed;
}
